"""The limits a launch must stay within, checked in the service layer so the pages, the CLI and
any background worker all obey them.

`check_access` is about the course and the request alone (may this person launch this template,
with these sizes, for this long, today). `lock_owner` and `check_quota` run inside the launch's
own transaction: the lock makes every launch of one student in one course a serial step, so the
count of running environments and the budget a launch sees cannot change before it inserts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.catalog_service import TemplateManifest
from services.context import PortalContext
from services.courses import CoursePolicy, is_enrolled
from services.errors import PortalError
from services.history.models import Environment, EnvironmentStatus, LaunchGuard
from services.identity import Actor

# Environments that count against "running at once": they hold, or are about to hold, resources.
COUNTED = (EnvironmentStatus.LAUNCHING.value, EnvironmentStatus.READY.value,
           EnvironmentStatus.DESTROYING.value)
# Environments whose lease is still to be paid: a destroy under way ends the cost.
LIVE = (EnvironmentStatus.LAUNCHING.value, EnvironmentStatus.READY.value)
# At this share of the budget the student's pages warn.
WARN_FRACTION = 0.8


class LimitExceededError(PortalError):
    """A launch or lease change the course does not allow; `limit` names which limit."""

    def __init__(self, limit: str, message: str, *, course: str | None = None) -> None:
        self.limit = limit
        self.course = course
        super().__init__(f"refused by the course limit '{limit}': {message}")


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def check_access(session: Session, *, policy: CoursePolicy, actor: Actor,
                 manifest: TemplateManifest, values: Mapping[str, Any], lease_hours: int,
                 now: datetime) -> None:
    """Whether `actor` may launch `manifest` with `values` for `lease_hours` in the course."""
    course = policy.id
    if actor.is_instructor:
        if not (policy.open_to_all or actor.teaches(course)):
            raise LimitExceededError("course", f"you do not teach course {course}",
                                     course=course)
    elif not (policy.open_to_all or is_enrolled(session, course_id=course, name=actor.name)):
        raise LimitExceededError("course", f"{actor.name} is not enrolled in course {course}",
                                 course=course)
    today = now.date()
    if policy.starts_on and today < policy.starts_on:
        raise LimitExceededError("course dates", f"course {course} starts on "
                                 f"{policy.starts_on}", course=course)
    if policy.ends_on and today > policy.ends_on:
        raise LimitExceededError("course dates", f"course {course} ended on {policy.ends_on}",
                                 course=course)
    if not manifest.imported and not policy.allows_template(manifest.id):
        # An imported template's own course assignment is checked with its version at launch.
        raise LimitExceededError("templates", f"course {course} does not offer {manifest.id} "
                                 f"(it offers {', '.join(policy.templates or ())})",
                                 course=course)
    for parameter in manifest.parameters:
        if not parameter.allowed or parameter.name not in values:
            continue
        allowed = policy.narrowed(parameter.allowed)
        if values[parameter.name] not in allowed:
            what = "database classes" if str(values[parameter.name]).startswith("db.") \
                else "instance types"
            raise LimitExceededError(what, f"{parameter.name}={values[parameter.name]} is not "
                                     f"allowed in course {course} (allowed: "
                                     f"{', '.join(map(str, allowed)) or 'none'})", course=course)
    if lease_hours > policy.max_lease_hours:
        raise LimitExceededError("longest lease", f"a lease of {lease_hours} h is longer than "
                                 f"course {course}'s longest, {policy.max_lease_hours} h",
                                 course=course)
    if policy.ends_on and (now + timedelta(hours=lease_hours)).date() > policy.ends_on:
        raise LimitExceededError("course dates", f"a lease of {lease_hours} h would run past "
                                 f"the end of course {course} on {policy.ends_on}",
                                 course=course)


def lock_owner(session: Session, *, course: str, owner: str) -> None:
    """Serialise the launches of one student in one course. Must be the transaction's first
    write: on SQLite it takes the database's write lock (readers go on, under WAL); on PostgreSQL
    it locks this student's guard row until commit, leaving everyone else's launches alone."""
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(maker(LaunchGuard).values(course_id=course, owner=owner, launches=0)
                    .on_conflict_do_nothing())
    session.execute(update(LaunchGuard).where(LaunchGuard.course_id == course,
                                              LaunchGuard.owner == owner)
                    .values(launches=LaunchGuard.launches + 1))


def running_count(session: Session, *, course: str, owner: str) -> int:
    return session.scalar(select(func.count()).select_from(Environment).where(
        Environment.course == course, Environment.owner == owner,
        Environment.status.in_(COUNTED))) or 0


def spent_so_far(ctx: PortalContext, *, course: str, owner: str, now: datetime) -> float:
    """What `owner` has spent in `course` up to now, metered as the dashboards meter it. Read
    before `lock_owner`: metering reads the student's whole history, which need not hold a
    student's lock, and what a launch waiting for the lock adds meanwhile is its committed
    lease, which `check_quota` reads inside the lock."""
    from services.cost_meter import spend_by_student

    spend = spend_by_student(ctx, course=course, owners=[owner], now=now).get(owner)
    return spend.spent_usd if spend else 0.0


def committed_usd(session: Session, *, course: str, owner: str, now: datetime) -> float:
    """What the student's live environments will still cost until their leases end."""
    rows = session.execute(select(Environment.hourly_cost_usd, Environment.expires_at).where(
        Environment.course == course, Environment.owner == owner,
        Environment.status.in_(LIVE))).all()
    return sum((price or 0.0) * max(0.0, (expires - now).total_seconds() / 3600)
               for price, expires in rows if expires is not None)


def check_quota(session: Session, *, policy: CoursePolicy, owner: str, launch_cost_usd: float,
                lease_hours: int, now: datetime, spent_usd: float,
                count_running: bool = True) -> None:
    """Room for one more environment (unless `count_running` is off, for a lease extension),
    and money for its whole lease: spent so far (`spent_so_far`, read before the lock), plus
    what the live environments have committed, plus this. Call after `lock_owner`, in its
    transaction."""
    course = policy.id
    running = running_count(session, course=course, owner=owner) if count_running else 0
    if count_running and running >= policy.max_running_envs:
        raise LimitExceededError(
            "running environments", f"{owner} already runs {running} of the "
            f"{policy.max_running_envs} environments course {course} allows at once; destroy "
            "one first", course=course)
    committed = committed_usd(session, course=course, owner=owner, now=now)
    if spent_usd + committed + launch_cost_usd > policy.budget_usd + 1e-9:
        already = usd(spent_usd) + (f" (and {usd(committed)} more committed to running "
                                    f"environments until their leases end)" if committed else "")
        raise LimitExceededError(
            "budget", f"this costs {usd(launch_cost_usd)} for {lease_hours} h; "
            f"{owner} has spent {already}; the budget in course {course} is "
            f"{usd(policy.budget_usd)}", course=course)


def lease_end_allowed(policy: CoursePolicy, *, created_at: datetime,
                      new_expires_at: datetime) -> None:
    """An extension keeps the whole lease within the course's longest lease and dates."""
    total = (new_expires_at - created_at).total_seconds() / 3600
    if total > policy.max_lease_hours + 1e-6:
        raise LimitExceededError(
            "longest lease", f"the lease would last {total:.1f} h from launch; course "
            f"{policy.id}'s longest is {policy.max_lease_hours} h", course=policy.id)
    if policy.ends_on and new_expires_at.date() > policy.ends_on:
        raise LimitExceededError("course dates", f"the lease would run past the end of course "
                                 f"{policy.id} on {policy.ends_on}", course=policy.id)


def budget_warning(spend_usd: float, budget_usd: float) -> str | None:
    if budget_usd <= 0 or spend_usd < WARN_FRACTION * budget_usd:
        return None
    share = spend_usd / budget_usd * 100
    return (f"You have used {share:.0f}% of your budget ({usd(spend_usd)} of "
            f"{usd(budget_usd)}).")


def day(value: date | None) -> str:
    return value.isoformat() if value else "-"
