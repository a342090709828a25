"""The audit log: sign-ins, account and enrolment changes, launches, destroys, refusals, lease
changes and budget stops, each with who, when, what and whether the portal let them.

`record` writes inside the caller's unit of work when it is given a session, so an action and its
entry commit together; `record_now` writes on its own, for refusals (nothing else is recorded
then) and for sign-ins. Entries never hold a password or a one-time code.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.context import PortalContext
from services.errors import PermissionDeniedError
from services.history.models import AuditEntry, utcnow
from services.identity import Actor

MAX_ROWS = 5000


class Outcome(str, enum.Enum):
    SUCCEEDED = "succeeded"
    REFUSED = "refused"
    FAILED = "failed"


class Action(str, enum.Enum):
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    SETUP = "setup"
    ACTIVATE = "activate"
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_CODE = "account.code"
    COURSE_CREATE = "course.create"
    COURSE_UPDATE = "course.update"
    ENROL = "enrol"
    UNENROL = "unenrol"
    ROSTER_IMPORT = "roster.import"
    LAUNCH = "launch"
    DESTROY = "destroy"
    LEASE_EXTEND = "lease.extend"
    LEASE_END = "lease.end"
    BUDGET_STOP = "budget.stop"
    TEMPLATE_IMPORT = "template.import"
    TEMPLATE_VERSION = "template.version"
    TEMPLATE_UPDATE = "template.update"
    TEMPLATE_ASSIGN = "template.assign"
    TEMPLATE_RETIRE = "template.retire"


@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor: str
    action: str
    outcome: str
    course_id: str | None
    target: str | None
    detail: str | None
    client: str | None

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "outcome": self.outcome, "course": self.course_id, "target": self.target,
                "detail": self.detail, "client": self.client}


def record(session: Session, *, actor: str, action: Action, outcome: Outcome = Outcome.SUCCEEDED,
           course_id: str | None = None, target: str | None = None, detail: str | None = None,
           client: str | None = None, at: datetime | None = None) -> None:
    session.add(AuditEntry(at=at or utcnow(), actor=actor[:64], action=action.value,
                           outcome=outcome.value, course_id=course_id,
                           target=target[:128] if target else None, detail=detail,
                           client=client[:64] if client else None))


def record_now(ctx: PortalContext, **entry: Any) -> None:
    with ctx.sessions() as session, session.begin():
        record(session, **entry)


def entries(ctx: PortalContext, *, actor: Actor, start: datetime | None = None,
            end: datetime | None = None, actions: Iterable[str] = (),
            actors: Iterable[str] = (), courses: Iterable[str] = (),
            outcomes: Iterable[str] = (), limit: int = MAX_ROWS) -> list[AuditView]:
    """The newest entries first. Instructors see the entries of the courses they teach and
    entries about no course (sign-ins, accounts); admins and the operator see everything."""
    if not actor.is_instructor:
        raise PermissionDeniedError("audit: only instructors may read the audit log")
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if start is not None:
        query = query.where(AuditEntry.at >= start)
    if end is not None:
        query = query.where(AuditEntry.at < end)
    for column, chosen in ((AuditEntry.action, actions), (AuditEntry.actor, actors),
                           (AuditEntry.course_id, courses), (AuditEntry.outcome, outcomes)):
        chosen = [c for c in chosen if c]
        if chosen:
            query = query.where(column.in_(chosen))
    if not actor.sees_every_course:
        taught = sorted(actor.courses_taught or ())
        query = query.where(AuditEntry.course_id.is_(None) | AuditEntry.course_id.in_(taught))
    with ctx.sessions() as session:
        return [AuditView(e.at, e.actor, e.action, e.outcome, e.course_id, e.target, e.detail,
                          e.client) for e in session.scalars(query)]


CSV_COLUMNS = ["at", "actor", "action", "outcome", "course", "target", "detail", "client"]


def to_csv(views: Iterable[AuditView]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for view in views:
        row = view.to_json()
        # A cell starting with = + - @ would run as a formula in a spreadsheet: quote it.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in row.items()})
    return buffer.getvalue()
