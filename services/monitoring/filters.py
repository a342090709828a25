"""Which environments and which time window a dashboard shows, and who may see them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_

from services.errors import ValidationError
from services.history.models import Environment, EnvironmentStatus, utcnow
from services.i18n import _
from services.identity import Actor

MAX_WINDOW = timedelta(days=62)
LIVE_STATUSES = (EnvironmentStatus.LAUNCHING.value, EnvironmentStatus.READY.value,
                 EnvironmentStatus.DESTROYING.value)


@dataclass(frozen=True)
class DashboardFilter:
    """A time window and optional course, student and template choices; empty means all."""

    start: datetime
    end: datetime
    courses: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("dashboard window: use timezone-aware UTC datetimes")
        if self.end <= self.start:
            raise ValidationError({"window": _("the end must come after the start")})
        if self.end - self.start > MAX_WINDOW:
            raise ValidationError({"window": _("at most {days} days").format(
                days=MAX_WINDOW.days)})

    @classmethod
    def last(cls, days: float, *, now: datetime | None = None, **choices: tuple[str, ...]
             ) -> DashboardFilter:
        end = now or utcnow()
        return cls(start=end - timedelta(days=days), end=end, **choices)

    def for_actor(self, actor: Actor) -> DashboardFilter:
        """Students see their own environments only, instructors those of the courses they teach,
        whatever they chose."""
        if actor.sees_every_course:
            return self
        if not actor.is_instructor:
            return replace(self, owners=(actor.name,))
        taught = sorted(actor.courses_taught or ())
        chosen = [c for c in self.courses if c in taught] if self.courses else taught
        # A course id is never empty: ("",) matches nothing, where () would mean every course.
        return replace(self, courses=tuple(chosen) or ("",))

    def environment_clause(self) -> ColumnElement[bool]:
        """Environments chosen by course, student and template that existed during the window.

        An environment exists from its creation until it settled in a final state (destroyed,
        failed, lost: its `updated_at`); one launching, ready or destroying exists up to now.
        """
        clauses: list[ColumnElement[bool]] = [Environment.created_at < self.end]
        if self.courses:
            clauses.append(Environment.course.in_(self.courses))
        if self.owners:
            clauses.append(Environment.owner.in_(self.owners))
        if self.templates:
            clauses.append(Environment.template_id.in_(self.templates))
        clauses.append(or_(Environment.status.in_(LIVE_STATUSES),
                           Environment.updated_at >= self.start))
        return and_(*clauses)


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """The environments `actor` may see: their own, and those of the courses they teach."""
    if actor.sees_every_course:
        return Environment.id.is_not(None)
    if actor.is_instructor:
        return or_(Environment.owner == actor.name,
                   Environment.course.in_(sorted(actor.courses_taught or ())))
    return Environment.owner == actor.name
