"""The audit log's filter row, its table and the CSV of exactly the rows shown.

Owns the `audit_table.{key}.*` session_state keys. Choices left empty mean "all"; what an
instructor may see at all (their courses and entries about no course) is the service's business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from portal.components.text import utc
from services import audit
from services.audit import Action, AuditView, Outcome
from services.context import PortalContext
from services.courses import visible_courses
from services.history.models import utcnow
from services.identity import Actor

PREFIX = "audit_table"
WINDOWS: dict[str, float] = {"Last 24 hours": 1, "Last 7 days": 7, "Last 30 days": 30}
CUSTOM = "Custom dates"
WINDOW_LABELS = [*WINDOWS, CUSTOM]
DEFAULT_WINDOW = "Last 7 days"
_NAME_SEPARATORS = re.compile(r"[\s,;]+")


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class AuditFilter:
    start: datetime
    end: datetime
    actions: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    courses: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()

    def query(self) -> dict[str, Any]:
        """The keyword arguments of `audit.entries`."""
        return {"start": self.start, "end": self.end, "actions": self.actions,
                "actors": self.actors, "courses": self.courses, "outcomes": self.outcomes}


def _custom_window(key: str, now: datetime) -> tuple[datetime, datetime]:
    today = now.astimezone(UTC).date()
    chosen = st.date_input("Dates (UTC)", value=(today - timedelta(days=6), today),
                           key=_key(key, "dates"), format="YYYY-MM-DD")
    # While the second date is still being picked the widget returns one date: show that day.
    days = [d for d in (chosen if isinstance(chosen, tuple | list) else (chosen,)) if d]
    first = min(days) if days else today
    last = max(days) if days else today
    return _day_start(first), _day_start(last + timedelta(days=1))


def audit_filters(ctx: PortalContext, actor: Actor, *, key: str,
                  now: datetime | None = None) -> AuditFilter:
    """Draw the filter row and return the chosen filter."""
    now = now or utcnow()
    courses = [view.id for view in visible_courses(ctx, actor=actor)]
    window_col, action_col, outcome_col = st.columns(3)
    with window_col:
        window = st.selectbox("Time window", WINDOW_LABELS,
                              index=WINDOW_LABELS.index(DEFAULT_WINDOW), key=_key(key, "window"))
    with action_col:
        actions = st.multiselect("Action", [a.value for a in Action], key=_key(key, "actions"),
                                 placeholder="All actions")
    with outcome_col:
        outcomes = st.multiselect("Outcome", [o.value for o in Outcome],
                                  key=_key(key, "outcomes"), placeholder="All outcomes")
    actor_col, course_col = st.columns([1, 2])
    with actor_col:
        names = st.text_input("Actor", key=_key(key, "actors"), max_chars=400,
                              placeholder="Anyone",
                              help="One or more account names, separated by commas or spaces.")
    with course_col:
        chosen_courses = st.multiselect("Course", courses, key=_key(key, "courses"),
                                        placeholder="All your courses (and entries of none)")
    if window in WINDOWS:
        start, end = now - timedelta(days=WINDOWS[window]), now
    else:
        start, end = _custom_window(key, now)
    actors = tuple(dict.fromkeys(n for n in _NAME_SEPARATORS.split(names or "") if n))
    return AuditFilter(start=start, end=end, actions=tuple(actions), actors=actors,
                       courses=tuple(chosen_courses), outcomes=tuple(outcomes))


def audit_rows(views: Sequence[AuditView]) -> list[dict[str, str]]:
    return [{"at": utc(v.at), "actor": v.actor, "action": v.action, "outcome": v.outcome,
             "course": v.course_id or "", "target": v.target or "", "detail": v.detail or "",
             "client": v.client or ""} for v in views]


def audit_table(views: Sequence[AuditView], *, key: str, chosen: AuditFilter) -> None:
    """The entries, newest first, and a download of the same entries as CSV."""
    if len(views) >= audit.MAX_ROWS:
        st.warning(f"Showing the newest {audit.MAX_ROWS} entries only: narrow the filters to "
                   "see older ones.", icon=":material/filter_alt:")
    if not views:
        st.info("No entries match these filters.", icon=":material/manage_search:")
        return
    refused = sum(1 for v in views if v.outcome == Outcome.REFUSED.value)
    failed = sum(1 for v in views if v.outcome == Outcome.FAILED.value)
    st.caption(f"{len(views)} entries · {refused} refused · {failed} failed")
    st.dataframe(audit_rows(views), hide_index=True, width="stretch")
    # The CSV is built from the same list the table shows, so the file is what the reader saw.
    st.download_button(
        "Download CSV", data=audit.to_csv(views),
        file_name=f"audit-{chosen.start:%Y%m%d-%H%M}-{chosen.end:%Y%m%d-%H%M}.csv",
        mime="text/csv", key=_key(key, "download"), on_click="ignore",
        icon=":material/download:")
