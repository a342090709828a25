"""Each fix of `embedded_extensions`, shown on a minimal stack in the embedded cloud over HTTP."""

from __future__ import annotations

import json
import uuid

import pytest

from services.context import PortalContext

pytestmark = pytest.mark.xdist_group("embedded-cloud")

AMI = "ami-0d27e0fb3bac4d724"
NETWORK = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.7.0.0/16"}},
    "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.7.1.0/24",
        "AvailabilityZone": "us-east-1a"}},
    "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.7.2.0/24",
        "AvailabilityZone": "us-east-1b"}},
    "Web": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "web", "VpcId": {"Ref": "Vpc"}}},
}


def _stack(ctx: PortalContext, resources: dict, tags: dict[str, str] | None = None) -> dict:
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(
        StackName=name, TemplateBody=json.dumps({"Resources": {**NETWORK, **resources}}),
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}


def test_instance_with_a_primary_network_interface_lands_in_its_subnet(ctx: PortalContext) -> None:
    ids = _stack(ctx, {"Server": {"Type": "AWS::EC2::Instance", "Properties": {
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
    ids = _stack(ctx, {"Server": {"Type": "AWS::EC2::Instance", "Properties": {
        "ImageId": AMI, "SubnetId": {"Ref": "SubnetB"}, "SecurityGroupIds": [{"Ref": "Web"}]}}})
    instance = ctx.connection.client("ec2").describe_instances(InstanceIds=[ids["Server"]])[
        "Reservations"][0]["Instances"][0]
    assert instance["SubnetId"] == ids["SubnetB"]
    assert [g["GroupId"] for g in instance["SecurityGroups"]] == [ids["Web"]]


def test_database_gets_its_vpc_security_groups_subnet_group_and_the_stack_tags(
        ctx: PortalContext) -> None:
    ids = _stack(ctx, {
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
