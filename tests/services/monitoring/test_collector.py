"""The collector against the embedded cloud over HTTP: how many GetMetricData calls a pass makes,
that a second pass asks only for what is new, what lands in the history database (points, rollups,
scaling activities, deployments, the pass itself), and that one broken environment does not stop
a pass. The storing tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from services import environment_service as environments
from services.context import PortalContext
from services.history.models import (
    CollectorPass,
    Deployment,
    Environment,
    MetricPoint,
    MetricRollup,
    MetricSeries,
    ScalingActivity,
)
from services.identity import Actor, Role
from services.monitoring.collector import (
    MAX_QUERIES_PER_CALL,
    PERIOD,
    collect,
    floor_period,
)
from services.monitoring.rollups import compute_rollups, stored_rollups

from tests.services.monitoring.collector_support import (
    add_environment,
    delete_stack,
    group_members,
    group_stack,
    history_ctx,  # noqa: F401 - a fixture
    instance_points,
    metric_calls,
    now_for,
    past_start,
    periods,
    put_points,
    simulated,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

CPU = ("CPUUtilization",)
CREDITS = ("CPUUtilization", "CPUCreditBalance", "CPUCreditUsage", "CPUSurplusCreditBalance")
ALICE = Actor("alice", Role.STUDENT)


def _points(ctx: PortalContext, env_id: str | None = None) -> list[tuple[str, str, object, float]]:
    """(resource, metric, at, value) of every stored point, of one environment or all."""
    with ctx.sessions() as session:
        query = (select(MetricSeries.resource_id, MetricSeries.metric_name, MetricPoint.at,
                        MetricPoint.value)
                 .join(MetricSeries, MetricSeries.id == MetricPoint.series_id))
        if env_id:
            query = query.where(MetricSeries.env_id == env_id)
        return [tuple(row) for row in session.execute(query.order_by(  # type: ignore[misc]
            MetricSeries.resource_id, MetricSeries.metric_name, MetricPoint.at))]


def _assert_rollups_match_points(ctx: PortalContext) -> int:
    with ctx.sessions() as session:
        computed = compute_rollups(session)
        stored = stored_rollups(session)
    assert set(stored) == set(computed)
    for key, expected in computed.items():
        row = stored[key]
        assert (row.count, row.min, row.max, row.last) == \
            (expected.count, expected.min, expected.max, expected.last), key
        assert row.sum == pytest.approx(expected.sum), key
    return len(stored)


@pytest.mark.parametrize("instances", [125, 130])
def test_one_get_metric_data_call_per_500_queries(ctx: PortalContext, instances: int) -> None:
    stack = group_stack(ctx, instances)
    try:
        created = past_start(days=4)
        env_id = add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                                 created_at=created)
        put_points(ctx, "AWS/EC2", instance_points(stack.instance_ids, CREDITS,
                                                   periods(created, 2)))
        with metric_calls(ctx) as calls:
            report = collect(ctx, now=now_for(created + 3 * PERIOD, ctx))

        # t3.micro is burstable: CPU and the three credit metrics of every instance.
        assert report.metric_queries == report.series == 4 * instances
        assert report.metric_calls == len(calls.requests) == math.ceil(
            4 * instances / MAX_QUERIES_PER_CALL)
        assert max(calls.query_counts) <= MAX_QUERIES_PER_CALL
        assert sum(calls.query_counts) == 4 * instances
        assert set(calls.start_times) == {created}
        assert report.points_stored == 4 * instances * 2 == len(_points(ctx, env_id))
        assert report.ok, report.to_json()
    finally:
        delete_stack(ctx, stack.stack_name)


def test_credit_metrics_only_for_burstable_instances(ctx: PortalContext) -> None:
    burstable, fixed = group_stack(ctx, 2), group_stack(ctx, 3, instance_type="m5.large")
    try:
        created = past_start(days=5)
        for stack in (burstable, fixed):
            add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                            created_at=created)
        report = collect(ctx, now=now_for(created + PERIOD, ctx))
        with ctx.sessions() as session:
            series = {(s.resource_id, s.metric_name): s for s in session.scalars(
                select(MetricSeries))}
        assert {metric for (resource, metric) in series if resource in burstable.instance_ids} \
            == set(CREDITS)
        assert {metric for (resource, metric) in series if resource in fixed.instance_ids} \
            == {"CPUUtilization"}
        assert {s.instance_type for s in series.values()} == {"t3.micro", "m5.large"}
        assert report.series == 2 * 4 + 3
    finally:
        delete_stack(ctx, burstable.stack_name)
        delete_stack(ctx, fixed.stack_name)


def test_second_pass_fetches_only_the_new_points(history_ctx: PortalContext) -> None:
    ctx = history_ctx
    stack = group_stack(ctx, 3)
    try:
        created = past_start(days=6)
        env_id = add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                                 created_at=created)
        put_points(ctx, "AWS/EC2", instance_points(stack.instance_ids, CPU, periods(created, 3)))
        with metric_calls(ctx) as first_calls:
            first = collect(ctx, now=now_for(created + 3 * PERIOD, ctx))
        assert first.window_end == created + 3 * PERIOD
        assert first.points_stored == 9
        stored_before = _points(ctx, env_id)

        later = periods(created + 3 * PERIOD, 2)
        put_points(ctx, "AWS/EC2", instance_points(stack.instance_ids, CPU, later, value=50.0))
        with metric_calls(ctx) as second_calls:
            second = collect(ctx, now=now_for(created + 5 * PERIOD, ctx))

        assert first_calls.start_times == [created]
        # The second pass starts where the first ended and stores the two new periods only.
        assert second_calls.start_times == [first.window_end]
        assert second_calls.requests[0]["EndTime"] == created + 5 * PERIOD
        assert second.points_stored == 6
        stored = _points(ctx, env_id)
        assert set(stored_before) <= set(stored)
        assert len(stored) == len(set((r, m, at) for r, m, at, _ in stored)) == 15
        new_values = sorted(v for r, m, at, v in stored if at >= created + 3 * PERIOD)
        assert new_values == [50.0, 50.0, 50.0, 51.0, 51.0, 51.0]

        # Nothing new: no call at all.
        with metric_calls(ctx) as third_calls:
            third = collect(ctx, now=now_for(created + 5 * PERIOD, ctx) + timedelta(seconds=30))
        assert third_calls.requests == [] and third.points_stored == 0
        with ctx.sessions() as session:
            fetched = set(session.scalars(select(MetricSeries.fetched_until).where(
                MetricSeries.env_id == env_id, MetricSeries.metric_name == "CPUUtilization")))
        assert fetched == {created + 4 * PERIOD}
        _assert_rollups_match_points(ctx)
    finally:
        delete_stack(ctx, stack.stack_name)


def test_rollups_equal_aggregates_of_the_raw_points(history_ctx: PortalContext) -> None:
    ctx = history_ctx
    stack = group_stack(ctx, 2)
    try:
        # Two and a half hours across a day boundary, collected in three passes of uneven
        # length, so that buckets are refreshed while still filling.
        created = floor_period(past_start(days=7).replace(hour=22, minute=50))
        add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                        created_at=created)
        starts = periods(created, 30)
        put_points(ctx, "AWS/EC2", [
            (metric, {"InstanceId": instance}, at, float((i * 7 + len(metric)) % 23))
            for instance in stack.instance_ids for metric in CREDITS
            for i, at in enumerate(starts)])
        passes = [collect(ctx, now=now_for(created + n * PERIOD, ctx)) for n in (4, 17, 30)]
        assert sum(p.points_stored for p in passes) == 2 * 4 * 30
        buckets = _assert_rollups_match_points(ctx)
        # 8 series x (4 hours + 2 days)
        assert buckets == 8 * (4 + 2)
        with ctx.sessions() as session:
            cpu = session.scalar(select(MetricSeries.id).where(
                MetricSeries.resource_id == stack.instance_ids[0],
                MetricSeries.metric_name == "CPUUtilization"))
            daily = {r.bucket_start: r for r in session.scalars(select(MetricRollup).where(
                MetricRollup.series_id == cpu, MetricRollup.resolution_s == 86400))}
        first_day = created.replace(hour=0, minute=0)
        assert daily[first_day].count == 14  # 22:50 .. 23:55
        assert daily[first_day + timedelta(days=1)].count == 16
        assert daily[first_day].last == float((13 * 7 + len("CPUUtilization")) % 23)
    finally:
        delete_stack(ctx, stack.stack_name)


def test_series_met_for_the_first_time_share_calls(ctx: PortalContext) -> None:
    early, late = group_stack(ctx, 2), group_stack(ctx, 2)
    try:
        created = past_start(days=8)
        first_env = add_environment(ctx, stack_id=early.stack_id, stack_name=early.stack_name,
                                    created_at=created)
        add_environment(ctx, stack_id=late.stack_id, stack_name=late.stack_name,
                        created_at=created + timedelta(minutes=7))
        put_points(ctx, "AWS/EC2", instance_points(early.instance_ids, CPU, periods(created, 4)))
        put_points(ctx, "AWS/EC2", instance_points(late.instance_ids, CPU,
                                                   periods(created + 2 * PERIOD, 2)))
        with metric_calls(ctx) as calls:
            report = collect(ctx, now=now_for(created + 4 * PERIOD, ctx))
        assert calls.start_times == [created]
        assert report.points_stored == 2 * 4 + 2 * 2
        assert len(_points(ctx, first_env)) == 8

        # From then on both environments' series continue from the same period.
        with metric_calls(ctx) as calls:
            collect(ctx, now=now_for(created + 6 * PERIOD, ctx))
        assert calls.start_times == [created + 4 * PERIOD]
    finally:
        delete_stack(ctx, early.stack_name)
        delete_stack(ctx, late.stack_name)


def test_a_broken_environment_does_not_stop_the_pass(ctx: PortalContext) -> None:
    stack = group_stack(ctx, 1)
    gone = group_stack(ctx, 1)
    try:
        created = past_start(days=9)
        healthy = add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                                  created_at=created)
        broken = add_environment(ctx, stack_id=gone.stack_id, stack_name=gone.stack_name,
                                 created_at=created)
        delete_stack(ctx, gone.stack_name)
        # A launch whose stack does not exist yet is not an error.
        add_environment(ctx, stack_id=None, stack_name="sbx-notyet", created_at=created,
                        status="launching")
        put_points(ctx, "AWS/EC2", instance_points(stack.instance_ids, CPU, periods(created, 2)))
        report = collect(ctx, now=now_for(created + 2 * PERIOD, ctx))

        assert report.environments == 3
        assert list(report.errors) == [broken]
        assert "holds no resources" in report.errors[broken]
        assert report.points_stored == 2 and len(_points(ctx, healthy)) == 2
        with ctx.sessions() as session:
            record = session.get(CollectorPass, report.pass_id)
        assert record is not None and record.ended_at is not None
        assert record.error and broken in record.error
        assert (record.environments, record.points_stored, record.metric_calls) == (3, 2, 1)
        assert report.to_json()["errors"] == {broken: report.errors[broken]}
    finally:
        delete_stack(ctx, stack.stack_name)


def test_only_environments_running_on_this_cloud_are_collected(ctx: PortalContext) -> None:
    stack = group_stack(ctx, 1)
    try:
        created = past_start(days=10)
        running = add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                                  created_at=created)
        for status, session_id, cloud in [("destroyed", "current", "embedded"),
                                          ("failed", "current", "embedded"),
                                          ("ready", "an-earlier-boot", "embedded"),
                                          ("ready", None, "aws")]:
            add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                            created_at=created, status=status, cloud_session=session_id,
                            cloud=cloud)
        report = collect(ctx, now=now_for(created + PERIOD, ctx))
        assert report.environments == 1
        with ctx.sessions() as session:
            assert set(session.scalars(select(MetricSeries.env_id))) == {running}
    finally:
        delete_stack(ctx, stack.stack_name)


def _created_period(ctx: PortalContext, env_id: str) -> datetime:
    with ctx.sessions() as session:
        env = session.get(Environment, env_id)
        assert env is not None
        return floor_period(env.created_at)


def _ha_web(ctx: PortalContext) -> tuple[str, str, list[str], str]:
    """A launched ha-web environment: env id, its Auto Scaling group, members, stack id."""
    env = environments.launch(ctx, actor=ALICE, template_id="ha-web", parameters={})
    assert env.status == "ready", env.status_reason
    with ctx.sessions() as session:
        stack_id = session.get(Environment, env.env_id).deployment_id  # type: ignore[union-attr]
    group = next(r["physical_id"] for r in ctx.engine("cloudformation").stack_resources(stack_id)
                 if r["type"] == "AWS::AutoScaling::AutoScalingGroup")
    return env.env_id, group, group_members(ctx, group), stack_id


def test_instance_replaced_between_passes_gets_its_last_metrics(ctx: PortalContext) -> None:
    env_id, group, members, _ = _ha_web(ctx)
    try:
        base = _created_period(ctx, env_id)
        replaced = members[0]
        put_points(ctx, "AWS/EC2", instance_points(members, CPU, periods(base, 3)))
        with simulated(ctx, now_for(base + 2 * PERIOD, ctx)) as now:
            first = collect(ctx, now=now)
        assert first.ok, first.to_json()

        autoscaling = ctx.connection.client("autoscaling")
        with simulated(ctx, base + 2 * PERIOD + timedelta(minutes=2)):
            autoscaling.set_instance_health(InstanceId=replaced, HealthStatus="Unhealthy",
                                            ShouldRespectGracePeriod=False)
        now_members = group_members(ctx, group)
        assert replaced not in now_members
        with simulated(ctx, now_for(base + 3 * PERIOD, ctx)) as now:
            second = collect(ctx, now=now)

        # The replaced instance left its group, but its activity names it: its last period is
        # fetched; its successor is watched from now on.
        assert (replaced, "CPUUtilization", base + 2 * PERIOD, 12.0) in _points(ctx, env_id)
        with ctx.sessions() as session:
            watched = set(session.scalars(select(MetricSeries.resource_id).where(
                MetricSeries.env_id == env_id, MetricSeries.resource_kind == "instance")))
            stored = {a.activity_id: a for a in session.scalars(
                select(ScalingActivity).where(ScalingActivity.env_id == env_id))}
        assert set(members) | set(now_members) <= watched

        listed = ctx.connection.client("autoscaling").describe_scaling_activities(
            AutoScalingGroupName=group)["Activities"]
        assert listed, "the embedded cloud records scaling activities"
        assert set(stored) == {a["ActivityId"] for a in listed}
        assert second.activities_stored >= 2
        terminating = [a for a in stored.values() if replaced in (a.description or "")
                       and a.description.startswith("Terminating")]  # type: ignore[union-attr]
        assert len(terminating) == 1
        assert "ELB system health check failure" in (terminating[0].cause or "")
        assert terminating[0].group_name == group

        # Once a pass has covered the period of its termination, it is asked for no more.
        for n in (4, 5):
            with simulated(ctx, now_for(base + n * PERIOD, ctx)) as now:
                collect(ctx, now=now)
        with ctx.sessions() as session:
            fetched = session.scalar(select(MetricSeries.fetched_until).where(
                MetricSeries.resource_id == replaced,
                MetricSeries.metric_name == "CPUUtilization"))
        assert fetched == base + 3 * PERIOD
    finally:
        environments.destroy(ctx, actor=ALICE, env_id=env_id)


def test_deployments_are_stored_as_they_progress(ctx: PortalContext) -> None:
    from services.clouds.simulated_clock import DeploymentPlan, scripted_deployment

    env_id, _, _, stack_id = _ha_web(ctx)
    try:
        resources = ctx.engine("cloudformation").stack_resources(stack_id)
        application = next(r["physical_id"] for r in resources
                           if r["type"] == "AWS::CodeDeploy::Application")
        group = next(r["physical_id"] for r in resources
                     if r["type"] == "AWS::CodeDeploy::DeploymentGroup")
        bucket = next(r["physical_id"] for r in resources if r["type"] == "AWS::S3::Bucket")
        base = _created_period(ctx, env_id)
        codedeploy = ctx.connection.client("codedeploy")
        with simulated(ctx, base + timedelta(minutes=1)), \
                scripted_deployment(DeploymentPlan(duration_s=600)):
            deployment_id = codedeploy.create_deployment(
                applicationName=application, deploymentGroupName=group,
                revision={"revisionType": "S3", "s3Location": {
                    "bucket": bucket, "key": "app.zip", "bundleType": "zip"}})["deploymentId"]

        def stored() -> Deployment:
            with ctx.sessions() as session:
                found = session.get(Deployment, deployment_id)
            assert found is not None
            return found

        with simulated(ctx, base + timedelta(minutes=5)) as now:
            first = collect(ctx, now=now)
        running = stored()
        assert first.deployments_stored == 1
        assert (running.env_id, running.application_name, running.group_name) == \
            (env_id, application, group)
        assert running.status == "InProgress"
        assert running.created_at == base + timedelta(minutes=1)
        assert running.started_at is not None and running.ended_at is None

        with simulated(ctx, base + timedelta(minutes=20)) as now:
            second = collect(ctx, now=now)
        done = stored()
        assert second.deployments_stored == 1
        assert done.status == "Succeeded" and done.error is None
        assert done.ended_at is not None
        assert done.started_at is not None
        assert (done.ended_at - done.started_at).total_seconds() == pytest.approx(600, abs=1)

        with simulated(ctx, base + timedelta(minutes=25)) as now:
            assert collect(ctx, now=now).deployments_stored == 0
    finally:
        environments.destroy(ctx, actor=ALICE, env_id=env_id)


def test_two_passes_at_once_store_each_point_once(history_ctx: PortalContext) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ctx = history_ctx
    stack = group_stack(ctx, 4)
    try:
        created = past_start(days=11)
        env_id = add_environment(ctx, stack_id=stack.stack_id, stack_name=stack.stack_name,
                                 created_at=created)
        put_points(ctx, "AWS/EC2", instance_points(stack.instance_ids, CREDITS,
                                                   periods(created, 6)))
        now = now_for(created + 6 * PERIOD, ctx)
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(pool.map(lambda _: collect(ctx, now=now), range(2)))
        assert all(r.error is None for r in reports), [r.to_json() for r in reports]
        assert sum(r.points_stored for r in reports) == 4 * 4 * 6 == len(_points(ctx, env_id))
        with ctx.sessions() as session:
            assert session.scalar(select(func.count()).select_from(MetricSeries)) == 16
        _assert_rollups_match_points(ctx)
    finally:
        delete_stack(ctx, stack.stack_name)
