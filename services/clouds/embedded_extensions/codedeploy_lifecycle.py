"""CodeDeploy deployments that run: Created, then InProgress, then Succeeded, Failed or Stopped.

Not an extension of its own: `codedeploy.install()` installs it beside the applications and
deployment groups that deployments go to.

moto's deployments stay "Created" for ever, without a start or a completion. Here a deployment
is created at the request's moment (`_clock.request_now()`, so a simulation can date it) and its
whole run is planned then: it starts a few seconds later and goes through CodeDeploy's EC2
lifecycle (ApplicationStop, DownloadBundle, BeforeInstall, Install, AfterInstall,
ApplicationStart, ValidateService, with BlockTraffic and AllowTraffic under traffic control) on
each instance the deployment group targets when it is created (its Auto Scaling groups' instances
in service and the running instances its EC2 tag filters or tag set match): one to three minutes
an instance. The deployment configuration decides how instances add up: OneAtATime (the default)
one after another, HalfAtATime in batches of half the instances (rounded down, at least one),
AllAtOnce all together. Every duration is drawn from a generator seeded by the deployment id.
A group without instances fails with NO_INSTANCES, as on AWS.

Every read (GetDeployment, BatchGetDeployments, ListDeployments' includeOnlyStatuses) evaluates
that plan at the reader's own moment: status Created, then InProgress with startTime, then
Succeeded or Failed with completeTime, errorInformation for a failure, and deploymentOverview
counting the instances Pending, InProgress, Succeeded, Failed and Skipped at that moment.
StopDeployment stops a deployment still running at the request's moment: Stopped from then on,
with completeTime and errorInformation MANUAL_STOP; a finished one answers
DeploymentAlreadyCompletedException.

Scripting a deployment. A CreateDeployment request may carry a header of `;`-separated fields,
each optional, values percent-encoded (`services.clouds.simulated_clock.DeploymentPlan` writes it):

    X-Sandbox-Deployment-Plan: duration=1234;outcome=Failed;error=SCRIPT_FAILED;message=...

- `duration`: seconds from startTime to completeTime; the instances' schedule is stretched or
  squeezed to fit.
- `outcome`: Succeeded or Failed. Failed fails one instance (drawn from the seed), skips the
  batches after it and ends when its own batch does.
- `error`, `message`: the failure's errorInformation (default HEALTH_CONSTRAINTS, in AWS's words).
- `start`: seconds from createTime to startTime.

A plan it cannot read is refused with InvalidInputException.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.models import CodeDeployBackend, DeploymentGroup, DeploymentInfo

from . import _clock


PLAN_HEADER = "X-Sandbox-Deployment-Plan"
DEFAULT_DEPLOYMENT_CONFIG = "CodeDeployDefault.OneAtATime"
LIST_PAGE_SIZE = 100
BATCH_LIMIT = 25  # BatchGetDeployments takes at most 25 ids

# Seconds each lifecycle event of an in-place EC2 deployment takes for a small web application
# (a bundle of a few MB from S3, scripts that restart a web server and probe it).
LIFECYCLE_EVENTS: tuple[tuple[str, float, float], ...] = (
    ("ApplicationStop", 1, 4),
    ("DownloadBundle", 2, 8),
    ("BeforeInstall", 5, 25),
    ("Install", 2, 6),
    ("AfterInstall", 10, 45),
    ("ApplicationStart", 3, 15),
    ("ValidateService", 5, 30),
)
TRAFFIC_EVENTS: tuple[tuple[str, float, float], ...] = (
    ("BlockTraffic", 5, 15),
    ("AllowTraffic", 10, 30),
)
# The agent polls for commands between lifecycle events.
AGENT_OVERHEAD_S = (10.0, 25.0)
START_DELAY_S = (2.0, 6.0)
BATCH_GAP_S = (1.0, 5.0)
COMPLETION_DELAY_S = (1.0, 4.0)

ERROR_MESSAGES = {
    "HEALTH_CONSTRAINTS": (
        "The overall deployment failed because too many individual instances failed "
        "deployment, too few healthy instances are available for deployment, or some instances "
        "in your deployment group are experiencing problems."),
    "NO_INSTANCES": (
        "The deployment failed because no instances were found for your deployment group. "
        "Check your deployment group settings to make sure the tags for your Amazon EC2 "
        "instances or Auto Scaling groups correctly identify the instances you want to deploy "
        "to, and then try again."),
    "MANUAL_STOP": "The deployment was stopped by the user.",
}


class DeploymentAlreadyCompletedException(CodeDeployException):
    code = 400

    def __init__(self, deployment_id: str) -> None:
        super().__init__("DeploymentAlreadyCompletedException",
                         f"The deployment {deployment_id} has already completed.")


class InvalidInputException(CodeDeployException):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidInputException", message)


class BatchLimitExceededException(CodeDeployException):
    code = 400

    def __init__(self) -> None:
        super().__init__("BatchLimitExceededException",
                         f"The maximum number of names or IDs allowed for this request "
                         f"({BATCH_LIMIT}) was exceeded.")


class InvalidNextTokenException(CodeDeployException):
    code = 400

    def __init__(self) -> None:
        super().__init__("InvalidNextTokenException", "The next token was specified in an "
                                                      "invalid format.")


@dataclass(frozen=True)
class ScriptedPlan:
    """The X-Sandbox-Deployment-Plan header of a CreateDeployment request."""

    duration: timedelta | None = None
    outcome: str | None = None
    error_code: str | None = None
    message: str | None = None
    start_delay: timedelta | None = None

    @classmethod
    def parse(cls, header: str) -> ScriptedPlan:
        fields: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in header.split(";"))):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in ("duration", "outcome", "error", "message", "start"):
                raise InvalidInputException(f"{PLAN_HEADER}: cannot read {part!r}")
            fields[key.strip()] = unquote(value.strip())
        outcome = fields.get("outcome")
        if outcome not in (None, "Succeeded", "Failed"):
            raise InvalidInputException(f"{PLAN_HEADER}: outcome must be Succeeded or Failed")
        return cls(duration=cls._seconds(fields, "duration"), outcome=outcome,
                   error_code=fields.get("error"), message=fields.get("message"),
                   start_delay=cls._seconds(fields, "start"))

    @staticmethod
    def _seconds(fields: dict[str, str], key: str) -> timedelta | None:
        if key not in fields:
            return None
        try:
            seconds = float(fields[key])
        except ValueError:
            raise InvalidInputException(f"{PLAN_HEADER}: {key} is not a number") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidInputException(f"{PLAN_HEADER}: {key} must be a number of seconds >= 0")
        return timedelta(seconds=seconds)


@dataclass(frozen=True)
class InstanceRun:
    instance_id: str
    start: datetime
    end: datetime
    failed: bool = False
    skipped: bool = False  # never started: a batch before it failed


@dataclass(frozen=True)
class DeploymentRun:
    """A deployment's whole run, planned when it is created; read at any moment with the
    methods below."""

    create_time: datetime
    start_time: datetime
    complete_time: datetime
    outcome: str  # Succeeded or Failed
    error_code: str | None
    error_message: str | None
    instances: tuple[InstanceRun, ...]
    stopped_at: datetime | None = None

    def status_at(self, now: datetime) -> str:
        if self.stopped_at is not None and now >= self.stopped_at:
            return "Stopped"
        if now < self.start_time:
            return "Created"
        if now < self.complete_time:
            return "InProgress"
        return self.outcome

    def end_time(self) -> datetime:
        return self.stopped_at if self.stopped_at is not None else self.complete_time

    def error_at(self, now: datetime) -> dict[str, str]:
        status = self.status_at(now)
        if status == "Stopped":
            return {"code": "MANUAL_STOP", "message": ERROR_MESSAGES["MANUAL_STOP"]}
        if status == "Failed" and self.error_code:
            return {"code": self.error_code, "message": self.error_message or ""}
        return {}

    def overview_at(self, now: datetime) -> dict[str, int]:
        counts = dict.fromkeys(("Pending", "InProgress", "Succeeded", "Failed", "Skipped",
                                "Ready"), 0)
        stopped = self.stopped_at is not None and now >= self.stopped_at
        finished = stopped or now >= self.complete_time
        moment = self.stopped_at if stopped else now
        for run in self.instances:
            if run.end <= moment and not run.skipped:
                counts["Failed" if run.failed else "Succeeded"] += 1
            elif finished:
                counts["Skipped"] += 1
            elif run.start <= moment and not run.skipped:
                counts["InProgress"] += 1
            else:
                counts["Pending"] += 1
        return counts


def _uniform(rng: random.Random, bounds: tuple[float, float]) -> timedelta:
    return timedelta(seconds=rng.uniform(*bounds))


def _instance_duration(rng: random.Random, *, traffic_control: bool) -> timedelta:
    events = LIFECYCLE_EVENTS + (TRAFFIC_EVENTS if traffic_control else ())
    seconds = sum(rng.uniform(low, high) for _, low, high in events)
    return timedelta(seconds=seconds) + _uniform(rng, AGENT_OVERHEAD_S)


def _batch_size(config_name: str, instances: int) -> int:
    if config_name.endswith("AllAtOnce"):
        return max(instances, 1)
    if config_name.endswith("HalfAtATime"):
        return max(instances // 2, 1)
    return 1  # OneAtATime, and the configurations the embedded cloud does not know


def plan_run(*, deployment_id: str, created: datetime, instance_ids: list[str],
             config_name: str, traffic_control: bool,
             scripted: ScriptedPlan | None = None) -> DeploymentRun:
    """The run of a deployment created at `created` on `instance_ids`."""
    scripted = scripted or ScriptedPlan()
    rng = random.Random(deployment_id)
    start = created + (scripted.start_delay if scripted.start_delay is not None
                       else _uniform(rng, START_DELAY_S))
    outcome = scripted.outcome or ("Succeeded" if instance_ids else "Failed")
    error_code = None
    if outcome == "Failed":
        error_code = scripted.error_code or (
            "HEALTH_CONSTRAINTS" if instance_ids else "NO_INSTANCES")
    error_message = scripted.message or ERROR_MESSAGES.get(
        error_code or "", f"The deployment failed ({error_code}).")

    size = _batch_size(config_name, len(instance_ids))
    batches = [instance_ids[i:i + size] for i in range(0, len(instance_ids), size)]
    failing = rng.randrange(len(instance_ids)) if outcome == "Failed" and instance_ids else None
    runs: list[InstanceRun] = []
    batch_start = start
    finished_at = start
    skipping = False
    index = 0
    for batch in batches:
        batch_end = batch_start
        for instance_id in batch:
            duration = _instance_duration(rng, traffic_control=traffic_control)
            runs.append(InstanceRun(instance_id, batch_start, batch_start + duration,
                                    failed=index == failing, skipped=skipping))
            if not skipping:
                batch_end = max(batch_end, batch_start + duration)
            index += 1
        if not skipping:
            finished_at = batch_end
        if failing is not None and failing < index:
            skipping = True  # the batches after a failed one never start
        batch_start = batch_end + _uniform(rng, BATCH_GAP_S)
    complete = finished_at + _uniform(rng, COMPLETION_DELAY_S)

    if scripted.duration is not None:
        natural = (complete - start).total_seconds() or 1.0
        factor = scripted.duration.total_seconds() / natural

        def fit(moment: datetime) -> datetime:
            return start + (moment - start) * factor

        runs = [replace(run, start=fit(run.start), end=fit(run.end)) for run in runs]
        complete = start + scripted.duration
    # Skipped instances keep their planned times only to be counted as Pending until the end.
    return DeploymentRun(create_time=created, start_time=start, complete_time=complete,
                         outcome=outcome, error_code=error_code,
                         error_message=error_message if error_code else None,
                         instances=tuple(runs))


def _tag_filter_matches(tags: dict[str, str], tag_filter: dict[str, Any]) -> bool:
    key, value = tag_filter.get("Key"), tag_filter.get("Value")
    kind = tag_filter.get("Type") or ("KEY_AND_VALUE" if key and value else
                                      "KEY_ONLY" if key else "VALUE_ONLY")
    if kind == "KEY_ONLY":
        return key in tags
    if kind == "VALUE_ONLY":
        return value in tags.values()
    return tags.get(key) == value


def target_instances(backend: CodeDeployBackend, group: DeploymentGroup) -> list[str]:
    """The instance ids a deployment to `group` reaches now: the in-service members of its Auto
    Scaling groups and the running EC2 instances its tag filters (any of them) or tag set (one
    filter of every list) match."""
    from moto.autoscaling.models import autoscaling_backends
    from moto.ec2.models import ec2_backends

    found: set[str] = set()
    autoscaling = autoscaling_backends[backend.account_id][backend.region_name]
    for entry in group.auto_scaling_groups:
        name = entry.get("name") if isinstance(entry, dict) else entry
        asg = autoscaling.autoscaling_groups.get(name)
        if asg is not None:
            found.update(state.instance.id for state in asg.active_instances())

    filters = list(group.ec2_tag_filters or [])
    tag_set = [list(tag_list) for tag_list in
               (group.ec2_tag_set or {}).get("ec2TagSetList", []) or []]
    if filters or tag_set:
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        for instance in ec2.all_instances():
            if instance.state not in ("pending", "running"):
                continue
            tags = dict(ec2.tags.get(instance.id, {}))
            if filters and any(_tag_filter_matches(tags, f) for f in filters):
                found.add(instance.id)
            elif tag_set and all(any(_tag_filter_matches(tags, f) for f in tag_list)
                                 for tag_list in tag_set if tag_list):
                found.add(instance.id)
    return sorted(found)


def _run_of(deployment: DeploymentInfo) -> DeploymentRun | None:
    return getattr(deployment, "sandbox_run", None)


def status_of(deployment: DeploymentInfo, now: datetime) -> str:
    run = _run_of(deployment)
    return run.status_at(now) if run is not None else deployment.status


def _aware(moment: Any) -> datetime | None:
    """moto parses request timestamps as naive UTC datetimes."""
    if moment is None:
        return None
    if isinstance(moment, (int, float)):
        return datetime.fromtimestamp(moment, UTC)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _deployments_run() -> None:
    from moto.codedeploy import responses
    from moto.codedeploy.exceptions import (
        ApplicationNameRequiredException,
        DeploymentGroupNameRequiredException,
        InvalidTimeRangeException,
    )
    from moto.codedeploy.responses import CodeDeployResponse
    from moto.core.responses import ActionResult

    create_deployment = CodeDeployBackend.create_deployment

    def create(self: CodeDeployBackend, *args: Any, **kwargs: Any) -> str:
        header = _clock.request_header(PLAN_HEADER)
        scripted = ScriptedPlan.parse(header) if header is not None else None
        now = _clock.request_now()
        deployment_id = create_deployment(self, *args, **kwargs)
        deployment = self.deployments[deployment_id]
        if not deployment.deployment_config_name:
            deployment.deployment_config_name = DEFAULT_DEPLOYMENT_CONFIG  # AWS's default
        group = deployment.deployment_group
        style = group.deployment_style or {}
        deployment.create_time = now
        deployment.sandbox_run = plan_run(  # type: ignore[attr-defined]
            deployment_id=deployment_id, created=now,
            instance_ids=target_instances(self, group),
            config_name=str(deployment.deployment_config_name),
            traffic_control=style.get("deploymentOption") == "WITH_TRAFFIC_CONTROL",
            scripted=scripted)
        return deployment_id

    original_info = responses._deployment_info

    def deployment_info(deployment: DeploymentInfo) -> dict[str, Any]:
        info = original_info(deployment)
        run = _run_of(deployment)
        if run is None:
            return info
        now = _clock.request_now()
        status = run.status_at(now)
        info.update(
            status=status, createTime=run.create_time,
            startTime=run.start_time if now >= run.start_time and not (
                run.stopped_at is not None and run.stopped_at < run.start_time) else None,
            completeTime=run.end_time() if status in ("Succeeded", "Failed", "Stopped")
            else None,
            errorInformation=run.error_at(now) or None,
            deploymentOverview=run.overview_at(now))
        return info

    def stop_deployment(self: CodeDeployBackend, deployment_id: str) -> None:
        deployment = self.get_deployment(deployment_id)
        now = _clock.request_now()
        run = _run_of(deployment)
        if run is None or run.status_at(now) not in ("Created", "InProgress"):
            raise DeploymentAlreadyCompletedException(deployment_id)
        deployment.sandbox_run = replace(run, stopped_at=now)  # type: ignore[attr-defined]

    def stop_deployment_action(self: CodeDeployResponse) -> ActionResult:
        self.codedeploy_backend.stop_deployment(self._get_param("deploymentId"))
        return ActionResult({"status": "Succeeded",
                             "statusMessage": "The deployment was stopped."})

    def list_deployments(self: CodeDeployBackend, application_name: str | None,
                         deployment_group_name: str | None, external_id: str | None,
                         include_only_statuses: list[str] | None,
                         create_time_range: dict[str, Any] | None) -> list[str]:
        if application_name and not deployment_group_name:
            raise DeploymentGroupNameRequiredException(
                "If applicationName is specified, then deploymentGroupName must be specified.")
        if deployment_group_name and not application_name:
            raise ApplicationNameRequiredException(
                "If deploymentGroupName is specified, applicationName must be specified.")
        if application_name:
            self.get_deployment_group(application_name, deployment_group_name)  # must exist
        start = _aware((create_time_range or {}).get("start"))
        end = _aware((create_time_range or {}).get("end"))
        if start is not None and end is not None and start > end:
            raise InvalidTimeRangeException()
        now = _clock.request_now()
        chosen = []
        for deployment in self.deployments.values():
            created = _aware(deployment.create_time)
            if application_name and (deployment.application_name != application_name or
                                     deployment.deployment_group_name != deployment_group_name):
                continue
            if include_only_statuses and status_of(deployment, now) not in include_only_statuses:
                continue
            if start is not None and created < start:
                continue
            if end is not None and created > end:
                continue
            chosen.append(deployment.deployment_id)
        return chosen

    def list_deployments_action(self: CodeDeployResponse) -> ActionResult:
        deployment_ids = self.codedeploy_backend.list_deployments(
            application_name=self._get_param("applicationName"),
            deployment_group_name=self._get_param("deploymentGroupName"),
            external_id=self._get_param("externalId"),
            include_only_statuses=self._get_param("includeOnlyStatuses"),
            create_time_range=self._get_param("createTimeRange", {}))
        token = self._get_param("nextToken")
        start = 0
        if token:
            if not token.isdigit() or int(token) > len(deployment_ids):
                raise InvalidNextTokenException()
            start = int(token)
        result: dict[str, Any] = {"deployments": deployment_ids[start:start + LIST_PAGE_SIZE]}
        if start + LIST_PAGE_SIZE < len(deployment_ids):
            result["nextToken"] = str(start + LIST_PAGE_SIZE)
        return ActionResult(result)

    batch_get_deployments = CodeDeployBackend.batch_get_deployments

    def batch_get(self: CodeDeployBackend, deployment_ids: list[str]) -> list[DeploymentInfo]:
        if len(deployment_ids or []) > BATCH_LIMIT:
            raise BatchLimitExceededException()
        return batch_get_deployments(self, deployment_ids or [])

    CodeDeployBackend.create_deployment = create  # type: ignore[method-assign]
    CodeDeployBackend.list_deployments = list_deployments  # type: ignore[method-assign]
    CodeDeployBackend.batch_get_deployments = batch_get  # type: ignore[method-assign]
    # New methods, found by moto's dispatch by name: StopDeployment -> stop_deployment.
    setattr(CodeDeployBackend, "stop_deployment", stop_deployment)
    setattr(CodeDeployResponse, "stop_deployment", stop_deployment_action)
    CodeDeployResponse.list_deployments = list_deployments_action  # type: ignore[method-assign]
    responses._deployment_info = deployment_info


def install() -> None:
    _clock.install()
    _deployments_run()
