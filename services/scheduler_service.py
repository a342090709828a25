"""`sandbox scheduler`: Celery Beat for the Celery mode, run by exactly one process at a time.

Any number of schedulers may be started (on several machines, for availability). Each asks for
the `celery-beat` lease in the history database (services/schedule_lease.py); the one that holds
it runs Beat and renews the lease three times per lease period, the others stand by and ask again.
A holder that cannot renew (it lost the database, or was frozen past the lease) exits at once,
since another may already have taken over: two Beats would send every pass twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta

from services import run_state, schedule_lease
from services.context import PortalContext

logger = logging.getLogger(__name__)

LEASE_NAME = "celery-beat"
# The exit status of a scheduler that lost its lease; systemd or a Procfile runner restarts it,
# and it stands by.
LOST_LEASE_EXIT = 3


def _lease_ttl(ctx: PortalContext) -> timedelta:
    # A scheduler silent this long is gone, as a run's worker is (PORTAL_HEARTBEAT_STALE_S).
    return timedelta(seconds=ctx.settings.heartbeat_stale_s)


def wait_for_lease(ctx: PortalContext, *, holder: str, stop: threading.Event | None = None) -> bool:
    """Block until `holder` holds the lease (True), or `stop` is set (False)."""
    ttl = _lease_ttl(ctx)
    announced = False
    while stop is None or not stop.is_set():
        if schedule_lease.hold(ctx.sessions, name=LEASE_NAME, holder=holder, ttl=ttl):
            logger.warning("scheduler %s: holding the schedule", holder)
            return True
        if not announced:
            logger.warning("scheduler %s: standing by; %s holds the schedule", holder,
                           schedule_lease.holder_of(ctx.sessions, LEASE_NAME))
            announced = True
        time.sleep(ttl.total_seconds() / 3)
    return False


def _keep_lease(ctx: PortalContext, *, holder: str) -> None:
    ttl = _lease_ttl(ctx)
    while True:
        time.sleep(ttl.total_seconds() / 3)
        try:
            held = schedule_lease.hold(ctx.sessions, name=LEASE_NAME, holder=holder, ttl=ttl)
        except Exception:  # noqa: BLE001 - no database: the lease may run out under us
            logger.exception("scheduler %s: renewing the lease failed", holder)
            held = False
        if not held:
            logger.error("scheduler %s: lost the schedule's lease; exiting so that only one "
                         "scheduler acts", holder)
            os._exit(LOST_LEASE_EXIT)


def run_scheduler(ctx: PortalContext, *, loglevel: str = "INFO") -> int:
    from services.celery_tasks import app

    holder = run_state.worker_id()
    wait_for_lease(ctx, holder=holder)
    threading.Thread(target=_keep_lease, kwargs={"ctx": ctx, "holder": holder},
                     name="schedule-lease", daemon=True).start()
    # Only the lease's holder opens it, so schedulers of one data directory never share it.
    schedule_file = ctx.settings.data_dir / "celerybeat-schedule"
    try:
        app().Beat(loglevel=loglevel, schedule=str(schedule_file)).run()
    finally:
        schedule_lease.release(ctx.sessions, name=LEASE_NAME, holder=holder)
    return 0
