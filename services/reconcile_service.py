"""Bring the run history back in line with what is really running.

Three things make the history wrong: a portal process that died in the middle of a run, a run whose
deadline passed without its worker ending it, and an embedded cloud whose process died and took
its memory with it. `reconcile` finds each, records why, and hands back the clean-up runs to do,
so that nothing stays `launching` or `ready` when it is not, and nothing is left running by accident.
Environments whose lease has ended are handed back for a destroy too.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from portal.settings import CloudTarget
from services.context import PortalContext
from services.environment_service import DEADLINE_GRACE
from services.history.models import (
    Environment,
    EnvironmentStatus,
    Run,
    RunKind,
    RunStatus,
    utcnow,
)

HOST = socket.gethostname()


@dataclass
class ReconcileReport:
    interrupted_runs: list[int] = field(default_factory=list)
    lost_envs: list[str] = field(default_factory=list)
    # Launches that were interrupted: their environments need a destroy to remove what they made.
    needs_cleanup: list[str] = field(default_factory=list)
    # Ready or failed environments whose lease has ended.
    expired: list[str] = field(default_factory=list)


def _worker_gone(worker: str | None) -> bool:
    if not worker or ":" not in worker:
        return False
    host, _, pid_text = worker.rpartition(":")
    if host != HOST or not pid_text.isdigit():
        return False  # another machine's worker: only its deadline can tell
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reconcile(ctx: PortalContext, *, verify_stacks: bool = False) -> ReconcileReport:
    report = ReconcileReport()
    now = utcnow()
    with ctx.sessions() as session, session.begin():
        for run in session.scalars(select(Run).where(Run.status == RunStatus.RUNNING.value)):
            overdue = now > run.deadline_at + DEADLINE_GRACE
            if not (overdue or _worker_gone(run.worker)):
                continue
            why = ("timed out: no result by its deadline" if overdue else
                   f"interrupted: the portal process running it ({run.worker}) stopped")
            run.status, run.ended_at, run.error = RunStatus.FAILED.value, now, why
            env = run.environment
            env.status = EnvironmentStatus.FAILED.value
            if run.kind == RunKind.LAUNCH.value:
                env.status_reason = f"launch {why}; destroy it to remove what it made"
                report.needs_cleanup.append(env.id)
            else:
                env.status_reason = f"destroy {why}; destroy again to finish"
            report.interrupted_runs.append(run.id)

    if ctx.settings.cloud is CloudTarget.EMBEDDED:
        _mark_lost_after_emulator_restart(ctx, report)
    if verify_stacks:
        _mark_missing_stacks(ctx, report)
    with ctx.sessions() as session:
        report.expired = list(session.scalars(select(Environment.id).where(
            Environment.status.in_([EnvironmentStatus.READY.value,
                                    EnvironmentStatus.FAILED.value]),
            Environment.expires_at.is_not(None), Environment.expires_at <= now)))
    return report


def _mark_lost_after_emulator_restart(ctx: PortalContext, report: ReconcileReport) -> None:
    from services.clouds import embedded

    current = embedded.current_boot_id(ctx.settings)
    if ctx.has_connection and ctx.connection.cloud_session != current:
        ctx.reset_connection()
    with ctx.sessions() as session, session.begin():
        query = select(Environment).where(
            Environment.cloud == CloudTarget.EMBEDDED.value,
            Environment.status.in_([EnvironmentStatus.READY.value,
                                    EnvironmentStatus.FAILED.value]),
        )
        for env in session.scalars(query):
            if env.cloud_session == current:
                continue
            env.status = EnvironmentStatus.LOST.value
            env.status_reason = (
                "the embedded cloud that held this environment stopped and its memory is gone "
                f"(emulator {env.cloud_session or 'unknown'} is no longer running); nothing of it "
                "exists any more"
            )
            report.lost_envs.append(env.id)


def _mark_missing_stacks(ctx: PortalContext, report: ReconcileReport) -> None:
    with ctx.sessions() as session:
        ready = [(env.id, env.stack_id or env.stack_name) for env in session.scalars(
            select(Environment).where(Environment.status == EnvironmentStatus.READY.value,
                                      Environment.cloud == ctx.settings.cloud.value))]
    for env_id, stack in ready:
        if ctx.engine.stack_status(stack) is not None:
            continue
        with ctx.sessions() as session, session.begin():
            env = session.get(Environment, env_id)
            if env is None or env.status != EnvironmentStatus.READY.value:
                continue
            env.status = EnvironmentStatus.LOST.value
            env.status_reason = f"stack {stack} no longer exists in the cloud account"
            report.lost_envs.append(env_id)


# The portal itself acts when it cleans up after an interrupted launch.
PORTAL_ACTOR_NAME = "portal"


def start_cleanups(ctx: PortalContext, report: ReconcileReport) -> list[int]:
    """Start a destroy for every launch the report found interrupted and every environment whose
    lease ended; returns the run ids.

    The caller runs them (`environment_service.run_destroy`), on a background thread in the UI,
    inline in the CLI.
    """
    from services.environment_service import start_destroy
    from services.errors import PortalError
    from services.identity import Actor, Role

    portal = Actor(PORTAL_ACTOR_NAME, Role.INSTRUCTOR)
    run_ids: list[int] = []
    for env_id in dict.fromkeys(report.needs_cleanup + report.expired):
        try:
            run_ids.append(start_destroy(ctx, actor=portal, env_id=env_id).run_id)
        except PortalError:
            continue  # someone destroyed it in the meantime
    return run_ids


def reconcile_and_clean_up(ctx: PortalContext, *, execute: Callable[[int], object],
                           verify_stacks: bool = False) -> ReconcileReport:
    """`reconcile`, then the clean-up destroys it calls for, each handed to `execute(run_id)`:
    the UI runs them on background threads, the CLI inline."""
    report = reconcile(ctx, verify_stacks=verify_stacks)
    for run_id in start_cleanups(ctx, report):
        execute(run_id)
    return report
