"""What discovery finds of environments in the embedded cloud, checked against the services' own
describe calls: instances with their types, ALB and target group dimensions, RDS identifiers,
Auto Scaling groups and their activities, CodeDeploy deployment groups; a missing stack fails
alone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services import environment_service as environments
from services.context import PortalContext
from services.engines.base import DeploymentRef
from services.history.models import utcnow
from services.identity import Actor, Role
from services.monitoring.discovery import (
    Discovery,
    DiscoveryRequest,
    load_balancer_dimension,
    target_group_dimension,
)

from tests.services.monitoring.collector_support import (
    delete_stack,
    group_members,
    group_stack,
    simulated,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

ALICE = Actor("alice", Role.STUDENT)


def _request(ctx: PortalContext, env_id: str, stack: str, *, since: datetime | None = None,
             instances_since: datetime | None = None) -> DiscoveryRequest:
    since = since or utcnow() - timedelta(minutes=60)
    return DiscoveryRequest(env_id=env_id, engine=ctx.engine("cloudformation"),
                            ref=DeploymentRef(env_id, stack), activities_since=since,
                            instances_since=instances_since or since)


ELB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012"


@pytest.mark.parametrize(("arn", "dimension"), [
    (f"{ELB_ARN}:loadbalancer/app/web-alb/50dc6c495c0c9188", "app/web-alb/50dc6c495c0c9188"),
    (f"{ELB_ARN}:loadbalancer/net/tcp-nlb/73e2d6bc24d8a067", None),
    (f"{ELB_ARN}:targetgroup/web/943f017f100becff", None),
])
def test_load_balancer_dimension(arn: str, dimension: str | None) -> None:
    assert load_balancer_dimension(arn) == dimension


def test_target_group_dimension() -> None:
    assert target_group_dimension(f"{ELB_ARN}:targetgroup/web/943f017f100becff") == \
        "targetgroup/web/943f017f100becff"
    assert target_group_dimension(f"{ELB_ARN}:loadbalancer/app/web-alb/50dc6c495c0c9188") is None


def test_ha_web_environment(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="ha-web", parameters={})
    assert env.status == "ready", env.status_reason
    try:
        found = Discovery(ctx.connection).discover([_request(ctx, env.env_id, env.deployment_name)])
        resources = found[env.env_id]
        assert resources.error is None and resources.partial_error is None

        stack = {r["type"]: r["physical_id"] for r in ctx.engine("cloudformation").stack_resources(env.deployment_name)}
        group = stack["AWS::AutoScaling::AutoScalingGroup"]
        assert resources.auto_scaling_groups == [group]
        members = group_members(ctx, group)
        assert len(members) == 2
        assert resources.instances == {member: "t3.micro" for member in members}

        elbv2 = ctx.connection.client("elbv2")
        balancer = elbv2.describe_load_balancers()["LoadBalancers"]
        arn = stack["AWS::ElasticLoadBalancingV2::LoadBalancer"]
        assert arn in {b["LoadBalancerArn"] for b in balancer}
        name = next(b["LoadBalancerName"] for b in balancer if b["LoadBalancerArn"] == arn)
        assert resources.load_balancers == [f"app/{name}/{arn.rsplit('/', 1)[1]}"]
        target_group = elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"][0]
        assert [(p.load_balancer, p.target_group) for p in resources.target_groups] == [
            (resources.load_balancers[0],
             f"targetgroup/{target_group['TargetGroupName']}/"
             f"{target_group['TargetGroupArn'].rsplit('/', 1)[1]}")]

        database = stack["AWS::RDS::DBInstance"]
        assert resources.db_instances == [database]
        assert ctx.connection.client("rds").describe_db_instances(
            DBInstanceIdentifier=database)["DBInstances"]

        application = stack["AWS::CodeDeploy::Application"]
        assert resources.deployment_groups == [
            (application, stack["AWS::CodeDeploy::DeploymentGroup"])]

        # The group's launch is recorded as activities that name its instances.
        named = {i for activity in resources.activities for i in activity.instance_ids}
        assert named == set(members)
        assert {a.group_name for a in resources.activities} == {group}
    finally:
        environments.destroy(ctx, actor=ALICE, env_id=env.env_id)


def test_web_server_instance_and_a_missing_stack(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "ready", env.status_reason
    try:
        found = Discovery(ctx.connection).discover([
            _request(ctx, env.env_id, env.deployment_name), _request(ctx, "gone", "sbx-never-launched")])
        (instance_id,) = [r["physical_id"] for r in ctx.engine("cloudformation").stack_resources(
                              env.deployment_name) if r["type"] == "AWS::EC2::Instance"]
        web = found[env.env_id]
        assert web.instances == {instance_id: env.parameters["instance_type"]}
        assert (web.load_balancers, web.db_instances, web.auto_scaling_groups,
                web.deployment_groups) == ([], [], [], [])
        assert found["gone"].deployment_missing
        assert found["gone"].error == "deployment sbx-never-launched holds no resources"
        assert found["gone"].instances == {}
    finally:
        environments.destroy(ctx, actor=ALICE, env_id=env.env_id)


def test_instances_named_by_recent_activities_are_kept(ctx: PortalContext) -> None:
    stack = group_stack(ctx, 2)
    try:
        replaced = stack.instance_ids[0]
        moment = utcnow() + timedelta(minutes=10)
        with simulated(ctx, moment):
            ctx.connection.client("autoscaling").set_instance_health(
                InstanceId=replaced, HealthStatus="Unhealthy", ShouldRespectGracePeriod=False)
        members = group_members(ctx, stack.group_name)
        assert replaced not in members and len(members) == 2
        discovery = Discovery(ctx.connection)

        since = moment - timedelta(minutes=1)
        recent = discovery.discover([_request(ctx, "env", stack.stack_name, since=since)])["env"]
        assert set(recent.instances) == set(members) | {replaced}
        # The terminated instance is still described, with its type.
        assert recent.instances[replaced] == "t3.micro"
        assert any(a.description and a.description.startswith("Terminating")
                   and replaced in a.instance_ids for a in recent.activities)

        # Once its termination lies before the window, only members are watched; the
        # activities are read as far back as asked all the same.
        later = discovery.discover([_request(
            ctx, "env", stack.stack_name, since=since,
            instances_since=moment + timedelta(minutes=5))])["env"]
        assert set(later.instances) == set(members)
        assert {a.activity_id for a in later.activities} == \
            {a.activity_id for a in recent.activities}
    finally:
        delete_stack(ctx, stack.stack_name)
