"""Stack events for every resource, at the moments moto really creates, updates and deletes it.

moto records two events per stack operation, both for the stack itself (IN_PROGRESS, COMPLETE), so
`describe_stack_events` says nothing about the resources: not which one failed and why, not how
long each took. AWS records, for every resource, `CREATE_IN_PROGRESS` when it starts (and again
with "Resource creation Initiated" once the create call is accepted), then `CREATE_COMPLETE` or
`CREATE_FAILED` with the error; the same for updates and deletes. This records those events
around moto's own calls, so that their timestamps are the real start and end of each resource.

The hooks are moto's own functions: `parse_and_create_resource` and `parse_and_update_resource`
for creates and updates, and `ResourceMap._delete_resource`, through which every delete passes. A
resource's IN_PROGRESS is recorded once `parse_resource_and_generate_name` has resolved its
properties, which creates the resources it refers to first: a resource's interval never contains
those of its dependencies.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

STACK_TYPE = "AWS::CloudFormation::Stack"
CREATION_INITIATED = "Resource creation Initiated"
_log = logging.getLogger(__name__)


@dataclass
class _Operation:
    """A create or update of one resource, open while moto works on it."""

    resources_map: Any
    logical_id: str
    action: str  # CREATE or UPDATE
    started: bool = False


# A create resolves its properties first, which creates the resources they refer to: operations
# nest. Each request of moto's threaded server runs on its own thread.
_open = threading.local()


def _operations() -> list[_Operation]:
    if not hasattr(_open, "operations"):
        _open.operations = []
    return _open.operations  # type: ignore[no-any-return]


def failure_reason(exc: BaseException, *, resource_type: str = "resource",
                   action: str = "CREATE") -> str:
    """The error as AWS words a resource's failure: the service's message and its error code.

    A Python error inside a moto model (not an AWS error) is no reason a student can act on:
    the reason says which resource the embedded cloud cannot handle as declared, and the error
    with its traceback goes to the emulator's log."""
    from moto.core.exceptions import ServiceException

    from services.clouds.embedded_extensions._limits import EmbeddedCloudLimit, emulator_fault

    if isinstance(exc, EmbeddedCloudLimit):
        return exc.message
    if isinstance(exc, ServiceException):
        return f"{exc.message} (Error Code: {exc.code})"
    # moto's older errors (HTTP exceptions) carry the AWS code as `error_type`.
    code, message = getattr(exc, "error_type", None), getattr(exc, "message", None)
    if code and message:
        return f"{message} (Error Code: {code})"
    _log.warning("%s of a %s failed inside moto", action.lower(), resource_type, exc_info=exc)
    return emulator_fault(resource_type, action)


# Other extensions' word on a resource just created, for its CREATE_COMPLETE event (a simulated
# signal, say): each is asked with the resource's template entry and the made resource.
CompletionReason = Callable[[dict[str, Any], Any], "str | None"]
completion_reasons: list[CompletionReason] = []


def _completion_reason(resource_json: dict[str, Any], resource: Any) -> str | None:
    for reason_of in completion_reasons:
        reason = reason_of(resource_json, resource)
        if reason:
            return reason
    return None


def _properties_text(resource_json: dict[str, Any]) -> str:
    properties = resource_json.get("Properties") or {}
    # Resolved properties can hold moto objects where AWS shows their id; their text will do.
    return json.dumps(properties, default=str, separators=(",", ":"))


def record_resource_event(resources_map: Any, *, logical_id: str, resource_type: str, status: str,
                          physical_id: str = "", reason: str | None = None) -> None:
    """Add a resource's event to the stack that owns `resources_map` (none when it has no stack)."""
    stack = getattr(resources_map, "owner_stack", None)
    if stack is None:
        return
    properties = getattr(resources_map, "event_properties", {}).get(logical_id)
    stack._add_resource_event(logical_id, resource_type=resource_type, status=status,
                              physical_id=physical_id, reason=reason, properties=properties)


def physical_id_of(resource: Any) -> str:
    physical_id = getattr(resource, "physical_resource_id", None)
    return physical_id if isinstance(physical_id, str) else ""


def _mark_recorded(exc: BaseException) -> None:
    exc._stack_event_recorded = True  # type: ignore[attr-defined]


def _recorded(exc: BaseException) -> bool:
    return bool(getattr(exc, "_stack_event_recorded", False))


def _stack_records_resource_events() -> None:
    """`Stack._add_resource_event`, the resource-level twin of moto's `_add_stack_event`, and a
    way back from a stack's ResourceMap to its Stack, which moto does not keep."""
    from moto.cloudformation.models import Event, Stack

    def _add_resource_event(self: Stack, logical_id: str, *, resource_type: str, status: str,
                            physical_id: str = "", reason: str | None = None,
                            properties: str | None = None) -> None:
        event = Event(stack_id=self.stack_id, stack_name=self.name,
                      logical_resource_id=logical_id, physical_resource_id=physical_id,
                      resource_type=resource_type, resource_status=status,
                      resource_status_reason=reason, resource_properties=properties)
        event.sendToSns(self.account_id, self.region_name, self.notification_arns)
        self.events.append(event)

    original_create_resource_map = Stack._create_resource_map

    def _create_resource_map(self: Stack) -> Any:
        resource_map = original_create_resource_map(self)
        resource_map.owner_stack = self
        resource_map.event_properties = {}
        return resource_map

    Stack._add_resource_event = _add_resource_event  # type: ignore[attr-defined]
    Stack._create_resource_map = _create_resource_map  # type: ignore[method-assign]


def _resource_operation(original: Callable[..., Any], action: str) -> Callable[..., Any]:
    """Wrap moto's parse_and_create_resource or parse_and_update_resource with the resource's
    IN_PROGRESS / COMPLETE / FAILED events."""

    def operate(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                account_id: str, region_name: str) -> Any:
        operation = _Operation(resources_map, logical_id, action)
        operations = _operations()
        operations.append(operation)
        try:
            resource = original(logical_id, resource_json, resources_map, account_id,
                                region_name)
        except Exception as exc:
            # An error already recorded comes from a resource this one refers to: this one never
            # started, as on AWS. Any other error is this resource's own.
            if operation.started or not _recorded(exc):
                resource_type = resource_json.get("Type", "")
                if not operation.started:
                    record_resource_event(resources_map, logical_id=logical_id,
                                          resource_type=resource_type,
                                          status=f"{action}_IN_PROGRESS")
                record_resource_event(resources_map, logical_id=logical_id,
                                      resource_type=resource_type, status=f"{action}_FAILED",
                                      reason=failure_reason(exc, resource_type=resource_type,
                                                            action=action))
                _mark_recorded(exc)
            raise
        finally:
            operations.pop()
        if operation.started:
            physical_id = physical_id_of(resource)
            resource_type = resource_json["Type"]
            if action == "CREATE":
                record_resource_event(resources_map, logical_id=logical_id,
                                      resource_type=resource_type, status="CREATE_IN_PROGRESS",
                                      physical_id=physical_id, reason=CREATION_INITIATED)
            record_resource_event(resources_map, logical_id=logical_id,
                                  resource_type=resource_type, status=f"{action}_COMPLETE",
                                  physical_id=physical_id,
                                  reason=(_completion_reason(resource_json, resource)
                                          if action == "CREATE" else None))
        return resource

    return operate


def _resource_events_around_moto_operations() -> None:
    from moto.cloudformation import parsing
    from moto.cloudformation.parsing import ResourceMap

    original_resolve = parsing.parse_resource_and_generate_name

    def parse_resource_and_generate_name(logical_id: str, resource_json: dict[str, Any],
                                         resources_map: Any) -> Any:
        resolved = original_resolve(logical_id, resource_json, resources_map)
        operations = _operations()
        current = operations[-1] if operations else None
        if (resolved and current is not None and not current.started
                and current.logical_id == logical_id and current.resources_map is resources_map):
            # Everything it refers to exists now; moto's create (or update) call comes next.
            current.started = True
            if hasattr(resources_map, "event_properties"):
                resources_map.event_properties[logical_id] = _properties_text(resolved[1])
            record_resource_event(resources_map, logical_id=logical_id,
                                  resource_type=resource_json["Type"],
                                  status=f"{current.action}_IN_PROGRESS")
        return resolved

    original_delete = ResourceMap._delete_resource

    def _delete_resource(self: ResourceMap, parsed_resource: Any,
                         resource_json: dict[str, Any]) -> None:
        logical_id = getattr(parsed_resource, "logical_resource_id", "")
        resource_type = resource_json.get("Type", "")
        physical_id = physical_id_of(parsed_resource)
        record_resource_event(self, logical_id=logical_id, resource_type=resource_type,
                              status="DELETE_IN_PROGRESS", physical_id=physical_id)
        try:
            original_delete(self, parsed_resource, resource_json)
        except Exception as exc:
            record_resource_event(self, logical_id=logical_id, resource_type=resource_type,
                                  status="DELETE_FAILED", physical_id=physical_id,
                                  reason=failure_reason(exc, resource_type=resource_type,
                                                        action="DELETE"))
            raise
        record_resource_event(self, logical_id=logical_id, resource_type=resource_type,
                              status="DELETE_COMPLETE", physical_id=physical_id)

    parsing.parse_resource_and_generate_name = parse_resource_and_generate_name
    parsing.parse_and_create_resource = _resource_operation(
        parsing.parse_and_create_resource, "CREATE")
    parsing.parse_and_update_resource = _resource_operation(
        parsing.parse_and_update_resource, "UPDATE")
    ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]


def _stack_creation_is_recorded_before_its_exports_resolve() -> None:
    """moto's create_stack resolves the new stack's exports, which creates every resource they
    refer to, before it records the stack's CREATE_IN_PROGRESS: those resources' events would come
    before the stack's start. The stack's event is recorded first, and moto's own, a moment
    later, is not repeated."""
    from moto.cloudformation.models import CloudFormationBackend, Stack

    original_validate = CloudFormationBackend._validate_export_uniqueness
    original_add_stack_event = Stack._add_stack_event

    def _validate_export_uniqueness(self: CloudFormationBackend, stack: Stack) -> None:
        if stack.status == "CREATE_PENDING" and not stack.events:
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        original_validate(self, stack)

    def _add_stack_event(self: Stack, resource_status: str,
                         resource_status_reason: str | None = None,
                         resource_properties: str | None = None) -> None:
        stack_events = [e for e in self.events if e.resource_type == STACK_TYPE]
        if (resource_status == "CREATE_IN_PROGRESS" and stack_events
                and stack_events[-1].resource_status == "CREATE_IN_PROGRESS"):
            return
        original_add_stack_event(self, resource_status, resource_status_reason,
                                 resource_properties)

    CloudFormationBackend._validate_export_uniqueness = (  # type: ignore[method-assign]
        _validate_export_uniqueness)
    Stack._add_stack_event = _add_stack_event  # type: ignore[method-assign]


_EVENT_FIELDS = (
    ("StackId", "stack_id"), ("EventId", "event_id"), ("StackName", "stack_name"),
    ("LogicalResourceId", "logical_resource_id"),
    ("PhysicalResourceId", "physical_resource_id"), ("ResourceType", "resource_type"),
    ("ResourceStatus", "resource_status"), ("ResourceStatusReason", "resource_status_reason"),
    ("ResourceProperties", "resource_properties"),
    ("ClientRequestToken", "client_request_token"),
)


def _event_xml(event: Any) -> str:
    """One `<member>` of DescribeStackEvents; an event never changes, so it is built once."""
    cached = getattr(event, "_member_xml", None)
    if cached is None:
        from xml.sax.saxutils import escape

        from moto.core.utils import iso_8601_datetime_with_milliseconds

        parts = [f"<Timestamp>{iso_8601_datetime_with_milliseconds(event.timestamp)}</Timestamp>"]
        for element, attribute in _EVENT_FIELDS:
            value = getattr(event, attribute, None)
            if value is not None:
                parts.append(f"<{element}>{escape(str(value))}</{element}>")
        cached = event._member_xml = "<member>" + "".join(parts) + "</member>"
    return cached


def _stack_events_are_served_quickly() -> None:
    """moto builds DescribeStackEvents with its generic shape-walking serializer, which costs
    about 0.15 ms a field: 20 ms for the 130 events of a 45-resource stack, on every poll of a
    page that watches a launch. The XML of each event is built once instead; the response has the
    same elements, newest event first, with AWS's millisecond UTC timestamps."""
    import uuid

    from moto.cloudformation.responses import CloudFormationResponse

    def describe_stack_events(self: CloudFormationResponse) -> str:
        events = self.cloudformation_backend.describe_stack_events(self._get_param("StackName"))
        members = "".join(_event_xml(event) for event in reversed(events))
        return ('<DescribeStackEventsResponse xmlns="http://cloudformation.amazonaws.com/doc/'
                '2010-05-15/"><DescribeStackEventsResult><StackEvents>'
                f"{members}</StackEvents></DescribeStackEventsResult><ResponseMetadata>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                "</DescribeStackEventsResponse>")

    CloudFormationResponse.describe_stack_events = describe_stack_events  # type: ignore[method-assign,assignment]


def install() -> None:
    _stack_events_are_served_quickly()
    _stack_records_resource_events()
    _resource_events_around_moto_operations()
    _stack_creation_is_recorded_before_its_exports_resolve()
