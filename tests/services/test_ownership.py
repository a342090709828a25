"""What an environment's deployment created, from its recorded stack events and its live stack, and
the rule per kind that tells a resource found by tag as one of them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services import environment_service as environments
from services.context import PortalContext
from services.engines.cloudformation_engine import STACK_TYPE
from services.history.models import Run, RunEvent, RunKind, RunStatus, utcnow
from services.identity import Actor, Role
from services.ownership import RULES, OwnedResources, created_resources
from services.sweeper import ARN_DELETERS, TaggedResource

pytestmark = pytest.mark.xdist_group("embedded-cloud")

ALICE = Actor("alice", Role.STUDENT)
ARN = "arn:aws:{service}:us-east-1:123456789012:{resource}"
STACK_ARN = ARN.format(service="cloudformation", resource="stack/sbx-1a2b3c4d5e/8f0e")
LB_ARN = ARN.format(service="elasticloadbalancing",
                    resource="loadbalancer/app/sbx-1a2b3c4d5e-Load-BV7A98GO/5b2d0d28fdafcefb")
TG_ARN = ARN.format(service="elasticloadbalancing",
                    resource="targetgroup/sbx-1a2b3c4d5e-Targ-GJANF6JH/8ec4b2fb97d14838")
SECRET_ARN = ARN.format(service="secretsmanager", resource="secret:DatabaseSecret-SwotQL-YsInLI")
ACL_ID = "23f21dba-d9b8-44b3-ba20-35c2f616efb6"

# Physical ids as CloudFormation (and the embedded cloud) report them for a launched ha-web.
OWNED = OwnedResources.of([
    (STACK_TYPE, STACK_ARN),
    ("AWS::EC2::VPC", "vpc-295393ee9c9db1310"),
    ("AWS::EC2::Subnet", "subnet-572d977e05fda2b17"),
    ("AWS::EC2::RouteTable", "rtb-694901f6bf890482d"),
    ("AWS::EC2::InternetGateway", "igw-a3f38ba7610e45cec"),
    ("AWS::EC2::NatGateway", "nat-bfdaa2d54c4692e55"),
    ("AWS::EC2::VPCEndpoint", "vpce-5f287ec19c2830e09"),
    ("AWS::EC2::EIP", "127.179.179.135"),
    ("AWS::EC2::SecurityGroup", "sg-3027c8e2d1f3a335e"),
    ("AWS::EC2::LaunchTemplate", "lt-87e61fa57ac74e0f6"),
    ("AWS::EC2::Instance", "i-bc78efe1ad50543e3"),
    ("AWS::RDS::DBInstance", "sbx-1a2b3c4d5e-database-lirhszo0p5k6"),
    ("AWS::RDS::DBSubnetGroup", "sbx-1a2b3c4d5e-dbsubnetgroup-4r8br9otm39m"),
    ("AWS::AutoScaling::AutoScalingGroup", "sbx-1a2b3c4d5e-AutoScalingGroup-ERV4E5SL"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", LB_ARN),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", TG_ARN),
    ("AWS::WAFv2::WebACL", f"sbx-1a2b3c4d5e-web-acl|{ACL_ID}|REGIONAL"),
    ("AWS::ElastiCache::ReplicationGroup", "sbx-1a2b3c4d5e-cachereplica-5iigdtxgoq2b"),
    ("AWS::ElastiCache::SubnetGroup", "sbx-1a2b3c4d5e-cachesubnetgroup-gu6wr6dd2skv"),
    ("AWS::SecretsManager::Secret", SECRET_ARN),
    ("AWS::CodeDeploy::Application", "sbx-1a2b3c4d5e-app"),
    ("AWS::CodeDeploy::DeploymentGroup", "sbx-1a2b3c4d5e-web"),
    ("AWS::CloudWatch::Alarm", "sbx-1a2b3c4d5e-cpu-credits"),
    ("AWS::Logs::LogGroup", "/sandbox/sbx-1a2b3c4d5e/app"),
    ("AWS::S3::Bucket", "sbx-1a2b3c4d5e-bundlebucket-b6ay1hh5gi8r"),
])


def _case(name: str, kind: str, resource_id: str, ours: bool, *,
          aliases: tuple[str, ...] = (), member_of: str | None = None,
          uses: tuple[str, ...] = ()) -> object:
    """A resource as the sweep finds it (with what its service said about it), and whether it is
    ours by `OWNED`."""
    resource = TaggedResource(kind, resource_id, aliases=aliases, member_of=member_of, uses=uses)
    return pytest.param(resource, ours, id=name)


@pytest.mark.parametrize(("resource", "ours"), [
    _case("instance made by the stack", "AWS::EC2::Instance", "i-bc78efe1ad50543e3", True),
    _case("instance made by hand", "AWS::EC2::Instance", "i-0aaaaaaaaaaaaaaaa", False),
    _case("instance launched by our auto scaling group", "AWS::EC2::Instance",
          "i-6ee23fdc07b0a25e0", True, member_of="sbx-1a2b3c4d5e-AutoScalingGroup-ERV4E5SL"),
    _case("instance launched by another auto scaling group", "AWS::EC2::Instance",
          "i-6ee23fdc07b0a25e1", False, member_of="someone-elses-group"),
    _case("security group made by the stack", "AWS::EC2::SecurityGroup",
          "sg-3027c8e2d1f3a335e", True),
    _case("security group made by hand in our VPC", "AWS::EC2::SecurityGroup",
          "sg-0bbbbbbbbbbbbbbbb", False, uses=("vpc-295393ee9c9db1310",)),
    _case("vpc", "AWS::EC2::VPC", "vpc-295393ee9c9db1310", True),
    _case("vpc made by hand", "AWS::EC2::VPC", "vpc-0cccccccccccccccc", False),
    _case("subnet", "AWS::EC2::Subnet", "subnet-572d977e05fda2b17", True),
    _case("subnet made by hand in our VPC", "AWS::EC2::Subnet", "subnet-0dddddddddddddddd",
          False, uses=("vpc-295393ee9c9db1310",)),
    _case("route table", "AWS::EC2::RouteTable", "rtb-694901f6bf890482d", True),
    _case("internet gateway", "AWS::EC2::InternetGateway", "igw-a3f38ba7610e45cec", True),
    _case("nat gateway", "AWS::EC2::NatGateway", "nat-bfdaa2d54c4692e55", True),
    _case("vpc endpoint", "AWS::EC2::VPCEndpoint", "vpce-5f287ec19c2830e09", True),
    _case("launch template", "AWS::EC2::LaunchTemplate", "lt-87e61fa57ac74e0f6", True),
    _case("elastic ip known by its address", "AWS::EC2::EIP", "eipalloc-0aad27ad94cbfb83b",
          True, aliases=("127.179.179.135",)),
    _case("elastic ip of someone else", "AWS::EC2::EIP", "eipalloc-0eeeeeeeeeeeeeeee", False,
          aliases=("127.1.1.1",)),
    _case("database, whatever its case", "AWS::RDS::DBInstance",
          "SBX-1A2B3C4D5E-Database-LIRHSZO0P5K6", True),
    _case("database made by hand", "AWS::RDS::DBInstance", "grades", False),
    _case("db subnet group", "AWS::RDS::DBSubnetGroup",
          "sbx-1a2b3c4d5e-dbsubnetgroup-4r8br9otm39m", True),
    _case("auto scaling group by its name", "AWS::AutoScaling::AutoScalingGroup",
          ARN.format(service="autoscaling", resource="autoScalingGroup:2380d8da:"
                     "autoScalingGroupName/sbx-1a2b3c4d5e-AutoScalingGroup-ERV4E5SL"), True),
    _case("auto scaling group of someone else", "AWS::AutoScaling::AutoScalingGroup",
          ARN.format(service="autoscaling",
                     resource="autoScalingGroup:99:autoScalingGroupName/web"), False),
    _case("load balancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", LB_ARN, True),
    _case("load balancer of someone else", "AWS::ElasticLoadBalancingV2::LoadBalancer",
          LB_ARN.replace("5b2d0d28fdafcefb", "0000000000000000"), False),
    _case("target group", "AWS::ElasticLoadBalancingV2::TargetGroup", TG_ARN, True),
    _case("web acl from name|id|scope", "AWS::WAFv2::WebACL",
          ARN.format(service="wafv2", resource=f"regional/webacl/sbx-1a2b3c4d5e-web-acl/{ACL_ID}"),
          True),
    _case("web acl of the same name, another id", "AWS::WAFv2::WebACL",
          ARN.format(service="wafv2", resource="regional/webacl/sbx-1a2b3c4d5e-web-acl/0f0f"),
          False),
    _case("replication group", "AWS::ElastiCache::ReplicationGroup",
          ARN.format(service="elasticache",
                     resource="replicationgroup:sbx-1a2b3c4d5e-cachereplica-5iigdtxgoq2b"), True),
    _case("cache cluster of our replication group", "AWS::ElastiCache::CacheCluster",
          ARN.format(service="elasticache",
                     resource="cluster:sbx-1a2b3c4d5e-cachereplica-5iigdtxgoq2b-001"), True,
          member_of="sbx-1a2b3c4d5e-cachereplica-5iigdtxgoq2b"),
    _case("cache cluster made by hand", "AWS::ElastiCache::CacheCluster",
          ARN.format(service="elasticache", resource="cluster:sessions"), False),
    _case("cache subnet group", "AWS::ElastiCache::SubnetGroup",
          ARN.format(service="elasticache",
                     resource="subnetgroup:sbx-1a2b3c4d5e-cachesubnetgroup-gu6wr6dd2skv"), True),
    _case("secret", "AWS::SecretsManager::Secret", SECRET_ARN, True),
    _case("secret of the same name, another suffix", "AWS::SecretsManager::Secret",
          SECRET_ARN.replace("YsInLI", "AbCdEf"), False),
    _case("codedeploy application", "AWS::CodeDeploy::Application",
          ARN.format(service="codedeploy", resource="application:sbx-1a2b3c4d5e-app"), True),
    _case("deployment group of our application", "AWS::CodeDeploy::DeploymentGroup",
          ARN.format(service="codedeploy",
                     resource="deploymentgroup:sbx-1a2b3c4d5e-app/sbx-1a2b3c4d5e-web"), True,
          member_of="sbx-1a2b3c4d5e-app"),
    _case("deployment group of our name in another application",
          "AWS::CodeDeploy::DeploymentGroup",
          ARN.format(service="codedeploy", resource="deploymentgroup:other/sbx-1a2b3c4d5e-web"),
          False, member_of="other"),
    _case("alarm", "AWS::CloudWatch::Alarm",
          ARN.format(service="cloudwatch", resource="alarm:sbx-1a2b3c4d5e-cpu-credits"), True),
    _case("log group, with the trailing :*", "AWS::Logs::LogGroup",
          ARN.format(service="logs", resource="log-group:/sandbox/sbx-1a2b3c4d5e/app:*"), True),
    _case("bucket", "AWS::S3::Bucket", "arn:aws:s3:::sbx-1a2b3c4d5e-bundlebucket-b6ay1hh5gi8r",
          True),
    _case("bucket made by hand", "AWS::S3::Bucket", "arn:aws:s3:::theses", False),
    _case("bucket named like a resource of another type of ours", "AWS::S3::Bucket",
          "arn:aws:s3:::sbx-1a2b3c4d5e-cpu-credits", False),
    _case("the stack itself", "tagged cloudformation", STACK_ARN, True),
    _case("a queue the sweep cannot delete", "tagged sqs",
          ARN.format(service="sqs", resource="grades"), False),
])
def test_the_rule_per_kind(resource: TaggedResource, ours: bool) -> None:
    assert OWNED.owns(resource) is ours


def test_every_kind_the_sweep_deletes_has_a_rule() -> None:
    found_by_their_own_api = {
        "AWS::EC2::Instance", "AWS::RDS::DBInstance", "AWS::RDS::DBSubnetGroup",
        "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint",
        "AWS::EC2::InternetGateway", "AWS::EC2::RouteTable", "AWS::EC2::Subnet",
        "AWS::EC2::LaunchTemplate", "AWS::EC2::SecurityGroup", "AWS::EC2::VPC"}
    assert found_by_their_own_api | set(ARN_DELETERS) == set(RULES)


def test_nothing_is_ours_without_a_record() -> None:
    assert not OwnedResources().owns(TaggedResource("AWS::S3::Bucket", "arn:aws:s3:::any"))


@pytest.mark.parametrize(("template_id", "parameters"), [
    ("web-server", {}),
    ("three-tier", {}),
    ("ha-web", {"enable_nat_gateway": "true"}),
])
def test_everything_a_launch_tags_is_something_it_created(
        ctx: PortalContext, template_id: str, parameters: dict[str, str]) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id=template_id, parameters=parameters)
    assert env.status == "ready", env.status_reason
    stack = ctx.engine("cloudformation").stack_resources(env.deployment_name)

    owned = created_resources(ctx, env.env_id)

    assert owned.deployment_listed
    assert [(r["type"], r["physical_id"]) for r in stack
            if r["physical_id"] not in owned.ids(r["type"])] == []
    found = ctx.sweeper.find(env.env_id)
    assert found
    assert [str(r) for r in found if not owned.owns(r)] == []

    destroyed = environments.destroy(ctx, actor=ALICE, env_id=env.env_id)
    assert destroyed.status == "destroyed", destroyed.status_reason
    # With the stack gone, the launch's recorded events still say what it made.
    after = created_resources(ctx, env.env_id)
    assert not after.deployment_listed
    assert [(r["type"], r["physical_id"]) for r in stack
            if r["physical_id"] not in after.ids(r["type"])] == []


def test_only_the_stacks_own_events_of_the_launch_count(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "ready", env.status_reason
    now = utcnow()

    def event(run_id: int, key: str, physical_id: str, status: str) -> RunEvent:
        return RunEvent(run_id=run_id, event_key=key, occurred_at=now, logical_id="Extra",
                        resource_type="AWS::EC2::SecurityGroup", physical_id=physical_id,
                        status=status)

    with ctx.sessions() as session, session.begin():
        destroy = Run(env_id=env.env_id, kind=RunKind.DESTROY.value,
                      status=RunStatus.FAILED.value, started_at=now,
                      deadline_at=now + timedelta(minutes=1))
        session.add(destroy)
        session.flush()
        launch_run = env.runs[0].run_id
        session.add_all([
            # A resource that failed half-made still has its id: it was made.
            event(launch_run, f"Extra-{uuid.uuid4().hex}", "sg-0halfmade", "CREATE_FAILED"),
            # The portal's own events name resources found by tag: no proof.
            event(launch_run, f"portal-{uuid.uuid4().hex}", "sg-0bytag", "CREATE_COMPLETE"),
            # Nor does any run but a launch create anything.
            event(destroy.id, f"Extra-{uuid.uuid4().hex}", "sg-0destroy", "CREATE_COMPLETE"),
            event(launch_run, f"Extra-{uuid.uuid4().hex}", "sg-0deleted", "DELETE_COMPLETE"),
        ])

    owned = created_resources(ctx, env.env_id)

    groups = owned.ids("AWS::EC2::SecurityGroup")
    assert "sg-0halfmade" in groups
    assert not {"sg-0bytag", "sg-0destroy", "sg-0deleted"} & groups
    assert environments.destroy(ctx, actor=ALICE, env_id=env.env_id).status == "destroyed"


def test_an_environment_unknown_to_the_portal_owns_nothing(ctx: PortalContext) -> None:
    assert created_resources(ctx, "0000000000") == OwnedResources()
