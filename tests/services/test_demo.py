"""The demo class: planned, launched, simulated, collected and destroyed through the portal's own
code on the embedded cloud."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.settings import CloudTarget
from services import accounts, courses
from services import environment_service as environments
from services.context import PortalContext
from services.demo import (
    DEMO_BUDGET_USD,
    DEMO_MAX_RUNNING_ENVS,
    DEMO_OPERATOR,
    MAX_DEMO_DAYS,
    MISTYPED_AMI,
    TEMPLATE_MIX,
    DemoRefusedError,
    build_demo_class,
    enrol_class,
    move_run_to_simulated_time,
    plan_class,
)
from services.errors import ValidationError
from services.history.models import (
    Deployment,
    Environment,
    MetricPoint,
    MetricSeries,
    Run,
    RunEvent,
    ScalingActivity,
)
from services.identity import Actor, Role

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_a_small_class_has_every_kind_of_history(ctx: PortalContext) -> None:
    # The collector leaves the last `collect_lag_s` unread, where an environment still running
    # now (an evening's homework, depending on the wall clock) has simulated datapoints: without
    # a lag every simulated datapoint is collected, whatever the time of day.
    ctx = PortalContext(ctx.settings.model_copy(update={"collect_lag_s": 0}))
    report = build_demo_class(ctx, students=3, days=2, seed=7)

    assert report.errors == []
    assert report.launched + report.failed == report.planned
    assert report.failed >= 1 and report.destroyed >= 1 and report.deployments >= 1
    assert report.collector is not None and report.collector["error"] is None
    start, now = report.start, report.now
    with ctx.sessions() as session:
        envs = session.scalars(select(Environment)).all()
        runs = session.scalars(select(Run)).all()
        assert {e.course for e in envs} == {"demo"}
        assert {e.owner for e in envs} == {"student-01", "student-02", "student-03"}
        assert {e.template_id for e in envs} == set(TEMPLATE_MIX)
        # Launches, destroys and failures, at their planned moments within the class's days.
        launches = [r for r in runs if r.kind == "launch"]
        destroys = [r for r in runs if r.kind == "destroy"]
        assert len(launches) == report.planned
        assert len([r for r in destroys if r.status == "succeeded"]) == report.destroyed
        failed = [e for e in envs if e.status == "failed"]
        assert len(failed) == report.failed
        assert all(e.parameters["ami_parameter"] == MISTYPED_AMI for e in failed)
        for env in envs:
            assert start - timedelta(minutes=15) <= env.created_at <= now
            launch = next(r for r in env.runs if r.kind == "launch")
            assert launch.started_at == env.created_at
            assert env.expires_at - env.created_at == timedelta(hours=env.lease_hours)
        for run in runs:
            # Moved back in time, durations kept: each run took seconds, not days.
            assert run.ended_at is not None
            assert timedelta(0) <= run.ended_at - run.started_at < timedelta(minutes=5)
            events = session.scalars(select(RunEvent).where(RunEvent.run_id == run.id)).all()
            assert events or run.status == "failed"  # a stack AWS refused has no events
            assert all(run.started_at - timedelta(seconds=5) <= e.occurred_at
                       <= run.ended_at + timedelta(seconds=5) for e in events)
        for run in destroys:
            assert run.started_at <= now
            assert run.environment.status == "destroyed"
        # Metrics, scaling activities and deployments reached the history through the collector.
        points = session.scalar(select(func.count()).select_from(MetricPoint))
        assert points == report.metric_data > 0
        metrics = set(session.scalars(select(MetricSeries.metric_name)))
        assert {"CPUUtilization", "CPUCreditBalance", "RequestCount", "HealthyHostCount",
                "DatabaseConnections"} <= metrics
        newest_point = session.scalar(select(func.max(MetricPoint.at)))
        oldest_point = session.scalar(select(func.min(MetricPoint.at)))
        assert start - timedelta(minutes=15) <= oldest_point and newest_point <= now
        activities = session.scalars(select(ScalingActivity)).all()
        assert activities
        assert all(start - timedelta(minutes=15) <= a.start_time <= now for a in activities)
        deployments = session.scalars(select(Deployment)).all()
        assert len(deployments) == report.deployments
        assert all(start <= d.created_at <= now for d in deployments)
    # The class launched in a course of its own, as enrolled students without passwords.
    (course,) = [v for v in courses.visible_courses(ctx, actor=DEMO_OPERATOR) if v.id == "demo"]
    assert not course.policy.open_to_all and course.policy.templates is None
    assert {(m.name, m.role, m.has_password) for m in course.members} == {
        (f"student-0{n}", "student", False) for n in (1, 2, 3)}


def test_the_demo_course_makes_room_for_the_plan_and_enrols_its_students(
        ctx: PortalContext) -> None:
    # A course left with tight limits (by hand, or an older portal) is widened, not refused.
    courses.create_course(ctx, actor=DEMO_OPERATOR, course_id="demo", max_running_envs=1,
                          budget_usd=1, templates=["web-server"])
    accounts.create_account(ctx, actor=DEMO_OPERATOR, name="student-01", role="student")

    enrol_class(ctx, operator=DEMO_OPERATOR, course="demo", students=["student-01", "student-02"])
    enrol_class(ctx, operator=DEMO_OPERATOR, course="demo", students=["student-01", "student-02"])

    policy = courses.get_policy(ctx, "demo")
    assert policy is not None and policy.templates is None
    assert (policy.max_running_envs, policy.budget_usd) == (DEMO_MAX_RUNNING_ENVS,
                                                            DEMO_BUDGET_USD)
    for name in ("student-01", "student-02"):
        account = accounts.get_account(ctx, name)
        assert account is not None and account.role == "student" and not account.has_password


def test_the_demo_needs_a_course_of_its_own(ctx: PortalContext) -> None:
    with pytest.raises(ValidationError) as error:
        build_demo_class(ctx, students=3, days=2, course=ctx.settings.default_course)
    assert "course" in error.value.field_errors
    assert courses.get_policy(ctx, ctx.settings.default_course).open_to_all


def test_moving_a_run_keeps_its_durations(ctx: PortalContext) -> None:
    student = Actor("mover", Role.STUDENT)
    view = environments.launch(ctx, actor=student, template_id="web-server", parameters={},
                               lease_hours=8)
    (run,) = view.runs
    real_events = environments.run_events(ctx, actor=student, run_id=run.run_id)
    target = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)

    move_run_to_simulated_time(ctx, run_id=run.run_id, started_at=target)

    moved = environments.get_environment(ctx, actor=student, env_id=view.env_id)
    offset = target - run.started_at
    assert moved.created_at == view.created_at + offset
    assert moved.expires_at == target + (view.expires_at - view.created_at)
    assert moved.runs[0].started_at == target
    assert moved.runs[0].duration_s == pytest.approx(run.duration_s)
    events = environments.run_events(ctx, actor=student, run_id=run.run_id)
    assert [e.occurred_at for e in events] == [e.occurred_at + offset for e in real_events]


def test_the_plan_is_a_function_of_the_seed() -> None:
    now = datetime(2024, 5, 12, 12, tzinfo=UTC)
    first = plan_class(students=30, days=14, seed=1, now=now)
    assert first == plan_class(students=30, days=14, seed=1, now=now)
    assert first != plan_class(students=30, days=14, seed=2, now=now)
    assert all(now - timedelta(days=14, minutes=15) <= p.launch_at <= now for p in first)
    assert all(p.end_at is None or p.launch_at < p.end_at <= now for p in first)
    assert {p.template_id for p in first} == set(TEMPLATE_MIX)
    assert any(p.fails for p in first) and any(p.ended_by_lease for p in first)
    # Most launches happen in the class sessions (Tuesday and Thursday, 09:00-11:00 UTC).
    in_class = [p for p in first if p.launch_at.weekday() in (1, 3) and 9 <= p.launch_at.hour < 11]
    assert len(in_class) > len(first) / 2


@pytest.mark.parametrize(("students", "days", "field"), [
    (3, MAX_DEMO_DAYS + 1, "days"), (3, 0, "days"), (0, 2, "students")])
def test_invalid_sizes(ctx: PortalContext, students: int, days: int, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        build_demo_class(ctx, students=students, days=days)
    assert field in error.value.field_errors


def test_only_on_the_embedded_cloud(ctx: PortalContext) -> None:
    aws = PortalContext(ctx.settings.model_copy(update={"cloud": CloudTarget.AWS}))
    with pytest.raises(DemoRefusedError, match="only on the embedded cloud"):
        build_demo_class(aws, students=3, days=2)
