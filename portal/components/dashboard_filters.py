"""Time window, course, student and template of a dashboard, as one row: the window, and a
button that opens the other choices and tells what they hold.

Owns the `dashboard_filters.{key}.*` session_state keys. Choices left empty mean "all"; students
get no student choice: every service narrows their view to their own environments anyway.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from portal.components.text import md_escape
from services.context import PortalContext
from services.history.models import utcnow
from services.i18n import N_, _, ngettext
from services.identity import Actor
from services.monitoring.filters import MAX_WINDOW, DashboardFilter
from services.monitoring.health_view import filter_options

PREFIX = "dashboard_filters"
CUSTOM = "custom"
# Window choices: label and length in days; the custom range comes last. The labels are the
# widget's values, in English whatever the reader's language: they are translated where shown.
WINDOWS: dict[str, float] = {N_("Last 24 hours"): 1, N_("Last 3 days"): 3, N_("Last 7 days"): 7,
                             N_("Last 14 days"): 14}
WINDOW_LABELS = [*WINDOWS, N_("Custom range")]
DEFAULT_WINDOW = "Last 7 days"


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _custom_window(key: str, now: datetime) -> tuple[datetime, datetime]:
    today = now.astimezone(UTC).date()
    chosen = st.date_input(_("Dates (UTC)"), value=(today - timedelta(days=6), today),
                           max_value=today, key=_key(key, "dates"), format="YYYY-MM-DD")
    # While the second date is still being picked the widget returns one date: show that day.
    days = [d for d in (chosen if isinstance(chosen, tuple | list) else (chosen,)) if d]
    first = min(days) if days else today
    last = max(days) if days else today
    start, end = _day_start(first), min(_day_start(last + timedelta(days=1)), now)
    if end - start > MAX_WINDOW:
        start = end - MAX_WINDOW
        st.caption(_("At most {days} days: showing those ending {day}.").format(
            days=MAX_WINDOW.days, day=last.isoformat()))
    if end <= start:  # today, picked right at midnight
        start = end - timedelta(hours=1)
    return start, end


def _choice_label(chosen: list[str], *, everything: str, one: str, many: str) -> str:
    """The button's words for one kind of choice; a name is escaped, as the label is markdown
    (`student_01_a` would turn italic)."""
    if not chosen:
        return everything
    if len(chosen) == 1:
        return one.format(name=md_escape(chosen[0]))
    return many.format(count=len(chosen))


def _choices_label(key: str, actor: Actor) -> str:
    """What the course, student and template choices hold now, for the button that opens them:
    the browser's latest choices are in session_state before the widgets are drawn."""
    def chosen(name: str) -> list[str]:
        return list(st.session_state.get(_key(key, name)) or ())

    courses, owners, templates = chosen("courses"), chosen("owners"), chosen("templates")
    parts = [_choice_label(courses, everything=_("all courses"), one=_("course {name}"),
                           many=ngettext("{count} course", "{count} courses", len(courses)))]
    if actor.is_instructor:
        parts.append(_choice_label(owners, everything=_("all students"),
                                   one=_("student {name}"),
                                   many=ngettext("{count} student", "{count} students",
                                                 len(owners))))
    parts.append(_choice_label(templates, everything=_("all templates"),
                               one=_("template {name}"),
                               many=ngettext("{count} template", "{count} templates",
                                             len(templates))))
    return " · ".join(parts)


def dashboard_filters(ctx: PortalContext, actor: Actor, *, key: str,
                      now: datetime | None = None) -> DashboardFilter:
    """Draw the filter row and return the chosen filter, already narrowed to what `actor` sees.

    The course, student and template choices are in a popover whose button tells what they
    hold: a row of three multiselects cost the browser more to mount, on every visit of a
    dashboard, than the dashboard's chart."""
    now = now or utcnow()
    options = filter_options(ctx, actor)
    window_column, choices_column = st.columns([1, 3], vertical_alignment="bottom")
    with window_column:
        window = st.selectbox(_("Time window"), WINDOW_LABELS, format_func=_,
                              index=WINDOW_LABELS.index(DEFAULT_WINDOW), key=_key(key, "window"))
    with choices_column.popover(_choices_label(key, actor), icon=":material/filter_list:"):
        courses = st.multiselect(_("Course"), options.courses, key=_key(key, "courses"),
                                 placeholder=_("All courses"))
        owners: list[str] = []
        if actor.is_instructor:
            owners = st.multiselect(_("Student"), options.owners, key=_key(key, "owners"),
                                    placeholder=_("All students"))
        templates = st.multiselect(_("Template"), options.templates,
                                   key=_key(key, "templates"), placeholder=_("All templates"))
    if window in WINDOWS:
        start, end = now - timedelta(days=WINDOWS[window]), now
    else:
        start, end = _custom_window(key, now)
    chosen = DashboardFilter(start=start, end=end, courses=tuple(courses), owners=tuple(owners),
                             templates=tuple(templates))
    return chosen.for_actor(actor)
