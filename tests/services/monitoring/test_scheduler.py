"""The background schedule: steps in order, at once and then every interval, surviving a failing
step, on demand (coalescing with a pass under way), stoppable, one per process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.settings import Settings
from services.context import PortalContext
from services.monitoring import scheduler as scheduler_module
from services.monitoring.scheduler import (
    BackgroundScheduler,
    start_background_scheduler,
    stop_background_scheduler,
)

WAIT_S = 10.0


def _ctx(tmp_path: Path, interval_s: float) -> PortalContext:
    return PortalContext(Settings(data_dir=tmp_path, collect_interval_s=interval_s,
                                  database_url=f"sqlite:///{tmp_path / 'history.db'}"))


@pytest.fixture
def no_process_scheduler() -> Iterator[None]:
    stop_background_scheduler(WAIT_S)
    yield
    stop_background_scheduler(WAIT_S)


class Recorder:
    """Steps that note each call (and can be made to fail or to wait for the test)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.fail_next = False
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def step(self, name: str):  # type: ignore[no-untyped-def]
        def run(ctx: PortalContext) -> str:
            assert isinstance(ctx, PortalContext)
            self.entered.set()
            self.release.wait(WAIT_S)
            with self.lock:
                self.calls.append(name)
                if self.fail_next and name == "first":
                    self.fail_next = False
                    raise RuntimeError("step broke")
                return f"{name} #{self.calls.count(name)}"
        return run


def test_first_pass_runs_at_once_and_steps_run_in_order(tmp_path: Path) -> None:
    recorder = Recorder()
    scheduler = BackgroundScheduler(_ctx(tmp_path, 3600),
                                    [("first", recorder.step("first")),
                                     ("second", recorder.step("second"))], 3600)
    scheduler.start()
    try:
        first = scheduler.wait_for_pass(1, None)
        assert first is not None and first.number == 1
        assert recorder.calls == ["first", "second"]
        assert [s.name for s in first.steps] == ["first", "second"]
        assert first.result_of("second") == "second #1" and first.ok
        assert first.to_json()["steps"][0]["name"] == "first"
    finally:
        scheduler.stop(WAIT_S)
    assert not scheduler.is_alive


def test_runs_every_interval(tmp_path: Path) -> None:
    recorder = Recorder()
    scheduler = BackgroundScheduler(_ctx(tmp_path, 0.05), [("first", recorder.step("first"))],
                                    0.05).start()
    try:
        third = scheduler.wait_for_pass(3, WAIT_S)
        assert third is not None and third.number >= 3
        assert recorder.calls.count("first") >= 3
    finally:
        scheduler.stop(WAIT_S)
    calls = len(recorder.calls)
    assert not scheduler.is_alive and len(recorder.calls) == calls


def test_a_failing_step_is_recorded_and_the_schedule_goes_on(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.fail_next = True
    scheduler = BackgroundScheduler(_ctx(tmp_path, 3600),
                                    [("first", recorder.step("first")),
                                     ("second", recorder.step("second"))], 3600).start()
    try:
        broken = scheduler.wait_for_pass(1, WAIT_S)
        assert broken is not None and not broken.ok
        assert broken.steps[0].error == "RuntimeError: step broke"
        assert broken.steps[1].ok, "the next step still runs"
        again = scheduler.run_now(WAIT_S)
        assert again is not None and again.number == 2 and again.ok
        assert scheduler.is_alive
    finally:
        scheduler.stop(WAIT_S)


def test_run_now_wakes_the_thread_and_waits_for_a_new_pass(tmp_path: Path) -> None:
    recorder = Recorder()
    scheduler = BackgroundScheduler(_ctx(tmp_path, 3600), [("first", recorder.step("first"))],
                                    3600).start()
    try:
        assert scheduler.wait_for_pass(1, WAIT_S) is not None
        result = scheduler.run_now(WAIT_S)
        assert result is not None and result.number == 2
        assert result.result_of("first") == "first #2"
    finally:
        scheduler.stop(WAIT_S)


def test_run_now_during_a_pass_is_answered_by_that_pass(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.release.clear()
    scheduler = BackgroundScheduler(_ctx(tmp_path, 3600), [("first", recorder.step("first"))],
                                    3600).start()
    try:
        assert recorder.entered.wait(WAIT_S)
        answers: list[object] = []
        waiters = [threading.Thread(target=lambda: answers.append(scheduler.run_now(WAIT_S)))
                   for _ in range(3)]
        for waiter in waiters:
            waiter.start()
        recorder.release.set()
        for waiter in waiters:
            waiter.join(WAIT_S)
        assert len(answers) == 3
        assert {getattr(a, "number", None) for a in answers} == {1}
        assert recorder.calls == ["first"]
    finally:
        scheduler.stop(WAIT_S)


def test_not_started_runs_on_demand_on_the_callers_thread(tmp_path: Path) -> None:
    recorder = Recorder()
    scheduler = BackgroundScheduler(_ctx(tmp_path, 0), [("first", recorder.step("first"))], 0)
    assert scheduler.last_pass is None
    result = scheduler.run_now()
    assert result is not None and result.number == 1 and recorder.calls == ["first"]
    assert not scheduler.is_alive and scheduler.last_pass is result


def test_one_scheduler_per_process(tmp_path: Path, no_process_scheduler: None) -> None:
    recorder = Recorder()
    ctx = _ctx(tmp_path, 3600)
    schedulers: list[BackgroundScheduler] = []
    threads = [threading.Thread(target=lambda: schedulers.append(start_background_scheduler(
        ctx, [("first", recorder.step("first"))]))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert len(schedulers) == 4 and len({id(s) for s in schedulers}) == 1
    assert schedulers[0].is_alive
    assert schedulers[0].wait_for_pass(1, WAIT_S) is not None
    stop_background_scheduler(WAIT_S)
    assert not schedulers[0].is_alive and scheduler_module._scheduler is None


def test_interval_zero_leaves_the_process_scheduler_stopped(tmp_path: Path,
                                                            no_process_scheduler: None) -> None:
    recorder = Recorder()
    scheduler = start_background_scheduler(_ctx(tmp_path, 0), [("first", recorder.step("first"))])
    assert not scheduler.is_alive and recorder.calls == []
    result = scheduler.run_now()
    assert result is not None and recorder.calls == ["first"]
