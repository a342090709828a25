"""The environments facade: launch, destroy, list and inspect, always on behalf of an actor.

A launch or destroy is two steps so that the UI can run the slow one off its thread:
`start_launch` validates, renders and records (fast), `run_launch` talks to the cloud (slow).
`launch` does both, for the CLI and tests. Every path ends a run `succeeded` or `failed`; a failed
launch removes what it made.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload

from services import audit, cost_meter, limits, ownership, run_state
from services.advisor import advise
from services.audit import Action, Outcome
from services.catalog_service import TemplateManifest
from services.context import PortalContext
from services.courses import CoursePolicy, policy_in
from services.monitoring.filters import visible_clause
from services.clouds.aws_calls import AWS_ERRORS, cloud_error
from services.engines import engine_name
from services.engines.base import (
    Availability,
    DeploymentRef,
    DeploymentRequest,
    Engine,
    EngineName,
    OperationResult,
    PlannedResource,
    ResourceEvent,
)
from services.engines.resource_types import cloudformation_type
from services.errors import (
    EngineUnavailableError,
    EnvironmentNotFoundError,
    InvalidStateError,
    LaunchBlockedError,
    PermissionDeniedError,
    PortalError,
    TargetUnavailableError,
    ValidationError,
)
from services.history.models import (
    Environment,
    EnvironmentStatus,
    Run,
    RunEvent,
    RunKind,
    RunStatus,
    utcnow,
)
from services.i18n import _
from services.identity import NAME_PATTERN, Actor
from services.settings import CloudTarget, WorkerMode
from services.render_service import (
    RenderedTemplate,
    masked,
    portal_tags,
    render,
    validate_parameters,
)
from services.sweeper import TaggedResource

if TYPE_CHECKING:
    from services.clouds.status import TargetStatus

DESTROYABLE = {EnvironmentStatus.READY, EnvironmentStatus.FAILED, EnvironmentStatus.LOST}


# -- views handed to the UI and the CLI ---------------------------------------------------------
@dataclass(frozen=True)
class OutputView:
    name: str
    label: str
    value: str
    kind: str


@dataclass(frozen=True)
class RunView:
    run_id: int
    kind: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    error: str | None
    leftovers: list[str]

    @property
    def duration_s(self) -> float | None:
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None


@dataclass(frozen=True)
class EventView:
    occurred_at: datetime
    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str
    reason: str | None


@dataclass(frozen=True)
class EnvironmentView:
    env_id: str
    template_id: str
    owner: str
    status: str
    status_reason: str | None
    parameters: dict[str, Any]
    outputs: list[OutputView]
    cloud: str
    region: str
    engine: str
    deployment_name: str
    deployment_id: str | None
    created_at: datetime
    updated_at: datetime
    runs: list[RunView] = field(default_factory=list)
    resources: list[dict[str, str]] | None = None
    lease_hours: int | None = None
    expires_at: datetime | None = None
    course: str = "default"
    hourly_cost_usd: float | None = None

    @property
    def can_destroy(self) -> bool:
        return EnvironmentStatus(self.status) in DESTROYABLE

    @property
    def in_progress(self) -> bool:
        return self.status in (EnvironmentStatus.LAUNCHING.value,
                               EnvironmentStatus.DESTROYING.value)

    @property
    def latest_run(self) -> RunView | None:
        return self.runs[-1] if self.runs else None

    @property
    def outputs_by_name(self) -> dict[str, str]:
        return {o.name: o.value for o in self.outputs}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "env_id": self.env_id, "template": self.template_id, "owner": self.owner,
            "status": self.status, "status_reason": self.status_reason,
            "parameters": self.parameters, "outputs": self.outputs_by_name,
            "cloud": self.cloud, "region": self.region, "engine": self.engine,
            "deployment_name": self.deployment_name, "deployment_id": self.deployment_id,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
            "course": self.course, "hourly_cost_usd": self.hourly_cost_usd,
            "lease_hours": self.lease_hours,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "runs": [{"run_id": r.run_id, "kind": r.kind, "status": r.status,
                      "started_at": r.started_at.isoformat(),
                      "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                      "error": r.error, "leftovers": r.leftovers} for r in self.runs],
        }
        if self.resources is not None:
            data["resources"] = self.resources
        return data


def _run_view(run: Run) -> RunView:
    return RunView(run_id=run.id, kind=run.kind, status=run.status, started_at=run.started_at,
                   ended_at=run.ended_at, error=run.error, leftovers=list(run.leftovers or []))


def _outputs(manifest: TemplateManifest | None, stored: Mapping[str, str]) -> list[OutputView]:
    views: list[OutputView] = []
    if manifest is not None:
        for spec in manifest.outputs:
            if spec.name in stored:
                views.append(OutputView(spec.name, spec.label, stored[spec.name], spec.kind))
    shown = {v.name for v in views}
    views += [OutputView(k, k, v, "text") for k, v in stored.items() if k not in shown]
    return views


def _view(ctx: PortalContext, env: Environment) -> EnvironmentView:
    try:
        manifest: TemplateManifest | None = ctx.catalog.get_template(env.template_id,
                                                                     env.template_version)
    except Exception:
        manifest = None
    return EnvironmentView(
        env_id=env.id, template_id=env.template_id, owner=env.owner, status=env.status,
        status_reason=env.status_reason, parameters=dict(env.parameters or {}),
        outputs=_outputs(manifest, env.outputs or {}), cloud=env.cloud, region=env.region,
        engine=env.engine, deployment_name=env.deployment_name,
        deployment_id=env.deployment_id, created_at=env.created_at, updated_at=env.updated_at,
        runs=[_run_view(r) for r in env.runs], lease_hours=env.lease_hours,
        expires_at=env.expires_at, course=env.course, hourly_cost_usd=env.hourly_cost_usd,
    )


# -- rendering, shared by the Launch page, the CLI and launches ---------------------------------
def render_template(ctx: PortalContext, *, template_id: str, parameters: Mapping[str, Any],
                    env_id: str = "preview", owner: str = "preview",
                    version: int | None = None) -> RenderedTemplate:
    """The code a launch would run, for reading: secret parameters show masked."""
    manifest = ctx.catalog.get_template(template_id, version)
    values = validate_parameters(manifest, parameters)
    return render(manifest, values,
                  cloudformation_text=ctx.catalog.cloudformation_text(template_id, version),
                  region=ctx.settings.region,
                  tags=portal_tags(env_id=env_id, owner=owner, template_id=template_id))


# -- secret parameters ----------------------------------------------------------------------------
# A secret parameter's value (CloudFormation's NoEcho, Terraform's `sensitive`) is never stored:
# the environment's parameters hold one of these markers in its place, and the value itself goes
# from `start_launch` to `run_launch` in this process's memory only.
SECRET_NOT_STORED = "(secret: given at launch, not stored)"
SECRET_DEFAULT = "(secret: the template's default)"


class _PendingSecrets:
    """Secret values of recorded launches, by run id, until their run takes them. A run that
    never comes for them (its process handed it elsewhere, or died) leaves them here only until
    the operation timeout: after that the run has failed anyway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[int, tuple[float, dict[str, Any]]] = {}

    def put(self, run_id: int, values: dict[str, Any], *, keep_s: float) -> None:
        with self._lock:
            self._drop_expired()
            self._values[run_id] = (time.monotonic() + keep_s, values)

    def take(self, run_id: int) -> dict[str, Any]:
        with self._lock:
            self._drop_expired()
            return self._values.pop(run_id, (0.0, {}))[1]

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for run_id in [r for r, (until, _) in self._values.items() if until <= now]:
            del self._values[run_id]


_pending_secrets = _PendingSecrets()


def _stored_parameters(manifest: TemplateManifest, values: Mapping[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the history database keeps, the secret values it must not): each secret replaced
    by a marker that says whether it was the template's own default, which a resumed run can
    take again from the template."""
    stored = dict(values)
    kept: dict[str, Any] = {}
    for parameter in manifest.parameters:
        if parameter.secret and parameter.name in values:
            default = parameter.default is not None and values[parameter.name] == parameter.default
            stored[parameter.name] = SECRET_DEFAULT if default else SECRET_NOT_STORED
            if not default:
                kept[parameter.name] = values[parameter.name]
    return stored, kept


def _with_secrets(manifest: TemplateManifest, stored: Mapping[str, Any],
                  kept: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The values a run deploys: the stored ones with each secret put back, and the names of
    secrets this process does not hold (the run cannot deploy without them)."""
    values = dict(stored)
    missing: list[str] = []
    for parameter in manifest.parameters:
        if not parameter.secret or parameter.name not in values:
            continue
        if values[parameter.name] == SECRET_DEFAULT:
            values[parameter.name] = parameter.default
        elif parameter.name in kept:
            values[parameter.name] = kept[parameter.name]
        else:
            missing.append(parameter.name)
    return values, missing


def _check_secrets_can_be_handed_over(ctx: PortalContext, manifest: TemplateManifest,
                                      values: Mapping[str, Any]) -> None:
    """Celery workers are other processes: a secret given at launch could only reach them
    through the broker or the database, where it must not go."""
    if ctx.settings.workers is not WorkerMode.CELERY:
        return
    kept = _stored_parameters(manifest, values)[1]
    if kept:
        raise ValidationError({name: _(
            "a secret value reaches the launch only in the memory of this process, and "
            "launches here run on worker processes (PORTAL_WORKERS=celery): leave it at the "
            "template's default, or launch with PORTAL_WORKERS=threads") for name in kept})


# -- recording ----------------------------------------------------------------------------------
def _record_events(ctx: PortalContext, run_id: int, events: list[ResourceEvent]) -> None:
    if not events:
        return
    # One multi-row INSERT: a stack of 45 resources brings about 90 events at once. Events
    # already stored are skipped: a run resumed by another worker reads the stack's events from
    # the start again.
    with ctx.sessions() as session, session.begin():
        maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(maker(RunEvent).on_conflict_do_nothing(
            index_elements=["run_id", "event_key"]), [
            {"run_id": run_id, "event_key": event.event_key, "occurred_at": event.occurred_at,
             "logical_id": event.logical_id, "resource_type": event.resource_type,
             "physical_id": event.physical_id, "status": event.status, "reason": event.reason}
            for event in events])


def _portal_event(logical_id: str, resource_type: str, status: str, reason: str | None = None,
                  physical_id: str | None = None) -> ResourceEvent:
    return ResourceEvent(event_key=f"portal-{uuid.uuid4().hex}", occurred_at=utcnow(),
                      logical_id=logical_id, resource_type=resource_type,
                      physical_id=physical_id, status=status, reason=reason)


def _sweep_logger(ctx: PortalContext, run_id: int):  # type: ignore[no-untyped-def]
    def log(resource: TaggedResource, status: str, reason: str | None) -> None:
        _record_events(ctx, run_id, [_portal_event("sweep", resource.kind, status, reason,
                                                   resource.resource_id)])
    return log


def _visible_env(session: Any, actor: Actor, env_id: str) -> Environment:
    env = session.get(Environment, env_id)
    if env is None or not actor.can_see(env.owner, env.course):
        raise EnvironmentNotFoundError(env_id)
    return env


# -- launch -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartedRun:
    env_id: str
    run_id: int


def lease_hours_for(ctx: PortalContext, requested: Any) -> int:
    """The lease a launch asks for, checked against the portal's bounds; None takes the default.
    A course's own longest lease is checked with the course's other limits."""
    limit = ctx.settings.max_lease_hours
    if requested is None or requested == "":
        return min(ctx.settings.default_lease_hours, limit)
    try:
        hours = int(str(requested).strip())
    except ValueError:
        raise ValidationError({"lease_hours": _("a whole number of hours, got {value!r}").format(
            value=requested)}) from None
    if not 1 <= hours <= limit:
        raise ValidationError({"lease_hours": _("between 1 and {limit} hours, got {hours}").format(
            limit=limit, hours=hours)})
    return hours


def course_for(ctx: PortalContext, requested: str | None) -> str:
    """The course a launch is recorded under: the one asked for, or the portal's default."""
    course = (requested or ctx.settings.default_course).strip()
    if not NAME_PATTERN.match(course):
        raise ValidationError({"course": _("use 1-64 letters, digits, dots, dashes or "
                                           "underscores, starting with a letter or digit")})
    return course


def _refused(ctx: PortalContext, *, performed_by: str, action: Action, exc: PortalError,
             course: str | None, target: str | None, detail: str | None = None) -> None:
    """A refusal is audited and nothing else is recorded."""
    audit.record_now(ctx, actor=performed_by, action=action, outcome=Outcome.REFUSED,
                     course_id=course, target=target,
                     detail=f"{detail + ': ' if detail else ''}{exc}")


def _course_policy(ctx: PortalContext, course: str) -> CoursePolicy:
    with ctx.sessions() as session:
        policy = policy_in(session, ctx, course)
    if policy is None:
        raise limits.LimitExceededError("course", _("there is no course {course}").format(
            course=course), course=course)
    return policy


def start_launch(ctx: PortalContext, *, actor: Actor, template_id: str,
                 parameters: Mapping[str, Any], lease_hours: Any = None,
                 course: str | None = None, performed_by: str | None = None,
                 engine: str | None = None, now: datetime | None = None) -> StartedRun:
    """Validate, render, check and record a launch; nothing is created in the cloud yet.

    `actor` owns the environment; `performed_by` (default: the actor) is who asked, as the audit
    log names them (the CLI's operator launching for a student). The advisor's errors (SSH open
    to the world, say) and the course's limits refuse the launch here, whoever asks for it: the
    Launch page, the CLI, a script or a worker. A refusal records nothing but its audit entry.
    So does a target or an engine that cannot deploy now (no credentials, nothing listening, a
    Terraform provider not installed): refused with how to fix it, before anything is recorded.
    `engine` defaults to the template's first.
    """
    performed_by = performed_by or actor.name
    course_name = course_for(ctx, course)
    try:
        return _start_launch(ctx, actor=actor, template_id=template_id, parameters=parameters,
                             lease_hours=lease_hours, course_name=course_name,
                             performed_by=performed_by, engine=engine, now=now or utcnow())
    except (limits.LimitExceededError, LaunchBlockedError, ValidationError,
            EngineUnavailableError, TargetUnavailableError) as exc:
        _refused(ctx, performed_by=performed_by, action=Action.LAUNCH, exc=exc,
                 course=course_name, target=template_id,
                 detail=None if performed_by == actor.name else f"for {actor.name}")
        raise


def engine_for(manifest: TemplateManifest, requested: str | None) -> EngineName:
    """The engine a launch of `manifest` uses: the one asked for, or the template's first."""
    if requested is None or requested == "":
        return manifest.engines[0]
    try:
        name = engine_name(requested)
    except ValueError as exc:
        raise ValidationError({"engine": str(exc)}) from None
    if name not in manifest.engines:
        offered = ", ".join(e.value for e in manifest.engines)
        raise ValidationError({"engine": _("{template} is deployed with {offered}, not "
                                           "{engine}").format(
            template=manifest.id, offered=offered, engine=name.value)})
    return name


def require_usable_target(ctx: PortalContext) -> None:
    """Refuse (TargetUnavailableError, with how to fix it) when the configured cloud cannot be
    reached or does not say who the portal is there: no credentials, nothing listening.

    The embedded cloud is the portal's own: started on first use, and an emulator that does not
    answer for a moment (stopped, overloaded) is waited for patiently by the launch itself
    (`PortalContext.ensure_current_connection`) rather than refused by a quick probe."""
    if ctx.settings.cloud is CloudTarget.EMBEDDED:
        return
    from services.clouds import status

    status.require_usable(ctx.settings, ctx.connection if ctx.has_connection else None)


def target_state(ctx: PortalContext) -> TargetStatus:
    """The configured cloud as the Launch page shows it: usable or not, who the portal is there,
    and if not why and how to fix it (asked at most every few seconds)."""
    from services.clouds import status

    return status.cached_status(ctx.settings, ctx.connection if ctx.has_connection else None)


def engine_availability(ctx: PortalContext, manifest: TemplateManifest,
                        name: EngineName) -> Availability:
    """Whether `name` can deploy `manifest` on the configured target now, and if not why."""
    return ctx.engine(name).availability(manifest)


@dataclass(frozen=True)
class EngineReport:
    """One engine here: whether it runs at all, and for each template it deploys, whether it can
    deploy that one (a Terraform provider the template needs may be missing)."""

    engine: EngineName
    availability: Availability
    templates: dict[str, Availability]

    def to_json(self) -> dict[str, Any]:
        return {"engine": self.engine.value, "label": self.engine.label,
                **self.availability.to_json(),
                "templates": {t: a.to_json() for t, a in self.templates.items()}}


def engines_report(ctx: PortalContext) -> list[EngineReport]:
    reports = []
    for name in EngineName:
        engine = ctx.engine(name)
        reports.append(EngineReport(
            engine=name, availability=engine.availability(None),
            templates={t.id: engine.availability(t) for t in ctx.catalog.all_templates()
                       if name in t.engines}))
    return reports


def plan(ctx: PortalContext, *, template_id: str, parameters: Mapping[str, Any],
         engine: str | None = None) -> list[PlannedResource]:
    """What a launch would create, as the engine plans it; nothing is recorded or created."""
    manifest = ctx.catalog.get_template(template_id)
    values = validate_parameters(manifest, parameters)
    name = engine_for(manifest, engine)
    return ctx.engine(name).plan(_request(manifest, values, env_id="plan", owner="plan",
                                          region=ctx.settings.region))


def _request(manifest: TemplateManifest, values: Mapping[str, Any], *, env_id: str,
             owner: str, region: str, deployment_name: str | None = None) -> DeploymentRequest:
    return DeploymentRequest(
        env_id=env_id, deployment_name=deployment_name or f"sbx-{env_id}", manifest=manifest,
        values=values, tags=portal_tags(env_id=env_id, owner=owner, template_id=manifest.id),
        region=region)


def _start_launch(ctx: PortalContext, *, actor: Actor, template_id: str,
                  parameters: Mapping[str, Any], lease_hours: Any, course_name: str,
                  performed_by: str, engine: str | None, now: datetime) -> StartedRun:
    manifest = ctx.catalog.get_template(template_id)
    _check_offered(manifest, actor=actor, course=course_name)
    values = validate_parameters(manifest, parameters)
    _check_secrets_can_be_handed_over(ctx, manifest, values)
    chosen_engine = engine_for(manifest, engine)
    policy = _course_policy(ctx, course_name)
    lease = lease_hours_for(ctx, lease_hours)
    with ctx.sessions() as session:
        limits.check_access(session, policy=policy, actor=actor, manifest=manifest,
                            values=values, lease_hours=lease, now=now)
    # Rendered as the Launch page's preview renders it, so the page's report is reused.
    rendered = render_template(ctx, template_id=template_id, parameters=values,
                               owner=actor.name, version=manifest.version)
    advice = advise(rendered, manifest=manifest, values=masked(manifest, values),
                    region=ctx.settings.region)
    if advice.blocks_launch:
        raise LaunchBlockedError(advice.errors)
    require_usable_target(ctx)
    available = engine_availability(ctx, manifest, chosen_engine)
    if not available.available:
        raise EngineUnavailableError(chosen_engine.value, available.reason or _("unavailable"))
    # Priced now, at the prices of the day it starts: cost so far is metered from this at once,
    # not from a bill that arrives a day later. Unpriced (a template the price table does not
    # know) counts as free: the budget can only hold what the portal can price.
    hourly_cost = _imported_price(manifest, rendered, region=ctx.settings.region) \
        if manifest.imported else \
        cost_meter.hourly_cost_usd(ctx, template_id=template_id, parameters=values,
                                   region=ctx.settings.region)
    stored, kept = _stored_parameters(manifest, values)
    env_id = secrets.token_hex(5)
    cloud_session = None
    if ctx.settings.cloud is CloudTarget.EMBEDDED:
        ctx.ensure_current_connection()
        cloud_session = ctx.connection.cloud_session
    spent = 0.0 if actor.is_instructor else limits.spent_so_far(
        ctx, course=course_name, owner=actor.name, now=now)
    with ctx.sessions() as session, session.begin():
        limits.lock_owner(session, course=course_name, owner=actor.name)
        # The time after the lock: a launch that waited for another one records a later start.
        now = max(now, utcnow())
        if not actor.is_instructor:
            limits.check_quota(session, policy=policy, owner=actor.name,
                               launch_cost_usd=(hourly_cost or 0.0) * lease,
                               lease_hours=lease, now=now, spent_usd=spent)
        env = Environment(
            id=env_id, template_id=template_id, template_version=manifest.version,
            owner=actor.name, course=course_name,
            status=EnvironmentStatus.LAUNCHING.value, parameters=stored, outputs={},
            cloud=ctx.settings.cloud.value, cloud_session=cloud_session,
            region=ctx.settings.region, engine=chosen_engine.value,
            # Starts with a letter and stays short: RDS derives identifiers from the stack name.
            deployment_name=f"sbx-{env_id}", created_at=now, updated_at=now,
            lease_hours=lease, expires_at=now + timedelta(hours=lease),
            hourly_cost_usd=hourly_cost,
        )
        run = Run(environment=env, kind=RunKind.LAUNCH.value, status=RunStatus.RUNNING.value,
                  started_at=now, reason=f"requested by {performed_by}",
                  deadline_at=now + timedelta(seconds=ctx.settings.operation_timeout_s))
        session.add_all([env, run])
        audit.record(session, actor=performed_by, action=Action.LAUNCH, course_id=course_name,
                     target=env_id, at=now,
                     detail=f"{template_id} with {chosen_engine.label} for {lease} h"
                            + (f" for {actor.name}" if performed_by != actor.name else "")
                            + (f" at ${hourly_cost:.4f}/h" if hourly_cost is not None else ""))
        session.flush()
        started = StartedRun(env_id=env_id, run_id=run.id)
    if kept:
        _pending_secrets.put(started.run_id, kept,
                             keep_s=ctx.settings.operation_timeout_s * 2)
    return started


def _check_offered(manifest: TemplateManifest, *, actor: Actor, course: str) -> None:
    """An imported template is launched only while it is not retired, and by students only in
    the courses it is assigned to (instructors may try it in any course they launch in)."""
    if manifest.retired:
        raise limits.LimitExceededError("templates", _("{template} is retired: it takes no new "
                                                       "launches").format(template=manifest.id),
                                        course=course)
    if not actor.is_instructor and not manifest.offered_in(course):
        raise limits.LimitExceededError(
            "templates", _("course {course} does not offer {template}").format(
                course=course, template=manifest.id), course=course)


def _imported_price(manifest: TemplateManifest, rendered: RenderedTemplate, *,
                    region: str) -> float | None:
    """An imported template's price per hour, from its rendered code: CloudFormation's, or
    what its Terraform module declares (services/template_import/terraform_resources.py).
    None when nothing of it is priced: the budget can only hold what the portal can price."""
    from services import cost_service
    from services.template_import.terraform_resources import resolved_for_pricing

    try:
        estimate = cost_service.estimate(resolved_for_pricing(rendered, manifest, region=region),
                                         hours=1, template_id=manifest.id)
    except PortalError:
        return None
    return float(estimate.total_hourly_usd) if estimate.priced_lines else None


def _remaining(deadline_at: datetime) -> float:
    return time.monotonic() + max(0.0, (deadline_at - utcnow()).total_seconds())


def _stale(ctx: PortalContext) -> timedelta:
    return timedelta(seconds=ctx.settings.heartbeat_stale_s)


def _claim(ctx: PortalContext, run_id: int) -> str | None:
    """Claim a recorded run for this process; None when it has ended or a live worker has it."""
    me = run_state.worker_id()
    with ctx.sessions() as session, session.begin():
        return me if run_state.claim_run(session, run_id, worker=me, stale=_stale(ctx)) else None


def run_is_open(ctx: PortalContext, run_id: int) -> bool:
    """Whether a run is still running (a worker handed it while another holds it retries)."""
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        return run is not None and run.status == RunStatus.RUNNING.value


def run_launch(ctx: PortalContext, *, run_id: int) -> None:
    """Create the stack of a recorded launch and wait for it; never leaves the run running.

    Safe to call again for the same run (a redelivered task): a run that ended, or that a live
    worker holds, is left alone; a run whose worker died is resumed, and a stack that worker
    already created is waited for rather than created twice.
    """
    me = _claim(ctx, run_id)
    if me is None:
        return
    with run_state.heartbeats.held(ctx.sessions, run_id, stale=_stale(ctx)):
        _launch_claimed(ctx, run_id=run_id, me=me)


def _ref(env: Environment) -> DeploymentRef:
    return DeploymentRef(env_id=env.id, deployment_name=env.deployment_name,
                         deployment_id=env.deployment_id)


def _launch_claimed(ctx: PortalContext, *, run_id: int, me: str) -> None:
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        env = run.environment
        env_id, template_id, engine_used = env.id, env.template_id, env.engine
        template_version = env.template_version
        owner, stored, deadline_at = env.owner, dict(env.parameters), run.deadline_at
        deployment_name, region = env.deployment_name, env.region
    record = lambda events: _record_events(ctx, run_id, events)  # noqa: E731
    manifest: TemplateManifest | None = None
    engine: Engine | None = None
    kept = _pending_secrets.take(run_id)
    try:
        manifest = ctx.catalog.get_template(template_id, template_version)
        values, missing = _with_secrets(manifest, stored, kept)
        if missing:
            result = OperationResult(succeeded=False, error=(
                f"the value of secret parameter {', '.join(missing)} was kept only in the "
                "memory of the process that recorded this launch, and this run is not in it "
                "(a resumed run, or another worker): launch again"))
        else:
            engine = ctx.engine(engine_used)
            result = engine.apply(_request(manifest, values, env_id=env_id, owner=owner,
                                           region=region, deployment_name=deployment_name),
                                  deadline=_remaining(deadline_at), on_events=record)
    except Exception as exc:  # noqa: BLE001 - any crash must still end the run and clean up
        result = OperationResult(succeeded=False, error=f"portal error: {type(exc).__name__}: {exc}")

    if result.succeeded and manifest is not None:
        note = _records_only_note(ctx, engine, DeploymentRef(
            env_id=env_id, deployment_name=deployment_name, deployment_id=result.deployment_id))
        with ctx.sessions() as session, session.begin():
            if run_state.finish_run(session, run_id, RunStatus.SUCCEEDED, worker=me):
                run_state.move_environment(
                    session, env_id, EnvironmentStatus.READY,
                    expected={EnvironmentStatus.LAUNCHING}, status_reason=note,
                    outputs=result.outputs, deployment_id=result.deployment_id)
        return

    # A failed launch removes what it made, with a fresh budget: a launch that timed out has
    # none. The run's deadline moves with it, so nobody takes the clean-up for a stuck launch.
    with ctx.sessions() as session, session.begin():
        if not run_state.extend_deadline(session, run_id, seconds=ctx.settings.operation_timeout_s):
            return  # ended meanwhile by someone else: the clean-up is theirs
    reason = result.error or "launch failed"
    ref = DeploymentRef(env_id=env_id, deployment_name=deployment_name,
                        deployment_id=result.deployment_id)
    try:
        if engine is None:
            engine = ctx.engine(engine_used)
        leftovers = _remove_everything(ctx, engine, run_id=run_id, ref=ref)
    except Exception as exc:  # noqa: BLE001 - the run must still end, with the clean-up's failure
        leftovers = []
        reason += f"; clean-up failed ({type(exc).__name__}: {exc}): destroy it to retry"
    with ctx.sessions() as session, session.begin():
        if run_state.finish_run(session, run_id, RunStatus.FAILED, worker=me, error=reason,
                                leftovers=[str(r) for r in leftovers]):
            run_state.move_environment(
                session, env_id, EnvironmentStatus.FAILED,
                expected={EnvironmentStatus.LAUNCHING}, deployment_id=result.deployment_id,
                status_reason=reason + (f"; clean-up left {len(leftovers)} resources: destroy "
                                        "it to retry" if leftovers else ""))


def _records_only_note(ctx: PortalContext, engine: Engine | None,
                       ref: DeploymentRef) -> str | None:
    """What a ready environment's student should know: the resources its target only recorded
    (LocalStack marks RDS, load balancers, Auto Scaling ... complete without creating them)."""
    if engine is None or ctx.settings.cloud is not CloudTarget.LOCALSTACK:
        return None
    from services.clouds import records_only

    try:
        unbacked = records_only(ctx.connection, engine.resources(ref))
    except AWS_ERRORS:
        return None
    if not unbacked:
        return None
    names = ", ".join(f"{r.logical_id} ({r.resource_type})" for r in unbacked)
    return (f"{ctx.settings.cloud.value} reported {len(unbacked)} resources complete without "
            f"creating them; they are only records there: {names}")


def _remove_everything(ctx: PortalContext, engine: Engine, *, run_id: int,
                       ref: DeploymentRef) -> list[TaggedResource]:
    deadline = time.monotonic() + ctx.settings.operation_timeout_s
    return _destroy_and_sweep(ctx, engine, run_id=run_id, ref=ref, deadline=deadline)


def _destroy_and_sweep(ctx: PortalContext, engine: Engine, *, run_id: int, ref: DeploymentRef,
                       deadline: float) -> list[TaggedResource]:
    """Destroy the deployment, then sweep by tag what it left; what remains is returned."""
    record = lambda events: _record_events(ctx, run_id, events)  # noqa: E731
    # Read before the destroy: the deployment's resource list goes with it.
    owned = ownership.created_resources(ctx, ref.env_id, engine=engine)
    # A bucket that holds objects cannot be deleted (CloudFormation refuses): empty them first.
    try:
        made = engine.resources(ref)
    except AWS_ERRORS:
        # The embedded cloud cannot list a stack whose create failed half-way; such a stack made
        # no bucket worth emptying, and the sweep still finds by tag whatever it left.
        made = []
    ctx.sweeper.empty_buckets([r.physical_id for r in made
                               if cloudformation_type(r.resource_type) == "AWS::S3::Bucket"
                               and r.physical_id])
    deletion = engine.destroy(ref, deadline=deadline, on_events=record)
    if not deletion.succeeded:
        # Not final: the sweep below removes by tag what the engine could not.
        record([_portal_event(ref.deployment_name, engine.deployment_type, "DELETE_FAILED",
                              deletion.error)])
    return ctx.sweeper.sweep(ref.env_id, owned=owned, deadline=deadline,
                             log=_sweep_logger(ctx, run_id))


def launch(ctx: PortalContext, *, actor: Actor, template_id: str,
           parameters: Mapping[str, Any], lease_hours: Any = None,
           course: str | None = None, performed_by: str | None = None,
           engine: str | None = None) -> EnvironmentView:
    """Launch and wait until the environment is ready or has failed."""
    started = start_launch(ctx, actor=actor, template_id=template_id, parameters=parameters,
                           lease_hours=lease_hours, course=course, performed_by=performed_by,
                           engine=engine)
    run_launch(ctx, run_id=started.run_id)
    return get_environment(ctx, actor=actor, env_id=started.env_id)


# -- destroy ------------------------------------------------------------------------------------
class AlreadyDestroyingError(InvalidStateError):
    """Another request started this environment's destroy first; it goes on."""

    def __init__(self, env_id: str) -> None:
        self.env_id = env_id
        super().__init__(_("environment: {env_id} is already being destroyed").format(
            env_id=env_id))


def start_destroy(ctx: PortalContext, *, actor: Actor, env_id: str,
                  reason: str | None = None, performed_by: str | None = None,
                  action: Action = Action.DESTROY) -> StartedRun:
    """Record a destroy. The status moves to `destroying` by one conditional update, so of any
    number of simultaneous requests (the page, the CLI, a lease end, a budget stop) exactly one
    records a run; the others are told it is already being destroyed."""
    ctx.ensure_current_connection()
    now = utcnow()
    performed_by = performed_by or actor.name
    with ctx.sessions() as session, session.begin():
        env = _visible_env(session, actor, env_id)
        if not (env.owner == actor.name or actor.teaches(env.course)):
            raise PermissionDeniedError(_("environment: {env_id} belongs to {owner}").format(
                env_id=env_id, owner=env.owner))
        status = env.status
        if status == EnvironmentStatus.DESTROYING.value:
            raise AlreadyDestroyingError(env_id)
        if EnvironmentStatus(status) not in DESTROYABLE:
            raise InvalidStateError(
                _("environment: {env_id} is {status}; only ready, failed or lost "
                  "environments can be destroyed").format(env_id=env_id, status=status))
        moved = session.execute(
            update(Environment)
            .where(Environment.id == env_id,
                   Environment.status.in_([s.value for s in DESTROYABLE]))
            .values(status=EnvironmentStatus.DESTROYING.value, status_reason=None,
                    updated_at=now)
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise AlreadyDestroyingError(env_id)
        why = reason or f"requested by {performed_by}"
        run = Run(env_id=env_id, kind=RunKind.DESTROY.value, status=RunStatus.RUNNING.value,
                  started_at=now, reason=why,
                  deadline_at=now + timedelta(seconds=ctx.settings.operation_timeout_s))
        session.add(run)
        audit.record(session, actor=performed_by, action=action, course_id=env.course,
                     target=env_id, at=now, detail=why)
        session.flush()
        return StartedRun(env_id=env_id, run_id=run.id)


def run_destroy(ctx: PortalContext, *, run_id: int) -> None:
    """Delete the stack of a recorded destroy and sweep what is left; never leaves the run
    running. Safe to call again for the same run: deleting and sweeping again remove nothing
    twice, and a run that ended or that a live worker holds is left alone."""
    me = _claim(ctx, run_id)
    if me is None:
        return
    with run_state.heartbeats.held(ctx.sessions, run_id, stale=_stale(ctx)):
        _destroy_claimed(ctx, run_id=run_id, me=me)


def _destroy_claimed(ctx: PortalContext, *, run_id: int, me: str) -> None:
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        env_id = run.environment.id
        ref, engine_used = _ref(run.environment), run.environment.engine
        deadline = _remaining(run.deadline_at)
    error: str | None = None
    leftovers: list[TaggedResource] = []
    try:
        leftovers = _destroy_and_sweep(ctx, ctx.engine(engine_used), run_id=run_id, ref=ref,
                                       deadline=deadline)
        if leftovers:
            error = f"{len(leftovers)} resources remain after destroy: " + ", ".join(
                str(r) for r in leftovers)
    except Exception as exc:  # noqa: BLE001 - any crash must still end the run
        error = f"portal error: {type(exc).__name__}: {exc}"
    with ctx.sessions() as session, session.begin():
        left = [str(r) for r in leftovers]
        if error is None:
            if run_state.finish_run(session, run_id, RunStatus.SUCCEEDED, worker=me,
                                    leftovers=left):
                run_state.move_environment(session, env_id, EnvironmentStatus.DESTROYED,
                                           expected={EnvironmentStatus.DESTROYING},
                                           status_reason=None)
        elif run_state.finish_run(session, run_id, RunStatus.FAILED, worker=me, leftovers=left,
                                  error=error):
            run_state.move_environment(
                session, env_id, EnvironmentStatus.FAILED,
                expected={EnvironmentStatus.DESTROYING},
                status_reason=f"destroy failed: {error}; destroy again to retry")


def destroy(ctx: PortalContext, *, actor: Actor, env_id: str,
            performed_by: str | None = None) -> EnvironmentView:
    started = start_destroy(ctx, actor=actor, env_id=env_id, performed_by=performed_by)
    run_destroy(ctx, run_id=started.run_id)
    return get_environment(ctx, actor=actor, env_id=env_id)


# -- leases -------------------------------------------------------------------------------------
# A lease can be extended while the environment is running or still launching.
EXTENDABLE = (EnvironmentStatus.LAUNCHING.value, EnvironmentStatus.READY.value)
# The banner on a student's pages shows this long before a lease ends.
LEASE_WARNING = timedelta(minutes=30)


def extend_lease(ctx: PortalContext, *, actor: Actor, env_id: str, hours: Any,
                 performed_by: str | None = None, now: datetime | None = None
                 ) -> EnvironmentView:
    """Move a lease's end `hours` later. Its owner may, up to the course's longest lease and
    within the budget (the extra hours are priced as at launch); an instructor of the course may
    extend any lease. The end moves by one conditional update, so two extensions never both
    apply to the same old end."""
    performed_by = performed_by or actor.name
    now = now or utcnow()
    try:
        extra = int(str(hours).strip())
    except ValueError:
        raise ValidationError({"hours": _("a whole number of hours, got {value!r}").format(
            value=hours)}) from None
    with ctx.sessions() as session:
        env = _visible_env(session, actor, env_id)
        owner, course, old_end = env.owner, env.course, env.expires_at
        created_at, status, price = env.created_at, env.status, env.hourly_cost_usd
    teacher = actor.teaches(course)
    try:
        if not (owner == actor.name or teacher):
            raise PermissionDeniedError(_("environment: {env_id} belongs to {owner}").format(
                env_id=env_id, owner=owner))
        if not 1 <= extra <= ctx.settings.max_lease_hours:
            raise ValidationError({"hours": _("between 1 and {limit}").format(
                limit=ctx.settings.max_lease_hours)})
        if status not in EXTENDABLE or old_end is None:
            raise InvalidStateError(_("environment: {env_id} is {status}; only a launching or "
                                      "ready environment's lease can be extended").format(
                env_id=env_id, status=status))
        new_end = max(old_end, now) + timedelta(hours=extra)
        policy = _course_policy(ctx, course)
        spent = 0.0 if teacher else limits.spent_so_far(ctx, course=course, owner=owner, now=now)
        with ctx.sessions() as session, session.begin():
            limits.lock_owner(session, course=course, owner=owner)
            if not teacher:
                limits.lease_end_allowed(policy, created_at=created_at, new_expires_at=new_end)
                extra_cost = (price or 0.0) * (new_end - max(old_end, now)).total_seconds() / 3600
                limits.check_quota(session, policy=policy, owner=owner,
                                   launch_cost_usd=extra_cost, lease_hours=extra, now=now,
                                   spent_usd=spent, count_running=False)
            moved = session.execute(
                update(Environment)
                .where(Environment.id == env_id, Environment.expires_at == old_end,
                       Environment.status.in_(EXTENDABLE))
                .values(expires_at=new_end,
                        lease_hours=max(1, round((new_end - created_at).total_seconds() / 3600)))
                .execution_options(synchronize_session=False)).rowcount
            if moved != 1:
                raise InvalidStateError(_("environment: {env_id}'s lease changed a moment ago; "
                                          "look again and retry").format(env_id=env_id))
            audit.record(session, actor=performed_by, action=Action.LEASE_EXTEND,
                         course_id=course, target=env_id,
                         detail=f"+{extra} h, now ends {new_end.isoformat(timespec='minutes')}")
    except (limits.LimitExceededError, PermissionDeniedError, ValidationError,
            InvalidStateError) as exc:
        _refused(ctx, performed_by=performed_by, action=Action.LEASE_EXTEND, exc=exc,
                 course=course, target=env_id)
        raise
    return get_environment(ctx, actor=actor, env_id=env_id)


def end_lease(ctx: PortalContext, *, actor: Actor, env_id: str,
              performed_by: str | None = None) -> StartedRun:
    """An instructor of the course ends a lease now: the environment is destroyed."""
    performed_by = performed_by or actor.name
    with ctx.sessions() as session:
        env = _visible_env(session, actor, env_id)
        course = env.course
    if not actor.teaches(course):
        exc = PermissionDeniedError(_("lease: only an instructor of the course may end a lease"))
        _refused(ctx, performed_by=performed_by, action=Action.LEASE_END, exc=exc,
                 course=course, target=env_id)
        raise exc
    return start_destroy(ctx, actor=actor, env_id=env_id, performed_by=performed_by,
                         reason=f"lease ended early by {performed_by}", action=Action.LEASE_END)


def lease_ends_soon(view: EnvironmentView, *, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (view.status in EXTENDABLE and view.expires_at is not None
            and now <= view.expires_at <= now + LEASE_WARNING)


# -- reading ------------------------------------------------------------------------------------
def list_environments(ctx: PortalContext, *, actor: Actor,
                      include_destroyed: bool = True) -> list[EnvironmentView]:
    with ctx.sessions() as session:
        query = (select(Environment).options(selectinload(Environment.runs))
                 .order_by(Environment.created_at.desc()))
        query = query.where(visible_clause(actor))
        if not include_destroyed:
            query = query.where(Environment.status != EnvironmentStatus.DESTROYED.value)
        return [_view(ctx, env) for env in session.scalars(query)]


def get_environment(ctx: PortalContext, *, actor: Actor, env_id: str,
                    with_resources: bool = False) -> EnvironmentView:
    with ctx.sessions() as session:
        env = _visible_env(session, actor, env_id)
        view, ref = _view(ctx, env), _ref(env)
    if with_resources:
        resources: list[dict[str, str]] = []
        if view.status in (EnvironmentStatus.READY.value, EnvironmentStatus.LAUNCHING.value):
            try:
                resources = [r.to_json() for r in ctx.engine(view.engine).resources(ref)]
            except AWS_ERRORS as exc:
                raise cloud_error(f"listing the resources of {ref.handle}", exc) from exc
        view = EnvironmentView(**{**view.__dict__, "resources": resources})
    return view


def run_events(ctx: PortalContext, *, actor: Actor, run_id: int) -> list[EventView]:
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        if run is None or not actor.can_see(run.environment.owner, run.environment.course):
            raise EnvironmentNotFoundError(_("run {run_id}").format(run_id=run_id))
        rows = session.scalars(select(RunEvent).where(RunEvent.run_id == run_id)
                               .order_by(RunEvent.occurred_at, RunEvent.id))
        return [EventView(e.occurred_at, e.logical_id, e.resource_type, e.physical_id, e.status,
                          e.reason) for e in rows]
