"""The sweep finds what an environment left in every service it uses, and removes it, in order."""

from __future__ import annotations

import time
import uuid

import pytest

from services.context import PortalContext
from services.sweeper import ENV_TAG, arn_kind

pytestmark = pytest.mark.xdist_group("embedded-cloud")

AMI = "ami-0d27e0fb3bac4d724"


def _leave_one_of_everything(ctx: PortalContext, env_id: str) -> dict[str, str]:
    """What a half-deleted ha-web stack could leave, made directly through each service's API."""
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
    client("secretsmanager").create_secret(Name=f"db-{env_id}", SecretString="{}", Tags=tags)
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
    return {"vpc": vpc, "bucket": bucket}


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

    left = ctx.sweeper.sweep(env_id, deadline=time.monotonic() + 60, pause=0.2)

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

    left = ctx.sweeper.sweep(env_id, deadline=time.monotonic() + 20, pause=0.1)
    assert left == []
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-id",
                                                      "Values": [app]}])["SecurityGroups"]
    ec2.delete_vpc(VpcId=vpc)
