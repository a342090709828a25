"""Where recorded work runs: on threads of this process (the embedded default, `make run`
alone), or as Celery tasks on `sandbox worker` processes (`PORTAL_WORKERS=celery`).

The pages, the CLI and the schedules record a run first (services/environment_service.py), then
hand its id here; whoever runs it claims it (services/run_state.py), so a run handed out twice is
still run once. Progress is read back from the history database either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from services.settings import WorkerMode
from services import environment_service, jobs
from services.context import PortalContext
from services.errors import PortalError
from services.history.models import Run, RunStatus


def _celery(ctx: PortalContext) -> bool:
    return ctx.settings.workers is WorkerMode.CELERY


def submit_launch(ctx: PortalContext, run_id: int) -> None:
    if _celery(ctx):
        from services.celery_tasks import launch

        launch.delay(run_id)
    else:
        jobs.submit(environment_service.run_launch, ctx, run_id=run_id)


def submit_destroy(ctx: PortalContext, run_id: int) -> None:
    if _celery(ctx):
        from services.celery_tasks import destroy

        destroy.delay(run_id)
    else:
        jobs.submit(environment_service.run_destroy, ctx, run_id=run_id)


def executor(ctx: PortalContext, kind: str) -> Callable[[int], None]:
    """A function that hands a run of `kind` (launch, destroy) to where work runs."""
    submit = submit_launch if kind == "launch" else submit_destroy
    return lambda run_id: submit(ctx, run_id)


class RunWaitTimeoutError(PortalError):
    def __init__(self, run_id: int, waited_s: float) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id}: not finished after {waited_s:.0f} s; it goes on in the "
                         "background (sandbox status shows it)")


def wait_for_run(ctx: PortalContext, run_id: int, *, timeout_s: float | None = None,
                 poll_s: float = 0.5) -> str:
    """Wait until a run has ended, reading the database (the CLI, in the Celery mode); its
    final status."""
    deadline = time.monotonic() + (timeout_s if timeout_s is not None
                                   else ctx.settings.operation_timeout_s * 2)
    while True:
        with ctx.sessions() as session:
            run = session.get(Run, run_id)
            status = run.status if run is not None else RunStatus.FAILED.value
        if status != RunStatus.RUNNING.value:
            return status
        if time.monotonic() > deadline:
            raise RunWaitTimeoutError(run_id, timeout_s or ctx.settings.operation_timeout_s * 2)
        time.sleep(poll_s)
