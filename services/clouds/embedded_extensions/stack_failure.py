"""A stack whose create fails ends as AWS ends it, whatever made it fail.

moto creates a stack's resources inside the CreateStack call and lets the first error out of it:
the call answers with that error (an HTML page with HTTP 500 when it is a Python exception rather
than an AWS error, which no SDK can parse), the stack stays CREATE_IN_PROGRESS for ever, and what
it made before the failure stays, unlisted once the stack is gone. A resource type moto does not
model is skipped without a word: the stack completes without it, `Ref` to it gives nothing and
`Fn::GetAtt` on it fails another resource with "references undefined resource". A custom resource
waits for a Lambda function the embedded cloud cannot run, so its stack never ends. And reading a
failed stack's outputs evaluates them, creating what was never made or failing with HTTP 500.

Here CreateStack answers with the stack's id as AWS does, once the stack has ended:
- the failing resource has CREATE_FAILED with its reason (`stack_events`), and a type the embedded
  cloud cannot create fails there with "Resource type X is not supported by the embedded cloud";
- then, as OnFailure (or DisableRollback) asks: ROLLBACK (the default) deletes what was made, in
  dependency order, and ends ROLLBACK_COMPLETE (ROLLBACK_FAILED naming what would not go); DELETE
  does the same and deletes the stack, DELETE_COMPLETE; DO_NOTHING leaves CREATE_FAILED with its
  resources, for a later DeleteStack;
- an error outside any resource (an output, an export) fails the stack with that error;
- a failed stack has no outputs and no exports, and creates nothing when read.
The outputs of a stack are evaluated before it is CREATE_COMPLETE, so an output that cannot be
evaluated fails the create instead of every later DescribeStacks. Any other Python error in a
CloudFormation call is answered as an AWS error naming the call (InternalFailure, with HTTP 400:
the embedded cloud cannot serve that request, and a client that repeats it, as SDKs repeat a
5xx, gets the same answer), never as an HTML page.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any, Callable

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.core.exceptions import HTTPException, ServiceException

from services.clouds.embedded_extensions._limits import (
    UnsupportedCustomResource, UnsupportedResourceType,
)
from services.clouds.embedded_extensions.stack_deletion import (
    ResourcesNotDeleted, close_creation, delete_in_order,
)
from services.clouds.embedded_extensions.stack_events import STACK_TYPE

_log = logging.getLogger(__name__)
ON_FAILURE = ("ROLLBACK", "DELETE", "DO_NOTHING")
# The statuses in which a stack shows its outputs and holds its exports.
SETTLED = frozenset({
    "CREATE_COMPLETE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_COMPLETE", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED",
})
# The statuses of a stack whose create failed: its exports were never registered.
FAILED_CREATE = frozenset({"CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED",
                           "ROLLBACK_COMPLETE"})


class InternalFailure(ServiceException):
    """A CloudFormation call the emulator failed on. Its status is moto's default for an error
    code its model does not list: 400."""

    code = "InternalFailure"


# -- unsupported types -----------------------------------------------------------------------------
def _unsupported_types_fail_their_resource() -> None:
    from moto.cloudformation.custom_model import CustomModel

    original = parsing.parse_resource

    def parse_resource(resource_json: dict[str, Any], resources_map: Any) -> Any:
        resource_type = resource_json["Type"]
        resource_class = parsing.resource_class_from_type(resource_type)
        if resource_class is CustomModel or resource_type == \
                "AWS::CloudFormation::CustomResource":
            raise UnsupportedCustomResource(resource_type)
        if resource_class is None:
            raise UnsupportedResourceType(resource_type)
        return original(resource_json, resources_map)

    # Looked up by name at each call from parse_resource_and_generate_name: create and update.
    parsing.parse_resource = parse_resource


def _outputs_are_checked_only_against_types_the_cloud_models() -> None:
    """moto checks every `Fn::GetAtt` of the Outputs against the resource type's model before
    creating anything; for a type it does not model that check itself raised AttributeError
    (HTTP 500). Such an output is left to the resource, whose create fails with the reason."""
    from moto.cloudformation.exceptions import UnsupportedAttribute
    from moto.cloudformation.parsing import ResourceMap

    def validate_outputs(self: ResourceMap) -> None:
        outputs = self._template.get("Outputs") or {}
        for name, output in outputs.items():
            if not isinstance(output, dict) or "Value" not in output:
                raise ValidationError(message=f"Template format error: [/Outputs/{name}] "
                                              "Every Outputs member must contain a Value object")
            if "Condition" in output and not self.lazy_condition_map[output["Condition"]]:
                continue
            value = output["Value"]
            if not isinstance(value, dict) or "Fn::GetAtt" not in value:
                continue
            target = value["Fn::GetAtt"]
            if isinstance(target, str):
                target = target.split(".", 1)
            if not isinstance(target, list) or len(target) != 2:
                continue
            resource_name, attribute = target
            resource = self._resource_json_map.get(resource_name)
            if resource is None:
                raise ValidationError(message=(
                    "Template format error: Unresolved resource dependencies "
                    f"[{resource_name}] in the Outputs block of the template"))
            if "Condition" in resource and not self.lazy_condition_map[resource["Condition"]]:
                raise ValidationError(message=(
                    f"Unresolved resource dependencies [{resource_name}] in the Outputs block "
                    "of the template"))
            model = parsing.get_model_map().get(resource["Type"])
            if model is None or not isinstance(attribute, str):
                continue
            if not model.has_cfn_attr(attribute):
                resource_type = resource["Type"]
                raise UnsupportedAttribute(resource=resource_type[resource_type.rindex(":") + 1:],
                                           attr=attribute)

    ResourceMap.validate_outputs = validate_outputs  # type: ignore[method-assign]


# -- the failed create -----------------------------------------------------------------------------
def _failed_resources(stack: Any) -> list[str]:
    return list(dict.fromkeys(
        event.logical_resource_id for event in stack.events
        if event.resource_type != STACK_TYPE and event.resource_status == "CREATE_FAILED"))


def _stack_reason(stack: Any, exc: BaseException) -> str:
    failed = _failed_resources(stack)
    if failed:
        return f"The following resource(s) failed to create: [{', '.join(failed)}]. "
    if isinstance(exc, ServiceException):
        return f"{exc.message} "
    message = getattr(exc, "message", None)
    if getattr(exc, "error_type", None) and message:
        return f"{message} "
    _log.warning("stack %s failed outside its resources", stack.name, exc_info=exc)
    return ("The embedded cloud could not finish this stack: its outputs or exports use "
            "something it does not support (the emulator's log has the details). ")


def end_failed_create(backend: Any, stack: Any, exc: BaseException, on_failure: str) -> None:
    """Settle a stack whose create raised `exc`, as OnFailure says."""
    close_creation(stack.resource_map)
    for name in [name for name, export in backend.exports.items()
                 if export.exporting_stack_id == stack.stack_id]:
        del backend.exports[name]
    reason = _stack_reason(stack, exc)
    stack.status_reason = reason
    if on_failure == "DO_NOTHING":
        stack.status = "CREATE_FAILED"
        stack._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
        return
    by_delete = on_failure == "DELETE"
    stack.status = "DELETE_IN_PROGRESS" if by_delete else "ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(stack.status, resource_status_reason=reason + (
        "Delete requested by user." if by_delete else "Rollback requested by user."))
    stack.resource_map.undoing_create = True
    try:
        delete_in_order(stack.resource_map, list(stack.resource_map._resource_json_map))
    except ResourcesNotDeleted as not_deleted:
        stack.status = "DELETE_FAILED" if by_delete else "ROLLBACK_FAILED"
        stack.status_reason = not_deleted.reason
        stack._add_stack_event(stack.status, resource_status_reason=not_deleted.reason)
        return
    if by_delete:
        stack.status = "DELETE_COMPLETE"
        stack._add_stack_event("DELETE_COMPLETE")
        backend.stacks.pop(stack.stack_id, None)
        backend.deleted_stacks[stack.stack_id] = stack
    else:
        stack.status = "ROLLBACK_COMPLETE"
        stack._add_stack_event("ROLLBACK_COMPLETE")


def _create_stack_ends_the_stack() -> None:
    from moto.cloudformation.exceptions import AlreadyExistsException
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.utils import generate_stack_id

    def create_stack(self: CloudFormationBackend, name: str, template: str,
                     parameters: dict[str, Any], notification_arns: list[str] | None = None,
                     tags: dict[str, str] | None = None, role_arn: str | None = None,
                     enable_termination_protection: bool | None = False,
                     timeout_in_mins: int | None = None, stack_policy_body: str | None = None,
                     on_failure: str = "ROLLBACK") -> Stack:
        if name in [stack.name for stack in self.stacks.values()]:
            raise AlreadyExistsException(f"Stack {name} already exists")
        stack_id = generate_stack_id(name, self.region_name, self.account_id)
        try:
            new_stack = Stack(
                stack_id=stack_id, name=name, template=template, parameters=parameters,
                account_id=self.account_id, region_name=self.region_name,
                notification_arns=notification_arns, tags=tags, role_arn=role_arn,
                cross_stack_resources=self.exports,
                enable_termination_protection=enable_termination_protection,
                timeout_in_mins=timeout_in_mins, stack_policy_body=stack_policy_body)
        except (ServiceException, HTTPException):
            raise  # the template or its parameters refused, as CloudFormation refuses them
        except Exception as exc:  # noqa: BLE001 - a template moto cannot read is refused
            _log.warning("stack %s: template not readable", name, exc_info=exc)
            raise ValidationError(message=(
                "Template format error: the embedded cloud cannot read this template (the "
                "emulator's log has the details)")) from exc
        new_stack.disable_rollback = on_failure == "DO_NOTHING"
        self.stacks[stack_id] = new_stack
        try:
            self._validate_export_uniqueness(new_stack)
            for export in new_stack.exports:
                self.exports[export.name] = export
            new_stack._add_stack_event("CREATE_IN_PROGRESS",
                                       resource_status_reason="User Initiated")
            new_stack.create_resources()
        except Exception as exc:  # noqa: BLE001 - any failure is the stack's, as on AWS
            end_failed_create(self, new_stack, exc, on_failure)
        return new_stack

    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]


def _create_stack_reads_on_failure() -> None:
    """CreateStack's OnFailure and DisableRollback, which moto's response ignores."""
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def create_stack(self: CloudFormationResponse) -> ActionResult:
        on_failure = self._get_param("OnFailure")
        if self._get_param("DisableRollback") is not None:
            if on_failure:
                raise ValidationError(message=(
                    "You cannot specify both DisableRollback and OnFailure"))
            on_failure = "DO_NOTHING" if self._get_bool_param("DisableRollback") else None
        if on_failure and on_failure not in ON_FAILURE:
            raise ValidationError(message=f"OnFailure must be one of {', '.join(ON_FAILURE)}")
        template = self._get_param("TemplateBody")
        if self._get_param("TemplateURL"):
            template = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
        stack = self.cloudformation_backend.create_stack(
            name=self._get_param("StackName"), template=template,
            parameters=self._get_params_from_list(self._get_param("Parameters", [])),
            notification_arns=self._get_param("NotificationARNs", []),
            tags={item["Key"]: item["Value"] for item in self._get_param("Tags", [])},
            role_arn=self._get_param("RoleARN"),
            enable_termination_protection=self._get_param("EnableTerminationProtection"),
            timeout_in_mins=self._get_param("TimeoutInMinutes"),
            stack_policy_body=self._get_param("StackPolicyBody"),
            on_failure=on_failure or "ROLLBACK")
        return ActionResult({"StackId": stack.stack_id})

    CloudFormationResponse.create_stack = create_stack  # type: ignore[method-assign]


def _outputs_are_evaluated_before_the_stack_completes() -> None:
    from moto.cloudformation.models import Stack

    def create_resources(self: Stack) -> None:
        self.status = "CREATE_IN_PROGRESS"
        all_resources_ready = self.resource_map.create(self.template_dict)
        self.description = self.template_dict.get("Description")
        for key in list(self.output_map):
            self.output_map[key]  # evaluated now: an output that cannot be fails the create
        if all_resources_ready:
            self.mark_creation_complete()

    Stack.create_resources = create_resources  # type: ignore[method-assign]


def _failed_stacks_have_no_outputs() -> None:
    from moto.cloudformation.models import Stack

    original_outputs = Stack.outputs
    original_exports = Stack.exports

    def outputs(self: Stack) -> list[dict[str, Any]] | None:
        if self.status not in SETTLED:
            return None
        return original_outputs.fget(self)  # type: ignore[attr-defined, no-any-return]

    def exports(self: Stack) -> list[Any]:
        if self.status in FAILED_CREATE or self.status == "DELETE_COMPLETE":
            return []
        return original_exports.fget(self)  # type: ignore[attr-defined, no-any-return]

    Stack.outputs = property(outputs)  # type: ignore[assignment, method-assign]
    Stack.exports = property(exports)  # type: ignore[assignment, method-assign]


# -- every other fault -----------------------------------------------------------------------------
def _faults_are_answered_as_aws_errors() -> None:
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import BaseResponse

    def answered(action: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(action)
        def call(self: CloudFormationResponse, *args: Any, **kwargs: Any) -> Any:
            try:
                return action(self, *args, **kwargs)
            except (ServiceException, HTTPException):
                raise
            except Exception as exc:  # noqa: BLE001 - a fault must reach the caller as an AWS error
                _log.warning("CloudFormation %s failed inside the emulator", name, exc_info=exc)
                raise InternalFailure(
                    f"The embedded cloud failed on {name} (the emulator's log has the "
                    "details)") from exc
        return call

    for name, member in list(vars(CloudFormationResponse).items()):
        if name.startswith("_") or not inspect.isfunction(member) or hasattr(BaseResponse, name):
            continue
        action = "".join(part.title() for part in name.split("_"))  # create_stack: CreateStack
        setattr(CloudFormationResponse, name, answered(member, action))


def install() -> None:
    # NULL_MODELS lists the types moto skips on purpose; each is either modelled by an extension
    # (the wait conditions) or fails as unsupported.
    parsing.NULL_MODELS.clear()
    _unsupported_types_fail_their_resource()
    _outputs_are_checked_only_against_types_the_cloud_models()
    _create_stack_ends_the_stack()
    _create_stack_reads_on_failure()
    _outputs_are_evaluated_before_the_stack_completes()
    _failed_stacks_have_no_outputs()
    _faults_are_answered_as_aws_errors()
