"""The EC2, RDS and stack-tag fixes of `embedded_extensions`, each on a minimal stack over HTTP."""

from __future__ import annotations

import json
import uuid

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import AMI, NETWORK, create_stack

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


def test_each_instance_reads_exactly_its_own_tags(ctx: PortalContext) -> None:
    ec2 = ctx.connection.client("ec2")
    env = f"tags-{uuid.uuid4().hex[:6]}"
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=AMI, MinCount=3, MaxCount=3, TagSpecifications=[{
            "ResourceType": "instance", "Tags": [{"Key": "sandbox:env-id", "Value": env}]}],
    )["Instances"]]
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "role", "Value": "web"}])
    ec2.delete_tags(Resources=[ids[2]], Tags=[{"Key": "sandbox:env-id"}])

    found = ec2.describe_instances(Filters=[{"Name": "tag:sandbox:env-id", "Values": [env]}])
    tags = {i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])}
            for r in found["Reservations"] for i in r["Instances"]}
    assert tags == {ids[0]: {"sandbox:env-id": env, "role": "web"},
                    ids[1]: {"sandbox:env-id": env}}
    described = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [ids[0]]}])["Tags"]
    assert {(t["Key"], t["ResourceType"]) for t in described} == {
        ("sandbox:env-id", "instance"), ("role", "instance")}
    ec2.terminate_instances(InstanceIds=ids)


def test_stacks_with_subnets_create_side_by_side(ctx: PortalContext) -> None:
    """Many VPCs with subnets at once: each subnet looks up its VPC's default network ACL while
    other requests add ACLs of their own."""
    from concurrent.futures import ThreadPoolExecutor

    cloudformation = ctx.connection.client("cloudformation")
    names = [f"acl-{uuid.uuid4().hex[:8]}" for _ in range(24)]
    body = json.dumps({"Resources": NETWORK})
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda name: cloudformation.create_stack(StackName=name, TemplateBody=body),
                      names))
    statuses = {cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
                for name in names}
    assert statuses == {"CREATE_COMPLETE"}
    for name in names:
        cloudformation.delete_stack(StackName=name)
