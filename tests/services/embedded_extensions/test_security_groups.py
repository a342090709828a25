"""Security groups with every rule their template declares (`security_groups`), over HTTP."""

from __future__ import annotations

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    NETWORK, delete_stack, failing_create, launch_stack,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_rules_without_ports_and_declared_egress(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Lb": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "lb", "VpcId": {"Ref": "Vpc"},
            "SecurityGroupIngress": [
                {"IpProtocol": "-1", "SourceSecurityGroupId": {"Ref": "Web"}},
                {"IpProtocol": "tcp", "FromPort": "443", "ToPort": "443",
                 "CidrIp": "0.0.0.0/0", "Description": "https"},
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIpv6": "::/0"}],
            "SecurityGroupEgress": [
                {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                 "DestinationSecurityGroupId": {"Ref": "Web"}}]}},
        "WebOut": {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
            "GroupId": {"Ref": "Web"}, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "CidrIp": "10.7.0.0/16"}},
    })
    assert stack.status == "CREATE_COMPLETE"
    assert stack.ids["WebOut"].startswith("sgr-")
    ec2 = ctx.connection.client("ec2")
    groups = {g["GroupId"]: g for g in ec2.describe_security_groups(
        GroupIds=[stack.ids["Lb"], stack.ids["Web"]])["SecurityGroups"]}
    lb = groups[stack.ids["Lb"]]
    ingress = {(p["IpProtocol"], p.get("FromPort")): p for p in lb["IpPermissions"]}
    assert ingress["-1", None]["UserIdGroupPairs"][0]["GroupId"] == stack.ids["Web"]
    assert ingress["tcp", 443]["IpRanges"] == [{"CidrIp": "0.0.0.0/0", "Description": "https"}]
    assert ingress["tcp", 80]["Ipv6Ranges"][0]["CidrIpv6"] == "::/0"
    assert [(p["IpProtocol"], p["FromPort"], p["UserIdGroupPairs"][0]["GroupId"])
            for p in lb["IpPermissionsEgress"]] == [("tcp", 8080, stack.ids["Web"])]
    web_egress = groups[stack.ids["Web"]]["IpPermissionsEgress"]
    assert {(p["IpProtocol"], p.get("FromPort")) for p in web_egress} == {("-1", None),
                                                                          ("tcp", 5432)}

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_group_whose_rule_fails_is_not_left_behind(ctx: PortalContext) -> None:
    stack = failing_create(ctx, {"Resources": {**NETWORK, "Bad": {
        "Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "bad", "VpcId": {"Ref": "Vpc"},
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                      "CidrIp": "not-a-cidr"}]}}}}, DisableRollback=True)
    assert stack.status == "CREATE_FAILED"
    assert "Bad" in stack.reasons
    cloudformation = ctx.connection.client("cloudformation")
    vpc_id, web_id = (cloudformation.describe_stack_resource(
        StackName=stack.name, LogicalResourceId=logical_id)["StackResourceDetail"][
        "PhysicalResourceId"] for logical_id in ("Vpc", "Web"))
    groups = ctx.connection.client("ec2").describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert {g["GroupId"] for g in groups if g["GroupName"] != "default"} == {web_id}
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
