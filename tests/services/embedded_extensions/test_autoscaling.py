"""Scaling policies made, shown and deleted by their stack; stack tags on Auto Scaling groups."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import WEB_TIER, delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")

POLICIES = [
    pytest.param(
        {"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": {
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": "50"}},
        {"PolicyType": "TargetTrackingScaling", "TargetTrackingConfiguration": {
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": 50.0}},
        id="target-tracking"),
    pytest.param(
        {"PolicyType": "SimpleScaling", "AdjustmentType": "ChangeInCapacity",
         "ScalingAdjustment": "1", "Cooldown": "120"},
        {"PolicyType": "SimpleScaling", "AdjustmentType": "ChangeInCapacity",
         "ScalingAdjustment": 1, "Cooldown": 120},
        id="simple"),
    pytest.param(
        {"PolicyType": "StepScaling", "AdjustmentType": "PercentChangeInCapacity",
         "MetricAggregationType": "Average", "StepAdjustments": [
             {"MetricIntervalLowerBound": "0", "MetricIntervalUpperBound": "20",
              "ScalingAdjustment": "10"},
             {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 30}]},
        {"PolicyType": "StepScaling", "AdjustmentType": "PercentChangeInCapacity",
         "MetricAggregationType": "Average", "StepAdjustments": [
             {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0,
              "ScalingAdjustment": 10},
             {"MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 30}]},
        id="step"),
]


@pytest.mark.parametrize(("properties", "expected"), POLICIES)
def test_scaling_policy_lives_and_dies_with_its_stack(
        ctx: PortalContext, properties: dict[str, Any], expected: dict[str, Any]) -> None:
    stack = launch_stack(ctx, {**WEB_TIER, "Scale": {
        "Type": "AWS::AutoScaling::ScalingPolicy",
        "Properties": {"AutoScalingGroupName": {"Ref": "Group"}, **properties}}},
        outputs={"Ref": {"Ref": "Scale"}, "Arn": {"Fn::GetAtt": ["Scale", "Arn"]},
                 "Name": {"Fn::GetAtt": ["Scale", "PolicyName"]}})
    assert stack.status == "CREATE_COMPLETE"
    group = stack.ids["Group"]
    autoscaling = ctx.connection.client("autoscaling")
    policies = autoscaling.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]
    assert len(policies) == 1
    policy = policies[0]
    # As on AWS, Ref gives the policy's ARN.
    assert stack.ids["Scale"] == stack.outputs["Ref"] == stack.outputs["Arn"] == policy["PolicyARN"]
    assert stack.outputs["Name"] == policy["PolicyName"]
    assert policy["PolicyName"].startswith(f"{stack.name}-Scale-")
    assert policy["PolicyARN"].endswith(
        f":autoScalingGroupName/{group}:policyName/{policy['PolicyName']}")
    assert {key: policy.get(key) for key in expected} == expected

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert autoscaling.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"] == []
    assert autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[group])["AutoScalingGroups"] == []


def test_auto_scaling_group_and_its_instances_carry_the_stack_tags(ctx: PortalContext) -> None:
    env_id = f"asg-{uuid.uuid4().hex[:8]}"
    stack = launch_stack(ctx, WEB_TIER, tags={"sandbox:env-id": env_id, "sandbox:owner": "ann"})
    group = ctx.connection.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[stack.ids["Group"]])["AutoScalingGroups"][0]
    tags = {t["Key"]: (t["Value"], t["PropagateAtLaunch"]) for t in group["Tags"]}
    assert tags["sandbox:env-id"] == (env_id, True)
    assert tags["sandbox:owner"] == ("ann", True)

    ec2 = ctx.connection.client("ec2")
    tagged = ec2.describe_instances(Filters=[
        {"Name": "tag:sandbox:env-id", "Values": [env_id]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    instance_ids = sorted(i["InstanceId"] for r in tagged["Reservations"] for i in r["Instances"])
    assert instance_ids == sorted(i["InstanceId"] for i in group["Instances"])
    assert len(instance_ids) == 1

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    still_running = ec2.describe_instances(Filters=[
        {"Name": "tag:sandbox:env-id", "Values": [env_id]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    assert still_running["Reservations"] == []
