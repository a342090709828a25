"""A course's limits hold at the same instant: threads and separate processes, SQLite and
PostgreSQL, and Hypothesis choosing limits, budgets and how many ask at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from services import settings as settings_module
from services import audit, cost_meter, courses
from services import context as context_module
from services import environment_service as environments
from services.context import PortalContext
from services.errors import ValidationError
from services.history.models import AuditEntry, Environment
from services.identity import Actor, Role
from services.limits import LimitExceededError
from tests.services.conftest import OPERATOR, Classroom

pytestmark = pytest.mark.xdist_group("embedded-cloud")
ROOT = Path(__file__).resolve().parents[2]
RACERS = 10
# Each process imports the portal and warms its renderer first (seconds of CPU each on two
# cores), so the process races use fewer racers than the thread races; still three times the
# limit.
PROCESS_RACERS = 6


def _race(ctx: PortalContext, student: Actor, course: str, n: int = RACERS,
          template_id: str = "web-server", lease_hours: int = 1) -> Counter[str]:
    """`n` launches of one student released at the same instant from `n` threads."""
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        try:
            environments.start_launch(ctx, actor=student, template_id=template_id,
                                      parameters={}, course=course, lease_hours=lease_hours)
            result = "accepted"
        except LimitExceededError as exc:
            result = exc.limit
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(outcomes)


def _stored(ctx: PortalContext, owner: str) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(Environment)
                              .where(Environment.owner == owner)) or 0


def test_ten_simultaneous_launches_with_a_limit_of_two_accept_exactly_two(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("race", students=1, max_running_envs=2)
    student = room.students[0]
    outcomes = _race(ctx, student, room.course)
    assert outcomes == Counter({"accepted": 2, "running environments": RACERS - 2})
    assert _stored(ctx, student.name) == 2
    refusals = audit.entries(ctx, actor=OPERATOR, actions=["launch"], outcomes=["refused"])
    assert len(refusals) == RACERS - 2
    assert all("running environments" in r.detail for r in refusals)


def _launch_in_processes(owner: str, course: str, n: int, go_file: Path) -> Counter[str]:
    """`n` separate Python processes, each with its own engine and connections, launching at
    the same instant: each warms up, says it is ready, and waits for the go file."""
    script = textwrap.dedent("""
        import json, os, sys, time
        from services import environment_service
        from services.context import get_context
        from services.identity import Actor, Role
        from services.limits import LimitExceededError

        go_file, owner, course = sys.argv[1], sys.argv[2], sys.argv[3]
        ctx = get_context()
        environment_service.render_template(ctx, template_id="web-server", parameters={})
        ctx.connection
        print("ready", flush=True)
        while not os.path.exists(go_file):
            time.sleep(0.001)
        try:
            environment_service.start_launch(ctx, actor=Actor(owner, Role.STUDENT),
                                             template_id="web-server", parameters={},
                                             course=course, lease_hours=1)
            print(json.dumps("accepted"))
        except LimitExceededError as exc:
            print(json.dumps(exc.limit))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(go_file), owner, course],
                              cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-2000:] \
            if proc.poll() is not None and proc.stderr else "no ready line"
    go_file.touch()
    outcomes: Counter[str] = Counter()
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        outcomes[json.loads(out.strip().splitlines()[-1])] += 1
    return outcomes


@pytest.mark.slow
def test_launches_from_separate_processes_keep_the_limit(
        ctx: PortalContext, classroom: Callable[..., Classroom], tmp_path: Path) -> None:
    room = classroom("procs", students=1, max_running_envs=2)
    outcomes = _launch_in_processes(room.students[0].name, room.course, PROCESS_RACERS,
                                    tmp_path / "go")
    assert outcomes == Counter({"accepted": 2, "running environments": PROCESS_RACERS - 2})
    assert _stored(ctx, room.students[0].name) == 2


@pytest.fixture
def pg_ctx(portal_env: dict[str, str], postgres_url: str,
           monkeypatch: pytest.MonkeyPatch) -> PortalContext:
    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url)
    settings_module.get_settings.cache_clear()
    context_module._context = None
    return context_module.get_context()


@pytest.mark.postgres
def test_the_limit_holds_on_postgresql_with_threads_and_processes(pg_ctx: PortalContext,
                                                                 tmp_path: Path) -> None:
    from services import accounts

    assert pg_ctx.sessions.kw["bind"].dialect.name == "postgresql"
    for name in ("pg-s1", "pg-s2"):
        accounts.create_account(pg_ctx, actor=OPERATOR, name=name, role="student")
    courses.create_course(pg_ctx, actor=OPERATOR, course_id="pg101", max_running_envs=2)
    courses.enrol(pg_ctx, actor=OPERATOR, course_id="pg101", names=["pg-s1", "pg-s2"])
    threads = _race(pg_ctx, Actor("pg-s1", Role.STUDENT), "pg101")
    assert threads == Counter({"accepted": 2, "running environments": RACERS - 2})
    processes = _launch_in_processes("pg-s2", "pg101", PROCESS_RACERS, tmp_path / "go")
    assert processes == Counter({"accepted": 2, "running environments": PROCESS_RACERS - 2})
    assert _stored(pg_ctx, "pg-s1") == _stored(pg_ctx, "pg-s2") == 2


def test_one_students_limit_leaves_another_student_alone(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("pair", students=2, max_running_envs=1)
    first, second = room.students
    environments.start_launch(ctx, actor=first, template_id="web-server", parameters={},
                              course=room.course)
    with pytest.raises(LimitExceededError, match="running environments"):
        environments.start_launch(ctx, actor=first, template_id="web-server", parameters={},
                                  course=room.course)
    environments.start_launch(ctx, actor=second, template_id="web-server", parameters={},
                              course=room.course)


def _web_server_hourly(ctx: PortalContext) -> float:
    price = cost_meter.hourly_cost_usd(ctx, template_id="web-server", parameters={
        **{p.name: p.default for p in ctx.catalog.get_template("web-server").parameters}},
        region=ctx.settings.region)
    assert price and price > 0
    return price


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(limit=st.integers(min_value=1, max_value=4), racers=st.integers(min_value=1, max_value=7),
       affordable=st.integers(min_value=0, max_value=6))
def test_accepted_launches_never_exceed_the_count_or_the_budget(
        ctx: PortalContext, limit: int, racers: int, affordable: int) -> None:
    """Whatever the limit, the budget and the crowd, exactly min(racers, limit, what the budget
    pays for) launches are accepted, and every other one is refused naming its limit."""
    hourly = _web_server_hourly(ctx)
    course = f"h{limit}{racers}{affordable}-{os.urandom(3).hex()}"
    owner = f"{course}-s"
    from services import accounts

    accounts.create_account(ctx, actor=OPERATOR, name=owner, role="student")
    # A budget for `affordable` one-hour leases and a bit: never exactly on a boundary.
    budget = max(0.001, hourly * (affordable + 0.5))
    courses.create_course(ctx, actor=OPERATOR, course_id=course, max_running_envs=limit,
                          budget_usd=budget)
    courses.enrol(ctx, actor=OPERATOR, course_id=course, names=[owner])
    outcomes = _race(ctx, Actor(owner, Role.STUDENT), course, n=racers)
    expected = min(racers, limit, affordable)
    assert outcomes["accepted"] == expected
    assert sum(outcomes.values()) == racers
    assert set(outcomes) <= {"accepted", "running environments", "budget"}
    assert _stored(ctx, owner) == expected


@pytest.mark.parametrize(
    ("limits", "asked", "limit_named"),
    [
        ({"templates": ["web-server"]}, {"template_id": "three-tier"}, "templates"),
        ({"instance_types": ["t3.micro"]},
         {"parameters": {"instance_type": "t3.small"}}, "instance types"),
        ({"max_lease_hours": 2}, {"lease_hours": 3}, "longest lease"),
        ({"budget_usd": 0.01}, {}, "budget"),
        ({"starts_on": "2999-01-01"}, {}, "course dates"),
        ({"ends_on": "2000-01-01", "starts_on": "1999-01-01"}, {}, "course dates"),
    ],
    ids=["template", "instance-type", "lease", "budget", "not-started", "ended"],
)
def test_each_course_limit_refuses_naming_itself_and_records_nothing_but_audit(
        ctx: PortalContext, classroom: Callable[..., Classroom], limits: dict[str, object],
        asked: dict[str, object], limit_named: str) -> None:
    room = classroom("limits", students=1, **limits)
    student = room.students[0]
    launch = {"template_id": "web-server", "parameters": {}, "lease_hours": 1, **asked}
    with pytest.raises(LimitExceededError) as refused:
        environments.start_launch(ctx, actor=student, course=room.course, **launch)
    assert refused.value.limit == limit_named
    assert f"'{limit_named}'" in str(refused.value)
    assert _stored(ctx, student.name) == 0
    with ctx.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "launch")).one()
    assert (entry.outcome, entry.actor, entry.course_id) == ("refused", student.name,
                                                              room.course)


def test_a_budget_refusal_shows_the_three_amounts(ctx: PortalContext,
                                                  classroom: Callable[..., Classroom]) -> None:
    room = classroom("money", students=1, budget_usd=0.05)
    hourly = _web_server_hourly(ctx)
    with pytest.raises(LimitExceededError) as refused:
        environments.start_launch(ctx, actor=room.students[0], template_id="web-server",
                                  parameters={}, course=room.course, lease_hours=24)
    message = str(refused.value)
    assert f"${hourly * 24:,.2f} for 24 h" in message
    assert "has spent $0.00" in message
    assert "is $0.05" in message


def test_students_launch_only_in_their_courses(ctx: PortalContext,
                                               classroom: Callable[..., Classroom]) -> None:
    room = classroom("mine", students=1)
    with pytest.raises(LimitExceededError, match="not enrolled"):
        environments.start_launch(ctx, actor=Actor("stranger", Role.STUDENT),
                                  template_id="web-server", parameters={}, course=room.course)
    with pytest.raises(LimitExceededError, match="there is no course"):
        environments.start_launch(ctx, actor=room.students[0], template_id="web-server",
                                  parameters={}, course="no-such-course")
    # The portal's default course is open to every student, under the portal-wide limits.
    started = environments.start_launch(ctx, actor=Actor("stranger", Role.STUDENT),
                                        template_id="web-server", parameters={})
    assert started.env_id


def test_the_default_course_keeps_the_portal_wide_limit(ctx: PortalContext) -> None:
    student = Actor("busy", Role.STUDENT)
    for _ in range(ctx.settings.max_running_envs):
        environments.start_launch(ctx, actor=student, template_id="web-server", parameters={})
    with pytest.raises(LimitExceededError, match="running environments"):
        environments.start_launch(ctx, actor=student, template_id="web-server", parameters={})


def test_an_instructor_launches_only_in_courses_they_teach(
        ctx: PortalContext, classroom: Callable[..., Classroom]) -> None:
    room = classroom("taught", students=0, max_running_envs=1)
    other = classroom("other", students=0)
    for _ in range(2):  # an instructor's own environments have no count or budget limit
        environments.start_launch(ctx, actor=room.teacher, template_id="web-server",
                                  parameters={}, course=room.course)
    with pytest.raises(LimitExceededError, match="do not teach"):
        environments.start_launch(ctx, actor=room.teacher, template_id="web-server",
                                  parameters={}, course=other.course)


def test_invalid_course_settings_are_refused_by_field(ctx: PortalContext) -> None:
    with pytest.raises(ValidationError) as invalid:
        courses.create_course(ctx, actor=OPERATOR, course_id="bad", templates=["nope"],
                              instance_types=["x9.huge"], max_running_envs=0,
                              budget_usd=-1, starts_on="2026-02-01", ends_on="2026-01-01")
    assert set(invalid.value.field_errors) == {"templates", "instance_types",
                                               "max_running_envs", "budget_usd", "ends_on"}
