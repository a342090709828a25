"""The workload simulator against the embedded cloud over HTTP: what it publishes, how it resumes,
what it makes the emulator do (replacements, deployments), and where it refuses to run."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
import pytest

from services import environment_service as environments
from services.engines.base import DeploymentRef
from services.burstable import burstable_spec
from services.clouds.simulated_clock import at_simulated_time, use_simulated_clock
from services.context import PortalContext
from services.identity import Actor, Role
from services.monitoring.discovery import load_balancer_dimension
from services.workload.profiles import AGENT_OVERHEAD_PERCENT, ProfileKind, WorkloadProfile
from services.workload.simulator import (
    PERIOD,
    SimulationRefusedError,
    SimulationTarget,
    simulate,
    simulate_running,
    workload_profile,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

STUDENT = Actor("sim-student", Role.STUDENT)
EC2_METRICS = ("CPUUtilization", "CPUCreditBalance", "CPUCreditUsage", "CPUSurplusCreditBalance")


def _last_tuesday_8am() -> datetime:
    # A Tuesday morning (a class day of the default slots) within the emulator's two weeks.
    now = datetime.now(UTC)
    days_back = (now.weekday() - 1) % 7 or 7
    return (now - timedelta(days=days_back)).replace(hour=8, minute=0, second=0, microsecond=0)


def _series(ctx: PortalContext, namespace: str, metric: str, dimensions: dict[str, str],
            start: datetime, end: datetime, stat: str = "Average") -> list[tuple[datetime, float]]:
    answer = ctx.connection.client("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]},
            "Period": 300, "Stat": stat}}],
        StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    result = answer["MetricDataResults"][0]
    return list(zip(result["Timestamps"], result["Values"], strict=True))


def _launch(ctx: PortalContext, template_id: str, *,
            at: datetime | None = None) -> environments.EnvironmentView:
    """Launch through the portal; with `at`, at that simulated moment (as the demo does), so
    that the emulator dates the group's first launches then."""
    for service in ("cloudformation", "autoscaling", "ec2"):
        use_simulated_clock(ctx.connection.client(service))
    with at_simulated_time(at) if at else contextlib.nullcontext():
        view = environments.launch(ctx, actor=STUDENT, template_id=template_id, parameters={})
    assert view.status == "ready", view.status_reason
    return view


def test_web_server_credits_follow_the_published_utilization_across_passes(
        ctx: PortalContext) -> None:
    view = _launch(ctx, "web-server")
    start = _last_tuesday_8am() + timedelta(minutes=2)
    target = SimulationTarget(view.env_id, "web-server", "cloudformation",
                              DeploymentRef(view.env_id, view.deployment_name), "embedded", start)

    first = simulate(ctx, target, until=start + timedelta(hours=5))
    second = simulate(ctx, target, until=start + timedelta(hours=9))
    again = simulate(ctx, target, until=start + timedelta(hours=9))

    (instance,) = first.instances
    assert instance.instance_type == "t3.micro" and instance.credit_mode == "standard"
    assert first.periods == 60 and second.periods == 48 and again.periods == 0
    assert first.metric_data == 60 * 4 and again.metric_data == 0
    assert second.simulated_from == start.replace(minute=0) + timedelta(hours=5)
    # GetMetricData's buckets start at StartTime: a window on period boundaries.
    window = (start.replace(minute=0) - PERIOD, start.replace(minute=0) + timedelta(hours=10))
    dimensions = {"InstanceId": instance.instance_id}
    series = {metric: _series(ctx, "AWS/EC2", metric, dimensions, *window)
              for metric in EC2_METRICS}
    counts = _series(ctx, "AWS/EC2", "CPUCreditBalance", dimensions, *window, stat="SampleCount")
    assert len(series["CPUCreditBalance"]) == 108
    assert {count for _, count in counts} == {1.0}  # no period published twice
    stamps = [at for at, _ in series["CPUCreditBalance"]]
    assert stamps[0] == start - timedelta(minutes=2)
    assert all(b - a == PERIOD for a, b in zip(stamps, stamps[1:]))

    # Each full period's credits follow from its utilization by AWS's rules: usage is vCPUs x
    # utilization x minutes, the balance moves by what was earned minus what was used, never
    # below zero and never above the accrual limit, and the CPU is held at the baseline only
    # while the balance is empty.
    spec = burstable_spec("t3.micro")
    earned_per_period = spec.credits_per_hour / 12
    balances = [v for _, v in series["CPUCreditBalance"]]
    for index in range(1, len(balances)):
        cpu = series["CPUUtilization"][index][1]
        usage = series["CPUCreditUsage"][index][1]
        assert usage == pytest.approx(spec.vcpus * cpu / 100 * 5)
        expected = min(spec.max_earned_credits, balances[index - 1] + earned_per_period - usage)
        assert balances[index] == pytest.approx(max(0.0, expected), abs=1e-6)
        if balances[index - 1] == 0 and balances[index] == 0:
            assert cpu <= spec.baseline_percent + 1e-6
    assert all(v == 0 for _, v in series["CPUSurplusCreditBalance"])


def test_ha_web_starved_servers_are_replaced_at_their_simulated_moment(
        ctx: PortalContext) -> None:
    start = _last_tuesday_8am() + timedelta(minutes=40)  # 08:40, the class starts at 09:00
    view = _launch(ctx, "ha-web", at=start)
    target = SimulationTarget(view.env_id, "ha-web", "cloudformation",
                              DeploymentRef(view.env_id, view.deployment_name), "embedded", start)
    assert workload_profile(view.env_id, "ha-web").kind is ProfileKind.CLASS_HOURS
    # A class that load-tests its app: three times the t3.micro's baseline.
    profile = WorkloadProfile.class_hours(22, off_peak=1, agents=AGENT_OVERHEAD_PERCENT)

    report = simulate(ctx, target, until=start + timedelta(hours=3), profile=profile)

    outputs = view.outputs_by_name
    activities = ctx.connection.client("autoscaling").describe_scaling_activities(
        AutoScalingGroupName=outputs["asg_name"])["Activities"]
    health_failures = [a for a in activities if "ELB system health check failure" in a["Cause"]]
    # New T3 servers in standard mode start at 0 credits; in class they ask for more than 1.5x
    # their 10% baseline, are held at it and fail their checks, again and again.
    assert len(report.replacements) >= 2 * 6
    assert len(health_failures) == len(report.replacements)
    class_start = start.replace(hour=9, minute=0)
    class_end = class_start + timedelta(hours=2)
    moments = [a["StartTime"] for a in health_failures]
    # Dated at the simulated moments (a deployment that runs past the class may starve a server
    # a little later), and mostly while the class works on its app.
    assert all(start < at <= start + timedelta(hours=3, minutes=1) for at in moments)
    assert len([at for at in moments if class_start < at <= class_end + timedelta(seconds=2)]) \
        >= 2 * 6
    replaced = {i.instance_id: i for i in report.instances if i.replaced_at}
    assert set(replaced) == set(report.replacements)
    for instance in replaced.values():
        # Replaced for a reason: its last period ended with no credits left.
        last = _series(ctx, "AWS/EC2", "CPUCreditBalance", {"InstanceId": instance.instance_id},
                       instance.replaced_at - PERIOD, instance.replaced_at)
        assert last and last[-1][1] == 0
    members = ctx.connection.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["asg_name"]])["AutoScalingGroups"][0]["Instances"]
    assert not {m["InstanceId"] for m in members} & set(replaced)

    # Load balancer metrics follow the class: more requests in class than before it.
    resources = ctx.connection.client("cloudformation").list_stack_resources(
        StackName=view.deployment_name)["StackResourceSummaries"]
    (lb_arn,) = [r["PhysicalResourceId"] for r in resources
                 if r["ResourceType"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"]
    lb_dimension = load_balancer_dimension(lb_arn)
    requests = dict(_series(ctx, "AWS/ApplicationELB", "RequestCount",
                            {"LoadBalancer": lb_dimension}, start - PERIOD,
                            start + timedelta(hours=3), stat="Sum"))
    before = [v for at, v in requests.items() if at < class_start]
    during = [v for at, v in requests.items() if class_start <= at < class_end]
    assert sum(during) / len(during) > sum(before) / len(before)

    # The first release and the class's releases are deployed at their simulated moments.
    codedeploy = ctx.connection.client("codedeploy")
    infos = codedeploy.batch_get_deployments(deploymentIds=report.deployments)["deploymentsInfo"]
    assert len(infos) == len(report.deployments) >= 2
    for info in infos:
        assert start <= info["createTime"] <= start + timedelta(hours=3)
        assert info["revision"]["s3Location"]["bucket"] == outputs["bundle_bucket"]
        assert info["status"] in ("Succeeded", "Failed")


def test_simulate_running_covers_ready_embedded_environments(ctx: PortalContext) -> None:
    view = _launch(ctx, "web-server")
    reports = simulate_running(ctx, now=view.created_at + timedelta(minutes=21))
    mine = [r for r in reports if r.env_id == view.env_id]
    assert len(mine) == 1 and mine[0].error is None
    assert mine[0].periods >= 4


def test_other_clouds_are_refused(ctx: PortalContext) -> None:
    target = SimulationTarget("abc123", "web-server", "cloudformation",
                              DeploymentRef("abc123", "sbx-abc123"), "aws",
                              datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(SimulationRefusedError, match="only on the embedded cloud"):
        simulate(ctx, target)
