"""Addresses, interfaces, network ACLs and subnets as a stack declares them (`ec2_network`),
seen through the EC2 API, over HTTP."""

from __future__ import annotations

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import AMI, delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_addresses_associate_with_an_instance_and_an_interface(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Server": {"Type": "AWS::EC2::Instance", "Properties": {
            "ImageId": AMI, "InstanceType": "t3.micro", "SubnetId": {"Ref": "SubnetA"}}},
        "Address": {"Type": "AWS::EC2::EIP",
                    "Properties": {"Tags": [{"Key": "role", "Value": "web"}]}},
        "Attach": {"Type": "AWS::EC2::EIPAssociation", "Properties": {
            "InstanceId": {"Ref": "Server"},
            "AllocationId": {"Fn::GetAtt": ["Address", "AllocationId"]}}},
        "Nic": {"Type": "AWS::EC2::NetworkInterface", "Properties": {
            "SubnetId": {"Ref": "SubnetB"}, "GroupSet": [{"Ref": "Web"}],
            "SecondaryPrivateIpAddressCount": 2, "SourceDestCheck": False}},
        "Second": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
        "AttachNic": {"Type": "AWS::EC2::EIPAssociation", "Properties": {
            "NetworkInterfaceId": {"Ref": "Nic"},
            "AllocationId": {"Fn::GetAtt": ["Second", "AllocationId"]},
            "PrivateIpAddress": {"Fn::Select": [0, {"Fn::GetAtt": [
                "Nic", "SecondaryPrivateIpAddresses"]}]}}},
    }, outputs={"Ip": {"Fn::GetAtt": ["Address", "PublicIp"]},
                "Secondary": {"Fn::Join": [",", {"Fn::GetAtt": [
                    "Nic", "SecondaryPrivateIpAddresses"]}]}})
    assert stack.status == "CREATE_COMPLETE"
    assert stack.ids["Attach"].startswith("eipassoc-")
    ec2 = ctx.connection.client("ec2")
    address = ec2.describe_addresses(PublicIps=[stack.outputs["Ip"]])["Addresses"][0]
    assert (address["Domain"], address["InstanceId"]) == ("vpc", stack.ids["Server"])
    assert {"Key": "role", "Value": "web"} in address["Tags"]
    interface = ec2.describe_network_interfaces(NetworkInterfaceIds=[stack.ids["Nic"]])[
        "NetworkInterfaces"][0]
    secondary = [a["PrivateIpAddress"] for a in interface["PrivateIpAddresses"]
                 if not a["Primary"]]
    assert len(secondary) == 2 and stack.outputs["Secondary"] == ",".join(secondary)
    assert [g["GroupId"] for g in interface["Groups"]] == [stack.ids["Web"]]
    assert interface["SourceDestCheck"] is False

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert ec2.describe_addresses(Filters=[{"Name": "public-ip", "Values": [
        stack.outputs["Ip"]]}])["Addresses"] == []


def test_a_network_acl_with_entries_replaces_the_subnets_default(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Acl": {"Type": "AWS::EC2::NetworkAcl", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "InHttps": {"Type": "AWS::EC2::NetworkAclEntry", "Properties": {
            "NetworkAclId": {"Ref": "Acl"}, "RuleNumber": "100", "Protocol": "6",
            "RuleAction": "allow", "Egress": "false", "CidrBlock": "0.0.0.0/0",
            "PortRange": {"From": "443", "To": "443"}}},
        "OutAll": {"Type": "AWS::EC2::NetworkAclEntry", "Properties": {
            "NetworkAclId": {"Ref": "Acl"}, "RuleNumber": 100, "Protocol": -1,
            "RuleAction": "allow", "Egress": True, "CidrBlock": "0.0.0.0/0"}},
        "UseAcl": {"Type": "AWS::EC2::SubnetNetworkAclAssociation", "Properties": {
            "SubnetId": {"Ref": "SubnetA"}, "NetworkAclId": {"Ref": "Acl"}}},
    })
    assert stack.status == "CREATE_COMPLETE"
    ec2 = ctx.connection.client("ec2")
    acl = ec2.describe_network_acls(NetworkAclIds=[stack.ids["Acl"]])["NetworkAcls"][0]
    assert sorted((e["RuleNumber"], e["Egress"]) for e in acl["Entries"]) == [
        (100, False), (100, True)]
    assert [a["SubnetId"] for a in acl["Associations"]] == [stack.ids["SubnetA"]]
    assert acl["Associations"][0]["NetworkAclAssociationId"] == stack.ids["UseAcl"]

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert stack.ids["Acl"] not in {a["NetworkAclId"] for a in
                                    ec2.describe_network_acls()["NetworkAcls"]}


def test_subnets_answer_their_attributes_and_give_public_addresses(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Public": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.7.3.0/24",
            "AvailabilityZone": "us-east-1c", "MapPublicIpOnLaunch": "true"}},
        "Server": {"Type": "AWS::EC2::Instance", "Properties": {
            "ImageId": AMI, "InstanceType": "t3.micro", "SubnetId": {"Ref": "Public"}}},
        "Private": {"Type": "AWS::EC2::Instance", "Properties": {
            "ImageId": AMI, "InstanceType": "t3.micro", "SubnetId": {"Ref": "SubnetA"}}},
    }, outputs={"SubnetId": {"Fn::GetAtt": ["Public", "SubnetId"]},
                "Zone": {"Fn::GetAtt": ["Public", "AvailabilityZone"]},
                "Cidr": {"Fn::GetAtt": ["Public", "CidrBlock"]},
                "VpcId": {"Fn::GetAtt": ["Public", "VpcId"]},
                "PublicDns": {"Fn::GetAtt": ["Server", "PublicDnsName"]}})
    assert stack.outputs["SubnetId"] == stack.ids["Public"]
    assert (stack.outputs["Zone"], stack.outputs["Cidr"], stack.outputs["VpcId"]) == (
        "us-east-1c", "10.7.3.0/24", stack.ids["Vpc"])
    ec2 = ctx.connection.client("ec2")
    instances = {i["InstanceId"]: i for r in ec2.describe_instances(InstanceIds=[
        stack.ids["Server"], stack.ids["Private"]])["Reservations"] for i in r["Instances"]}
    assert instances[stack.ids["Server"]].get("PublicIpAddress")
    assert stack.outputs["PublicDns"] == instances[stack.ids["Server"]]["PublicDnsName"]
    assert not instances[stack.ids["Private"]].get("PublicIpAddress")
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
