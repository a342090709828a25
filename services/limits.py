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
from decimal import Decimal
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
from services.i18n import N_, _, format_money, format_percent
from services.identity import Actor

# Environments that count against "running at once": they hold, or are about to hold, resources.
COUNTED = (EnvironmentStatus.LAUNCHING.value, EnvironmentStatus.READY.value,
           EnvironmentStatus.DESTROYING.value)
# Environments whose lease is still to be paid: a destroy under way ends the cost.
LIVE = (EnvironmentStatus.LAUNCHING.value, EnvironmentStatus.READY.value)
# At this share of the budget the student's pages warn.
WARN_FRACTION = 0.8
# The name of each limit as a refusal shows it (`LimitExceededError.limit` stays the code).
LIMIT_NAMES = {"course": N_("course"), "course dates": N_("course dates"),
               "templates": N_("templates"), "database classes": N_("database classes"),
               "instance types": N_("instance types"), "longest lease": N_("longest lease"),
               "running environments": N_("running environments"), "budget": N_("budget")}


class LimitExceededError(PortalError):
    """A launch or lease change the course does not allow; `limit` names which limit."""

    def __init__(self, limit: str, message: str, *, course: str | None = None) -> None:
        self.limit = limit
        self.course = course
        name = _(LIMIT_NAMES[limit]) if limit in LIMIT_NAMES else limit
        super().__init__(_("refused by the course limit '{limit}': {message}").format(
            limit=name, message=message))


def usd(amount: float) -> str:
    # Rounded as Python rounds (half-even on the float), then written as the language writes it.
    return format_money(Decimal(f"{amount:.2f}"))


def check_access(session: Session, *, policy: CoursePolicy, actor: Actor,
                 manifest: TemplateManifest, values: Mapping[str, Any], lease_hours: int,
                 now: datetime) -> None:
    """Whether `actor` may launch `manifest` with `values` for `lease_hours` in the course."""
    course = policy.id
    if actor.is_instructor:
        if not (policy.open_to_all or actor.teaches(course)):
            raise LimitExceededError("course", _("you do not teach course {course}").format(
                course=course), course=course)
    elif not (policy.open_to_all or is_enrolled(session, course_id=course, name=actor.name)):
        raise LimitExceededError("course", _("{name} is not enrolled in course {course}").format(
            name=actor.name, course=course), course=course)
    today = now.date()
    if policy.starts_on and today < policy.starts_on:
        raise LimitExceededError("course dates", _("course {course} starts on {day}").format(
            course=course, day=policy.starts_on), course=course)
    if policy.ends_on and today > policy.ends_on:
        raise LimitExceededError("course dates", _("course {course} ended on {day}").format(
            course=course, day=policy.ends_on), course=course)
    if not manifest.imported and not policy.allows_template(manifest.id):
        # An imported template's own course assignment is checked with its version at launch.
        raise LimitExceededError("templates", _("course {course} does not offer {template} "
                                                "(it offers {offered})").format(
            course=course, template=manifest.id, offered=", ".join(policy.templates or ())),
            course=course)
    for parameter in manifest.parameters:
        if not parameter.allowed or parameter.name not in values:
            continue
        allowed = policy.narrowed(parameter.allowed)
        if values[parameter.name] not in allowed:
            what = "database classes" if str(values[parameter.name]).startswith("db.") \
                else "instance types"
            raise LimitExceededError(what, _("{parameter}={value} is not allowed in course "
                                             "{course} (allowed: {allowed})").format(
                parameter=parameter.name, value=values[parameter.name], course=course,
                allowed=", ".join(map(str, allowed)) or _("none")), course=course)
    if lease_hours > policy.max_lease_hours:
        raise LimitExceededError("longest lease", _("a lease of {hours} h is longer than "
                                                    "course {course}'s longest, {longest} h")
                                 .format(hours=lease_hours, course=course,
                                         longest=policy.max_lease_hours), course=course)
    if policy.ends_on and (now + timedelta(hours=lease_hours)).date() > policy.ends_on:
        raise LimitExceededError("course dates", _("a lease of {hours} h would run past the "
                                                   "end of course {course} on {day}").format(
            hours=lease_hours, course=course, day=policy.ends_on), course=course)


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
            "running environments", _("{owner} already runs {running} of the {allowed} "
                                      "environments course {course} allows at once; destroy "
                                      "one first").format(
                owner=owner, running=running, allowed=policy.max_running_envs, course=course),
            course=course)
    committed = committed_usd(session, course=course, owner=owner, now=now)
    if spent_usd + committed + launch_cost_usd > policy.budget_usd + 1e-9:
        fields = {"cost": usd(launch_cost_usd), "hours": lease_hours, "owner": owner,
                  "spent": usd(spent_usd), "course": course, "budget": usd(policy.budget_usd)}
        if committed:
            message = _("this costs {cost} for {hours} h; {owner} has spent {spent} (and "
                        "{committed} more committed to running environments until their leases "
                        "end); the budget in course {course} is {budget}").format(
                committed=usd(committed), **fields)
        else:
            message = _("this costs {cost} for {hours} h; {owner} has spent {spent}; the budget "
                        "in course {course} is {budget}").format(**fields)
        raise LimitExceededError("budget", message, course=course)


def lease_end_allowed(policy: CoursePolicy, *, created_at: datetime,
                      new_expires_at: datetime) -> None:
    """An extension keeps the whole lease within the course's longest lease and dates."""
    total = (new_expires_at - created_at).total_seconds() / 3600
    if total > policy.max_lease_hours + 1e-6:
        raise LimitExceededError(
            "longest lease", _("the lease would last {total:.1f} h from launch; course "
                               "{course}'s longest is {longest} h").format(
                total=total, course=policy.id, longest=policy.max_lease_hours),
            course=policy.id)
    if policy.ends_on and new_expires_at.date() > policy.ends_on:
        raise LimitExceededError("course dates", _("the lease would run past the end of course "
                                                   "{course} on {day}").format(
            course=policy.id, day=policy.ends_on), course=policy.id)


def budget_warning(spend_usd: float, budget_usd: float) -> str | None:
    if budget_usd <= 0 or spend_usd < WARN_FRACTION * budget_usd:
        return None
    share = spend_usd / budget_usd * 100
    # Rounded as Python rounds, then written as the language writes a percentage.
    return _("You have used {share} of your budget ({spent} of {budget}).").format(
        share=format_percent(Decimal(f"{share:.0f}") / 100), spent=usd(spend_usd),
        budget=usd(budget_usd))


def day(value: date | None) -> str:
    return value.isoformat() if value else "-"
