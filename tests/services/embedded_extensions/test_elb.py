"""Classic load balancers where their template puts them, with AWS's shared default group and
the attributes templates read (`elb`), over HTTP."""

from __future__ import annotations

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")
LISTENERS = [{"LoadBalancerPort": "80", "InstancePort": "80", "Protocol": "HTTP"}]


def test_a_load_balancer_in_subnets_admits_only_itself(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Lb": {"Type": "AWS::ElasticLoadBalancing::LoadBalancer", "Properties": {
            "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            "SecurityGroups": [{"Ref": "Web"}], "Listeners": LISTENERS,
            "HealthCheck": {"Target": "HTTP:80/", "HealthyThreshold": "3",
                            "UnhealthyThreshold": "5", "Interval": "30", "Timeout": "5"}}},
        "Backend": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "only the load balancer", "VpcId": {"Ref": "Vpc"},
            "SecurityGroupIngress": [{
                "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                "SourceSecurityGroupOwnerId": {
                    "Fn::GetAtt": ["Lb", "SourceSecurityGroup.OwnerAlias"]},
                "SourceSecurityGroupId": {"Ref": "Web"}}]}},
    }, outputs={"Source": {"Fn::GetAtt": ["Lb", "SourceSecurityGroup.GroupName"]},
                "Owner": {"Fn::GetAtt": ["Lb", "SourceSecurityGroup.OwnerAlias"]},
                "Zone": {"Fn::GetAtt": ["Lb", "CanonicalHostedZoneNameID"]},
                "Dns": {"Fn::GetAtt": ["Lb", "DNSName"]}})
    assert stack.status == "CREATE_COMPLETE"
    described = ctx.connection.client("elb").describe_load_balancers(
        LoadBalancerNames=[stack.ids["Lb"]])["LoadBalancerDescriptions"][0]
    assert described["VPCId"] == stack.ids["Vpc"]
    assert sorted(described["Subnets"]) == sorted([stack.ids["SubnetA"], stack.ids["SubnetB"]])
    assert described["SecurityGroups"] == [stack.ids["Web"]]
    web = ctx.connection.client("ec2").describe_security_groups(GroupIds=[stack.ids["Web"]])[
        "SecurityGroups"][0]
    assert stack.outputs == {"Source": web["GroupName"], "Owner": "123456789012",
                             "Zone": "Z35SXDOTRQ7X7K",
                             "Dns": f"{stack.ids['Lb']}.us-east-1.elb.amazonaws.com"}
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_load_balancer_without_groups_gets_the_vpcs_default_group(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Lb": {"Type": "AWS::ElasticLoadBalancing::LoadBalancer",
                                      "Properties": {"Subnets": [{"Ref": "SubnetA"}],
                                                     "Listeners": LISTENERS}}})
    groups = ctx.connection.client("elb").describe_load_balancers(
        LoadBalancerNames=[stack.ids["Lb"]])["LoadBalancerDescriptions"][0]["SecurityGroups"]
    ec2 = ctx.connection.client("ec2")
    [group] = ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]
    assert (group["GroupName"], group["VpcId"]) == ("default", stack.ids["Vpc"])
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_load_balancers_in_the_default_vpc_share_one_group(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {f"Lb{n}": {
        "Type": "AWS::ElasticLoadBalancing::LoadBalancer", "Properties": {
            "AvailabilityZones": ["us-east-1a"], "Listeners": LISTENERS}} for n in (1, 2)},
        network=False)
    elb = ctx.connection.client("elb")
    groups = [elb.describe_load_balancers(LoadBalancerNames=[stack.ids[f"Lb{n}"]])[
        "LoadBalancerDescriptions"][0]["SecurityGroups"] for n in (1, 2)]
    assert groups[0] == groups[1] and len(groups[0]) == 1
    shared = ctx.connection.client("ec2").describe_security_groups(GroupIds=groups[0])[
        "SecurityGroups"][0]
    assert shared["GroupName"].startswith("default_elb_")
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    # As on AWS, the account's group outlives its load balancers, for the next ones.
    assert ctx.connection.client("ec2").describe_security_groups(
        GroupIds=groups[0])["SecurityGroups"]
