"""What a monitoring pass does, for the background schedule, `sandbox collect` and the Health
page's "Collect now": on the embedded cloud the workload simulator first (moto makes no metrics of
its own), then the collector; the schedule also ends the leases that are over.
"""

from __future__ import annotations

from datetime import datetime

from portal.settings import CloudTarget
from services import environment_service, jobs
from services.context import PortalContext
from services.monitoring.collector import CollectorPassReport, collect
from services.monitoring.scheduler import (
    BackgroundScheduler,
    Step,
    start_background_scheduler,
)
from services.reconcile_service import ReconcileReport, reconcile_and_clean_up


def simulate_workload(ctx: PortalContext, *, now: datetime | None = None) -> object:
    """The simulated workload up to `now`; nothing on a real cloud, whose metrics are real."""
    if ctx.settings.cloud is not CloudTarget.EMBEDDED:
        return None
    from services.workload.simulator import simulate_running

    return simulate_running(ctx, now=now)


def collect_now(ctx: PortalContext, *, now: datetime | None = None) -> CollectorPassReport:
    """A pass on demand: the simulated workload (embedded cloud only), then the collector."""
    simulate_workload(ctx, now=now)
    return collect(ctx, now=now)


def end_leases(ctx: PortalContext) -> ReconcileReport:
    """Destroy environments whose lease is over, on background threads: without this step a lease
    would only end when someone opened My environments or ran the CLI."""
    return reconcile_and_clean_up(
        ctx, execute=lambda run_id: jobs.submit(environment_service.run_destroy, ctx,
                                                run_id=run_id))


def scheduled_steps() -> list[Step]:
    return [("simulate", lambda ctx: simulate_workload(ctx)),
            ("collect", lambda ctx: collect(ctx)),
            ("leases", end_leases)]


def start_schedule(ctx: PortalContext) -> BackgroundScheduler:
    """The process's schedule (started once; `collect_interval_s` 0 leaves it stopped)."""
    return start_background_scheduler(ctx, scheduled_steps())
