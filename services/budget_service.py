"""Budgets while environments run: what a student has used of each course's budget, the warning
at 80%, and the stop: once a student's metered spend crosses the budget, their running
environments in that course are destroyed (unless the course only notifies), each destroy
recorded with its reason.

Spend is metered from what ran times its price at launch (services/cost_meter.py), so a stop
follows the crossing by one check interval (`PORTAL_BUDGET_CHECK_INTERVAL_S`), not by a bill.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from services import limits
from services.audit import Action
from services.context import PortalContext
from services.cost_meter import spend_by_student
from services.courses import CoursePolicy, default_policy, launch_courses
from services.errors import PortalError
from services.history.models import Account, Course, Environment, EnvironmentStatus, utcnow
from services.identity import Actor, Role

logger = logging.getLogger(__name__)

# The portal itself acts when it stops environments over budget.
PORTAL_ACTOR = Actor("portal", Role.INSTRUCTOR, is_admin=True)
# Statuses a budget stop destroys: what still holds resources and is not already going.
STOPPABLE = (EnvironmentStatus.READY.value, EnvironmentStatus.FAILED.value)


@dataclass(frozen=True)
class BudgetStatus:
    course: str
    budget_usd: float
    spent_usd: float
    committed_usd: float
    stops_at_budget: bool

    @property
    def used_fraction(self) -> float:
        return self.spent_usd / self.budget_usd if self.budget_usd > 0 else 0.0

    @property
    def warning(self) -> str | None:
        return limits.budget_warning(self.spent_usd, self.budget_usd)

    @property
    def over(self) -> bool:
        return self.spent_usd >= self.budget_usd - 1e-9

    def to_json(self) -> dict[str, object]:
        return {"course": self.course, "budget_usd": self.budget_usd,
                "spent_usd": round(self.spent_usd, 6), "committed_usd": round(self.committed_usd, 6),
                "used_pct": round(self.used_fraction * 100, 2),
                "stops_at_budget": self.stops_at_budget, "warning": self.warning}


def budget_status(ctx: PortalContext, *, actor: Actor,
                  now: datetime | None = None) -> list[BudgetStatus]:
    """A student's budget in each of their courses in which they have launched something."""
    now = now or utcnow()
    statuses = []
    for policy in launch_courses(ctx, actor=actor):
        spend = spend_by_student(ctx, course=policy.id, owners=[actor.name], now=now).get(
            actor.name)
        if spend is None:
            continue
        statuses.append(BudgetStatus(policy.id, policy.budget_usd, spend.spent_usd,
                                     spend.committed_usd, policy.stops_at_budget))
    return statuses


def _policies(ctx: PortalContext) -> list[CoursePolicy]:
    from services.courses import _policy

    with ctx.sessions() as session:
        policies = [_policy(c) for c in session.scalars(select(Course))]
    if not any(p.id == ctx.settings.default_course for p in policies):
        policies.append(default_policy(ctx))
    return policies


@dataclass(frozen=True)
class BudgetStop:
    env_id: str
    owner: str
    course: str
    run_id: int
    reason: str


def enforce_budgets(ctx: PortalContext, *, now: datetime | None = None) -> list[BudgetStop]:
    """Start a destroy of every running environment of each student over budget in a course that
    stops at its budget. Instructors' own environments have no budget. Returns the destroys
    started; the caller runs them (`environment_service.run_destroy`)."""
    from services.environment_service import AlreadyDestroyingError, start_destroy

    now = now or utcnow()
    stops: list[BudgetStop] = []
    with ctx.sessions() as session:
        instructors = set(session.scalars(select(Account.name).where(
            Account.role == Role.INSTRUCTOR.value)))
    for policy in _policies(ctx):
        if not policy.stops_at_budget:
            continue
        with ctx.sessions() as session:
            owners = sorted(set(session.scalars(select(Environment.owner).where(
                Environment.course == policy.id, Environment.status.in_(STOPPABLE)))))
        owners = [o for o in owners if o not in instructors]
        if not owners:
            continue
        for owner, spend in spend_by_student(ctx, course=policy.id, owners=owners,
                                             now=now).items():
            if spend.spent_usd < policy.budget_usd - 1e-9:
                continue
            reason = (f"budget of course {policy.id} exceeded: {owner} spent "
                      f"{limits.usd(spend.spent_usd)} of {limits.usd(policy.budget_usd)}")
            with ctx.sessions() as session:
                env_ids = list(session.scalars(select(Environment.id).where(
                    Environment.course == policy.id, Environment.owner == owner,
                    Environment.status.in_(STOPPABLE))))
            for env_id in env_ids:
                try:
                    started = start_destroy(ctx, actor=PORTAL_ACTOR, env_id=env_id, reason=reason,
                                            action=Action.BUDGET_STOP)
                except AlreadyDestroyingError:
                    continue
                except PortalError as exc:
                    logger.warning("budget stop of %s failed to start: %s", env_id, exc)
                    continue
                stops.append(BudgetStop(env_id, owner, policy.id, started.run_id, reason))
    return stops
