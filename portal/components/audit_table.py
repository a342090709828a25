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
from services.i18n import N_, _
from services.identity import Actor

PREFIX = "audit_table"
# The window choices are the widget's values, in English whatever the reader's language: they are
# translated only where shown.
WINDOWS: dict[str, float] = {N_("Last 24 hours"): 1, N_("Last 7 days"): 7, N_("Last 30 days"): 30}
CUSTOM = N_("Custom dates")
WINDOW_LABELS = [*WINDOWS, CUSTOM]
DEFAULT_WINDOW = "Last 7 days"
OUTCOME_LABELS = {Outcome.SUCCEEDED.value: N_("succeeded"), Outcome.REFUSED.value: N_("refused"),
                  Outcome.FAILED.value: N_("failed")}
# The table's columns, as shown; the rows keep the English keys, which the CSV uses too.
COLUMN_LABELS = {"at": N_("at"), "actor": N_("actor"), "action": N_("action"),
                 "outcome": N_("outcome"), "course": N_("course"), "target": N_("target"),
                 "detail": N_("detail"), "client": N_("client")}
_NAME_SEPARATORS = re.compile(r"[\s,;]+")


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def _outcome(outcome: str) -> str:
    return _(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else outcome


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
    chosen = st.date_input(_("Dates (UTC)"), value=(today - timedelta(days=6), today),
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
        window = st.selectbox(_("Time window"), WINDOW_LABELS, format_func=_,
                              index=WINDOW_LABELS.index(DEFAULT_WINDOW), key=_key(key, "window"))
    with action_col:
        actions = st.multiselect(_("Action"), [a.value for a in Action], key=_key(key, "actions"),
                                 placeholder=_("All actions"))
    with outcome_col:
        outcomes = st.multiselect(_("Outcome"), [o.value for o in Outcome], format_func=_outcome,
                                  key=_key(key, "outcomes"), placeholder=_("All outcomes"))
    actor_col, course_col = st.columns([1, 2])
    with actor_col:
        names = st.text_input(_("Actor"), key=_key(key, "actors"), max_chars=400,
                              placeholder=_("Anyone"),
                              help=_("One or more account names, separated by commas or spaces."))
    with course_col:
        chosen_courses = st.multiselect(_("Course"), courses, key=_key(key, "courses"),
                                        placeholder=_("All your courses (and entries of none)"))
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
        st.warning(_("Showing the newest {count} entries only: narrow the filters to see older "
                     "ones.").format(count=audit.MAX_ROWS), icon=":material/filter_alt:")
    if not views:
        st.info(_("No entries match these filters."), icon=":material/manage_search:")
        return
    refused = sum(1 for v in views if v.outcome == Outcome.REFUSED.value)
    failed = sum(1 for v in views if v.outcome == Outcome.FAILED.value)
    st.caption(_("{entries} entries · {refused} refused · {failed} failed").format(
        entries=len(views), refused=refused, failed=failed))
    # The outcome in the reader's language; the CSV below keeps the stored value.
    rows = [{**row, "outcome": _outcome(row["outcome"])} for row in audit_rows(views)]
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={column: _(label) for column, label in COLUMN_LABELS.items()})
    # The CSV is built from the same list the table shows, so the file is what the reader saw.
    st.download_button(
        _("Download CSV"), data=audit.to_csv(views),
        file_name=f"audit-{chosen.start:%Y%m%d-%H%M}-{chosen.end:%Y%m%d-%H%M}.csv",
        mime="text/csv", key=_key(key, "download"), on_click="ignore",
        icon=":material/download:")
