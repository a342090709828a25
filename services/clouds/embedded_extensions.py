"""Fidelity fixes for moto 5.2.5's CloudFormation, installed only inside the embedded cloud's process.

Each fix is small, names the moto behaviour it corrects and is written so it could be offered to
moto itself. They patch moto's own classes, so they are pinned to the moto version below and
refuse to install on another one: a moto upgrade must re-check each of them.
"""

from __future__ import annotations

from typing import Any

import moto

PINNED_MOTO_VERSION = "5.2.5"

_installed = False


def _rds_reads_vpc_security_groups() -> None:
    """AWS::RDS::DBInstance takes `VPCSecurityGroups`; moto reads only `VpcSecurityGroupIds`, so a
    database launched from a real template ended up with no security group at all."""
    from moto.rds.models import DBInstance

    original = DBInstance.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json.get("Properties", {})
        if "VPCSecurityGroups" in properties and "VpcSecurityGroupIds" not in properties:
            properties = {**properties, "VpcSecurityGroupIds": properties["VPCSecurityGroups"]}
            cloudformation_json = {**cloudformation_json, "Properties": properties}
        return original(cls, resource_name, cloudformation_json, account_id, region_name,
                        **kwargs)

    DBInstance.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _stack_tags_reach_every_resource() -> None:
    """AWS propagates a stack's tags to every resource that supports tags; moto tags only EC2
    resources. Without this an RDS database or subnet group of a stack carries none of the
    stack's tags and cannot be found by them."""
    from moto.cloudformation.parsing import ResourceMap
    from moto.ec2.models.core import TaggedEC2Resource
    from moto.rds.models import RDSBaseModel

    original_create = ResourceMap.create

    def create(self: ResourceMap, template: dict[str, Any]) -> bool:
        ready = original_create(self, template)
        stack_tags = {k: v for k, v in self.tags.items() if not k.startswith("aws:")}
        if not stack_tags:
            return ready
        for logical_id in list(self._resource_json_map):
            resource = self._parsed_resources.get(logical_id)
            if isinstance(resource, TaggedEC2Resource) or not isinstance(resource, RDSBaseModel):
                continue
            existing = {tag["Key"] for tag in resource.get_tags()}
            extra = [{"Key": k, "Value": v} for k, v in stack_tags.items() if k not in existing]
            if extra:
                resource.add_tags(extra)
        return ready

    ResourceMap.create = create  # type: ignore[method-assign]


def install() -> None:
    global _installed
    if _installed:
        return
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(
            f"embedded cloud extensions are written for moto {PINNED_MOTO_VERSION}, "
            f"found {moto.__version__}; re-check each extension before changing the pin"
        )
    _rds_reads_vpc_security_groups()
    _stack_tags_reach_every_resource()
    _installed = True
