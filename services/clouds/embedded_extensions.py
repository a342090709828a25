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


def _rds_instance_reads_real_properties() -> None:
    """AWS::RDS::DBInstance takes `VPCSecurityGroups`; moto reads only `VpcSecurityGroupIds`, so a
    database launched from a real template ended up with no security group at all. It also
    expects `DBSubnetGroupName` to be the group object moto's `Ref` used to return; with the
    subnet group's physical id fixed below, `Ref` gives its name, as on AWS."""
    from moto.rds.models import DBInstance, rds_backends

    original = DBInstance.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json.get("Properties", {})
        if "VPCSecurityGroups" in properties and "VpcSecurityGroupIds" not in properties:
            properties = {**properties, "VpcSecurityGroupIds": properties["VPCSecurityGroups"]}
        subnet_group = properties.get("DBSubnetGroupName")
        if isinstance(subnet_group, str):
            backend = rds_backends[account_id][region_name]
            properties = {**properties,
                          "DBSubnetGroupName": backend.subnet_groups[subnet_group.lower()]}
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


def _instance_reads_its_network_placement() -> None:
    """AWS::EC2::Instance in moto reads neither `NetworkInterfaces` nor `SecurityGroupIds`: an
    instance declared with a primary network interface in a subnet lands in the default VPC with
    no security group. This reads the subnet, groups and public-IP choice from either form."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import Instance

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> Instance:
        properties = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        primary = next((nic for nic in properties.get("NetworkInterfaces") or []
                        if str(nic.get("DeviceIndex")) == "0"), {})
        group_ids = list(properties.get("SecurityGroupIds") or primary.get("GroupSet") or [])
        # `SecurityGroups` holds names in AWS; moto's own code treats them as ids, keep both.
        group_names = [
            backend.get_security_group_by_name_or_id(group).name  # type: ignore[union-attr]
            for group in properties.get("SecurityGroups") or []
        ]
        public_ip = primary.get("AssociatePublicIpAddress")
        reservation = backend.run_instances(
            image_id=properties["ImageId"], user_data=properties.get("UserData"), count=1,
            security_group_names=group_names, security_group_ids=group_ids,
            instance_type=properties.get("InstanceType", "m1.small"),
            is_instance_type_default=not properties.get("InstanceType"),
            subnet_id=properties.get("SubnetId") or primary.get("SubnetId"),
            key_name=properties.get("KeyName"), private_ip=properties.get("PrivateIpAddress"),
            associate_public_ip=None if public_ip is None else str(public_ip).lower() == "true",
            block_device_mappings=properties.get("BlockDeviceMappings", {}),
        )
        instance = reservation.instances[0]
        for tag in properties.get("Tags", []):
            instance.add_tag(tag["Key"], tag["Value"])
        if properties.get("IamInstanceProfile"):
            backend.associate_iam_instance_profile(
                instance_id=instance.id,
                iam_instance_profile_name=properties.get("IamInstanceProfile"))
        return instance

    Instance.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def _db_subnet_group_has_a_physical_id() -> None:
    """moto lists an AWS::RDS::DBSubnetGroup of a stack with an empty physical id; AWS gives its
    name, which is what `Ref` returns too."""
    from moto.rds.models import DBSubnetGroup

    DBSubnetGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[assignment]


def install() -> None:
    global _installed
    if _installed:
        return
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise RuntimeError(
            f"embedded cloud extensions are written for moto {PINNED_MOTO_VERSION}, "
            f"found {moto.__version__}; re-check each extension before changing the pin"
        )
    _rds_instance_reads_real_properties()
    _stack_tags_reach_every_resource()
    _instance_reads_its_network_placement()
    _db_subnet_group_has_a_physical_id()
    _installed = True
