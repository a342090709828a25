"""Budgets while environments run, leases, and destroys that race: on the embedded cloud, with
the clock of the budget checks simulated."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.settings import Settings

from services import audit, budget_service, courses
from services import environment_service as environments
from services.context import PortalContext
from services.errors import InvalidStateError, PermissionDeniedError
from services.history.models import Environment, Run, RunKind, utcnow
from services.limits import LimitExceededError
from tests.services.conftest import OPERATOR, Classroom

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _ready(ctx: PortalContext, room: Classroom, *, lease_hours: int = 4) -> environments.EnvironmentView:
    env = environments.launch(ctx, actor=room.students[0], template_id="web-server",
                              parameters={}, course=room.course, lease_hours=lease_hours)
    assert env.status == "ready", env.status_reason
    return env


def test_a_budget_stop_follows_the_crossing_within_one_check_interval(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    """The instructor lowers the budget below what a running environment will spend: the check
    that first runs after the crossing, on a simulated clock ticking at the check interval,
    destroys it and records why."""
    room = classroom("stop", students=1, budget_usd=10)
    env = _ready(ctx, room)
    price = env.hourly_cost_usd
    assert price and price > 0
    with ctx.sessions() as session:
        started = session.scalars(select(Run.started_at).where(
            Run.env_id == env.env_id, Run.kind == RunKind.LAUNCH.value)).one()
    # The spend reaches the new budget 7.5 minutes after the launch started.
    crossing = started + timedelta(minutes=7.5)
    new_budget = price * 7.5 / 60
    courses.update_course(ctx, actor=room.teacher, course_id=room.course, budget_usd=new_budget)
    # The tests turn the schedule off (PORTAL_BUDGET_CHECK_INTERVAL_S=0); the clock ticks at the
    # interval the portal checks budgets at by default.
    interval = timedelta(seconds=Settings.model_fields["budget_check_interval_s"].default)
    tick, stops = started, []
    while not stops:
        tick += interval
        assert tick < crossing + 2 * interval, "no stop by two intervals after the crossing"
        stops = budget_service.enforce_budgets(ctx, now=tick)
    delay = tick - crossing
    assert timedelta(0) <= delay <= interval
    assert [(s.env_id, s.owner) for s in stops] == [(env.env_id, room.students[0].name)]
    assert "budget of course stop exceeded" in stops[0].reason
    environments.run_destroy(ctx, run_id=stops[0].run_id)
    view = environments.get_environment(ctx, actor=OPERATOR, env_id=env.env_id)
    assert view.status == "destroyed"
    with ctx.sessions() as session:
        assert session.get(Run, stops[0].run_id).reason == stops[0].reason
    entry = audit.entries(ctx, actor=OPERATOR, actions=["budget.stop"])[0]
    assert (entry.actor, entry.target, entry.course_id) == ("portal", env.env_id, "stop")
    print(f"budget stop delay on the simulated clock: {delay.total_seconds():.0f} s "
          f"(check interval {interval.total_seconds():.0f} s)")


def test_a_notify_only_course_warns_and_keeps_running(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("notify", students=1, budget_usd=10, budget_action="notify")
    env = _ready(ctx, room)
    courses.update_course(ctx, actor=room.teacher, course_id=room.course, budget_usd=0.0001)
    assert budget_service.enforce_budgets(ctx, now=utcnow() + timedelta(hours=1)) == []
    status = budget_service.budget_status(ctx, actor=room.students[0],
                                          now=utcnow() + timedelta(hours=1))
    assert status[0].over and status[0].warning and "budget" in status[0].warning
    assert environments.get_environment(ctx, actor=OPERATOR, env_id=env.env_id).status == "ready"


def test_the_warning_starts_at_eighty_percent(ctx: PortalContext,
                                              classroom: Callable[..., Classroom]) -> None:
    room = classroom("warn", students=1, budget_usd=10)
    env = _ready(ctx, room, lease_hours=1)
    budget = env.hourly_cost_usd * 1.0  # one hour of it
    courses.update_course(ctx, actor=room.teacher, course_id=room.course, budget_usd=budget)
    start = env.created_at
    before = budget_service.budget_status(ctx, actor=room.students[0],
                                          now=start + timedelta(minutes=40))
    after = budget_service.budget_status(ctx, actor=room.students[0],
                                         now=start + timedelta(minutes=50))
    assert before[0].warning is None
    assert after[0].warning is not None and "8" in after[0].warning


def test_simultaneous_destroys_record_exactly_one_run(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("race-destroy", students=1)
    env = _ready(ctx, room)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            environments.start_destroy(ctx, actor=room.students[0], env_id=env.env_id)
            outcomes.append("started")
        except environments.AlreadyDestroyingError:
            outcomes.append("already")

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == Counter({"started": 1, "already": 7})
    with ctx.sessions() as session:
        runs = session.scalars(select(Run).where(Run.env_id == env.env_id,
                                                 Run.kind == RunKind.DESTROY.value)).all()
    assert len(runs) == 1


def test_a_student_extends_within_the_longest_lease_an_instructor_beyond_or_ends_it(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("lease", students=1, max_lease_hours=6)
    env = _ready(ctx, room, lease_hours=4)
    student = room.students[0]
    extended = environments.extend_lease(ctx, actor=student, env_id=env.env_id, hours=2)
    assert extended.expires_at == env.expires_at + timedelta(hours=2)
    with pytest.raises(LimitExceededError, match="longest lease"):
        environments.extend_lease(ctx, actor=student, env_id=env.env_id, hours=1)
    longer = environments.extend_lease(ctx, actor=room.teacher, env_id=env.env_id, hours=10)
    assert longer.expires_at == extended.expires_at + timedelta(hours=10)
    with pytest.raises(PermissionDeniedError):
        environments.end_lease(ctx, actor=student, env_id=env.env_id)
    started = environments.end_lease(ctx, actor=room.teacher, env_id=env.env_id)
    environments.run_destroy(ctx, run_id=started.run_id)
    assert environments.get_environment(ctx, actor=student, env_id=env.env_id).status == \
        "destroyed"
    with pytest.raises(InvalidStateError):
        environments.extend_lease(ctx, actor=room.teacher, env_id=env.env_id, hours=1)
    actions = [(e.action, e.outcome) for e in audit.entries(ctx, actor=OPERATOR,
                                                            courses=[room.course])]
    assert ("lease.extend", "refused") in actions and ("lease.end", "succeeded") in actions
    assert actions.count(("lease.extend", "succeeded")) == 2


def test_simultaneous_extensions_apply_once_each(ctx: PortalContext,
                                                 classroom: Callable[..., Classroom]) -> None:
    room = classroom("lease-race", students=1)
    env = _ready(ctx, room, lease_hours=2)
    barrier = threading.Barrier(5)
    results: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            environments.extend_lease(ctx, actor=room.teacher, env_id=env.env_id, hours=1)
            results.append("extended")
        except InvalidStateError:
            results.append("changed")

    threads = [threading.Thread(target=one) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with ctx.sessions() as session:
        expires = session.get(Environment, env.env_id).expires_at
    assert expires == env.expires_at + timedelta(hours=results.count("extended"))
    assert results.count("extended") >= 1


def test_other_students_environments_are_invisible_and_untouchable(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("privacy", students=2)
    other = classroom("elsewhere", students=0)
    env = _ready(ctx, room)
    with pytest.raises(environments.EnvironmentNotFoundError):
        environments.start_destroy(ctx, actor=room.students[1], env_id=env.env_id)
    with pytest.raises(environments.EnvironmentNotFoundError):
        environments.start_destroy(ctx, actor=other.teacher, env_id=env.env_id)
    assert [e.env_id for e in environments.list_environments(ctx, actor=other.teacher)] == []
    assert [e.env_id for e in environments.list_environments(ctx, actor=room.teacher)] == \
        [env.env_id]
