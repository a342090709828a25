"""One state machine for environments and runs: every status change is a single conditional
update checked by its row count, on SQLite and PostgreSQL alike, and a run belongs to the worker
that claimed it for as long as that worker's heartbeat is fresh.

Why conditional updates: a page, the CLI, a lease end, a budget stop, reconcile and a worker
redelivered a task can all act on one environment at once. Reading a status and then writing
another lets two of them both see "ready" and both start a destroy; `UPDATE ... WHERE status IN
(...)` lets exactly one of them through, and the others learn it from the row count.

Why heartbeats: a run's owner may die anywhere (a killed worker, a restarted container with the
same hostname and PID 1). Only the owner writes its heartbeat, four times per stale period, so a
heartbeat older than `HEARTBEAT_STALE` means nobody is working on the run any more, whatever
host and process ids say; reconcile then ends it, and a redelivered task may claim it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from services.history.models import Environment, EnvironmentStatus, Run, RunStatus, utcnow

logger = logging.getLogger(__name__)

E = EnvironmentStatus
# Where each status may go. `lost` may still be destroyed (a stack that vanished may have left
# tagged resources behind); `destroyed` is final.
TRANSITIONS: dict[EnvironmentStatus, frozenset[EnvironmentStatus]] = {
    E.LAUNCHING: frozenset({E.READY, E.FAILED, E.LOST}),
    E.READY: frozenset({E.DESTROYING, E.LOST}),
    E.FAILED: frozenset({E.DESTROYING, E.LOST}),
    E.LOST: frozenset({E.DESTROYING}),
    E.DESTROYING: frozenset({E.DESTROYED, E.FAILED}),
    E.DESTROYED: frozenset(),
}

# After HEARTBEAT_STALE (the default of PORTAL_HEARTBEAT_STALE_S) without a heartbeat a run is
# taken to have lost its worker; a worker beats four times in that time, so three missed beats
# and a database slow to answer still leave it its run.
HEARTBEAT_STALE = timedelta(seconds=45)
BEATS_PER_STALE = 4
# A run nobody claimed this long after it was recorded will not be: the process that recorded
# it died before handing it over, or no worker serves the queue.
UNCLAIMED_STALE = timedelta(minutes=10)


class TransitionError(RuntimeError):
    """A programming error: a status change the state machine does not allow."""


_identity_lock = threading.Lock()
_identity: tuple[int, str] | None = None


def worker_id() -> str:
    """This process's identity as a run's owner: host, pid and a random part, so that a process
    restarted with the same host and pid (a container's PID 1) is a different owner. Made anew
    after a fork."""
    global _identity
    with _identity_lock:
        if _identity is None or _identity[0] != os.getpid():
            _identity = (os.getpid(),
                         f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")
        return _identity[1]


def move_environment(session: Session, env_id: str, to: EnvironmentStatus, *,
                     expected: Iterable[EnvironmentStatus], **values: Any) -> bool:
    """Move an environment from one of `expected` to `to`, with other column values; False when
    it was in none of them (someone else moved it first)."""
    expected = frozenset(expected)
    for source in expected:
        if to not in TRANSITIONS[source]:
            raise TransitionError(f"environment: {source.value} -> {to.value} is not allowed")
    moved = session.execute(
        update(Environment)
        .where(Environment.id == env_id, Environment.status.in_([s.value for s in expected]))
        .values(status=to.value, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)).rowcount
    return moved == 1


def finish_run(session: Session, run_id: int, status: RunStatus, *,
               worker: str | None = None, **values: Any) -> bool:
    """End a running run; False when it had already ended, or (given `worker`) when another
    worker owns it now."""
    if status is RunStatus.RUNNING:
        raise TransitionError("run: finishing means succeeded or failed")
    conditions = [Run.id == run_id, Run.status == RunStatus.RUNNING.value]
    if worker is not None:
        conditions.append(Run.worker == worker)
    ended = session.execute(
        update(Run).where(*conditions)
        .values(status=status.value, ended_at=values.pop("ended_at", None) or utcnow(), **values)
        .execution_options(synchronize_session=False)).rowcount
    return ended == 1


def claim_run(session: Session, run_id: int, *, worker: str, now: datetime | None = None,
              stale: timedelta = HEARTBEAT_STALE) -> bool:
    """Make `worker` the owner of a running run that nobody works on: never claimed, or its
    owner's heartbeat stale. Of two workers (or two threads of one) handed the same run, one
    wins; a run this very process is working on is not claimed again either."""
    now = now or utcnow()
    claimed = session.execute(
        update(Run).where(
            Run.id == run_id, Run.status == RunStatus.RUNNING.value,
            or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < now - stale))
        .values(worker=worker, heartbeat_at=now)
        .execution_options(synchronize_session=False)).rowcount
    return claimed == 1


def owner_gone_clause(now: datetime, stale: timedelta = HEARTBEAT_STALE) -> Any:
    """Running runs whose owner is gone: claimed with a stale heartbeat, or never claimed."""
    return or_(
        and_(Run.heartbeat_at.is_not(None), Run.heartbeat_at < now - stale),
        and_(Run.heartbeat_at.is_(None), Run.started_at < now - UNCLAIMED_STALE))


def extend_deadline(session: Session, run_id: int, *, seconds: float) -> bool:
    """Give a running run a fresh deadline (a failed launch's clean-up starts)."""
    moved = session.execute(
        update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING.value)
        .values(deadline_at=utcnow() + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)).rowcount
    return moved == 1


class Heartbeats:
    """One thread per process writes the heartbeat of every run this process works on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, tuple[Any, float]] = {}  # run id -> (sessionmaker, interval s)
        self._thread: threading.Thread | None = None

    @contextmanager
    def held(self, sessions: Any, run_id: int, *,
             stale: timedelta = HEARTBEAT_STALE) -> Iterator[None]:
        with self._lock:
            self._runs[run_id] = (sessions, stale.total_seconds() / BEATS_PER_STALE)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="run-heartbeats",
                                                daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._runs.pop(run_id, None)

    def _beat(self) -> None:
        while True:
            with self._lock:
                runs = dict(self._runs)
            interval = min((i for _, i in runs.values()), default=1.0)
            time.sleep(interval)
            by_database: dict[int, tuple[Any, list[int]]] = {}
            for run_id, (sessions, _) in runs.items():
                by_database.setdefault(id(sessions), (sessions, []))[1].append(run_id)
            me = worker_id()
            for sessions, run_ids in by_database.values():
                try:
                    with sessions() as session, session.begin():
                        session.execute(
                            update(Run).where(Run.id.in_(run_ids), Run.worker == me,
                                              Run.status == RunStatus.RUNNING.value)
                            .values(heartbeat_at=utcnow())
                            .execution_options(synchronize_session=False))
                except Exception:  # noqa: BLE001 - a missed beat is retried at the next one
                    logger.warning("heartbeat of runs %s not written", run_ids, exc_info=True)


heartbeats = Heartbeats()
