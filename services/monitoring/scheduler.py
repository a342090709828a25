"""The background schedule: a daemon thread that runs a list of steps (the workload simulator on the
embedded cloud, the collector, lease reconciliation, ...) one after another every
`collect_interval_s` seconds, the first pass at once, and on demand.

A step that raises is logged and recorded in its pass; the next step and the next pass run anyway.
`run_now` asks for a pass and waits for it; a request made while a pass is running is answered by
that pass rather than queueing another, so a page that asks while the schedule is busy waits once.
One scheduler runs per process (`start_background_scheduler`); with `collect_interval_s` 0 it is
not started and `run_now` runs a pass on the caller's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.context import PortalContext
from services.history.models import utcnow

logger = logging.getLogger(__name__)

Step = tuple[str, Callable[[PortalContext], object]]


@dataclass(frozen=True)
class StepOutcome:
    name: str
    result: object | None
    error: str | None
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class SchedulerPass:
    number: int
    started_at: datetime
    ended_at: datetime
    steps: tuple[StepOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def result_of(self, name: str) -> object | None:
        return next((step.result for step in self.steps if step.name == name), None)

    def to_json(self) -> dict[str, Any]:
        def result(value: object | None) -> object | None:
            to_json = getattr(value, "to_json", None)
            return to_json() if callable(to_json) else None

        return {"number": self.number, "started_at": self.started_at.isoformat(),
                "ended_at": self.ended_at.isoformat(), "ok": self.ok,
                "steps": [{"name": s.name, "ok": s.ok, "error": s.error,
                           "duration_s": round(s.duration_s, 3), "result": result(s.result)}
                          for s in self.steps]}


class BackgroundScheduler:
    def __init__(self, ctx: PortalContext, steps: Sequence[Step], interval_s: float, *,
                 gate: Callable[[], bool] | None = None) -> None:
        if interval_s < 0:
            raise ValueError("interval_s must not be negative")
        self.ctx = ctx
        self.steps = tuple(steps)
        self.interval_s = interval_s
        # Asked before each timed pass: False skips it (another process holds the schedule's
        # lease). A pass asked for with run_now runs regardless.
        self._gate = gate
        self._condition = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        self._started = 0  # passes begun
        self._last: SchedulerPass | None = None

    # -- state ----------------------------------------------------------------------------------
    @property
    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def last_pass(self) -> SchedulerPass | None:
        return self._last

    # -- control --------------------------------------------------------------------------------
    def start(self) -> BackgroundScheduler:
        """Start the thread (its first pass runs at once); starting twice does nothing."""
        with self._condition:
            if self.is_alive:
                return self
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="portal-scheduler",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to end and wait for it; a pass under way finishes its current step."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def run_now(self, timeout: float | None = None) -> SchedulerPass | None:
        """A pass that began at or after this call, or the one running when it was made; waits
        for it and returns it (None if `timeout` passed first). Runs on the caller's thread when
        the schedule is not started."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            if self._running:
                wanted = self._started
            elif self.is_alive and not self._stopping.is_set():
                wanted = self._started + 1
                self._wake.set()
            else:
                wanted = 0
        if wanted:
            return self._wait_for(wanted, deadline)
        return self._run_pass(deadline=deadline, in_thread=False)

    def wait_for_pass(self, number: int, timeout: float | None = None) -> SchedulerPass | None:
        """The latest pass once pass `number` (counted from 1) has ended, or None if `timeout`
        passed or the thread stopped first."""
        return self._wait_for(number, None if timeout is None else time.monotonic() + timeout)

    # -- passes ---------------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                requested = self._wake.is_set()
                # A request made from here on is answered by the pass about to start.
                self._wake.clear()
                if requested or self._gate is None or self._gated():
                    self._run_pass(deadline=None, in_thread=True)
                self._wake.wait(self.interval_s)
        finally:
            with self._condition:
                self._condition.notify_all()  # waiters for a pass that will not come

    def _gated(self) -> bool:
        try:
            return bool(self._gate and self._gate())
        except Exception:  # noqa: BLE001 - no answer (the database is down): no timed pass
            logger.warning("schedule gate failed; skipping this pass", exc_info=True)
            return False

    def _wait_for(self, number: int, deadline: float | None) -> SchedulerPass | None:
        with self._condition:
            while self._last is None or self._last.number < number:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                if not self._running and not self.is_alive:
                    return None  # the thread was stopped before the pass began
                self._condition.wait(remaining)
            return self._last

    def _run_pass(self, *, deadline: float | None, in_thread: bool) -> SchedulerPass | None:
        with self._condition:
            if self._running:
                # A pass is under way on another thread: it answers this request too.
                wanted = self._started
            else:
                wanted = 0
                self._running = True
                self._started += 1
                number = self._started
        if wanted:
            return self._wait_for(wanted, deadline)
        started_at = utcnow()
        outcomes: list[StepOutcome] = []
        try:
            for name, step in self.steps:
                if in_thread and self._stopping.is_set():
                    break  # stopping: the step under way finished, the rest wait for next time
                began = time.monotonic()
                try:
                    result, error = step(self.ctx), None
                except Exception as exc:  # noqa: BLE001 - a failing step must not end the schedule
                    logger.exception("scheduled step %s failed", name)
                    result, error = None, f"{type(exc).__name__}: {exc}"
                outcomes.append(StepOutcome(name, result, error, time.monotonic() - began))
        finally:
            finished = SchedulerPass(number, started_at, utcnow(), tuple(outcomes))
            with self._condition:
                self._last = finished
                self._running = False
                self._condition.notify_all()
        return finished


_lock = threading.Lock()
_scheduler: BackgroundScheduler | None = None


def start_background_scheduler(ctx: PortalContext, steps: Sequence[Step], *,
                               gate: Callable[[], bool] | None = None) -> BackgroundScheduler:
    """The process's one scheduler, made (and started, unless `collect_interval_s` is 0) by the
    first call; later calls return it as it is, whatever they pass."""
    global _scheduler
    with _lock:
        if _scheduler is None:
            _scheduler = BackgroundScheduler(ctx, steps, ctx.settings.collect_interval_s,
                                             gate=gate)
            if ctx.settings.collect_interval_s > 0:
                _scheduler.start()
        return _scheduler


def stop_background_scheduler(timeout: float | None = None) -> None:
    """Stop and forget the process's scheduler (at shutdown, or between tests)."""
    global _scheduler
    with _lock:
        scheduler, _scheduler = _scheduler, None
    if scheduler is not None:
        scheduler.stop(timeout)
