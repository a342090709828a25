"""Small text helpers shared by components: markdown escaping and human-readable times."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime

from services.i18n import DEFAULT_LOCALE, _, current_locale, format_datetime, format_number

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them
# keeps names, reasons and cloud outputs from turning into links, emphasis or LaTeX (`$`).
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")


def md_escape(text: str) -> str:
    """`text` shown literally inside Streamlit markdown (labels, st.error, st.markdown)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def md_code(text: str) -> str:
    """`text` as an inline code span, shown literally: backslash escapes do not work inside a
    code span (md_escape there shows its backslashes), so the fence is made longer than any run
    of backticks in `text`, as CommonMark allows."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def utc(moment: datetime) -> str:
    """A moment in a table cell: the same ISO form in every language, so that a column of them
    sorts in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def when(moment: datetime, *, seconds: bool = True) -> str:
    """A moment inside a sentence, in UTC: as `utc` writes it in English (without the seconds
    unless `seconds`), as the reader's language writes dates elsewhere."""
    if current_locale() == DEFAULT_LOCALE:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds
                                                else "%Y-%m-%d %H:%M UTC")
    return _("{moment} UTC").format(moment=format_datetime(moment))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return _("{seconds} s").format(seconds=format_number(seconds, decimals=1))
    whole = round(seconds)
    if whole < 60:
        return _("{seconds} s").format(seconds=whole)
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return _("{minutes} min {seconds:02d} s").format(minutes=minutes, seconds=secs)
    hours, minutes = divmod(minutes, 60)
    return _("{hours} h {minutes:02d} min").format(hours=hours, minutes=minutes)


def ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("{minutes} min ago").format(minutes=int(seconds // 60))
    if seconds < 86400:
        return _("{hours} h ago").format(hours=int(seconds // 3600))
    return _("{days} d ago").format(days=int(seconds // 86400))


def until(moment: datetime, now: datetime | None = None) -> str:
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds <= 0:
        return _("now")
    if seconds < 3600:
        return _("in {minutes} min").format(minutes=max(1, int(seconds // 60)))
    if seconds < 86400:
        return _("in {hours} h {minutes} min").format(hours=int(seconds // 3600),
                                                      minutes=int(seconds % 3600 // 60))
    return _("in {days} d {hours} h").format(days=int(seconds // 86400),
                                             hours=int(seconds % 86400 // 3600))
