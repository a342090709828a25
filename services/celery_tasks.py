"""The Celery side of the Celery mode (`PORTAL_WORKERS=celery`, `PORTAL_BROKER_URL`): the app,
its tasks and the schedule `sandbox scheduler` runs with Celery Beat.

Tasks carry only a run id. They are acknowledged late and rejected when their worker is lost, so
a worker killed in the middle of one loses nothing: Redis hands the task to another worker once
`PORTAL_TASK_VISIBILITY_TIMEOUT_S` has passed. Running one twice is safe: the run is claimed in
the database first (services/run_state.py); a task handed a run that a live worker still holds
comes back later, until the run has ended or its worker's heartbeat has gone stale, and then
resumes it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import lru_cache
from typing import Any

from celery import Celery

from services.settings import get_settings
from services import environment_service
from services.context import PortalContext, get_context
from services.errors import PortalError

logger = logging.getLogger(__name__)

QUEUE = "sandbox"


class BrokerNotConfiguredError(PortalError):
    def __init__(self) -> None:
        super().__init__("workers: PORTAL_WORKERS=celery needs PORTAL_BROKER_URL, e.g. "
                         "redis://127.0.0.1:6379/0")


def make_app() -> Celery:
    settings = get_settings()
    if not settings.broker_url:
        raise BrokerNotConfiguredError()
    app = Celery("sandbox", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One task at a time per worker thread: a prefetched task would wait behind a long
        # launch while another worker idles.
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.task_visibility_timeout_s,
            # kombu looks for tasks past their visibility timeout only on every 10th call of a
            # 10-s timer: a killed worker's task came back up to 100 s after the timeout, or
            # never while no worker started. Looked for four times per timeout (at most every
            # 10 s), it comes back within a quarter of it.
            "unacked_restore_interval": max(1, min(10, int(
                settings.task_visibility_timeout_s / 4))),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(settings.collect_interval_s,
                                    settings.budget_check_interval_s),
        timezone="UTC",
    )
    return app


def beat_schedule(collect_interval_s: float, limits_interval_s: float) -> dict[str, Any]:
    schedule: dict[str, Any] = {}
    if collect_interval_s > 0:
        schedule["monitoring"] = {"task": "sandbox.monitoring_pass",
                                  "schedule": timedelta(seconds=collect_interval_s)}
    if limits_interval_s > 0:
        schedule["limits"] = {"task": "sandbox.limits_pass",
                              "schedule": timedelta(seconds=limits_interval_s)}
    return schedule


@lru_cache(maxsize=1)
def app() -> Celery:
    return _registered(make_app())


def _context() -> PortalContext:
    return get_context()


def _run(task: Any, run_id: int, work: Any) -> None:
    ctx = _context()
    work(ctx, run_id=run_id)
    if environment_service.run_is_open(ctx, run_id) and not _claimed_by_me(ctx, run_id):
        # A live worker holds it (this task was handed out again while it runs): look again
        # when its heartbeat would have gone stale, until the run has ended.
        raise task.retry(countdown=ctx.settings.heartbeat_stale_s / 2, max_retries=None)


def _claimed_by_me(ctx: PortalContext, run_id: int) -> bool:
    from services.history.models import Run
    from services.run_state import worker_id

    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        return run is not None and run.worker == worker_id()


def _registered(celery: Celery) -> Celery:
    @celery.task(name="sandbox.launch", bind=True)
    def launch_task(self: Any, run_id: int) -> None:
        _run(self, run_id, environment_service.run_launch)

    @celery.task(name="sandbox.destroy", bind=True)
    def destroy_task(self: Any, run_id: int) -> None:
        _run(self, run_id, environment_service.run_destroy)

    @celery.task(name="sandbox.monitoring_pass")
    def monitoring_task() -> None:
        from services.monitoring.passes import monitoring_pass

        monitoring_pass(_context())

    @celery.task(name="sandbox.limits_pass")
    def limits_task() -> None:
        from services.monitoring.passes import limits_pass

        limits_pass(_context())

    return celery


class _Task:
    """`launch.delay(run_id)` without building the app at import time: the threads mode never
    needs Celery's configuration, nor a broker."""

    def __init__(self, name: str) -> None:
        self.name = name

    def delay(self, *args: Any) -> None:
        app().send_task(self.name, args=args, queue=QUEUE)


launch = _Task("sandbox.launch")
destroy = _Task("sandbox.destroy")
