"""What a monitoring pass does, for the background schedule, `sandbox collect` and the Health
page's "Collect now": on the embedded cloud the workload simulator first (moto makes no metrics of
its own), then the collector; the schedule also ends the leases that are over.
"""

from __future__ import annotations

import threading
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


def stop_over_budget(ctx: PortalContext) -> list[object]:
    """Destroy the running environments of students over budget (courses that stop at their
    budget), on background threads."""
    from services.budget_service import enforce_budgets

    stops = enforce_budgets(ctx)
    for stop in stops:
        jobs.submit(environment_service.run_destroy, ctx, run_id=stop.run_id)
    return list(stops)


def limit_steps() -> list[Step]:
    return [("budgets", stop_over_budget), ("leases", end_leases)]


_limits_lock = threading.Lock()
_limits_scheduler: BackgroundScheduler | None = None


def start_limits_schedule(ctx: PortalContext) -> BackgroundScheduler:
    """The process's budget and lease checks, every `budget_check_interval_s` (0: on demand
    only): separate from the collector's pass so that a budget stop never waits minutes behind
    a CloudWatch backfill."""
    global _limits_scheduler
    with _limits_lock:
        if _limits_scheduler is None:
            interval = ctx.settings.budget_check_interval_s
            _limits_scheduler = BackgroundScheduler(ctx, limit_steps(), interval)
            if interval > 0:
                _limits_scheduler.start()
        return _limits_scheduler


def scheduled_steps() -> list[Step]:
    return [("simulate", lambda ctx: simulate_workload(ctx)),
            ("collect", lambda ctx: collect(ctx)),
            ("leases", end_leases)]


def start_schedule(ctx: PortalContext) -> BackgroundScheduler:
    """The process's schedule (started once; `collect_interval_s` 0 leaves it stopped)."""
    return start_background_scheduler(ctx, scheduled_steps())
