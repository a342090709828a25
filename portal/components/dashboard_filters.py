"""Course, student, template and time window of a dashboard, as one row of widgets.

Owns the `dashboard_filters.{key}.*` session_state keys. Choices left empty mean "all"; students
get no student choice: every service narrows their view to their own environments anyway.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from services.context import PortalContext
from services.history.models import utcnow
from services.i18n import N_, _
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


def dashboard_filters(ctx: PortalContext, actor: Actor, *, key: str,
                      now: datetime | None = None) -> DashboardFilter:
    """Draw the filter row and return the chosen filter, already narrowed to what `actor` sees."""
    now = now or utcnow()
    options = filter_options(ctx, actor)
    columns = st.columns(4 if actor.is_instructor else 3)
    with columns[0]:
        window = st.selectbox(_("Time window"), WINDOW_LABELS, format_func=_,
                              index=WINDOW_LABELS.index(DEFAULT_WINDOW), key=_key(key, "window"))
    with columns[1]:
        courses = st.multiselect(_("Course"), options.courses, key=_key(key, "courses"),
                                 placeholder=_("All courses"))
    owners: list[str] = []
    if actor.is_instructor:
        with columns[2]:
            owners = st.multiselect(_("Student"), options.owners, key=_key(key, "owners"),
                                    placeholder=_("All students"))
    with columns[-1]:
        templates = st.multiselect(_("Template"), options.templates, key=_key(key, "templates"),
                                   placeholder=_("All templates"))
    if window in WINDOWS:
        start, end = now - timedelta(days=WINDOWS[window]), now
    else:
        start, end = _custom_window(key, now)
    chosen = DashboardFilter(start=start, end=end, courses=tuple(courses), owners=tuple(owners),
                             templates=tuple(templates))
    return chosen.for_actor(actor)
