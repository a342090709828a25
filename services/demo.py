"""A demo class on the embedded cloud: weeks of a course, built in minutes through the real code.

`build_demo_class` plans a class (who launches what, when, for how long; who forgets to destroy;
who mistypes a parameter), then carries the plan out through the portal's own paths:

1. Launch. Every planned launch goes through `environment_service.launch` now, from a few
   threads, each inside `at_simulated_time(planned moment)` so that the emulator dates what it
   records (Auto Scaling's launch activities) at the planned moment. The failed launches are real
   failures: the student mistyped the advanced `ami_parameter` (a public SSM parameter path that
   does not exist); the form accepts any path of the right shape and CloudFormation cannot
   resolve it, so the launch fails and cleans up as any failed launch does.
2. Move to simulated time. A launch happens now, so the history says now;
   `move_run_to_simulated_time` moves the run (and, for a launch, its environment) back to the
   planned moment, keeping every duration.
3. Simulate. `services.workload.simulator.simulate` runs each launched environment from its
   planned launch to its planned end (or now, for those still running): metrics backdated into
   CloudWatch, health-check replacements, CodeDeploy deployments. The emulator keeps datapoints of
   the last 15 days at most, hence `MAX_DEMO_DAYS`.
4. Collect. One `collector.collect` pass, now, while every demo environment is still running: the
   collector reads only running environments, so it must see the ones the plan ended before they
   are destroyed (their metrics stop at their planned end, and it reads each series from its
   environment's creation).
5. Destroy. The environments whose planned end has passed go through
   `environment_service.destroy` one at a time (by their student, or by the portal for an ended
   lease, as the reconcile would), under the simulated clock, and their destroy runs are moved to
   the planned end. Environments still running keep their leases: the portal destroys them when
   those end, and the schedule's simulation carries them on meanwhile.

The plan is a function of `seed` (and of the weekdays the `days` before now cover); the class is
labelled with `course` (default "demo") so that every dashboard can tell it from a real one.
Launches obey the course's limits, so before step 1 the demo creates its course (or raises the
limits of an existing one) with room for the whole plan, and an account for each student
(no password: nobody signs in as them), enrolled in it.
Build a demo while no portal runs its schedule on the same data: a reconcile in between destroys
the demo's environments whose (moved) leases have ended before the collector saw them, and a
scheduled simulation may carry an environment past its planned end.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from services.settings import CloudTarget
from services import accounts, courses, environment_service
from services.clouds.simulated_clock import at_simulated_time, use_simulated_clock
from services.context import PortalContext
from services.errors import PortalError, ValidationError
from services.history.models import EnvironmentStatus, Run, RunEvent, RunKind, utcnow
from services.identity import Actor, Role
from services.monitoring import collector
from services.reconcile_service import PORTAL_ACTOR_NAME
from services.workload.profiles import DEFAULT_CLASS_SLOTS
from services.workload.simulator import simulate

# The emulator accepts metric datapoints from 15 days back; a day of margin for the build itself.
MAX_DEMO_DAYS = 14
MAX_DEMO_STUDENTS = 200
DEFAULT_DEMO_COURSE = "demo"
TEMPLATE_MIX = ("web-server", "three-tier", "ha-web")
# A student who types the AMI parameter by hand and drops the end of it: a path of the right
# shape that no SSM parameter has.
MISTYPED_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86"
ATTENDANCE = 0.85
FORGETS_TO_DESTROY = 0.2
FAILED_LAUNCH_SHARE = 0.06
# Launches and simulations at once: the emulator and the history database serve them, and the
# machine may have two cores.
WORKERS = 6
# Destroys one at a time: moto's RDS backend, deleting instances from several threads, fails now
# and then with "OrderedDict mutated during iteration" (moto 5.2.5); the emulator, one Python
# process, gains little from parallel requests anyway.
DESTROY_WORKERS = 1
# Who sets the demo class up (its course, its students' accounts) unless the caller names
# someone: an admin, as the CLI's operator is.
DEMO_OPERATOR = Actor("operator", Role.INSTRUCTOR, is_admin=True)
# The demo course's limits must never refuse the plan. During the launch step every earlier
# launch of a student is still running (the plan's destroys come last) and has been moved back
# up to MAX_DEMO_DAYS, so the metered spend a launch is checked against is that of every one of
# them running since its planned start: hundreds of dollars for a busy student, not the class's
# real cost. Hence a budget far above it, and the most running environments a course allows.
DEMO_BUDGET_USD = 10_000.0
DEMO_MAX_RUNNING_ENVS = 100

T = TypeVar("T")


class DemoRefusedError(PortalError):
    """The demo writes made-up history and metrics: only on the embedded cloud."""


@dataclass(frozen=True)
class PlannedLaunch:
    student: str
    template_id: str
    parameters: dict[str, Any]
    launch_at: datetime
    lease_hours: int
    # When the environment goes: the student destroys it, or its lease ends. None: it is still
    # running when the demo is built.
    end_at: datetime | None
    ended_by_lease: bool = False
    fails: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(self.student, Role.STUDENT)


@dataclass
class DemoReport:
    course: str
    students: int
    days: int
    seed: int
    start: datetime
    now: datetime
    planned: int = 0
    launched: int = 0
    failed: int = 0
    destroyed: int = 0
    lease_expired: int = 0
    running: int = 0
    metric_data: int = 0
    replacements: int = 0
    deployments: int = 0
    collector: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    # Seconds each step took: launch, simulate, collect, destroy.
    step_s: dict[str, float] = field(default_factory=dict)
    env_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "course": self.course, "students": self.students, "days": self.days,
            "seed": self.seed, "start": self.start.isoformat(), "now": self.now.isoformat(),
            "planned": self.planned, "launched": self.launched, "failed": self.failed,
            "destroyed": self.destroyed, "lease_expired": self.lease_expired,
            "running": self.running, "metric_data": self.metric_data,
            "replacements": self.replacements, "deployments": self.deployments,
            "collector": self.collector, "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 1),
            "step_s": {step: round(seconds, 1) for step, seconds in self.step_s.items()},
            "env_ids": self.env_ids,
        }


# -- the plan -----------------------------------------------------------------------------------
def plan_class(*, students: int, days: int, seed: int, now: datetime) -> list[PlannedLaunch]:
    """Who launches what, when and for how long, over the `days` before `now`; ordered by time.

    Students launch in the class sessions (DEFAULT_CLASS_SLOTS) they attend and now and then for
    homework in the evening; every student launches at least once. Most destroy what they
    launched at the end of the session; some forget, and the lease ends it. A few launches fail
    (a mistyped AMI parameter) and the student launches again a few minutes later.
    """
    rng = random.Random(f"demo-class:{seed}")
    start = now - timedelta(days=days)
    latest_launch = now - timedelta(minutes=30)
    templates = list(TEMPLATE_MIX)
    rng.shuffle(templates)
    plans: list[PlannedLaunch] = []
    for index in range(students):
        student = f"student-{index + 1:02d}"
        favourite = templates[index % len(templates)]
        moments: list[tuple[datetime, datetime | None]] = []  # (launch, the session's end)
        for session_start, session_end in _class_sessions(start, now):
            if rng.random() < ATTENDANCE:
                moments.append((session_start + timedelta(minutes=rng.uniform(2, 25)),
                                session_end))
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < now:
            if rng.random() < 0.12:  # homework, an evening now and then
                moments.append((day + timedelta(hours=rng.uniform(17, 22)), None))
            day += timedelta(days=1)
        moments = [(at, end) for at, end in moments if start <= at <= latest_launch]
        if not moments:
            span = (latest_launch - start).total_seconds()
            moments.append((start + timedelta(seconds=rng.uniform(0, span * 0.6)), None))
        for number, (launch_at, session_end) in enumerate(sorted(moments, key=lambda m: m[0])):
            # A student's first launch is their favourite template, so a class of three or more
            # launches every template.
            template_id = favourite if number == 0 or rng.random() < 0.8 else \
                rng.choice(TEMPLATE_MIX)
            lease_hours = rng.choice((4, 4, 4, 8, 24))
            if session_end is not None:
                planned_end = session_end + timedelta(minutes=rng.uniform(-10, 20))
            else:
                planned_end = launch_at + timedelta(minutes=rng.uniform(50, 150))
            lease_end = launch_at + timedelta(hours=lease_hours)
            forgets = rng.random() < FORGETS_TO_DESTROY
            end_at = lease_end if forgets or planned_end > lease_end else planned_end
            plans.append(PlannedLaunch(
                student=student, template_id=template_id,
                parameters=_parameters(template_id, rng),
                launch_at=launch_at.replace(microsecond=0), lease_hours=lease_hours,
                end_at=end_at.replace(microsecond=0) if end_at <= now else None,
                ended_by_lease=end_at == lease_end))
    plans.sort(key=lambda p: p.launch_at)
    # The first environment the class launches ends before now, so even a short demo shows a
    # destroy; a few launches are preceded by a failed attempt.
    first = plans[0]
    if first.end_at is None:
        plans[0] = replace(first, end_at=min(first.launch_at + timedelta(minutes=45), now),
                           ended_by_lease=False)
    failures = max(1, round(len(plans) * FAILED_LAUNCH_SHARE))
    for retried in rng.sample(plans, min(failures, len(plans))):
        attempt_at = retried.launch_at - timedelta(minutes=rng.uniform(4, 12))
        plans.append(replace(retried, launch_at=attempt_at.replace(microsecond=0),
                             parameters={**retried.parameters, "ami_parameter": MISTYPED_AMI},
                             end_at=None, ended_by_lease=False, fails=True))
    plans.sort(key=lambda p: p.launch_at)
    return plans


def _class_sessions(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    sessions = []
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        for slot in DEFAULT_CLASS_SLOTS:
            if slot.weekday == day.weekday():
                sessions.append((day + timedelta(hours=slot.start_hour),
                                 day + timedelta(hours=slot.end_hour)))
        day += timedelta(days=1)
    return sessions


def _parameters(template_id: str, rng: random.Random) -> dict[str, Any]:
    """Mostly the templates' defaults (t3.micro); now and then a student tries another size."""
    draw = rng.random()
    if template_id == "ha-web":
        return {"instance_type": "t3.small"} if draw < 0.15 else {}
    if draw < 0.1:
        return {"instance_type": "t2.micro"}
    return {"instance_type": "t3.small"} if draw < 0.2 else {}


# -- moving recorded times ----------------------------------------------------------------------
def move_run_to_simulated_time(ctx: PortalContext, *, run_id: int, started_at: datetime) -> None:
    """Move what a run recorded so that it started at `started_at`, keeping every duration: the
    run's start, deadline and end, the events it recorded, and for a launch its environment's
    creation, last update and lease end; for a destroy its environment's last update.

    Events the emulator already dated earlier than the run's real start (with the simulated
    clock) are left where they are.
    """
    with ctx.sessions() as session, session.begin():
        run = session.get(Run, run_id)
        if run is None:
            raise ValidationError({"run_id": f"no run {run_id}"})
        real_start = run.started_at
        offset = started_at - real_start
        run.started_at = started_at
        run.deadline_at = run.deadline_at + offset
        if run.ended_at is not None:
            run.ended_at = run.ended_at + offset
        for event in session.scalars(select(RunEvent).where(RunEvent.run_id == run_id)):
            if event.occurred_at >= real_start - timedelta(seconds=5):
                event.occurred_at = event.occurred_at + offset
        env = run.environment
        if run.kind == RunKind.LAUNCH.value:
            env.created_at = env.created_at + offset
            if env.expires_at is not None:
                env.expires_at = env.expires_at + offset
        env.updated_at = run.ended_at or started_at


# -- the build ----------------------------------------------------------------------------------
def build_demo_class(ctx: PortalContext, *, students: int = 30, days: int = 14, seed: int = 0,
                     course: str = DEFAULT_DEMO_COURSE, now: datetime | None = None,
                     operator: Actor = DEMO_OPERATOR) -> DemoReport:
    """Build a demo class of `students` over the last `days` days on the embedded cloud (see the
    module's docstring for the order of the steps and why). `now` is the wall clock unless a
    test pins it: the emulator dates what it accepts by its own clock. `operator`, an admin,
    sets up the course and the accounts; the audit log names them."""
    began = time.monotonic()
    if ctx.settings.cloud is not CloudTarget.EMBEDDED:
        raise DemoRefusedError(
            f"demo: the demo class writes made-up history and metrics; it runs only on the "
            f"embedded cloud, not on {ctx.settings.cloud.value}")
    errors: dict[str, str] = {}
    if not 1 <= days <= MAX_DEMO_DAYS:
        errors["days"] = (f"between 1 and {MAX_DEMO_DAYS}: the embedded cloud keeps metric "
                          "datapoints of the last 15 days only")
    if not 1 <= students <= MAX_DEMO_STUDENTS:
        errors["students"] = f"between 1 and {MAX_DEMO_STUDENTS}"
    course = environment_service.course_for(ctx, course)
    if course == ctx.settings.default_course:
        # Setting the demo's limits would make the open default course a course of its own,
        # closed to every student not enrolled in it.
        errors["course"] = (f"the demo class needs a course of its own, not the portal's "
                            f"default course {course}")
    if errors:
        raise ValidationError(errors)
    now = now or utcnow()
    plans = plan_class(students=students, days=days, seed=seed, now=now)
    report = DemoReport(course=course, students=students, days=days, seed=seed,
                        start=now - timedelta(days=days), now=now, planned=len(plans))
    enrol_class(ctx, operator=operator, course=course,
                students=sorted({plan.student for plan in plans}))
    ctx.ensure_current_connection()
    # The emulator dates the Auto Scaling activities of a launch and a destroy by this header.
    for service in ("cloudformation", "autoscaling", "ec2"):
        use_simulated_clock(ctx.connection.client(service))

    # 1 and 2: launch, then move each launch to its planned moment.
    def launch(plan: PlannedLaunch) -> tuple[PlannedLaunch, environment_service.EnvironmentView]:
        with at_simulated_time(plan.launch_at):
            view = environment_service.launch(
                ctx, actor=plan.actor, template_id=plan.template_id, parameters=plan.parameters,
                lease_hours=plan.lease_hours, course=course)
        move_run_to_simulated_time(ctx, run_id=view.runs[0].run_id, started_at=plan.launch_at)
        return plan, environment_service.get_environment(ctx, actor=plan.actor,
                                                         env_id=view.env_id)

    launched: list[tuple[PlannedLaunch, environment_service.EnvironmentView]] = []
    with _timed(report, "launch"):
        for outcome in _in_threads(launch, plans):
            if isinstance(outcome, Exception):
                report.errors.append(f"launch: {outcome}")
                continue
            plan, view = outcome
            report.env_ids.append(view.env_id)
            if view.status == EnvironmentStatus.READY.value:
                report.launched += 1
                launched.append((plan, view))
            else:
                report.failed += 1

    # 3: simulate each environment over its planned life.
    def run_simulation(item: tuple[PlannedLaunch, environment_service.EnvironmentView]) -> Any:
        plan, view = item
        return simulate(ctx, view, until=plan.end_at or now)

    with _timed(report, "simulate"):
        for outcome in _in_threads(run_simulation, launched):
            if isinstance(outcome, Exception):
                report.errors.append(f"simulate: {outcome}")
                continue
            report.metric_data += outcome.metric_data
            report.replacements += len(outcome.replacements)
            report.deployments += len(outcome.deployments)

    # 4: collect while everything is still running.
    with _timed(report, "collect"):
        report.collector = collector.collect(ctx, now=now).to_json()

    # 5: destroy what the plan ended, and move each destroy to its planned moment.
    portal = Actor(PORTAL_ACTOR_NAME, Role.INSTRUCTOR)

    def destroy(item: tuple[PlannedLaunch, environment_service.EnvironmentView]) -> str:
        plan, view = item
        assert plan.end_at is not None
        actor = portal if plan.ended_by_lease else plan.actor
        with at_simulated_time(plan.end_at):
            destroyed = environment_service.destroy(ctx, actor=actor, env_id=view.env_id)
        move_run_to_simulated_time(ctx, run_id=destroyed.runs[-1].run_id,
                                   started_at=plan.end_at)
        return destroyed.status

    ending = [(plan, view) for plan, view in launched if plan.end_at is not None]
    with _timed(report, "destroy"):
        outcomes = _in_threads(destroy, ending, workers=DESTROY_WORKERS)
    for (plan, view), outcome in zip(ending, outcomes, strict=True):
        if isinstance(outcome, Exception):
            report.errors.append(f"destroy of {view.env_id}: {outcome}")
        elif outcome == EnvironmentStatus.DESTROYED.value:
            report.destroyed += 1
            report.lease_expired += plan.ended_by_lease
        else:
            report.errors.append(f"destroy of {view.env_id} ended {outcome}")
    report.running = report.launched - len(ending)
    report.elapsed_s = time.monotonic() - began
    return report


def enrol_class(ctx: PortalContext, *, operator: Actor, course: str,
                students: Sequence[str]) -> None:
    """The demo's course with limits that fit any plan (created, or its limits raised when it
    exists from an earlier demo), and an enrolled student account for each of `students`."""
    limits: dict[str, Any] = {
        "budget_usd": DEMO_BUDGET_USD, "max_running_envs": DEMO_MAX_RUNNING_ENVS,
        "max_lease_hours": ctx.settings.max_lease_hours, "templates": None,
        "instance_types": None, "db_classes": None, "starts_on": None, "ends_on": None}
    if courses.get_policy(ctx, course) is None:
        courses.create_course(ctx, actor=operator, course_id=course,
                              title=f"Demo class ({course})", **limits)
    else:
        courses.update_course(ctx, actor=operator, course_id=course, **limits)
    for student in students:
        if accounts.get_account(ctx, student) is None:
            accounts.create_account(ctx, actor=operator, name=student, role=Role.STUDENT)
    courses.enrol(ctx, actor=operator, course_id=course, names=list(students))


@contextmanager
def _timed(report: DemoReport, step: str) -> Iterator[None]:
    began = time.monotonic()
    try:
        yield
    finally:
        report.step_s[step] = time.monotonic() - began


def _in_threads(work: Callable[[Any], T], items: Sequence[Any], *,
                workers: int = WORKERS) -> list[T | Exception]:
    """`work` of each item on `workers` threads, in the items' order; an item's exception is its
    result, so one failure does not stop the class."""
    def guarded(item: Any) -> T | Exception:
        try:
            return work(item)
        except Exception as exc:  # noqa: BLE001 - reported per item
            return exc

    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(items)),
                            thread_name_prefix="demo") as pool:
        return list(pool.map(guarded, items))
