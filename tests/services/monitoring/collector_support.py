"""What the collector's tests build in the embedded cloud: Auto Scaling groups of any size in a
stack of their own, the environment rows that own them, datapoints, and a spy on GetMetricData."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from services import settings as settings_module
from services import context as context_module
from services.context import PortalContext
from services.history.models import Environment, utcnow
from services.monitoring.collector import PERIOD, floor_period

AMI = "ami-0d27e0fb3bac4d724"
COLLECTOR_CLIENTS = ("cloudformation", "autoscaling", "elbv2", "codedeploy", "ec2", "cloudwatch")


@pytest.fixture(params=["sqlite", "postgresql"])
def history_ctx(request: pytest.FixtureRequest, portal_env: dict[str, str],
                monkeypatch: pytest.MonkeyPatch) -> PortalContext:
    """A context on the shared emulator whose history is SQLite, then PostgreSQL."""
    if request.param == "postgresql":
        monkeypatch.setenv("PORTAL_DATABASE_URL", request.getfixturevalue("postgres_url"))
        settings_module.get_settings.cache_clear()
        context_module._context = None
    ctx = context_module.get_context()
    assert ctx.sessions.kw["bind"].dialect.name == request.param
    return ctx


@dataclass(frozen=True)
class GroupStack:
    stack_id: str
    stack_name: str
    group_name: str
    instance_ids: list[str]


def group_stack(ctx: PortalContext, size: int, *, instance_type: str = "t3.micro") -> GroupStack:
    """A stack holding one Auto Scaling group of `size` instances: many instances, found by
    the collector the way it finds an ha-web environment's web servers."""
    cloudformation = ctx.connection.client("cloudformation")
    cidr = f"10.{secrets.randbelow(200) + 20}"
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": f"{cidr}.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": f"{cidr}.0.0/20",
            "AvailabilityZone": "us-east-1a"}},
        "Template": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateData": {"ImageId": AMI, "InstanceType": instance_type}}},
        "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
            "MinSize": str(size), "MaxSize": str(size), "DesiredCapacity": str(size),
            "LaunchTemplate": {"LaunchTemplateId": {"Ref": "Template"},
                               "Version": {"Fn::GetAtt": ["Template", "LatestVersionNumber"]}},
            "VPCZoneIdentifier": [{"Ref": "Subnet"}]}},
    }}
    name = f"col-{uuid.uuid4().hex[:8]}"
    stack_id = cloudformation.create_stack(StackName=name,
                                           TemplateBody=json.dumps(template))["StackId"]
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    group = next(s["PhysicalResourceId"] for s in summaries
                 if s["ResourceType"] == "AWS::AutoScaling::AutoScalingGroup")
    return GroupStack(stack_id, name, group, group_members(ctx, group))


def group_members(ctx: PortalContext, group: str) -> list[str]:
    pages = ctx.connection.client("autoscaling").get_paginator(
        "describe_auto_scaling_groups").paginate(AutoScalingGroupNames=[group])
    return sorted(i["InstanceId"] for page in pages for g in page["AutoScalingGroups"]
                  for i in g["Instances"])


def delete_stack(ctx: PortalContext, stack: str) -> None:
    ctx.connection.client("cloudformation").delete_stack(StackName=stack)


def add_environment(ctx: PortalContext, *, stack_id: str | None, stack_name: str,
                    created_at: datetime, status: str = "ready",
                    cloud_session: str | None = "current", cloud: str = "embedded") -> str:
    """The history row of an environment whose stack the test made itself."""
    env_id = secrets.token_hex(5)
    session_id = ctx.connection.cloud_session if cloud_session == "current" else cloud_session
    with ctx.sessions() as session, session.begin():
        session.add(Environment(
            id=env_id, template_id="web-server", owner="alice", status=status, parameters={},
            outputs={}, cloud=cloud, cloud_session=session_id, region=ctx.settings.region,
            deployment_name=stack_name, deployment_id=stack_id, created_at=created_at,
            updated_at=created_at))
    return env_id


def past_start(days: int) -> datetime:
    """A period start `days` days back at a random minute: each test's datapoints sit in a window
    of their own, away from what other tests publish into the shared emulator."""
    return floor_period(utcnow() - timedelta(days=days, minutes=secrets.randbelow(600)))


def put_points(ctx: PortalContext, namespace: str,
               points: list[tuple[str, dict[str, str], datetime, float]]) -> None:
    """(metric, dimensions, at, value) datapoints, as CloudWatch takes them (1000 a call)."""
    data = [{"MetricName": metric, "Dimensions": [{"Name": k, "Value": v}
                                                  for k, v in dimensions.items()],
             "Timestamp": at, "Value": value} for metric, dimensions, at, value in points]
    cloudwatch = ctx.connection.client("cloudwatch")
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start:start + 1000])


def instance_points(instance_ids: list[str], metrics: tuple[str, ...], starts: list[datetime],
                    value: float = 10.0) -> list[tuple[str, dict[str, str], datetime, float]]:
    return [(metric, {"InstanceId": instance_id}, at, value + index)
            for instance_id in instance_ids for metric in metrics
            for index, at in enumerate(starts)]


def now_for(window_end: datetime, ctx: PortalContext) -> datetime:
    """The `now` of a pass whose window ends at `window_end` (collect_lag_s later)."""
    return window_end + timedelta(seconds=ctx.settings.collect_lag_s)


def periods(start: datetime, count: int) -> list[datetime]:
    return [start + index * PERIOD for index in range(count)]


@dataclass
class MetricCalls:
    """Every GetMetricData request the shared CloudWatch client sends while it listens."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def start_times(self) -> list[datetime]:
        return [r["StartTime"] for r in self.requests]

    @property
    def query_counts(self) -> list[int]:
        return [len(r["MetricDataQueries"]) for r in self.requests]


@contextmanager
def metric_calls(ctx: PortalContext) -> Iterator[MetricCalls]:
    calls = MetricCalls()
    events = ctx.connection.client("cloudwatch").meta.events
    handler_id = f"test-metric-calls-{uuid.uuid4().hex}"

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.requests.append(dict(params))

    events.register("provide-client-params.cloudwatch.GetMetricData", record,
                    unique_id=handler_id)
    try:
        yield calls
    finally:
        events.unregister("provide-client-params.cloudwatch.GetMetricData",
                          unique_id=handler_id)


@contextmanager
def simulated(ctx: PortalContext, when: datetime) -> Iterator[datetime]:
    """The collector's clients (and the test's) speak to the embedded cloud at `when`."""
    from services.clouds.simulated_clock import at_simulated_time, use_simulated_clock

    for service in COLLECTOR_CLIENTS:
        use_simulated_clock(ctx.connection.client(service))
    with at_simulated_time(when):
        yield when
