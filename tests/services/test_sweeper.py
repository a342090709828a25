"""The sweep finds what an environment left in every service it uses, and removes it, in order;
what carries the environment's tag without having been made by it, it reports and leaves alone."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services import environment_service as environments
from services.context import PortalContext
from services.identity import Actor, Role
from services.ownership import OwnedResources
from services.sweeper import ENV_TAG, NOT_CREATED, arn_kind

pytestmark = pytest.mark.xdist_group("embedded-cloud")

AMI = "ami-0d27e0fb3bac4d724"
ALICE = Actor("alice", Role.STUDENT)


def _leave_one_of_everything(ctx: PortalContext, env_id: str) -> dict[str, Any]:
    """What a half-deleted ha-web stack could leave, made directly through each service's API,
    and `owned`: the physical ids CloudFormation would have recorded for them, in its forms."""
    client = ctx.connection.client
    tags = [{"Key": ENV_TAG, "Value": env_id}]
    tag_spec = lambda kind: [{"ResourceType": kind, "Tags": tags}]  # noqa: E731
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=tag_spec("vpc"))["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{zone}",
                                 TagSpecifications=tag_spec("subnet"))["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(GroupName=f"g-{env_id}", Description="app", VpcId=vpc,
                                      TagSpecifications=tag_spec("security-group"))["GroupId"]
    template = ec2.create_launch_template(
        LaunchTemplateName=f"lt-{env_id}", TagSpecifications=tag_spec("launch-template"),
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"})
    client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=f"asg-{env_id}", MinSize=1, MaxSize=2, DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"]},
        VPCZoneIdentifier=",".join(subnets),
        Tags=[{**tags[0], "PropagateAtLaunch": True}])
    elbv2 = client("elbv2")
    balancer = elbv2.create_load_balancer(Name=f"lb-{env_id}"[:32], Subnets=subnets,
                                          SecurityGroups=[group], Tags=tags)
    balancer_arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.create_target_group(Name=f"tg-{env_id}"[:32], Protocol="HTTP", Port=80, VpcId=vpc,
                              Tags=tags)
    wafv2 = client("wafv2")
    acl = wafv2.create_web_acl(Name=f"acl-{env_id}", Scope="REGIONAL", DefaultAction={"Allow": {}},
                               VisibilityConfig={"SampledRequestsEnabled": False,
                                                 "CloudWatchMetricsEnabled": False,
                                                 "MetricName": "acl"}, Tags=tags)
    wafv2.associate_web_acl(WebACLArn=acl["Summary"]["ARN"], ResourceArn=balancer_arn)
    target_group_arn = elbv2.describe_target_groups(Names=[f"tg-{env_id}"[:32]])[
        "TargetGroups"][0]["TargetGroupArn"]
    elasticache = client("elasticache")
    elasticache.create_cache_subnet_group(CacheSubnetGroupName=f"csg-{env_id}",
                                          CacheSubnetGroupDescription="cache",
                                          SubnetIds=subnets, Tags=tags)
    elasticache.create_cache_cluster(CacheClusterId=f"cc-{env_id}"[:40], Engine="redis",
                                     CacheNodeType="cache.t3.micro", NumCacheNodes=1,
                                     CacheSubnetGroupName=f"csg-{env_id}", Tags=tags)
    client("codedeploy").create_application(applicationName=f"app-{env_id}",
                                            computePlatform="Server",
                                            tags=[{"Key": ENV_TAG, "Value": env_id}])
    secret_arn = client("secretsmanager").create_secret(Name=f"db-{env_id}", SecretString="{}",
                                                        Tags=tags)["ARN"]
    client("cloudwatch").put_metric_alarm(
        AlarmName=f"credits-{env_id}", MetricName="CPUCreditBalance", Namespace="AWS/EC2",
        Statistic="Minimum", Period=300, EvaluationPeriods=1, Threshold=20,
        ComparisonOperator="LessThanThreshold", Tags=tags)
    client("logs").create_log_group(logGroupName=f"/sandbox/{env_id}", tags={ENV_TAG: env_id})
    s3 = client("s3")
    bucket = f"bundles-{env_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="release.zip", Body=b"v1")
    s3.put_object(Bucket=bucket, Key="release.zip", Body=b"v2")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    # The group's instance and the cluster's membership are not recorded: they are ours as
    # members of a group of ours.
    owned = OwnedResources.of([
        ("AWS::EC2::VPC", vpc), *(("AWS::EC2::Subnet", subnet) for subnet in subnets),
        ("AWS::EC2::SecurityGroup", group),
        ("AWS::EC2::LaunchTemplate", template["LaunchTemplate"]["LaunchTemplateId"]),
        ("AWS::AutoScaling::AutoScalingGroup", f"asg-{env_id}"),
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", balancer_arn),
        ("AWS::ElasticLoadBalancingV2::TargetGroup", target_group_arn),
        ("AWS::WAFv2::WebACL", f"{acl['Summary']['Name']}|{acl['Summary']['Id']}|REGIONAL"),
        ("AWS::ElastiCache::SubnetGroup", f"csg-{env_id}"),
        ("AWS::ElastiCache::CacheCluster", f"cc-{env_id}"[:40]),
        ("AWS::CodeDeploy::Application", f"app-{env_id}"),
        ("AWS::SecretsManager::Secret", secret_arn),
        ("AWS::CloudWatch::Alarm", f"credits-{env_id}"),
        ("AWS::Logs::LogGroup", f"/sandbox/{env_id}"),
        ("AWS::S3::Bucket", bucket),
    ])
    return {"vpc": vpc, "bucket": bucket, "owned": owned}


def test_sweep_removes_what_every_service_left(ctx: PortalContext) -> None:
    env_id = f"sw{uuid.uuid4().hex[:8]}"
    made = _leave_one_of_everything(ctx, env_id)
    kinds = {resource.kind for resource in ctx.sweeper.find(env_id)}
    assert {
        "AWS::AutoScaling::AutoScalingGroup", "AWS::EC2::Instance", "AWS::WAFv2::WebACL",
        "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::ElastiCache::CacheCluster", "AWS::ElastiCache::SubnetGroup",
        "AWS::CodeDeploy::Application", "AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm",
        "AWS::Logs::LogGroup", "AWS::S3::Bucket", "AWS::EC2::LaunchTemplate",
        "AWS::EC2::SecurityGroup", "AWS::EC2::Subnet", "AWS::EC2::VPC",
    } <= kinds, kinds

    left = ctx.sweeper.sweep(env_id, owned=made["owned"], deadline=time.monotonic() + 60,
                             pause=0.2)

    assert left == []
    assert ctx.sweeper.find(env_id) == []
    client = ctx.connection.client
    assert not client("ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [made["vpc"]]}])[
        "Vpcs"]
    assert made["bucket"] not in {b["Name"] for b in client("s3").list_buckets()["Buckets"]}
    assert f"app-{env_id}" not in client("codedeploy").list_applications()["applications"]


@pytest.mark.parametrize(("arn", "kind"), [
    ("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1f:autoScalingGroupName/web",
     "AWS::AutoScaling::AutoScalingGroup"),
    ("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/edge/0a1b", "AWS::WAFv2::WebACL"),
    ("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc",
     "AWS::ElasticLoadBalancingV2::LoadBalancer"),
    ("arn:aws:elasticache:us-east-1:123456789012:replicationgroup:cache",
     "AWS::ElastiCache::ReplicationGroup"),
    ("arn:aws:logs:us-east-1:123456789012:log-group:/app:*", "AWS::Logs::LogGroup"),
    ("arn:aws:s3:::bundles", "AWS::S3::Bucket"),
    ("arn:aws:sqs:us-east-1:123456789012:queue", "tagged sqs"),
])
def test_arn_kinds(arn: str, kind: str) -> None:
    assert arn_kind(arn) == kind


def test_a_rule_naming_a_group_already_gone_does_not_hold_up_the_sweep(ctx: PortalContext) -> None:
    env_id = f"sg-{uuid.uuid4().hex[:8]}"
    ec2 = ctx.connection.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    tags = [{"ResourceType": "security-group", "Tags": [{"Key": ENV_TAG, "Value": env_id}]}]
    app = ec2.create_security_group(GroupName=f"app-{env_id}", Description="app", VpcId=vpc,
                                    TagSpecifications=tags)["GroupId"]
    gone = ec2.create_security_group(GroupName=f"gone-{env_id}", Description="gone",
                                     VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=app, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
        "UserIdGroupPairs": [{"GroupId": gone}]}])
    ec2.delete_security_group(GroupId=gone)

    owned = OwnedResources.of([("AWS::EC2::SecurityGroup", app)])
    left = ctx.sweeper.sweep(env_id, owned=owned, deadline=time.monotonic() + 20, pause=0.1)
    assert left == []
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-id",
                                                      "Values": [app]}])["SecurityGroups"]
    ec2.delete_vpc(VpcId=vpc)


def test_the_sweep_leaves_a_tagged_bucket_it_did_not_create(ctx: PortalContext) -> None:
    env_id = f"nb{uuid.uuid4().hex[:8]}"
    s3 = ctx.connection.client("s3")
    ours, theirs = f"ours-{env_id}", f"theirs-{env_id}"
    for bucket in (ours, theirs):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=bucket, Key="data.csv", Body=b"grades")
        s3.put_bucket_tagging(Bucket=bucket,
                              Tagging={"TagSet": [{"Key": ENV_TAG, "Value": env_id}]})
    logged: list[tuple[str, str, str | None]] = []

    left = ctx.sweeper.sweep(
        env_id, owned=OwnedResources.of([("AWS::S3::Bucket", ours)]),
        deadline=time.monotonic() + 20, pause=0.1,
        log=lambda resource, status, reason: logged.append((str(resource), status, reason)))

    assert [str(r) for r in left] == [f"AWS::S3::Bucket arn:aws:s3:::{theirs} ({NOT_CREATED})"]
    assert (f"AWS::S3::Bucket arn:aws:s3:::{theirs} ({NOT_CREATED})", "DELETE_SKIPPED",
            NOT_CREATED) in logged
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert ours not in buckets and theirs in buckets
    # Not a single version of theirs was touched.
    assert len(s3.list_object_versions(Bucket=theirs)["Versions"]) == 1
    s3.delete_objects(Bucket=theirs, Delete={"Objects": [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for v in s3.list_object_versions(Bucket=theirs)["Versions"]]})
    s3.delete_bucket(Bucket=theirs)


def test_a_vpc_of_ours_held_by_a_subnet_not_ours_is_reported_not_retried(
        ctx: PortalContext) -> None:
    env_id = f"hv{uuid.uuid4().hex[:8]}"
    ec2 = ctx.connection.client("ec2")
    tags = lambda kind: [{"ResourceType": kind,  # noqa: E731
                          "Tags": [{"Key": ENV_TAG, "Value": env_id}]}]
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16", TagSpecifications=tags("vpc"))["Vpc"]["VpcId"]
    ours = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24",
                             TagSpecifications=tags("subnet"))["Subnet"]["SubnetId"]
    theirs = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.2.0/24",
                               TagSpecifications=tags("subnet"))["Subnet"]["SubnetId"]
    owned = OwnedResources.of([("AWS::EC2::VPC", vpc), ("AWS::EC2::Subnet", ours)])
    started = time.monotonic()

    left = ctx.sweeper.sweep(env_id, owned=owned, deadline=started + 60, pause=0.1)

    # Deleting the VPC could only fail until the deadline: it is reported at once instead.
    assert time.monotonic() - started < 20
    assert [str(r) for r in left] == [
        f"AWS::EC2::Subnet {theirs} ({NOT_CREATED})",
        f"AWS::EC2::VPC {vpc} (held by AWS::EC2::Subnet {theirs}, which this environment did "
        "not create)"]
    assert not ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [ours]}])["Subnets"]
    # Once the subnet's owner has removed it, the VPC is ours to delete.
    ec2.delete_subnet(SubnetId=theirs)
    assert ctx.sweeper.sweep(env_id, owned=owned, deadline=time.monotonic() + 20, pause=0.1) == []


def _exists(ctx: PortalContext, resource_type: str, physical_id: str) -> bool:
    """Whether EC2 still has a resource of the web-server stack."""
    ec2 = ctx.connection.client("ec2")
    by_id = lambda key: [{"Name": key, "Values": [physical_id]}]  # noqa: E731
    try:
        if resource_type == "AWS::EC2::Instance":
            return any(i["State"]["Name"] != "terminated"
                       for r in ec2.describe_instances(InstanceIds=[physical_id])["Reservations"]
                       for i in r["Instances"])
        if resource_type in ("AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment"):
            # An attachment's physical id is its VPC's.
            key = "attachment.vpc-id" if "Attachment" in resource_type else "internet-gateway-id"
            return bool(ec2.describe_internet_gateways(Filters=by_id(key))["InternetGateways"])
        if resource_type == "AWS::EC2::Route":
            # A route's physical id is its table and destination: `rtb-...~0.0.0.0/0`.
            table_id, destination = physical_id.split("~", 1)
            tables = ec2.describe_route_tables(
                Filters=[{"Name": "route-table-id", "Values": [table_id]}])["RouteTables"]
            return any(route.get("DestinationCidrBlock") == destination
                       for table in tables for route in table["Routes"])
        if resource_type == "AWS::EC2::SubnetRouteTableAssociation":
            return bool(ec2.describe_route_tables(
                Filters=by_id("association.route-table-association-id"))["RouteTables"])
        method, key, filter_name = {
            "AWS::EC2::VPC": ("describe_vpcs", "Vpcs", "vpc-id"),
            "AWS::EC2::Subnet": ("describe_subnets", "Subnets", "subnet-id"),
            "AWS::EC2::RouteTable": ("describe_route_tables", "RouteTables", "route-table-id"),
            "AWS::EC2::SecurityGroup": ("describe_security_groups", "SecurityGroups", "group-id"),
        }[resource_type]
        return bool(getattr(ec2, method)(Filters=by_id(filter_name))[key])
    except ClientError as exc:
        if "NotFound" in exc.response.get("Error", {}).get("Code", ""):
            return False
        raise


def test_a_destroy_deletes_only_what_the_environment_created(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "ready", env.status_reason
    made = ctx.engine("cloudformation").stack_resources(env.deployment_name)
    vpc = next(r["physical_id"] for r in made if r["type"] == "AWS::EC2::VPC")
    # Someone who may tag resources gives their own bucket and security group the
    # environment's tag, the group inside the environment's VPC.
    tags = [{"Key": ENV_TAG, "Value": env.env_id}]
    s3, ec2 = ctx.connection.client("s3"), ctx.connection.client("ec2")
    bucket = f"not-{env.env_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="thesis.pdf", Body=b"years of work")
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    group = ec2.create_security_group(
        GroupName=f"not-{env.env_id}", Description="someone else's", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])["GroupId"]

    destroyed = environments.destroy(ctx, actor=ALICE, env_id=env.env_id)

    # A person must look at what carried the tag without being ours: the destroy fails, naming it.
    assert destroyed.status == "failed"
    reported = set(destroyed.latest_run.leftovers)
    # On AWS the group also keeps the VPC from being deleted, and the VPC is reported as held by
    # it; the embedded cloud (moto 5.2.5) deletes a VPC that still has security groups.
    reported.discard(f"AWS::EC2::VPC {vpc} (held by AWS::EC2::SecurityGroup {group}, which this "
                     "environment did not create)")
    assert reported == {f"AWS::S3::Bucket arn:aws:s3:::{bucket} ({NOT_CREATED})",
                        f"AWS::EC2::SecurityGroup {group} ({NOT_CREATED})"}
    assert s3.get_object(Bucket=bucket, Key="thesis.pdf")["Body"].read() == b"years of work"
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    still_there = [(r["logical_id"], r["physical_id"]) for r in made
                   if r["physical_id"] != vpc and _exists(ctx, r["type"], r["physical_id"])]
    assert still_there == []

    # Once their owner has taken them away, a second destroy finishes the job: what is ours is
    # known from the launch's recorded events after the stack has gone.
    ec2.delete_security_group(GroupId=group)
    s3.delete_object(Bucket=bucket, Key="thesis.pdf")
    s3.delete_bucket(Bucket=bucket)
    again = environments.destroy(ctx, actor=ALICE, env_id=env.env_id)
    assert again.status == "destroyed", again.status_reason
    assert again.latest_run.leftovers == []
    assert not _exists(ctx, "AWS::EC2::VPC", vpc)
