"""Bring the run history back in line with what is really running.

Two things make the history wrong: a worker that died in the middle of a run (its heartbeat went
stale, services/run_state.py; a run whose worker is alive is its worker's business, deadline
included), and an embedded cloud whose process died and took its memory with it. `reconcile`
finds each, records why, and hands back the clean-up runs to do,
so that nothing stays `launching` or `ready` when it is not, and nothing is left running by accident.
Environments whose lease has ended are handed back for a destroy too; lost ones of an embedded
cloud that is gone have nothing left to destroy, and their records are closed instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import ColumnElement, and_, or_, select, update

from services.settings import CloudTarget
from services import audit, run_state
from services.engines.base import DeploymentRef
from services.context import PortalContext
from services.errors import EmbeddedCloudError
from services.history.models import (
    Environment,
    EnvironmentStatus,
    Run,
    RunKind,
    RunStatus,
    utcnow,
)


@dataclass
class ReconcileReport:
    interrupted_runs: list[int] = field(default_factory=list)
    lost_envs: list[str] = field(default_factory=list)
    # Launches that were interrupted: their environments need a destroy to remove what they made.
    needs_cleanup: list[str] = field(default_factory=list)
    # Environments whose lease has ended and that may hold resources: ready, failed, and lost
    # ones whose cloud still runs (a stack gone missing can leave tagged resources behind).
    expired: list[str] = field(default_factory=list)
    # Lost environments of an embedded cloud that is gone, whose lease has ended: closed without
    # a destroy, since nothing of them exists anywhere (see `_close_lost_leases`).
    closed: list[str] = field(default_factory=list)
    # Set when the embedded cloud's process exists but did not answer: its environments were left
    # as they were (neither lost nor expired) this time, and this says why.
    cloud_not_answering: str | None = None


def reconcile(ctx: PortalContext, *, verify_deployments: bool = False) -> ReconcileReport:
    report = ReconcileReport()
    now = utcnow()
    stale = timedelta(seconds=ctx.settings.heartbeat_stale_s)
    with ctx.sessions() as session:
        orphans = session.execute(select(Run.id, Run.kind, Run.env_id, Run.worker).where(
            Run.status == RunStatus.RUNNING.value, run_state.owner_gone_clause(now, stale))).all()
    for run_id, kind, env_id, worker in orphans:
        why = (f"interrupted: its worker ({worker}) stopped answering" if worker else
               "interrupted: no worker ever started it")
        launch = kind == RunKind.LAUNCH.value
        with ctx.sessions() as session, session.begin():
            # Conditional on the run still running with its owner gone: a worker that resumed
            # it a moment ago, or ended it, wins, and this reconcile leaves it alone.
            ended = session.execute(
                update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING.value,
                                  run_state.owner_gone_clause(now, stale))
                .values(status=RunStatus.FAILED.value, ended_at=now, error=why)
                .execution_options(synchronize_session=False)).rowcount
            if ended != 1:
                continue
            run_state.move_environment(
                session, env_id, EnvironmentStatus.FAILED,
                expected={EnvironmentStatus.LAUNCHING if launch else EnvironmentStatus.DESTROYING},
                status_reason=(f"launch {why}; destroy it to remove what it made" if launch
                               else f"destroy {why}; destroy again to finish"))
        if launch:
            report.needs_cleanup.append(env_id)
        report.interrupted_runs.append(run_id)

    embedded = ctx.settings.cloud is CloudTarget.EMBEDDED
    current: str | None = None
    if embedded:
        try:
            current = _mark_lost_after_emulator_restart(ctx, report)
        except EmbeddedCloudError as exc:
            # Its process exists but does not answer (SIGSTOP, overload): whether its
            # environments live cannot be told, so none is marked lost, and none is handed to a
            # destroy that would only wait for it again.
            report.cloud_not_answering = str(exc)
    answering = report.cloud_not_answering is None
    if verify_deployments and answering:
        _mark_missing_deployments(ctx, report)
    if embedded and answering:
        _close_lost_leases(ctx, report, current=current, now=now)
    with ctx.sessions() as session:
        query = select(Environment.id).where(
            Environment.expires_at.is_not(None), Environment.expires_at <= now,
            or_(Environment.status.in_([EnvironmentStatus.READY.value,
                                        EnvironmentStatus.FAILED.value]),
                and_(Environment.status == EnvironmentStatus.LOST.value,
                     ~_of_a_gone_emulator(current))))
        if not answering:
            query = query.where(Environment.cloud != CloudTarget.EMBEDDED.value)
        report.expired = list(session.scalars(query))
    return report


def _of_a_gone_emulator(current: str | None) -> ColumnElement[bool]:
    """Environments held by a life of the embedded cloud that has ended: any boot id but the one
    answering now (`current`; None when none runs)."""
    if current is None:
        return Environment.cloud == CloudTarget.EMBEDDED.value
    return and_(Environment.cloud == CloudTarget.EMBEDDED.value,
                or_(Environment.cloud_session.is_(None), Environment.cloud_session != current))


def _mark_lost_after_emulator_restart(ctx: PortalContext, report: ReconcileReport) -> str | None:
    """Mark lost the environments of an embedded cloud that is gone; returns the boot id that
    answers now (None: none runs). Only another boot id answering, or no emulator process at all,
    makes them lost: when its process exists but does not answer within the embedded cloud's
    patience this raises EmbeddedCloudNotAnsweringError and marks nothing."""
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
    return current


# Appended to a lost environment's reason when its lease ends; also how a closed one is known.
LEASE_CLOSED_MARK = "lease ended; the embedded cloud that held it is gone, nothing to destroy"


def _close_lost_leases(ctx: PortalContext, report: ReconcileReport, *, current: str | None,
                       now: datetime) -> None:
    """End the lease of every lost environment of an embedded cloud that is gone.

    A destroy would have nothing to act on: the emulator's memory went with its process, and the
    one running now never held these resources. So the record is closed instead. It keeps the
    status `lost`, which every reader already treats as final: the cost meter stopped its cost
    when it was found lost (at `updated_at`, kept as it was here, so closing adds no hours), no
    limit counts it, and the UI shows it with its reason. A status of its own would need the cost
    meter (which meters a status it does not know as still running), the environments table and
    the status badges to learn it; a closing destroy run that "succeeded" would make the cost
    meter bill it up to the lease's end. What records the end: the reason, ending with
    LEASE_CLOSED_MARK (which also keeps the next reconcile from closing it again), and an audit
    entry by the portal. Its Destroy button stays: a destroy finds nothing and ends `destroyed`.
    """
    with ctx.sessions() as session, session.begin():
        closing = session.execute(select(
            Environment.id, Environment.course, Environment.status_reason).where(
            Environment.status == EnvironmentStatus.LOST.value, _of_a_gone_emulator(current),
            Environment.expires_at.is_not(None), Environment.expires_at <= now,
            or_(Environment.status_reason.is_(None),
                ~Environment.status_reason.contains(LEASE_CLOSED_MARK)))).all()
        for env_id, course, reason in closing:
            session.execute(
                update(Environment)
                .where(Environment.id == env_id,
                       Environment.status == EnvironmentStatus.LOST.value)
                # updated_at set to itself: the ORM's onupdate would move it to now, and the
                # cost meter reads it as the moment a lost environment stopped costing.
                .values(status_reason=f"{reason or 'lost'}; {LEASE_CLOSED_MARK}",
                        updated_at=Environment.updated_at)
                .execution_options(synchronize_session=False))
            audit.record(session, actor=PORTAL_ACTOR_NAME, action=audit.Action.LEASE_END,
                         course_id=course, target=env_id, at=now, detail=LEASE_CLOSED_MARK)
            report.closed.append(env_id)


def _mark_missing_deployments(ctx: PortalContext, report: ReconcileReport) -> None:
    """A ready environment whose deployment lists nothing any more (someone deleted the stack or
    the resources by hand) is lost: its resources cannot be used, and a destroy sweeps by tag."""
    with ctx.sessions() as session:
        ready = [(env.id, env.engine, DeploymentRef(env_id=env.id,
                                                    deployment_name=env.deployment_name,
                                                    deployment_id=env.deployment_id))
                 for env in session.scalars(
                     select(Environment).where(
                         Environment.status == EnvironmentStatus.READY.value,
                         Environment.cloud == ctx.settings.cloud.value))]
    for env_id, engine, ref in ready:
        if any(not r.status.startswith("DELETE") for r in ctx.engine(engine).resources(ref)):
            continue
        with ctx.sessions() as session, session.begin():
            if run_state.move_environment(
                    session, env_id, EnvironmentStatus.LOST, expected={EnvironmentStatus.READY},
                    status_reason=f"deployment {ref.handle} no longer exists in the cloud "
                                  "account"):
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
                           verify_deployments: bool = False) -> ReconcileReport:
    """`reconcile`, then the clean-up destroys it calls for, each handed to `execute(run_id)`:
    the UI runs them on background threads, the CLI inline."""
    report = reconcile(ctx, verify_deployments=verify_deployments)
    for run_id in start_cleanups(ctx, report):
        execute(run_id)
    return report
