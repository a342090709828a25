"""CloudWatch alarms made, shown and deleted by their stack, over HTTP."""

from __future__ import annotations

import json
import uuid

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    WEB_TIER,
    delete_stack,
    launch_stack,
    tagged_arns,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _alarm(metric: str, namespace: str, dimensions: list[dict], **extra: object) -> dict:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "MetricName": metric, "Namespace": namespace, "Dimensions": dimensions,
        "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1, "Period": 60,
        "Statistic": "Sum", "Threshold": 5, **extra}}


def test_alarms_on_the_web_tier_carry_their_dimensions_and_go_with_the_stack(
        ctx: PortalContext) -> None:
    env_id = f"cw-{uuid.uuid4().hex[:8]}"
    named = f"web-5xx-{env_id}"
    load_balancer = {"Name": "LoadBalancer",
                     "Value": {"Fn::GetAtt": ["Alb", "LoadBalancerFullName"]}}
    stack = launch_stack(ctx, {
        **WEB_TIER,
        # Numbers as strings, as they arrive from template parameters.
        "Credits": _alarm("CPUCreditBalance", "AWS/EC2",
                          [{"Name": "AutoScalingGroupName", "Value": {"Ref": "Group"}}],
                          ComparisonOperator="LessThanThreshold", Statistic="Average",
                          Period="300", EvaluationPeriods="2", Threshold="20",
                          TreatMissingData="notBreaching"),
        "Errors": _alarm("HTTPCode_ELB_5XX_Count", "AWS/ApplicationELB", [load_balancer],
                         AlarmName=named, Tags=[{"Key": "tier", "Value": "web"}]),
        "Unhealthy": _alarm("UnHealthyHostCount", "AWS/ApplicationELB", [
            {"Name": "TargetGroup", "Value": {"Fn::GetAtt": ["Targets", "TargetGroupFullName"]}},
            load_balancer], Statistic="Maximum", Threshold=0,
            AlarmActions=[f"arn:aws:sns:us-east-1:123456789012:{env_id}"]),
    }, tags={"sandbox:env-id": env_id}, outputs={
        "ErrorsRef": {"Ref": "Errors"}, "ErrorsArn": {"Fn::GetAtt": ["Errors", "Arn"]},
        "Balancer": {"Fn::GetAtt": ["Alb", "LoadBalancerFullName"]},
        "TargetGroup": {"Fn::GetAtt": ["Targets", "TargetGroupFullName"]}})
    assert stack.status == "CREATE_COMPLETE"
    assert stack.ids["Errors"] == named == stack.outputs["ErrorsRef"]
    assert stack.outputs["ErrorsArn"] == f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{named}"
    assert stack.ids["Credits"].startswith(f"{stack.name}-Credits-")

    cloudwatch = ctx.connection.client("cloudwatch")
    names = [stack.ids[key] for key in ("Credits", "Errors", "Unhealthy")]
    described = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    alarms = {a["AlarmName"]: a for a in described}
    assert sorted(alarms) == sorted(names)
    credits = alarms[stack.ids["Credits"]]
    assert credits["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": stack.ids["Group"]}]
    assert (credits["Namespace"], credits["MetricName"], credits["Statistic"]) == (
        "AWS/EC2", "CPUCreditBalance", "Average")
    assert (credits["Period"], credits["EvaluationPeriods"], credits["Threshold"]) == (300, 2, 20.0)
    assert credits["ComparisonOperator"] == "LessThanThreshold"
    assert credits["TreatMissingData"] == "notBreaching"
    balancer = {"Name": "LoadBalancer", "Value": stack.outputs["Balancer"]}
    assert alarms[named]["Dimensions"] == [balancer]
    unhealthy = alarms[stack.ids["Unhealthy"]]
    assert unhealthy["Dimensions"] == [
        {"Name": "TargetGroup", "Value": stack.outputs["TargetGroup"]}, balancer]
    assert unhealthy["AlarmActions"] == [f"arn:aws:sns:us-east-1:123456789012:{env_id}"]

    tags = cloudwatch.list_tags_for_resource(ResourceARN=stack.outputs["ErrorsArn"])["Tags"]
    assert {"Key": "tier", "Value": "web"} in tags
    assert {"Key": "sandbox:env-id", "Value": env_id} in tags
    listed = [a for a in tagged_arns(ctx, "sandbox:env-id", env_id) if ":cloudwatch:" in a]
    assert sorted(listed) == sorted(
        f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}" for name in names)

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"] == []
    assert not [a for a in tagged_arns(ctx, "sandbox:env-id", env_id) if ":cloudwatch:" in a]


def test_an_alarm_on_metric_math_keeps_its_queries(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"ErrorRate": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 1, "Threshold": 1,
        "Metrics": [
            {"Id": "rate", "Expression": "errors / 60", "Label": "per second", "ReturnData": True},
            {"Id": "errors", "ReturnData": False, "MetricStat": {
                "Metric": {"Namespace": "AWS/ApplicationELB",
                           "MetricName": "HTTPCode_ELB_5XX_Count",
                           "Dimensions": [{"Name": "LoadBalancer", "Value": "app/web/1"}]},
                "Period": 60, "Stat": "Sum"}}]}}}, network=False)
    alarm = ctx.connection.client("cloudwatch").describe_alarms(
        AlarmNames=[stack.ids["ErrorRate"]])["MetricAlarms"][0]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    assert queries["rate"]["Expression"] == "errors / 60"
    stat = queries["errors"]["MetricStat"]
    assert (stat["Metric"]["MetricName"], stat["Stat"], stat["Period"]) == (
        "HTTPCode_ELB_5XX_Count", "Sum", 60)
    assert stat["Metric"]["Dimensions"] == [{"Name": "LoadBalancer", "Value": "app/web/1"}]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_an_alarm_updated_by_its_stack_keeps_its_name(ctx: PortalContext) -> None:
    alarm = _alarm("CPUUtilization", "AWS/EC2", [{"Name": "InstanceId", "Value": "i-1"}])
    stack = launch_stack(ctx, {"Cpu": alarm}, network=False)
    cloudformation = ctx.connection.client("cloudformation")
    changed = {**alarm, "Properties": {**alarm["Properties"], "Threshold": 90}}
    cloudformation.update_stack(StackName=stack.name,
                                TemplateBody=json.dumps({"Resources": {"Cpu": changed}}))
    summaries = cloudformation.list_stack_resources(StackName=stack.name)["StackResourceSummaries"]
    assert [s["PhysicalResourceId"] for s in summaries] == [stack.ids["Cpu"]]
    cloudwatch = ctx.connection.client("cloudwatch")
    assert cloudwatch.describe_alarms(AlarmNames=[stack.ids["Cpu"]])["MetricAlarms"][0][
        "Threshold"] == 90.0
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert cloudwatch.describe_alarms(AlarmNames=[stack.ids["Cpu"]])["MetricAlarms"] == []
