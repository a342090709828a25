"""What a resource's failed create made before it failed, deleted again.

Many of moto's creates make the resource first and configure it after: an AWS::Events::Rule is
put, then its targets; a bad target fails the create, and the rule stays, in no stack's resource
list and under none of the stack's tags, where neither the rollback nor the portal's sweep can
find it. On AWS a resource whose create failed is cleaned up by CloudFormation. Here every object
of the resource's own model that its create made (moto keeps a record of every model object it
makes) is deleted, through the same delete the stack would use, when that create fails. Objects
made while a service's backend starts for the first time (a region's default VPC and group) are
the region's, not the resource's, and are never counted.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from services.clouds.embedded_extensions.stack_deletion import deleter

_log = logging.getLogger(__name__)
# Per request thread: a list of objects per create under way (creates nest: a resource's
# properties create the resources they refer to first), and whether a backend is starting.
_local = threading.local()


def _journals() -> list[list[Any]]:
    if not hasattr(_local, "journals"):
        _local.journals = []
    return _local.journals  # type: ignore[no-any-return]


def _model_objects_are_noted() -> None:
    from moto.core.common_models import BaseModel

    original_new = BaseModel.__new__

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        made = original_new(cls, *args, **kwargs)
        journals = _journals()
        if journals and not getattr(_local, "backend_starting", False):
            journals[-1].append(made)
        return made

    BaseModel.__new__ = staticmethod(new)  # type: ignore[assignment, method-assign]


def _backend_starts_are_told_apart() -> None:
    from moto.core.base_backend import AccountSpecificBackend

    original_getitem = AccountSpecificBackend.__getitem__

    def __getitem__(self: AccountSpecificBackend[Any], region_name: str) -> Any:
        if region_name in self.keys():
            return original_getitem(self, region_name)
        starting = getattr(_local, "backend_starting", False)
        _local.backend_starting = True
        try:
            return original_getitem(self, region_name)
        finally:
            _local.backend_starting = starting

    AccountSpecificBackend.__getitem__ = __getitem__  # type: ignore[method-assign]


def _failed_creates_remove_what_they_made() -> None:
    from moto.cloudformation import parsing

    original_create = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any],
                                  resources_map: Any, account_id: str, region_name: str) -> Any:
        journals = _journals()
        journals.append([])
        try:
            return original_create(logical_id, resource_json, resources_map, account_id,
                                   region_name)
        except Exception:
            _remove(journals[-1], resource_json, account_id, region_name)
            raise
        finally:
            journals.pop()

    parsing.parse_and_create_resource = parse_and_create_resource


def _remove(made: list[Any], resource_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
    from moto.cloudformation import parsing

    model = parsing.get_model_map().get(resource_json.get("Type", ""))
    if model is None:
        return
    for leftover in reversed([obj for obj in made if isinstance(obj, model)]):
        delete = deleter(leftover, resource_json)
        if delete is None:
            continue
        try:
            delete(account_id, region_name)
        except Exception:  # noqa: BLE001 - the create's own error is the one reported
            _log.warning("could not remove a half-made %s", resource_json.get("Type"),
                         exc_info=True)


def install() -> None:
    _model_objects_are_noted()
    _backend_starts_are_told_apart()
    _failed_creates_remove_what_they_made()
