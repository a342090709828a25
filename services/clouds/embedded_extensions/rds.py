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
    name, which is what `Ref` returns too. The same for AWS::RDS::DBParameterGroup, whose `Ref`
    gave the group object itself, so a database naming its group by `Ref` failed inside moto
    ("'DBParameterGroup' object has no attribute 'startswith'")."""
    from moto.rds.models import DBParameterGroup, DBSubnetGroup

    DBSubnetGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[assignment]
    DBParameterGroup.physical_resource_id = property(  # type: ignore[attr-defined]
        lambda self: self.name)


def _engine_names_ignore_case() -> None:
    """RDS takes an engine name in any case and keeps it in lowercase (`Engine: MySQL`, common in
    AWS's own sample templates, becomes "mysql"); moto compared it case by case and refused
    "MySQL" with "engine MySQL not supported". Instances, replicas and clusters, through the API
    and through CloudFormation alike, get the engine in lowercase; so does a parameter group's
    family ("MySQL8.0" is "mysql8.0")."""
    from moto.rds.models import RDSBackend

    def lowercase(kwargs: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {**kwargs, **{key: kwargs[key].lower() for key in keys
                             if isinstance(kwargs.get(key), str)}}

    create_instance = RDSBackend.create_db_instance
    create_replica = RDSBackend.create_db_instance_read_replica
    create_cluster = RDSBackend.create_db_cluster
    create_parameter_group = RDSBackend.create_db_parameter_group

    def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        return create_instance(self, lowercase(db_kwargs, "engine"))

    def create_db_instance_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        return create_replica(self, lowercase(db_kwargs, "engine"))

    def create_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> Any:
        return create_cluster(self, lowercase(kwargs, "engine"))

    def create_db_parameter_group(self: RDSBackend, group_kwargs: dict[str, Any]) -> Any:
        return create_parameter_group(self, lowercase(group_kwargs, "db_parameter_group_family"))

    RDSBackend.create_db_instance = create_db_instance  # type: ignore[method-assign]
    RDSBackend.create_db_instance_read_replica = (  # type: ignore[method-assign]
        create_db_instance_read_replica)
    RDSBackend.create_db_cluster = create_db_cluster  # type: ignore[method-assign]
    RDSBackend.create_db_parameter_group = create_db_parameter_group  # type: ignore[method-assign]


def install() -> None:
    _rds_instance_reads_real_properties()
    _db_subnet_group_has_a_physical_id()
    _engine_names_ignore_case()
