"""What a monitoring pass does, for the background schedule, `sandbox collect` and the Health
page's "Collect now": on the embedded cloud the workload simulator first (moto makes no metrics of
its own), then the collector; the schedule also ends the leases that are over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from services.settings import CloudTarget, WorkerMode
from services import dispatch, run_state, schedule_lease
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
    """Destroy environments whose lease is over, handed to where work runs (threads or Celery
    workers): the schedules run this, so a lease ends with no browser open."""
    return reconcile_and_clean_up(ctx, execute=dispatch.executor(ctx, "destroy"))


def stop_over_budget(ctx: PortalContext) -> list[object]:
    """Destroy the running environments of students over budget (courses that stop at their
    budget), handed to where work runs."""
    from services.budget_service import enforce_budgets

    stops = enforce_budgets(ctx)
    for stop in stops:
        dispatch.submit_destroy(ctx, stop.run_id)
    return list(stops)


def monitoring_pass(ctx: PortalContext) -> object:
    """The simulated workload (embedded cloud) and the collector: a Celery Beat task."""
    simulate_workload(ctx)
    return collect(ctx)


def limits_pass(ctx: PortalContext) -> object:
    """Budget stops and lease ends: a Celery Beat task."""
    return stop_over_budget(ctx), end_leases(ctx)


def limit_steps() -> list[Step]:
    return [("budgets", stop_over_budget), ("leases", end_leases)]


def _lease_gate(ctx: PortalContext, name: str, interval_s: float) -> Callable[[], bool]:
    """Before each timed pass: does this process hold the schedule's lease? With several portal
    processes on one database, exactly one runs each schedule; a standby takes over once the
    holder has missed three passes."""
    ttl = timedelta(seconds=max(3 * interval_s, 30.0))
    return lambda: schedule_lease.hold(ctx.sessions, name=name, holder=run_state.worker_id(),
                                       ttl=ttl)


_limits_lock = threading.Lock()
_limits_scheduler: BackgroundScheduler | None = None


def start_limits_schedule(ctx: PortalContext) -> BackgroundScheduler:
    """The process's budget and lease checks, every `budget_check_interval_s` (0: on demand
    only): separate from the collector's pass so that a budget stop never waits minutes behind
    a CloudWatch backfill. Runs only while this process holds the `limits` lease."""
    global _limits_scheduler
    with _limits_lock:
        if _limits_scheduler is None:
            interval = ctx.settings.budget_check_interval_s
            _limits_scheduler = BackgroundScheduler(
                ctx, limit_steps(), interval, gate=_lease_gate(ctx, "limits", interval))
            if interval > 0:
                _limits_scheduler.start()
        return _limits_scheduler


def scheduled_steps() -> list[Step]:
    return [("simulate", lambda ctx: simulate_workload(ctx)),
            ("collect", lambda ctx: collect(ctx)),
            ("leases", end_leases)]


def start_schedule(ctx: PortalContext) -> BackgroundScheduler:
    """The process's schedule (started once; `collect_interval_s` 0 leaves it stopped). Its
    timed passes run only while this process holds the `monitoring` lease."""
    return start_background_scheduler(
        ctx, scheduled_steps(),
        gate=_lease_gate(ctx, "monitoring", ctx.settings.collect_interval_s))


def start_schedules(ctx: PortalContext) -> None:
    """The threads mode's schedules, in this process; the Celery mode's run under `sandbox
    scheduler` (Celery Beat), so portal processes only record and enqueue."""
    if ctx.settings.workers is WorkerMode.CELERY:
        return
    start_limits_schedule(ctx)
    start_schedule(ctx)
