"""RDS: a database and its subnet group as AWS::RDS::* declares them."""

from __future__ import annotations

from typing import Any


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


def _db_subnet_group_has_a_physical_id() -> None:
    """moto lists an AWS::RDS::DBSubnetGroup of a stack with an empty physical id; AWS gives its
    name, which is what `Ref` returns too."""
    from moto.rds.models import DBSubnetGroup

    DBSubnetGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[assignment]


def install() -> None:
    _rds_instance_reads_real_properties()
    _db_subnet_group_has_a_physical_id()
