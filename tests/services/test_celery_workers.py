"""The Celery mode with real processes: `sandbox worker` and `sandbox scheduler` subprocesses, Redis
as the broker (PORTAL_TEST_REDIS_URL) and the history in PostgreSQL (PORTAL_TEST_DATABASE_URL);
skipped unless both are set, as CI sets them. Never Celery's eager mode: what is tested here is
work spread over processes, processes that die, and tasks Redis hands out twice.

Heartbeats go stale after STALE_S and Redis hands a dead worker's task out again after
VISIBILITY_S, so a redelivery takes seconds here instead of a deployment's minutes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from services import settings as settings_module
from services import context as context_module
from services import dispatch, schedule_lease
from services import environment_service as environments
from services.clouds import embedded
from services.context import PortalContext
from services.history.models import Run
from services.identity import Actor, Role
from services.reconcile_service import reconcile
from services.scheduler_service import LEASE_NAME

# One Redis database for the whole file, emptied by each test: its tests never run at once (the
# redis_url fixture holds a lock for that; the group says the same to pytest-xdist).
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("celery")]

SANDBOX = str(Path(sys.executable).parent / "sandbox")
STALE_S = 6.0
VISIBILITY_S = 8.0
ALICE = Actor("alice", Role.STUDENT)
OPERATOR = Actor("operator", Role.INSTRUCTOR, is_admin=True)


def _reset_process_state() -> None:
    """Forget this process's settings, context and Celery app, which read the environment."""
    from services import celery_tasks

    settings_module.get_settings.cache_clear()
    context_module._context = None
    if celery_tasks.app.cache_info().currsize:
        celery_tasks.app().close()
    celery_tasks.app.cache_clear()


@pytest.fixture
def celery_ctx(portal_env: dict[str, str], postgres_url: str, redis_url: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[PortalContext]:
    """This process in the Celery mode on the shared emulator, its history in a PostgreSQL schema
    of the test's own; the processes it spawns inherit the same environment."""
    values = {
        "PORTAL_DATABASE_URL": postgres_url,
        "PORTAL_WORKERS": "celery",
        "PORTAL_BROKER_URL": redis_url,
        "PORTAL_HEARTBEAT_STALE_S": str(STALE_S),
        "PORTAL_TASK_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    _reset_process_state()
    ctx = context_module.get_context()
    ctx.sessions  # noqa: B018 - migrated here, before several processes open the schema at once
    yield ctx
    _reset_process_state()


@dataclass
class Spawned:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}) before "
                                     f"{text!r}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {text!r} after {timeout:.0f} s:\n"
                                     f"{self.output()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.popen.poll() is None:
            # Its own session: nothing it started in its group outlives it either.
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.wait(timeout=10)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Spawned]]:
    """`spawn(name, argv, env=None, stdin=None)`: a process in a session of its own, its output in
    a log file; every one is killed at teardown, however the test ended."""
    started: list[Spawned] = []

    def start(name: str, argv: list[str], *, env: dict[str, str] | None = None,
              stdin: int | None = subprocess.DEVNULL) -> Spawned:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=stdin,
                                     env=env or os.environ.copy(), start_new_session=True)
        started.append(Spawned(name, popen, log))
        return started[-1]

    yield start
    for spawned in started:
        spawned.kill()
        if spawned.popen.stdin is not None:
            spawned.popen.stdin.close()


def _worker(spawn: Callable[..., Spawned], name: str, *, concurrency: int) -> Spawned:
    worker = spawn(name, [SANDBOX, "worker", "--concurrency", str(concurrency),
                          "--loglevel", "INFO"])
    worker.wait_for(" ready.", timeout=60)
    return worker


def _pid_of(owner: str | None) -> int | None:
    """The process id in a run's worker or a lease's holder (host:pid:random)."""
    return int(owner.split(":")[1]) if owner else None


def _run(ctx: PortalContext, run_id: int) -> Run:
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        session.expunge(run)
        return run


def _runs_of(ctx: PortalContext, env_ids: set[str]) -> list[Run]:
    with ctx.sessions() as session:
        runs = list(session.scalars(select(Run).where(Run.env_id.in_(env_ids))))
        session.expunge_all()
        return runs


def _wait_claimed(ctx: PortalContext, run_id: int, *, timeout: float) -> Run:
    """The run as soon as a worker has claimed it (a heartbeat is written with the claim)."""
    deadline = time.monotonic() + timeout
    while (run := _run(ctx, run_id)).heartbeat_at is None:
        assert time.monotonic() < deadline, f"run {run_id} not claimed after {timeout:.0f} s"
        time.sleep(0.005)
    return run


def _stacks(ctx: PortalContext) -> Counter[str]:
    """How many stacks of each name the emulator has made, deleted ones included."""
    pages = ctx.connection.client("cloudformation").get_paginator("list_stacks").paginate()
    return Counter(s["StackName"] for page in pages for s in page["StackSummaries"])


def _emulators_of(data_dir: Path) -> list[int]:
    """The pids of the embedded-cloud processes started for `data_dir`."""
    wanted = str(data_dir.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if embedded.SERVER_MODULE in args and "--data-dir" in args \
                and args[args.index("--data-dir") + 1] == wanted:
            pids.append(int(entry.name))
    return pids


def _ended(ctx: PortalContext, run_ids: dict[str, int], *, timeout_s: float) -> dict[str, str]:
    return {env_id: dispatch.wait_for_run(ctx, run_id, timeout_s=timeout_s, poll_s=0.2)
            for env_id, run_id in run_ids.items()}


# -- a class's launches over two workers --------------------------------------------------------
def test_thirty_launches_over_two_workers_each_run_once(
        celery_ctx: PortalContext, spawn: Callable[..., Spawned]) -> None:
    ctx = celery_ctx
    workers = [_worker(spawn, f"worker-{i}", concurrency=4) for i in (1, 2)]
    # Thirty students in the open default course: one environment each is within its limits.
    students = {f"student-{i:02d}": Actor(f"student-{i:02d}", Role.STUDENT) for i in range(30)}
    launches: dict[str, int] = {}
    owners: dict[str, Actor] = {}
    for student in students.values():
        started = environments.start_launch(ctx, actor=student, template_id="web-server",
                                            parameters={})
        dispatch.submit_launch(ctx, started.run_id)
        launches[started.env_id] = started.run_id
        owners[started.env_id] = student

    assert set(_ended(ctx, launches, timeout_s=120).values()) == {"succeeded"}
    views = {env_id: environments.get_environment(ctx, actor=owners[env_id], env_id=env_id)
             for env_id in launches}
    assert {e: (v.status, v.status_reason) for e, v in views.items()} == {
        e: ("ready", None) for e in launches}
    runs = _runs_of(ctx, set(launches))
    assert sorted(r.id for r in runs) == sorted(launches.values())  # one run per environment
    # Both workers took part, and no other process ran a launch.
    assert {_pid_of(r.worker) for r in runs} == {w.pid for w in workers}
    stacks = _stacks(ctx)
    assert {env_id: stacks[f"sbx-{env_id}"] for env_id in launches} == {e: 1 for e in launches}

    destroys: dict[str, int] = {}
    for env_id in launches:
        started = environments.start_destroy(ctx, actor=owners[env_id], env_id=env_id)
        dispatch.submit_destroy(ctx, started.run_id)
        destroys[env_id] = started.run_id
    assert set(_ended(ctx, destroys, timeout_s=120).values()) == {"succeeded"}
    assert {environments.get_environment(ctx, actor=owners[e], env_id=e).status
            for e in launches} == {"destroyed"}
    kinds = Counter((r.env_id, r.kind) for r in _runs_of(ctx, set(launches)))
    assert set(kinds.values()) == {1} and len(kinds) == 60


# -- a worker killed in the middle of a launch --------------------------------------------------
def test_a_launch_whose_worker_is_killed_is_finished_once_by_another(
        celery_ctx: PortalContext, spawn: Callable[..., Spawned],
        record_property: Callable[[str, object], None]) -> None:
    ctx = celery_ctx
    doomed = _worker(spawn, "worker-killed", concurrency=1)
    started = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    stack_name = f"sbx-{started.env_id}"
    dispatch.submit_launch(ctx, started.run_id)
    claimed = _wait_claimed(ctx, started.run_id, timeout=30)
    doomed.kill()
    killed_at = time.monotonic()
    assert _pid_of(claimed.worker) == doomed.pid
    stack_at_kill = ctx.engine("cloudformation").stack_status(stack_name)

    survivor = _worker(spawn, "worker-survivor", concurrency=1)
    # Redis hands the task out again once the visibility timeout has passed, and the survivor
    # claims the run once the dead worker's heartbeat has gone stale.
    status = dispatch.wait_for_run(ctx, started.run_id, timeout_s=VISIBILITY_S + 40, poll_s=0.1)
    finished_after_s = time.monotonic() - killed_at

    env = environments.get_environment(ctx, actor=ALICE, env_id=started.env_id)
    outcome = f"{env.status}" + (f" ({env.status_reason})" if env.status_reason else "")
    record_property("sigkill_outcome", outcome)
    record_property("stack_at_kill", stack_at_kill)
    print(f"\nSIGKILL mid-launch: stack at the kill {stack_at_kill}; ended {outcome} "
          f"{finished_after_s:.1f} s after the kill")
    assert (status, env.status) in {("succeeded", "ready"), ("failed", "failed")}
    if env.status == "failed":
        assert env.status_reason
    assert _pid_of(_run(ctx, started.run_id).worker) == survivor.pid
    assert len(_runs_of(ctx, {started.env_id})) == 1
    assert _stacks(ctx)[stack_name] == 1 if env.status == "ready" else \
        _stacks(ctx)[stack_name] <= 1
    assert finished_after_s < VISIBILITY_S + 30


# -- exactly one scheduler --------------------------------------------------------------------
def test_two_schedulers_one_schedules_and_the_standby_takes_over(
        celery_ctx: PortalContext, spawn: Callable[..., Spawned], tmp_path: Path) -> None:
    ctx = celery_ctx
    # Limits passes every 2 s; Beat's schedule file in a directory of the schedulers' own.
    env = {**os.environ, "PORTAL_BUDGET_CHECK_INTERVAL_S": "2",
           "PORTAL_DATA_DIR": str(tmp_path / "schedulers")}
    schedulers = [spawn(f"scheduler-{i}", [SANDBOX, "scheduler", "--loglevel", "INFO"], env=env)
                  for i in (1, 2)]
    deadline = time.monotonic() + 60
    while not any("holding the schedule" in s.output() for s in schedulers) \
            or not any("standing by" in s.output() for s in schedulers):
        assert time.monotonic() < deadline, [s.output()[-2000:] for s in schedulers]
        assert all(s.popen.poll() is None for s in schedulers), [s.output() for s in schedulers]
        time.sleep(0.1)
    holder, standby = sorted(schedulers, key=lambda s: "holding the schedule" not in s.output())
    assert _pid_of(schedule_lease.holder_of(ctx.sessions, LEASE_NAME)) == holder.pid

    deadline = time.monotonic() + 30
    while holder.output().count("Sending due task") < 2:
        assert time.monotonic() < deadline, holder.output()[-3000:]
        time.sleep(0.1)
    assert "standing by" in standby.output()
    assert "holding the schedule" not in standby.output()
    assert "Sending due task" not in standby.output()

    holder.kill()
    killed_at = time.monotonic()
    standby.wait_for("holding the schedule", timeout=2 * STALE_S + 10)
    took_over_s = time.monotonic() - killed_at
    print(f"\nstandby took the schedule over {took_over_s:.1f} s after its holder was killed")
    # The dead holder's lease runs out within one lease period of its last renewal.
    assert took_over_s <= 2 * STALE_S, took_over_s
    standby.wait_for("Sending due task", timeout=30)
    assert _pid_of(schedule_lease.holder_of(ctx.sessions, LEASE_NAME)) == standby.pid


# -- simultaneous destroys ----------------------------------------------------------------------
# A process that destroys ENV when told to on its stdin, so that six of them ask at the same
# moment: each has imported, connected and migrated before it says it is ready.
DESTROY_ON_SIGNAL = """
import json, sys
from services import dispatch, environment_service as environments
from services.context import get_context
from services.identity import Actor, Role

ctx = get_context()
ctx.sessions
operator = Actor("operator", Role.INSTRUCTOR, is_admin=True)
print("ready", flush=True)
sys.stdin.readline()
try:
    started = environments.start_destroy(ctx, actor=operator, env_id=sys.argv[1])
except environments.AlreadyDestroyingError:
    print(json.dumps({"already": True}), flush=True)
else:
    dispatch.submit_destroy(ctx, started.run_id)
    print(json.dumps({"run_id": started.run_id}), flush=True)
"""


def _outcome(spawned: Spawned) -> dict[str, object]:
    lines = [line for line in spawned.output().splitlines() if line.startswith("{")]
    assert lines, spawned.output()[-3000:]
    return json.loads(lines[-1])


def test_simultaneous_destroys_from_threads_and_processes_record_one_run(
        celery_ctx: PortalContext, spawn: Callable[..., Spawned],
        record_property: Callable[[str, object], None]) -> None:
    ctx = celery_ctx
    assert ctx.sessions.kw["bind"].dialect.name == "postgresql"
    for_threads, for_processes = (
        environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
        for _ in range(2))
    assert (for_threads.status, for_processes.status) == ("ready", "ready")

    at_once = threading.Barrier(8)
    outcomes: list[object] = []

    def destroy() -> None:
        at_once.wait()
        try:
            outcomes.append(environments.start_destroy(ctx, actor=ALICE,
                                                       env_id=for_threads.env_id))
        except environments.AlreadyDestroyingError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=destroy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [o for o in outcomes if isinstance(o, environments.StartedRun)]
    assert len(winners) == 1 and len(outcomes) == 8, outcomes
    dispatch.submit_destroy(ctx, winners[0].run_id)

    racers = [spawn(f"destroyer-{i}", [sys.executable, "-c", DESTROY_ON_SIGNAL,
                                       for_processes.env_id], stdin=subprocess.PIPE)
              for i in range(6)]
    for racer in racers:
        racer.wait_for("ready\n", timeout=60)
    for racer in racers:
        racer.popen.stdin.write(b"go\n")
        racer.popen.stdin.flush()
    for racer in racers:
        assert racer.popen.wait(timeout=60) == 0, racer.output()[-3000:]
    results = [_outcome(r) for r in racers]
    assert sorted("run_id" in r for r in results) == [False] * 5 + [True], results

    _worker(spawn, "worker", concurrency=2)
    env_ids = {for_threads.env_id, for_processes.env_id}
    destroy_runs = {r.env_id: r.id for r in _runs_of(ctx, env_ids) if r.kind == "destroy"}
    assert set(_ended(ctx, destroy_runs, timeout_s=60).values()) == {"succeeded"}
    assert {environments.get_environment(ctx, actor=ALICE, env_id=e).status
            for e in env_ids} == {"destroyed"}
    per_env = Counter(r.env_id for r in _runs_of(ctx, env_ids) if r.kind == "destroy")
    double_acted = sum(n - 1 for n in per_env.values())
    record_property("double_acted_runs", double_acted)
    print(f"\ndouble-acted runs: {double_acted}")
    assert double_acted == 0 and set(per_env) == env_ids


# -- a stalled emulator -------------------------------------------------------------------------
@pytest.fixture
def frozen_cloud(celery_ctx: PortalContext, monkeypatch: pytest.MonkeyPatch,
                 tmp_path: Path) -> Iterator[PortalContext]:
    """The Celery-mode context on an emulator of the test's own: the test freezes it, which would
    stall every test sharing the session's emulator."""
    data_dir = tmp_path / "frozen-cloud"
    monkeypatch.setenv("PORTAL_DATA_DIR", str(data_dir))
    _reset_process_state()
    ctx = context_module.get_context()
    embedded.ensure_running(ctx.settings)
    yield ctx
    state = embedded._read_state(data_dir)
    if state is not None:  # a failed assertion must not leave it stopped for ever
        try:
            os.kill(state.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    embedded.stop(ctx.settings)
    _reset_process_state()


def test_a_five_second_sigstop_under_a_worker_loses_nothing(
        frozen_cloud: PortalContext, spawn: Callable[..., Spawned]) -> None:
    ctx = frozen_cloud
    pid = embedded.status(ctx.settings).pid
    _worker(spawn, "worker", concurrency=2)
    before = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    dispatch.submit_launch(ctx, before.run_id)
    assert dispatch.wait_for_run(ctx, before.run_id, timeout_s=60) == "succeeded"

    # Recorded while the emulator answers; handed to the worker while it is frozen.
    during = environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    os.kill(pid, signal.SIGSTOP)
    try:
        stopped_at = time.monotonic()
        dispatch.submit_launch(ctx, during.run_id)
        _wait_claimed(ctx, during.run_id, timeout=4)
        time.sleep(max(0.0, 5 - (time.monotonic() - stopped_at)))
        assert environments.run_is_open(ctx, during.run_id), "nothing may finish while stopped"
    finally:
        os.kill(pid, signal.SIGCONT)

    dispatch.wait_for_run(ctx, during.run_id, timeout_s=90)
    env = environments.get_environment(ctx, actor=ALICE, env_id=during.env_id)
    assert env.status == "ready" or (env.status == "failed" and env.status_reason), env
    report = reconcile(ctx)
    assert report.lost_envs == [] and report.cloud_not_answering is None
    assert environments.get_environment(ctx, actor=ALICE, env_id=before.env_id).status == "ready"
    assert "lost" not in {e.status for e in environments.list_environments(ctx, actor=OPERATOR)}
    assert _emulators_of(ctx.settings.data_dir) == [pid]
    assert embedded._read_state(ctx.settings.data_dir).pid == pid
