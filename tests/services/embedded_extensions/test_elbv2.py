"""ELBv2 attributes for outputs and alarm dimensions, tags, and deletion with the stack."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    NETWORK,
    WEB_TIER,
    delete_stack,
    launch_stack,
    tagged_arns,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

ATTRIBUTES = {
    "FullName": {"Fn::GetAtt": ["Alb", "LoadBalancerFullName"]},
    "Zone": {"Fn::GetAtt": ["Alb", "CanonicalHostedZoneID"]},
    "Dns": {"Fn::GetAtt": ["Alb", "DNSName"]},
    "BalancerName": {"Fn::GetAtt": ["Alb", "LoadBalancerName"]},
    "BalancerArn": {"Fn::GetAtt": ["Alb", "LoadBalancerArn"]},
    "Groups": {"Fn::Join": [",", {"Fn::GetAtt": ["Alb", "SecurityGroups"]}]},
    "TargetGroupFullName": {"Fn::GetAtt": ["Targets", "TargetGroupFullName"]},
    "TargetGroupName": {"Fn::GetAtt": ["Targets", "TargetGroupName"]},
    "TargetGroupArn": {"Fn::GetAtt": ["Targets", "TargetGroupArn"]},
    "TargetGroupBalancers": {"Fn::Join": [",", {"Fn::GetAtt": ["Targets", "LoadBalancerArns"]}]},
}


def test_load_balancer_and_target_group_attributes_are_real(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, WEB_TIER, outputs=ATTRIBUTES)
    assert stack.status == "CREATE_COMPLETE"
    # Every output is there: a bad attribute used to wipe them all.
    assert set(stack.outputs) == set(ATTRIBUTES)

    elbv2 = ctx.connection.client("elbv2")
    balancer = elbv2.describe_load_balancers(
        LoadBalancerArns=[stack.ids["Alb"]])["LoadBalancers"][0]
    _, _, balancer_id = stack.outputs["FullName"].split("/")
    assert stack.outputs["FullName"] == f"app/{balancer['LoadBalancerName']}/{balancer_id}"
    assert balancer["LoadBalancerArn"].endswith(f":loadbalancer/{stack.outputs['FullName']}")
    assert stack.outputs["Zone"] == balancer["CanonicalHostedZoneId"] == "Z35SXDOTRQ7X7K"
    assert stack.outputs["Dns"] == balancer["DNSName"]
    assert stack.outputs["BalancerName"] == balancer["LoadBalancerName"]
    assert stack.outputs["BalancerArn"] == stack.ids["Alb"]
    assert stack.outputs["Groups"] == stack.ids["Web"]

    group = elbv2.describe_target_groups(
        TargetGroupArns=[stack.ids["Targets"]])["TargetGroups"][0]
    _, _, group_id = stack.outputs["TargetGroupFullName"].split("/")
    assert stack.outputs["TargetGroupFullName"] == \
        f"targetgroup/{group['TargetGroupName']}/{group_id}"
    assert group["TargetGroupArn"].endswith(f":{stack.outputs['TargetGroupFullName']}")
    assert stack.outputs["TargetGroupName"] == group["TargetGroupName"]
    assert stack.outputs["TargetGroupArn"] == stack.ids["Targets"]
    assert stack.outputs["TargetGroupBalancers"] == stack.ids["Alb"]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("balancer_type", "prefix", "zone"), [
    ("application", "app", "Z35SXDOTRQ7X7K"),
    ("network", "net", "Z26RNL4JYFTOTI"),
])
def test_load_balancer_type_decides_its_full_name_and_hosted_zone(
        ctx: PortalContext, balancer_type: str, prefix: str, zone: str) -> None:
    stack = launch_stack(ctx, {"Balancer": {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Type": balancer_type, "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]}}},
        outputs={"FullName": {"Fn::GetAtt": ["Balancer", "LoadBalancerFullName"]},
                 "Zone": {"Fn::GetAtt": ["Balancer", "CanonicalHostedZoneID"]}})
    balancer = ctx.connection.client("elbv2").describe_load_balancers(
        LoadBalancerArns=[stack.ids["Balancer"]])["LoadBalancers"][0]
    assert balancer["Type"] == balancer_type
    assert stack.outputs["FullName"].startswith(f"{prefix}/{balancer['LoadBalancerName']}/")
    assert stack.outputs["Zone"] == balancer["CanonicalHostedZoneId"] == zone
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_load_balancer_and_target_group_carry_tags_and_go_with_the_stack(
        ctx: PortalContext) -> None:
    env_id = f"lb-{uuid.uuid4().hex[:8]}"
    tier = [{"Key": "tier", "Value": "web"}]
    resources = {**WEB_TIER,
                 "Alb": {**WEB_TIER["Alb"], "Properties": {**WEB_TIER["Alb"]["Properties"],
                                                            "Tags": tier}},
                 "Targets": {**WEB_TIER["Targets"], "Properties": {
                     **WEB_TIER["Targets"]["Properties"], "Tags": tier}}}
    stack = launch_stack(ctx, resources, tags={"sandbox:env-id": env_id})
    elbv2 = ctx.connection.client("elbv2")
    arns = [stack.ids["Alb"], stack.ids["Targets"]]
    for description in elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]:
        assert {"Key": "tier", "Value": "web"} in description["Tags"]
        assert {"Key": "sandbox:env-id", "Value": env_id} in description["Tags"]
    assert sorted(a for a in tagged_arns(ctx, "sandbox:env-id", env_id)
                  if ":elasticloadbalancing:" in a) == sorted(arns)
    listener = elbv2.describe_listeners(LoadBalancerArn=stack.ids["Alb"])["Listeners"][0]
    assert listener["ListenerArn"] == stack.ids["Listener"]

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    for call, arn_list in ((elbv2.describe_load_balancers, "LoadBalancerArns"),
                           (elbv2.describe_target_groups, "TargetGroupArns"),
                           (elbv2.describe_listeners, "ListenerArns")):
        key = {"LoadBalancerArns": stack.ids["Alb"], "TargetGroupArns": stack.ids["Targets"],
               "ListenerArns": stack.ids["Listener"]}[arn_list]
        with pytest.raises(ClientError) as gone:
            call(**{arn_list: [key]})
        assert gone.value.response["Error"]["Code"].endswith("NotFound")
    assert not [a for a in tagged_arns(ctx, "sandbox:env-id", env_id)
                if ":elasticloadbalancing:" in a]


def test_listener_rule_removed_from_its_stack_is_deleted(ctx: PortalContext) -> None:
    rule = {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
        "ListenerArn": {"Ref": "Listener"}, "Priority": 10,
        "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"]}],
        "Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Targets"}}]}}
    stack = launch_stack(ctx, {**WEB_TIER, "ApiRule": rule})
    elbv2 = ctx.connection.client("elbv2")
    rules = elbv2.describe_rules(ListenerArn=stack.ids["Listener"])["Rules"]
    assert stack.ids["ApiRule"] in [r["RuleArn"] for r in rules]

    cloudformation = ctx.connection.client("cloudformation")
    cloudformation.update_stack(StackName=stack.name, TemplateBody=json.dumps(
        {"Resources": {**NETWORK, **WEB_TIER}}))
    rules = elbv2.describe_rules(ListenerArn=stack.ids["Listener"])["Rules"]
    assert [r["IsDefault"] for r in rules] == [True]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_target_group_numbers_from_parameters_are_numbers(ctx: PortalContext) -> None:
    # Template parameters arrive as text: "5" and "30" once failed as "5" > "30".
    stack = launch_stack(ctx, {"Checked": {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "Port": "8080", "Protocol": "HTTP",
            "HealthCheckIntervalSeconds": "30", "HealthCheckTimeoutSeconds": "5",
            "HealthyThresholdCount": "2", "UnhealthyThresholdCount": "10"}}})
    assert stack.status == "CREATE_COMPLETE"
    group = ctx.connection.client("elbv2").describe_target_groups(
        TargetGroupArns=[stack.ids["Checked"]])["TargetGroups"][0]
    assert (group["Port"], group["HealthCheckIntervalSeconds"],
            group["HealthCheckTimeoutSeconds"], group["UnhealthyThresholdCount"]) == \
        (8080, 30, 5, 10)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
