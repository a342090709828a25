"""A stack's delete as AWS does it: every resource, dependents first, or DELETE_FAILED with why.

moto's `ResourceMap.delete` tries the resources in no particular order and repeats those that
raised; a resource whose model has no delete of any kind counts as deleted and stays, and a
`delete()` that raises TypeError or AttributeError inside is taken for one that does not exist.
When a resource really cannot go, `delete_stack` raises after it has already dropped the stack
from its list, so the stack vanishes from `describe_stacks` and `list_stacks` while what it still
held is orphaned. And a deleted stack's resource map goes on creating, lazily, any resource that
is read again: listing a deleted stack's resources (or reading outputs not read before) brings
them back.

Here a delete walks the template's dependency graph (Ref, Fn::GetAtt, Fn::Sub, DependsOn) from the
dependents down; a resource that fails gets DELETE_FAILED, what it depends on is left alone, and
the stack ends DELETE_FAILED with "The following resource(s) failed to delete: [...]", still listed
and describable, ready for another delete_stack. A resource moto cannot delete, or one with
`DeletionPolicy: Retain` (or `RetainExceptOnCreate`, unless the delete undoes a failed create),
is DELETE_SKIPPED and left in place. A stack whose delete has begun creates nothing any more.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable, Iterable, Mapping

from services.clouds.embedded_extensions.stack_events import (
    physical_id_of, record_resource_event,
)

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


class ResourcesNotDeleted(Exception):
    """Resources of a stack that failed to delete, by logical id, with what each raised."""

    def __init__(self, failures: dict[str, BaseException]) -> None:
        self.failures = failures
        self.reason = f"The following resource(s) failed to delete: [{', '.join(failures)}]. "
        super().__init__(self.reason)


class NestedStackNotDeleted(Exception):
    """A nested stack's delete failed, which fails its AWS::CloudFormation::Stack resource."""


def _sub_references(template: str) -> set[str]:
    return {name.split(".", 1)[0] for name in _SUB_VARIABLE.findall(template)}


def references(value: Any) -> set[str]:
    """Logical ids `value` refers to through Ref, Fn::GetAtt and Fn::Sub (pseudo parameters and
    parameters included; callers keep the names of resources)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(target, str):
                    found.add(target.split(".", 1)[0])
            elif key == "Fn::Sub":
                template = inner[0] if isinstance(inner, list) and inner else inner
                variables = inner[1] if isinstance(inner, list) and len(inner) > 1 else {}
                if isinstance(template, str):
                    found |= _sub_references(template) - set(variables or {})
                found |= references(variables)
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def dependencies(resources: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each resource of a template's `Resources`, the other resources it depends on."""
    names = set(resources)
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        depends_on = resource.get("DependsOn") or []
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        needs = references({k: v for k, v in resource.items() if k != "DependsOn"})
        needs |= set(depends_on)
        graph[name] = (needs & names) - {name}
    return graph


def deletion_order(resources: Mapping[str, Any]) -> list[str]:
    """The template's resources with every one after all the resources that depend on it;
    among those free to go, the later in the template first."""
    needs = dependencies(resources)
    dependents = {name: {other for other in needs if name in needs[other]} for name in needs}
    names = list(resources)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(names):
        free = [n for n in reversed(names) if n not in done and dependents[n] <= done]
        if not free:
            # A dependency cycle, which CloudFormation refuses at validation: delete the rest
            # as listed rather than not at all.
            free = [n for n in reversed(names) if n not in done]
        order += free
        done.update(free)
    return order


def _accepts(function: Callable[..., Any], count: int) -> bool:
    try:
        inspect.signature(function).bind(*range(count))
    except (TypeError, ValueError):
        return False
    return True


def deleter(resource: Any,
            resource_json: dict[str, Any]) -> Callable[[str, str], None] | None:
    """How moto deletes `resource`: its own `delete(account_id, region_name)`, else its class's
    `delete_from_cloudformation_json` with its physical id, else a `delete()` of its own; None
    when moto has no way at all."""
    own = getattr(resource, "delete", None)
    if callable(own) and _accepts(own, 2):
        return own  # type: ignore[no-any-return]
    class_delete = getattr(type(resource), "delete_from_cloudformation_json", None)
    if class_delete is not None and not getattr(class_delete, "__isabstractmethod__", False):
        physical_id = getattr(resource, "physical_resource_id", None)
        return lambda account_id, region_name: class_delete(physical_id, resource_json,
                                                            account_id, region_name)
    if callable(own) and _accepts(own, 0):
        return lambda account_id, region_name: own()
    return None


def close_creation(resource_map: Any) -> None:
    """From now on `resource_map` creates nothing: a resource read again (a listing, an output)
    is one the stack holds or none. Its delete has begun, or its create has ended in failure."""
    resource_map.creation_closed = True


def creation_closed(resource_map: Any) -> bool:
    return bool(getattr(resource_map, "creation_closed", False))


def delete_in_order(resource_map: Any, names: Iterable[str]) -> None:
    """Delete the resources `names` of `resource_map`, dependents first.

    A resource that fails keeps everything it depends on in place; the others go on. Raises
    ResourcesNotDeleted naming the failures once every resource that could go has gone.
    """
    from moto import __version__ as moto_version

    resources = resource_map._resource_json_map
    parsed = resource_map._parsed_resources
    targets = set(names)
    needs = dependencies(resources)
    failures: dict[str, BaseException] = {}
    standing: set[str] = set()
    for name in deletion_order(resources):
        resource = parsed.get(name)
        if name not in targets or resource is None or isinstance(resource, str):
            continue  # not asked for, or never created (a false condition, an ignored type)
        if any(name in needs[other] for other in standing):
            standing.add(name)  # something that refers to it is still there
            continue
        resource_json = resources[name]
        policy = resource_json.get("DeletionPolicy")
        # RetainExceptOnCreate keeps a resource, except when the create that made it failed.
        retained = policy == "Retain" or (policy == "RetainExceptOnCreate"
                                          and not getattr(resource_map, "undoing_create", False))
        if retained or deleter(resource, resource_json) is None:
            reason = None if retained else (f"moto {moto_version} cannot delete "
                                            f"{resource_json['Type']}; it was left in place")
            record_resource_event(resource_map, logical_id=name,
                                  resource_type=resource_json["Type"], status="DELETE_SKIPPED",
                                  physical_id=physical_id_of(resource), reason=reason)
            parsed.pop(name)
            continue
        try:
            resource_map._delete_resource(resource, resource_json)
        except Exception as exc:  # noqa: BLE001 - any failure is this resource's DELETE_FAILED
            failures[name] = exc
            standing.add(name)
            continue
        parsed.pop(name)
    if failures:
        raise ResourcesNotDeleted(failures)


def _resource_map_deletes_in_dependency_order() -> None:
    from moto.cloudformation import parsing
    from moto.cloudformation.parsing import ResourceMap

    def _delete_resource(self: ResourceMap, parsed_resource: Any,
                         resource_json: dict[str, Any]) -> None:
        delete = deleter(parsed_resource, resource_json)
        if delete is None:
            raise NotImplementedError(f"moto cannot delete {resource_json.get('Type')}")
        delete(self._account_id, self._region_name)

    def delete(self: ResourceMap) -> None:
        close_creation(self)
        delete_in_order(self, list(self._resource_json_map))

    original_update = ResourceMap.update

    def update(self: ResourceMap, template: dict[str, Any],
               parameters: dict[str, Any] | None = None) -> None:
        # The resources an update removes go first, in order, with moto's own removal left
        # with nothing to do; moto's error contract stays: the first failure is raised.
        removed = self.build_resource_diff(template, parameters)["Remove"]
        if removed:
            try:
                delete_in_order(self, removed)
            except ResourcesNotDeleted as exc:
                raise next(iter(exc.failures.values())) from exc
            self._resource_json_map = {name: resource for name, resource
                                       in self._resource_json_map.items()
                                       if name not in removed}
        original_update(self, template, parameters)

    original_create = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any],
                                  resources_map: Any, account_id: str, region_name: str) -> Any:
        if creation_closed(resources_map):
            return None
        return original_create(logical_id, resource_json, resources_map, account_id,
                               region_name)

    ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]
    ResourceMap.delete = delete  # type: ignore[method-assign]
    ResourceMap.update = update  # type: ignore[method-assign]
    parsing.parse_and_create_resource = parse_and_create_resource


def _failed_delete_keeps_the_stack() -> None:
    from moto.cloudformation.models import CloudFormationBackend, Stack, cloudformation_backends

    original_stack_delete = Stack.delete

    def delete(self: Stack) -> None:
        self.status = "DELETE_IN_PROGRESS"
        try:
            original_stack_delete(self)
        except ResourcesNotDeleted as exc:
            self.status = "DELETE_FAILED"
            self.status_reason = exc.reason
            self._add_stack_event("DELETE_FAILED", resource_status_reason=exc.reason)
            raise
        self.status_reason = None

    original_delete_stack = CloudFormationBackend.delete_stack

    def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        try:
            original_delete_stack(self, name_or_stack_id)
        except ResourcesNotDeleted:
            # moto dropped the stack from its list before deleting it; on AWS a stack whose
            # delete failed stays, DELETE_FAILED, and the DeleteStack call itself succeeded.
            if stack is not None:
                self.stacks[stack.stack_id] = stack

    original_stack_resources = Stack.stack_resources

    def stack_resources(self: Stack) -> Iterable[Any]:
        # None stands for a resource whose condition is false (or, once the stack's create has
        # ended, one never made): not a resource of the stack, which moto listed blank.
        resources = original_stack_resources.fget(self)  # type: ignore[attr-defined]
        return [resource for resource in resources if resource is not None]

    original_nested_delete = (
        Stack.delete_from_cloudformation_json.__func__)  # type: ignore[attr-defined]

    # With the DeleteStack call now succeeding whatever happens, a parent stack learns of its
    # nested stack's failure from the nested stack's status.
    def delete_from_cloudformation_json(cls: Any, resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> None:
        original_nested_delete(cls, resource_name, cloudformation_json, account_id, region_name)
        backend = cloudformation_backends[account_id][region_name]
        for nested in backend.stacks.values():
            if nested.name == resource_name and nested.status == "DELETE_FAILED":
                raise NestedStackNotDeleted(f"{resource_name}: {nested.status_reason}")

    Stack.delete = delete  # type: ignore[method-assign]
    Stack.stack_resources = property(stack_resources)  # type: ignore[assignment, method-assign]
    Stack.delete_from_cloudformation_json = classmethod(  # type: ignore[assignment]
        delete_from_cloudformation_json)
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]


def install() -> None:
    _resource_map_deletes_in_dependency_order()
    _failed_delete_keeps_the_stack()
