"""Launch and delete CloudFormation stacks through boto3, streaming stack events as they happen.

The same code runs against every target. Emulator quirks it must survive are commented where they
bite; everything a deleted stack leaves behind is removed afterwards by `sweeper`.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from services.clouds import CloudConnection

STACK_TYPE = "AWS::CloudFormation::Stack"
CREATE_DONE = {"CREATE_COMPLETE"}
CREATE_FAILED = {
    "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED",
    "DELETE_IN_PROGRESS", "DELETE_COMPLETE", "DELETE_FAILED",
}
DELETE_DONE = {"DELETE_COMPLETE"}
DELETE_FAILED = {"DELETE_FAILED"}
# What a call to AWS can raise. An emulator that crashes answers HTML, which botocore cannot parse.
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


@dataclass(frozen=True)
class StackEvent:
    event_key: str
    occurred_at: datetime
    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str
    reason: str | None


@dataclass
class OperationResult:
    succeeded: bool
    stack_id: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False


EventSink = Callable[[list[StackEvent]], None]


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "Error"
        message = error.get("Message") or str(exc)
        return f"{code}: {message}"
    return f"{type(exc).__name__}: {exc}"


def _is_missing_stack(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationError" and "does not exist" in error.get("Message", "")


READ_ATTEMPTS = 3
Read = TypeVar("Read", bound=Callable[..., Any])


def _server_fault(exc: Exception) -> bool:
    if isinstance(exc, ResponseParserError):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return False


def retry_reads(read: Read) -> Read:
    """Repeat a read that met a server fault. Reads are safe to repeat; writes are not.

    The embedded cloud, under many concurrent requests, now and then answers a read with an HTML
    HTTP 500 that botocore can neither parse nor retry itself.
    """

    @functools.wraps(read)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(READ_ATTEMPTS):
            try:
                return read(*args, **kwargs)
            except AWS_ERRORS as exc:
                if attempt == READ_ATTEMPTS - 1 or not _server_fault(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


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
    def __init__(self, connection: CloudConnection) -> None:
        self.cloudformation = connection.client("cloudformation")
        # The stack's status is read beside its events, not after them: a poll costs one round
        # trip instead of two, which is most of a launch on the embedded cloud.
        self._reads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="stack-status")

    @staticmethod
    def _has_stack_event(events: list[StackEvent], status: str) -> bool:
        return any(e.resource_type == STACK_TYPE and e.status == status for e in events)

    # -- events ---------------------------------------------------------------------------------
    @retry_reads
    def _new_events(self, stack: str, seen: set[str]) -> list[StackEvent]:
        """Events not yet seen, oldest first. AWS lists newest first, so stop at the first seen."""
        fresh: list[StackEvent] = []
        paginator = self.cloudformation.get_paginator("describe_stack_events")
        done = False
        for page in paginator.paginate(StackName=stack):
            for raw in page.get("StackEvents", []):
                if raw["EventId"] in seen:
                    done = True
                    break
                timestamp = raw["Timestamp"]
                if timestamp.tzinfo is None:
                    timestamp = timestamp.replace(tzinfo=UTC)
                fresh.append(StackEvent(
                    event_key=raw["EventId"][:128],
                    occurred_at=timestamp,
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
            if _is_missing_stack(exc):
                return None
            raise
        return stacks[0] if stacks else None

    def _status(self, stack: str) -> tuple[str, str] | None:
        """(status, stack id) of `stack`, or None when it does not exist.

        The embedded cloud answers HTTP 500 to describe_stacks for a stack whose create failed
        half-way (it evaluates outputs of resources never made); list_stacks still knows it.
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

    def _stream(self, stack: str, seen: set[str], on_events: EventSink) -> list[StackEvent]:
        try:
            events = self._new_events(stack, seen)
        except ClientError as exc:
            if _is_missing_stack(exc):
                return []
            raise
        if events:
            on_events(events)
        return events

    @staticmethod
    def _failure_reason(events: list[StackEvent], fallback: str) -> str:
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
        trusted (the embedded cloud leaves it CREATE_IN_PROGRESS for ever), so the fault stands
        and the caller removes it. The embedded cloud answers such faults now and then under many
        concurrent creates.
        """
        for attempt in range(READ_ATTEMPTS):
            try:
                return self.cloudformation.create_stack(**request)["StackId"]
            except AWS_ERRORS as exc:
                if attempt == READ_ATTEMPTS - 1 or not _server_fault(exc):
                    raise
                if self._status(request["StackName"]) is not None:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def create(self, *, stack_name: str, template_body: str, parameters: list[dict[str, str]],
               tags: dict[str, str], deadline: float, on_events: EventSink) -> OperationResult:
        seen: set[str] = set()
        all_events: list[StackEvent] = []
        minutes = max(1, int((deadline - time.monotonic()) // 60))
        try:
            stack_id = self._create_once(
                StackName=stack_name, TemplateBody=template_body, Parameters=parameters,
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
                Capabilities=CAPABILITIES, OnFailure="DELETE", TimeoutInMinutes=minutes,
            )
        except AWS_ERRORS as exc:
            # The embedded cloud reports a failing resource here, inside create_stack, and keeps
            # the stack CREATE_IN_PROGRESS for ever with what it made so far; the caller deletes.
            try:
                all_events += self._stream(stack_name, seen, on_events)
            except AWS_ERRORS:
                pass
            return OperationResult(succeeded=False, error=_reason(exc))
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

    def _await_create(self, stack_id: str, *, seen: set[str], all_events: list[StackEvent],
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
                    return OperationResult(succeeded=True, stack_id=stack_id, outputs=outputs)
                if status in CREATE_FAILED:
                    reason = self._failure_reason(
                        all_events, (stack or {}).get("StackStatusReason") or status)
                    return OperationResult(succeeded=False, stack_id=stack_id,
                                           error=f"{status}: {reason}")
                if not poller.wait():
                    return OperationResult(
                        succeeded=False, stack_id=stack_id, timed_out=True,
                        error=f"timed out: stack still {status} at its deadline")
        except AWS_ERRORS as exc:
            return OperationResult(succeeded=False, stack_id=stack_id, error=_reason(exc))

    # -- delete ---------------------------------------------------------------------------------
    def delete(self, *, stack: str, deadline: float, on_events: EventSink) -> OperationResult:
        """Delete `stack` (name or id) and wait; a stack that no longer exists counts as deleted."""
        seen: set[str] = set()
        all_events: list[StackEvent] = []
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
                    return OperationResult(succeeded=True, stack_id=stack_id)
                if status in DELETE_FAILED:
                    reason = self._failure_reason(all_events, status)
                    return OperationResult(succeeded=False, stack_id=stack_id,
                                           error=f"{status}: {reason}")
                if not poller.wait():
                    return OperationResult(succeeded=False, stack_id=stack_id, timed_out=True,
                                           error=f"timed out: stack still {status} at its deadline")
        except AWS_ERRORS as exc:
            return OperationResult(succeeded=False, error=_reason(exc))

    @retry_reads
    def stack_resources(self, stack: str) -> list[dict[str, str]]:
        try:
            paginator = self.cloudformation.get_paginator("list_stack_resources")
            resources = []
            for page in paginator.paginate(StackName=stack):
                for raw in page.get("StackResourceSummaries", []):
                    resources.append({
                        "logical_id": raw.get("LogicalResourceId", ""),
                        "type": raw.get("ResourceType", ""),
                        "physical_id": raw.get("PhysicalResourceId", ""),
                        "status": raw.get("ResourceStatus", ""),
                    })
            return resources
        except ClientError as exc:
            if _is_missing_stack(exc):
                return []
            raise

    def stack_status(self, stack: str) -> str | None:
        """The stack's status, or None when it does not exist any more."""
        current = self._status(stack)
        return current[0] if current else None
