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


def test_get_metric_data_answers_each_query_from_its_own_metric_bucketed_by_period(
        ctx: PortalContext) -> None:
    """Random datapoints of several instances and a look-alike in another namespace: every
    statistic of every bucket is what the datapoints put say, whatever order they were put in."""
    import random
    from datetime import UTC, datetime, timedelta

    cloudwatch = ctx.connection.client("cloudwatch")
    rng = random.Random(3)
    namespace = f"Test/{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    put: dict[str, list[tuple[datetime, float]]] = {}
    for instance in ("i-a", "i-b", "i-c"):
        points = [(start + timedelta(seconds=rng.randrange(0, 3 * 3600)), rng.uniform(0, 100))
                  for _ in range(120)]
        put[instance] = points
        shuffled = points[:]
        rng.shuffle(shuffled)
        for chunk in range(0, len(shuffled), 40):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
                {"MetricName": "CPUUtilization", "Timestamp": at, "Value": value,
                 "Dimensions": [{"Name": "InstanceId", "Value": instance}]}
                for at, value in shuffled[chunk:chunk + 40]])
    # Same name and dimensions in another namespace must not leak into the answer.
    cloudwatch.put_metric_data(Namespace=f"{namespace}-other", MetricData=[
        {"MetricName": "CPUUtilization", "Timestamp": start + timedelta(minutes=1), "Value": 1e6,
         "Dimensions": [{"Name": "InstanceId", "Value": "i-a"}]}])

    window_start, window_end = start + timedelta(minutes=7), start + timedelta(hours=2, minutes=7)
    queries = [{"Id": f"q{n}", "MetricStat": {"Metric": {
        "Namespace": namespace, "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": "InstanceId", "Value": instance}]},
        "Period": period, "Stat": stat}}
        for n, (instance, period, stat) in enumerate(
            (i, p, s) for i in put for p in (300, 3600) for s in ("Average", "Sum", "Maximum"))]
    answer = {r["Id"]: r for r in cloudwatch.get_metric_data(
        MetricDataQueries=queries, StartTime=window_start, EndTime=window_end,
        ScanBy="TimestampAscending")["MetricDataResults"]}

    for query in queries:
        stat_spec = query["MetricStat"]
        instance = stat_spec["Metric"]["Dimensions"][0]["Value"]
        period = timedelta(seconds=stat_spec["Period"])
        buckets: dict[datetime, list[float]] = {}
        for at, value in put[instance]:
            if window_start <= at < window_end:
                buckets.setdefault(window_start + (at - window_start) // period * period,
                                   []).append(value)
        expected = {"Average": lambda v: sum(v) / len(v), "Sum": sum, "Maximum": max}[
            stat_spec["Stat"]]
        result = answer[query["Id"]]
        assert result["Timestamps"] == sorted(buckets)
        assert result["Values"] == pytest.approx([expected(buckets[b]) for b in sorted(buckets)])
