"""RDS engine names in any case, and parameter groups named by `Ref` (`rds`), over HTTP."""

from __future__ import annotations

import uuid

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_a_mixed_case_engine_and_family_launch_as_rds_keeps_them(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Params": {"Type": "AWS::RDS::DBParameterGroup", "Properties": {
            "Description": "lab", "Family": "MySQL8.0",
            "Parameters": {"max_connections": "50"}}},
        "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "Engine": "MySQL", "EngineVersion": "8.0", "DBInstanceClass": "db.t3.micro",
            "AllocatedStorage": "20", "MasterUsername": "admin",
            "MasterUserPassword": "lab-password-1", "DBParameterGroupName": {"Ref": "Params"}}},
    }, network=False)
    assert stack.status == "CREATE_COMPLETE"
    rds = ctx.connection.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier=stack.ids["Db"])["DBInstances"][0]
    assert db["Engine"] == "mysql"
    assert [g["DBParameterGroupName"] for g in db["DBParameterGroups"]] == [stack.ids["Params"]]
    group = rds.describe_db_parameter_groups(DBParameterGroupName=stack.ids["Params"])[
        "DBParameterGroups"][0]
    assert group["DBParameterGroupFamily"] == "mysql8.0"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_the_api_takes_an_engine_in_any_case_too(ctx: PortalContext) -> None:
    rds = ctx.connection.client("rds")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    created = rds.create_db_instance(
        DBInstanceIdentifier=name, Engine="MariaDB", EngineVersion="10.11",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="lab-password-1")
    assert created["DBInstance"]["Engine"] == "mariadb"
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
