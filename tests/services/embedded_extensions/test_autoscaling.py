"""Scaling policies made, shown and deleted by their stack; stack tags on Auto Scaling groups;
scaling activities and the replacement of unhealthy instances."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.clouds.simulated_clock import at_simulated_time, use_simulated_clock
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


# Scaling activities and the replacement of unhealthy instances. Every moment is simulated, a
# day back, so that the activities' times can be asserted exactly.

def _elb_checked_tier(desired: int = 1) -> dict[str, Any]:
    group = WEB_TIER["Group"]
    return {**WEB_TIER, "Group": {**group, "Properties": {
        **group["Properties"], "MaxSize": "4", "DesiredCapacity": str(desired),
        "HealthCheckType": "ELB", "HealthCheckGracePeriod": "300"}}}


def _aws_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _activities(autoscaling: Any, group: str, **kwargs: Any) -> list[dict[str, Any]]:
    pages = autoscaling.get_paginator("describe_scaling_activities").paginate(
        AutoScalingGroupName=group, **kwargs)
    return [activity for page in pages for activity in page["Activities"]]


def _members(autoscaling: Any, group: str) -> list[str]:
    described = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    return [i["InstanceId"] for i in described["AutoScalingGroups"][0]["Instances"]]


@pytest.fixture
def created_at() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def test_group_made_by_a_stack_records_its_launches(ctx: PortalContext,
                                                    created_at: datetime) -> None:
    # launch_stack creates the stack with the context's client, prepared here.
    use_simulated_clock(ctx.connection.client("cloudformation"))
    with at_simulated_time(created_at):
        stack = launch_stack(ctx, _elb_checked_tier(desired=2))
    autoscaling = ctx.connection.client("autoscaling")
    group = stack.ids["Group"]

    activities = _activities(autoscaling, group)
    assert len(activities) == 2
    assert {a["Description"] for a in activities} == {
        f"Launching a new EC2 instance: {i}" for i in _members(autoscaling, group)}
    subnet = stack.ids["SubnetA"]
    for activity in activities:
        uuid.UUID(activity["ActivityId"])
        assert activity["AutoScalingGroupName"] == group
        assert activity["StatusCode"] == "Successful" and activity["Progress"] == 100
        assert re.fullmatch(
            rf"At {_aws_time(created_at)} a user request created an AutoScalingGroup changing "
            r"the desired capacity from 0 to 2\.  At \S+Z an instance was started in response "
            r"to a difference between desired and actual capacity, increasing the capacity "
            r"from 0 to 2\.", activity["Cause"])
        assert json.loads(activity["Details"]) == {"Subnet ID": subnet,
                                                   "Availability Zone": "us-east-1a"}
        # Launches end half a minute or so after they start, both after the request.
        assert created_at < activity["StartTime"] < activity["EndTime"]
        assert timedelta(seconds=20) < activity["EndTime"] - activity["StartTime"] \
            < timedelta(minutes=2)
    assert [a["StartTime"] for a in activities] == sorted(
        (a["StartTime"] for a in activities), reverse=True)


def test_unhealthy_instance_is_replaced_with_two_activities(ctx: PortalContext,
                                                            created_at: datetime) -> None:
    use_simulated_clock(ctx.connection.client("cloudformation"))
    with at_simulated_time(created_at):
        stack = launch_stack(ctx, _elb_checked_tier())
    autoscaling = use_simulated_clock(ctx.connection.client("autoscaling"))
    group = stack.ids["Group"]
    [unhealthy] = _members(autoscaling, group)
    failed_at = created_at + timedelta(hours=2)

    with at_simulated_time(failed_at):
        autoscaling.set_instance_health(InstanceId=unhealthy, HealthStatus="Unhealthy",
                                        ShouldRespectGracePeriod=False)

    [replacement] = _members(autoscaling, group)
    assert replacement != unhealthy
    described = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    assert described["AutoScalingGroups"][0]["DesiredCapacity"] == 1
    launched, terminated, created = _activities(autoscaling, group)
    assert terminated["Description"] == f"Terminating EC2 instance: {unhealthy}"
    assert terminated["Cause"] == (
        f"At {_aws_time(failed_at)} an instance was taken out of service in response to an "
        f"ELB system health check failure.")
    assert launched["Description"] == f"Launching a new EC2 instance: {replacement}"
    decided = re.fullmatch(
        r"At (\S+) an instance was started in response to a difference between desired and "
        r"actual capacity, increasing the capacity from 0 to 1\.", launched["Cause"])
    assert decided is not None
    # AWS decides on the replacement about half a minute into the termination.
    assert failed_at + timedelta(seconds=20) <= datetime.fromisoformat(decided[1]) \
        <= failed_at + timedelta(seconds=40)
    assert failed_at <= terminated["StartTime"] < terminated["EndTime"] < launched["StartTime"]
    # A termination is quicker than a launch.
    assert terminated["EndTime"] - terminated["StartTime"] \
        < launched["EndTime"] - launched["StartTime"]
    assert created["Description"] == f"Launching a new EC2 instance: {unhealthy}"

    state = ctx.connection.client("ec2").describe_instances(InstanceIds=[unhealthy])[
        "Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "terminated"
    targets = ctx.connection.client("elbv2").describe_target_health(
        TargetGroupArn=stack.ids["Targets"])["TargetHealthDescriptions"]
    assert [t["Target"]["Id"] for t in targets] == [replacement]


def test_health_check_grace_period_is_respected_unless_told_otherwise(
        ctx: PortalContext, created_at: datetime) -> None:
    use_simulated_clock(ctx.connection.client("cloudformation"))
    with at_simulated_time(created_at):
        stack = launch_stack(ctx, _elb_checked_tier())
    autoscaling = use_simulated_clock(ctx.connection.client("autoscaling"))
    group = stack.ids["Group"]
    [instance] = _members(autoscaling, group)

    # Two minutes after launch the group's 300 s grace period still runs: AWS ignores the call.
    with at_simulated_time(created_at + timedelta(minutes=2)):
        autoscaling.set_instance_health(InstanceId=instance, HealthStatus="Unhealthy")
    assert _members(autoscaling, group) == [instance]
    assert len(_activities(autoscaling, group)) == 1

    with at_simulated_time(created_at + timedelta(minutes=30)):
        autoscaling.set_instance_health(InstanceId=instance, HealthStatus="Unhealthy")
    assert _members(autoscaling, group) != [instance]
    assert len(_activities(autoscaling, group)) == 3

    with pytest.raises(ClientError) as unknown:
        autoscaling.set_instance_health(InstanceId="i-0123456789abcdef0",
                                        HealthStatus="Unhealthy")
    assert unknown.value.response["Error"]["Code"] == "ValidationError"


def test_capacity_changes_are_recorded_and_paged_newest_first(ctx: PortalContext,
                                                              created_at: datetime) -> None:
    use_simulated_clock(ctx.connection.client("cloudformation"))
    with at_simulated_time(created_at):
        stack = launch_stack(ctx, _elb_checked_tier())
    autoscaling = use_simulated_clock(ctx.connection.client("autoscaling"))
    group = stack.ids["Group"]
    scaled_out, scaled_in = created_at + timedelta(hours=1), created_at + timedelta(hours=2)
    with at_simulated_time(scaled_out):
        autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=4)
    with at_simulated_time(scaled_in):
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=group, MaxSize=2,
                                              DesiredCapacity=2)

    everything = autoscaling.describe_scaling_activities(AutoScalingGroupName=group)
    assert "NextToken" not in everything
    activities = everything["Activities"]
    assert [a["Description"].split(":")[0] for a in activities] == \
        ["Terminating EC2 instance"] * 2 + ["Launching a new EC2 instance"] * 4
    assert [a["StartTime"] for a in activities] == sorted(
        (a["StartTime"] for a in activities), reverse=True)
    assert activities[0]["Cause"].startswith(
        f"At {_aws_time(scaled_in)} a user request update of AutoScalingGroup constraints to "
        f"min: 1, max: 2, desired: 2 changing the desired capacity from 4 to 2.  At ")
    assert activities[0]["Cause"].endswith(
        "an instance was taken out of service in response to a difference between desired and "
        "actual capacity, shrinking the capacity from 4 to 2.")
    assert activities[2]["Cause"].startswith(
        f"At {_aws_time(scaled_out)} a user request explicitly set group desired capacity "
        f"changing the desired capacity from 1 to 4.  At ")
    assert activities[2]["Cause"].endswith("increasing the capacity from 1 to 4.")
    assert len(_members(autoscaling, group)) == 2

    pages, token = [], None
    while True:
        page = autoscaling.describe_scaling_activities(
            AutoScalingGroupName=group, MaxRecords=4, **({"NextToken": token} if token else {}))
        pages.append([a["ActivityId"] for a in page["Activities"]])
        token = page.get("NextToken")
        if token is None:
            break
    assert pages == [[a["ActivityId"] for a in activities[:4]],
                     [a["ActivityId"] for a in activities[4:]]]

    chosen = [activities[1]["ActivityId"], activities[5]["ActivityId"]]
    by_id = autoscaling.describe_scaling_activities(ActivityIds=chosen)["Activities"]
    assert [a["ActivityId"] for a in by_id] == chosen

    for bad, code in (({"NextToken": "no-such-activity"}, "InvalidNextToken"),
                      ({"MaxRecords": 101}, "ValidationError")):
        with pytest.raises(ClientError) as refused:
            autoscaling.describe_scaling_activities(AutoScalingGroupName=group, **bad)
        assert refused.value.response["Error"]["Code"] == code


def test_activities_of_a_deleted_group_need_include_deleted_groups(
        ctx: PortalContext, created_at: datetime) -> None:
    stack = launch_stack(ctx, _elb_checked_tier())
    autoscaling = ctx.connection.client("autoscaling")
    group = stack.ids["Group"]
    [instance] = _members(autoscaling, group)

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert _activities(autoscaling, group) == []
    terminated, launched = _activities(autoscaling, group, IncludeDeletedGroups=True)
    assert {terminated["AutoScalingGroupState"], launched["AutoScalingGroupState"]} == \
        {"Deleted"}
    assert terminated["Description"] == f"Terminating EC2 instance: {instance}"
    assert "desired: 0 changing the desired capacity from 1 to 0." in terminated["Cause"]


def test_terminations_asked_for_are_recorded_and_replaced(ctx: PortalContext,
                                                          created_at: datetime) -> None:
    use_simulated_clock(ctx.connection.client("cloudformation"))
    with at_simulated_time(created_at):
        stack = launch_stack(ctx, _elb_checked_tier(desired=2))
    autoscaling = use_simulated_clock(ctx.connection.client("autoscaling"))
    ec2 = use_simulated_clock(ctx.connection.client("ec2"))
    group = stack.ids["Group"]
    first, second = _members(autoscaling, group)
    asked_at, stopped_at = created_at + timedelta(hours=1), created_at + timedelta(hours=2)

    with at_simulated_time(asked_at):
        answer = autoscaling.terminate_instance_in_auto_scaling_group(
            InstanceId=first, ShouldDecrementDesiredCapacity=False)["Activity"]
    with at_simulated_time(stopped_at):
        ec2.terminate_instances(InstanceIds=[second])

    members = _members(autoscaling, group)
    assert len(members) == 2 and not {first, second} & set(members)
    by_description = {a["Description"]: a for a in _activities(autoscaling, group)}
    by_user = by_description[f"Terminating EC2 instance: {first}"]
    assert by_user["ActivityId"] == answer["ActivityId"]
    assert by_user["Cause"] == (f"At {_aws_time(asked_at)} instance {first} was taken out of "
                                f"service in response to a user request.")
    assert by_description[f"Terminating EC2 instance: {second}"]["Cause"] == (
        f"At {_aws_time(stopped_at)} an instance was taken out of service in response to an "
        f"EC2 health check indicating it has been terminated or stopped.")
    for member in members:
        assert by_description[f"Launching a new EC2 instance: {member}"]["Cause"].endswith(
            "increasing the capacity from 1 to 2.")
    targets = ctx.connection.client("elbv2").describe_target_health(
        TargetGroupArn=stack.ids["Targets"])["TargetHealthDescriptions"]
    assert sorted(t["Target"]["Id"] for t in targets) == sorted(members)
