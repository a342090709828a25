"""The EC2, RDS and stack-tag fixes of `embedded_extensions`, each on a minimal stack over HTTP."""

from __future__ import annotations

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import AMI, create_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_instance_with_a_primary_network_interface_lands_in_its_subnet(ctx: PortalContext) -> None:
    ids = create_stack(ctx, {"Server": {"Type": "AWS::EC2::Instance", "Properties": {
        "ImageId": AMI, "InstanceType": "t3.micro",
        "NetworkInterfaces": [{"DeviceIndex": "0", "AssociatePublicIpAddress": True,
                               "SubnetId": {"Ref": "SubnetA"}, "GroupSet": [{"Ref": "Web"}]}]}}})
    instance = ctx.connection.client("ec2").describe_instances(InstanceIds=[ids["Server"]])[
        "Reservations"][0]["Instances"][0]
    assert instance["SubnetId"] == ids["SubnetA"]
    assert instance["VpcId"] == ids["Vpc"]
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [ids["Web"]]
    assert instance.get("PublicIpAddress")


def test_instance_reads_security_group_ids(ctx: PortalContext) -> None:
    ids = create_stack(ctx, {"Server": {"Type": "AWS::EC2::Instance", "Properties": {
        "ImageId": AMI, "SubnetId": {"Ref": "SubnetB"}, "SecurityGroupIds": [{"Ref": "Web"}]}}})
    instance = ctx.connection.client("ec2").describe_instances(InstanceIds=[ids["Server"]])[
        "Reservations"][0]["Instances"][0]
    assert instance["SubnetId"] == ids["SubnetB"]
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [ids["Web"]]


def test_database_gets_its_vpc_security_groups_subnet_group_and_the_stack_tags(
        ctx: PortalContext) -> None:
    ids = create_stack(ctx, {
        "Subnets": {"Type": "AWS::RDS::DBSubnetGroup", "Properties": {
            "DBSubnetGroupDescription": "db", "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}},
        "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "Engine": "mysql", "EngineVersion": "8.0", "DBInstanceClass": "db.t3.micro",
            "AllocatedStorage": "20", "MasterUsername": "admin",
            "ManageMasterUserPassword": True, "DBSubnetGroupName": {"Ref": "Subnets"},
            "VPCSecurityGroups": [{"Ref": "Web"}]}},
    }, tags={"sandbox:env-id": "ext-test"})
    assert ids["Subnets"], "the subnet group has a physical id"
    rds = ctx.connection.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier=ids["Db"])["DBInstances"][0]
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [ids["Web"]]
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == ids["Subnets"]
    assert {"Key": "sandbox:env-id", "Value": "ext-test"} in db["TagList"]
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=ids["Subnets"])["DBSubnetGroups"][0]
    tags = rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"])["TagList"]
    assert {"Key": "sandbox:env-id", "Value": "ext-test"} in tags
