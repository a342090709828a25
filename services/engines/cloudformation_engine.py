"""The CloudFormation engine: create and delete stacks through boto3, streaming stack events as
they happen.

The same code runs against every target. Emulator quirks it must survive are commented where they
bite; everything a deleted stack leaves behind is removed afterwards by `sweeper`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from services.clouds import CloudConnection
from services.clouds.aws_calls import (
    AWS_ERRORS,
    READ_ATTEMPTS,
    as_utc,
    aws_reason,
    is_missing_stack,
    paginate,
    retry_reads,
    server_fault,
)
from services.engines.base import (
    Availability,
    DeployedResource,
    DeploymentRef,
    DeploymentRequest,
    EngineName,
    EventSink,
    OperationResult,
    PlannedResource,
    ResourceEvent,
)
from services.i18n import _
from services.render_service import cloudformation_parameters
from services.settings import CloudTarget

if TYPE_CHECKING:
    from services.catalog_service import TemplateManifest
    from services.settings import Settings

STACK_TYPE = "AWS::CloudFormation::Stack"
CREATE_DONE = {"CREATE_COMPLETE"}
CREATE_FAILED = {
    "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED",
    "DELETE_IN_PROGRESS", "DELETE_COMPLETE", "DELETE_FAILED",
}
DELETE_DONE = {"DELETE_COMPLETE"}
DELETE_FAILED = {"DELETE_FAILED"}
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def _already_exists(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and \
        exc.response.get("Error", {}).get("Code") == "AlreadyExistsException"


class Poller:
    """Sleeps between polls: at once first, then growing to `ceiling` seconds.

    The embedded cloud finishes inside the create call, so the first poll usually sees the end;
    real AWS takes minutes, where a poll every few seconds is plenty.
    """

    def __init__(self, *, deadline: float, first: float = 0.0, ceiling: float = 5.0) -> None:
        self.deadline = deadline
        self.delay = first
        self.ceiling = ceiling

    def wait(self) -> bool:
        """False when the deadline has passed."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(self.delay, remaining))
        self.delay = min(max(self.delay * 2, 0.5), self.ceiling)
        return time.monotonic() < self.deadline


class CloudFormationEngine:
    name = EngineName.CLOUDFORMATION
    deployment_type = STACK_TYPE

    def __init__(self, connection: CloudConnection, settings: Settings | None = None) -> None:
        self.cloudformation = connection.client("cloudformation")
        self.target = connection.target
        # The stack's status is read beside its events, not after them: a poll costs one round
        # trip instead of two, which is most of a launch on the embedded cloud.
        self._reads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="stack-status")

    @staticmethod
    def _has_stack_event(events: list[ResourceEvent], status: str) -> bool:
        return any(e.resource_type == STACK_TYPE and e.status == status for e in events)

    # -- events ---------------------------------------------------------------------------------
    @retry_reads
    def _new_events(self, stack: str, seen: set[str]) -> list[ResourceEvent]:
        """Events not yet seen, oldest first. AWS lists newest first, so stop at the first seen."""
        fresh: list[ResourceEvent] = []
        paginator = self.cloudformation.get_paginator("describe_stack_events")
        done = False
        for page in paginator.paginate(StackName=stack):
            for raw in page.get("StackEvents", []):
                if raw["EventId"] in seen:
                    done = True
                    break
                fresh.append(ResourceEvent(
                    event_key=raw["EventId"][:128],
                    occurred_at=as_utc(raw["Timestamp"]),
                    logical_id=raw.get("LogicalResourceId", ""),
                    resource_type=raw.get("ResourceType", ""),
                    physical_id=raw.get("PhysicalResourceId") or None,
                    status=raw.get("ResourceStatus", ""),
                    reason=raw.get("ResourceStatusReason") or None,
                ))
            if done:
                break
        for event in fresh:
            seen.add(event.event_key)
        fresh.reverse()
        return fresh

    @retry_reads
    def _describe(self, stack: str) -> dict[str, Any] | None:
        try:
            stacks = self.cloudformation.describe_stacks(StackName=stack)["Stacks"]
        except ClientError as exc:
            if is_missing_stack(exc):
                return None
            raise
        return stacks[0] if stacks else None

    def _status(self, stack: str) -> tuple[str, str] | None:
        """(status, stack id) of `stack`, or None when it does not exist.

        describe_stacks can fail on an emulator where list_stacks still knows the stack (older
        embedded clouds answered HTTP 500 for a stack whose create failed half-way).
        """
        try:
            current = self._describe(stack)
            return (current["StackStatus"], current["StackId"]) if current else None
        except (BotoCoreError, ResponseParserError):
            pass
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status < 500:
                raise
        newest: tuple[str, str] | None = None
        for page in self.cloudformation.get_paginator("list_stacks").paginate():
            for summary in page.get("StackSummaries", []):
                if stack in (summary["StackName"], summary["StackId"]):
                    if summary["StackStatus"] != "DELETE_COMPLETE" or newest is None:
                        newest = (summary["StackStatus"], summary["StackId"])
        if newest is None or newest[0] == "DELETE_COMPLETE":
            return None
        return newest

    def _stream(self, stack: str, seen: set[str], on_events: EventSink) -> list[ResourceEvent]:
        try:
            events = self._new_events(stack, seen)
        except ClientError as exc:
            if is_missing_stack(exc):
                return []
            raise
        if events:
            on_events(events)
        return events

    @staticmethod
    def _failure_reason(events: list[ResourceEvent], fallback: str) -> str:
        failed = [e for e in events if e.status.endswith("_FAILED") and e.reason
                  and e.resource_type != STACK_TYPE]
        if failed:
            first = failed[0]
            return f"{first.logical_id} ({first.resource_type}): {first.reason}"
        stack_level = [e for e in events if e.resource_type == STACK_TYPE and e.reason]
        return stack_level[-1].reason if stack_level else fallback  # type: ignore[return-value]

    # -- create ---------------------------------------------------------------------------------
    def _create_once(self, **request: Any) -> str:
        """create_stack, repeated after a server fault only when the stack was not made.

        A 5xx leaves it unknown whether the stack exists. Asking first makes the repeat safe: when
        nothing was made, try again; when a stack was made, its state after a fault cannot be
        trusted, so the fault stands and the caller removes it. The embedded cloud answers such
        faults now and then under many concurrent creates.
        """
        for attempt in range(READ_ATTEMPTS):
            try:
                return self.cloudformation.create_stack(**request)["StackId"]
            except AWS_ERRORS as exc:
                if attempt == READ_ATTEMPTS - 1 or not server_fault(exc):
                    raise
                if self._status(request["StackName"]) is not None:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def create(self, *, stack_name: str, template_body: str, parameters: list[dict[str, str]],
               tags: dict[str, str], deadline: float, on_events: EventSink) -> OperationResult:
        seen: set[str] = set()
        all_events: list[ResourceEvent] = []
        minutes = max(1, int((deadline - time.monotonic()) // 60))
        try:
            stack_id = self._create_once(
                StackName=stack_name, TemplateBody=template_body, Parameters=parameters,
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                Capabilities=CAPABILITIES, OnFailure="DELETE", TimeoutInMinutes=minutes,
            )
        except AWS_ERRORS as exc:
            if _already_exists(exc):
                raise
            # A create refused outright (a template error, or an emulator that fails inside
            # create_stack): the events say how far it got; the caller removes what was made.
            try:
                all_events += self._stream(stack_name, seen, on_events)
            except AWS_ERRORS:
                pass
            return OperationResult(succeeded=False, error=aws_reason(exc))
        return self._await_create(stack_id, seen=seen, all_events=all_events, deadline=deadline,
                                  on_events=on_events)

    def wait_for_create(self, *, stack: str, deadline: float,
                        on_events: EventSink) -> OperationResult:
        """Wait for a stack an earlier attempt created (its worker died), as `create` would have:
        the stack is never created twice. Its events are streamed again from the start."""
        current = self._status(stack)
        if current is None:
            return OperationResult(succeeded=False, error=f"stack {stack} does not exist")
        return self._await_create(current[1], seen=set(), all_events=[], deadline=deadline,
                                  on_events=on_events)

    def _await_create(self, stack_id: str, *, seen: set[str], all_events: list[ResourceEvent],
                      deadline: float, on_events: EventSink) -> OperationResult:
        poller = Poller(deadline=deadline)
        try:
            while True:
                pending = self._reads.submit(self._describe, stack_id)
                all_events += self._stream(stack_id, seen, on_events)
                stack = pending.result()
                status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
                if (status in CREATE_DONE or status in CREATE_FAILED) and \
                        not self._has_stack_event(all_events, status):
                    # The events were read before the stack reached its end; read the rest.
                    all_events += self._stream(stack_id, seen, on_events)
                if status in CREATE_DONE:
                    outputs = {o["OutputKey"]: o.get("OutputValue", "")
                               for o in (stack or {}).get("Outputs", [])}
                    return OperationResult(succeeded=True, deployment_id=stack_id, outputs=outputs)
                if status in CREATE_FAILED:
                    reason = self._failure_reason(
                        all_events, (stack or {}).get("StackStatusReason") or status)
                    return OperationResult(succeeded=False, deployment_id=stack_id,
                                           error=f"{status}: {reason}")
                if not poller.wait():
                    return OperationResult(
                        succeeded=False, deployment_id=stack_id, timed_out=True,
                        error=f"timed out: stack still {status} at its deadline")
        except AWS_ERRORS as exc:
            return OperationResult(succeeded=False, deployment_id=stack_id, error=aws_reason(exc))

    # -- delete ---------------------------------------------------------------------------------
    def delete(self, *, stack: str, deadline: float, on_events: EventSink) -> OperationResult:
        """Delete `stack` (name or id) and wait; a stack that no longer exists counts as deleted."""
        seen: set[str] = set()
        all_events: list[ResourceEvent] = []
        try:
            existing = self._status(stack)
            if existing is None:
                return OperationResult(succeeded=True)
            stack_id = existing[1]
            # Events of the launch are already recorded; only the delete's are new.
            self._new_events(stack_id, seen)
            self.cloudformation.delete_stack(StackName=stack_id)
            poller = Poller(deadline=deadline)
            while True:
                all_events += self._stream(stack_id, seen, on_events)
                current = self._status(stack_id)
                # A stack that no longer answers is gone (AWS keeps a deleted stack for a while
                # under its id; some emulators forget it). The sweep after this finds by tag
                # whatever it left.
                status = current[0] if current else "DELETE_COMPLETE"
                if status in DELETE_DONE:
                    return OperationResult(succeeded=True, deployment_id=stack_id)
                if status in DELETE_FAILED:
                    reason = self._failure_reason(all_events, status)
                    return OperationResult(succeeded=False, deployment_id=stack_id,
                                           error=f"{status}: {reason}")
                if not poller.wait():
                    return OperationResult(succeeded=False, deployment_id=stack_id, timed_out=True,
                                           error=f"timed out: stack still {status} at its deadline")
        except AWS_ERRORS as exc:
            return OperationResult(succeeded=False, error=aws_reason(exc))

    @retry_reads
    def _stack_resources(self, stack: str) -> list[DeployedResource]:
        try:
            return [DeployedResource(logical_id=raw.get("LogicalResourceId", ""),
                                     resource_type=raw.get("ResourceType", ""),
                                     physical_id=raw.get("PhysicalResourceId") or None,
                                     status=raw.get("ResourceStatus", ""))
                    for raw in paginate(self.cloudformation, "list_stack_resources",
                                        "StackResourceSummaries", StackName=stack)]
        except ClientError as exc:
            if is_missing_stack(exc):
                return []
            raise

    def stack_resources(self, stack: str) -> list[dict[str, str]]:
        """A stack's resources as `sandbox status --json` shows them."""
        return [resource.to_json() for resource in self._stack_resources(stack)]

    def stack_status(self, stack: str) -> str | None:
        """The stack's status, or None when it does not exist any more."""
        current = self._status(stack)
        return current[0] if current else None

    # -- the engine protocol ----------------------------------------------------------------------
    def availability(self, manifest: TemplateManifest | None = None) -> Availability:
        if manifest is not None and EngineName.CLOUDFORMATION not in manifest.engines:
            return Availability(False, _("template {template} has no CloudFormation template")
                                .format(template=manifest.id))
        return Availability(True)

    def plan(self, request: DeploymentRequest) -> list[PlannedResource]:
        """The stack's resources whose conditions hold with these parameters, in template order:
        what create_stack would make (nested stacks and macros aside, which no template uses)."""
        from services.template_model import load_template, resolve_template

        values = {p["ParameterKey"]: p["ParameterValue"]
                  for p in cloudformation_parameters(request.manifest, request.values)}
        resolved = resolve_template(load_template(self._template_body(request.manifest)),
                                    values, region=request.region)
        return [PlannedResource(address=r.logical_id, resource_type=r.type)
                for r in resolved.resources.values()]

    @staticmethod
    def _template_body(manifest: TemplateManifest) -> str:
        return manifest.cloudformation_path.read_text()

    def apply(self, request: DeploymentRequest, *, deadline: float,
              on_events: EventSink) -> OperationResult:
        stack_name = request.deployment_name
        try:
            # Created without asking first whether it exists: a launch's stack almost never does,
            # and CloudFormation refuses a second stack of the same name by itself.
            result = self.create(
                stack_name=stack_name, template_body=self._template_body(request.manifest),
                parameters=cloudformation_parameters(request.manifest, request.values),
                tags=dict(request.tags), deadline=deadline, on_events=on_events)
        except ClientError as exc:
            if not _already_exists(exc):
                raise
            # An earlier worker created it and died: wait for that stack, never make a second.
            result = self._resume(stack_name, deadline=deadline, on_events=on_events)
        result.outputs = self._by_manifest_names(request.manifest, result.outputs)
        return result

    def _resume(self, stack_name: str, *, deadline: float,
                on_events: EventSink) -> OperationResult:
        existing = self.stack_status(stack_name)
        if existing == "CREATE_IN_PROGRESS" and self.target is CloudTarget.EMBEDDED:
            # The embedded cloud creates a stack inside create_stack and ends it there; one still
            # in progress afterwards was cut off with its worker and will not move on.
            return OperationResult(succeeded=False, error=(
                "the worker running this launch stopped, and the embedded cloud left its stack "
                "unfinished"))
        return self.wait_for_create(stack=stack_name, deadline=deadline, on_events=on_events)

    @staticmethod
    def _by_manifest_names(manifest: TemplateManifest, outputs: dict[str, str]) -> dict[str, str]:
        by_cfn = {spec.cfn_name: spec.name for spec in manifest.outputs}
        return {by_cfn.get(key, key): value for key, value in outputs.items()}

    def destroy(self, ref: DeploymentRef, *, deadline: float,
                on_events: EventSink) -> OperationResult:
        return self.delete(stack=ref.handle, deadline=deadline, on_events=on_events)

    def outputs(self, ref: DeploymentRef, manifest: TemplateManifest) -> dict[str, str]:
        stack = self._describe(ref.handle)
        raw = {o["OutputKey"]: o.get("OutputValue", "") for o in (stack or {}).get("Outputs", [])}
        return self._by_manifest_names(manifest, raw)

    def resources(self, ref: DeploymentRef) -> list[DeployedResource]:
        return self._stack_resources(ref.handle)
