"""Small text helpers shared by components: markdown escaping and human-readable times."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them
# keeps names, reasons and cloud outputs from turning into links, emphasis or LaTeX (`$`).
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")


def md_escape(text: str) -> str:
    """`text` shown literally inside Streamlit markdown (labels, st.error, st.markdown)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def ago(moment: datetime, now: datetime | None = None) -> str:
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def until(moment: datetime, now: datetime | None = None) -> str:
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds <= 0:
        return "now"
    if seconds < 3600:
        return f"in {max(1, int(seconds // 60))} min"
    if seconds < 86400:
        return f"in {int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"in {int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"
