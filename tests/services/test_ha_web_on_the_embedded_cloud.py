"""ha-web on the embedded cloud: every resource of the stack is there through its own service's API
while the environment runs, and gone after destroy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services import environment_service as environments
from services.context import PortalContext
from services.identity import Actor, Role

pytestmark = pytest.mark.xdist_group("embedded-cloud")

ALICE = Actor("alice", Role.STUDENT)

Lookup = Callable[[PortalContext, str], bool]
"""exists(ctx, physical id): whether the service itself still has the resource."""


def _missing(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return any(word in code for word in ("NotFound", "NotExist", "NoSuch", "Invalid")) or \
        code in ("404", "ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException",
                 "WAFNonexistentItemException", "ResourceNotFoundException")


def _asks(call: Callable[[PortalContext, str], Any]) -> Lookup:
    def exists(ctx: PortalContext, physical_id: str) -> bool:
        try:
            return bool(call(ctx, physical_id))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
    return exists


def _ec2(method: str, key: str, id_param: str) -> Lookup:
    return _asks(lambda ctx, rid: [
        item for item in getattr(ctx.connection.client("ec2"), method)(**{id_param: [rid]})[key]
        if str(item.get("State", "available")).lower() not in ("deleted", "terminated")])


def _instance_profile(ctx: PortalContext, name: str) -> Any:
    return ctx.connection.client("iam").get_instance_profile(InstanceProfileName=name)


def _web_acl(ctx: PortalContext, ref: str) -> Any:
    name, acl_id, scope = ref.split("|")
    return ctx.connection.client("wafv2").get_web_acl(Name=name, Id=acl_id, Scope=scope)


def _web_acl_association(ctx: PortalContext, physical_id: str) -> Any:
    # The association is known by the resource it guards (`resource ARN|web ACL ARN`).
    return ctx.connection.client("wafv2").get_web_acl_for_resource(
        ResourceArn=physical_id.split("|")[0]).get("WebACL")


def _deployment_group(ctx: PortalContext, name: str) -> Any:
    codedeploy = ctx.connection.client("codedeploy")
    for app in codedeploy.list_applications()["applications"]:
        if name in codedeploy.list_deployment_groups(applicationName=app)["deploymentGroups"]:
            return True
    return False


def _scaling_policy(ctx: PortalContext, arn: str) -> Any:
    policies = ctx.connection.client("autoscaling").describe_policies()["ScalingPolicies"]
    return [p for p in policies if p["PolicyARN"] == arn]


def _route(ctx: PortalContext, physical_id: str) -> Any:
    # A route's id is its table and destination: `rtb-...~0.0.0.0/0` here, `rtb-...|...` on AWS.
    table_id, destination = physical_id.replace("|", "~").split("~", 1)
    tables = ctx.connection.client("ec2").describe_route_tables(
        RouteTableIds=[table_id])["RouteTables"]
    return [r for t in tables for r in t["Routes"] if r.get("DestinationCidrBlock") == destination]


def _association(ctx: PortalContext, association_id: str) -> Any:
    tables = ctx.connection.client("ec2").describe_route_tables(Filters=[
        {"Name": "association.route-table-association-id", "Values": [association_id]}])
    return tables["RouteTables"]


def _gateway_attachment(ctx: PortalContext, physical_id: str) -> Any:
    # The attachment's id names its VPC (and, on AWS, its gateway as well).
    gateways = ctx.connection.client("ec2").describe_internet_gateways()["InternetGateways"]
    return [a for g in gateways for a in g.get("Attachments", []) if a["VpcId"] in physical_id]


LOOKUPS: dict[str, Lookup] = {
    "AWS::EC2::VPC": _ec2("describe_vpcs", "Vpcs", "VpcIds"),
    "AWS::EC2::Subnet": _ec2("describe_subnets", "Subnets", "SubnetIds"),
    "AWS::EC2::InternetGateway": _ec2("describe_internet_gateways", "InternetGateways",
                                      "InternetGatewayIds"),
    "AWS::EC2::VPCGatewayAttachment": _asks(_gateway_attachment),
    "AWS::EC2::RouteTable": _ec2("describe_route_tables", "RouteTables", "RouteTableIds"),
    "AWS::EC2::Route": _asks(_route),
    "AWS::EC2::SubnetRouteTableAssociation": _asks(_association),
    "AWS::EC2::NatGateway": _ec2("describe_nat_gateways", "NatGateways", "NatGatewayIds"),
    "AWS::EC2::EIP": _ec2("describe_addresses", "Addresses", "PublicIps"),
    "AWS::EC2::VPCEndpoint": _ec2("describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointIds"),
    "AWS::EC2::SecurityGroup": _ec2("describe_security_groups", "SecurityGroups", "GroupIds"),
    "AWS::EC2::LaunchTemplate": _ec2("describe_launch_templates", "LaunchTemplates",
                                     "LaunchTemplateIds"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _asks(
        lambda ctx, arn: ctx.connection.client("elbv2").describe_load_balancers(
            LoadBalancerArns=[arn])["LoadBalancers"]),
    "AWS::ElasticLoadBalancingV2::TargetGroup": _asks(
        lambda ctx, arn: ctx.connection.client("elbv2").describe_target_groups(
            TargetGroupArns=[arn])["TargetGroups"]),
    "AWS::ElasticLoadBalancingV2::Listener": _asks(
        lambda ctx, arn: ctx.connection.client("elbv2").describe_listeners(
            ListenerArns=[arn])["Listeners"]),
    "AWS::WAFv2::WebACL": _asks(_web_acl),
    "AWS::WAFv2::WebACLAssociation": _asks(_web_acl_association),
    "AWS::IAM::Role": _asks(lambda ctx, name: ctx.connection.client("iam").get_role(
        RoleName=name)),
    "AWS::IAM::InstanceProfile": _asks(_instance_profile),
    "AWS::S3::Bucket": _asks(lambda ctx, name: ctx.connection.client("s3").head_bucket(
        Bucket=name)),
    "AWS::AutoScaling::AutoScalingGroup": _asks(
        lambda ctx, name: ctx.connection.client("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"]),
    "AWS::AutoScaling::ScalingPolicy": _asks(_scaling_policy),
    "AWS::CodeDeploy::Application": _asks(
        lambda ctx, name: ctx.connection.client("codedeploy").get_application(
            applicationName=name)),
    "AWS::CodeDeploy::DeploymentGroup": _asks(_deployment_group),
    "AWS::SecretsManager::Secret": _asks(
        lambda ctx, arn: ctx.connection.client("secretsmanager").describe_secret(SecretId=arn)),
    "AWS::RDS::DBSubnetGroup": _asks(
        lambda ctx, name: ctx.connection.client("rds").describe_db_subnet_groups(
            DBSubnetGroupName=name)["DBSubnetGroups"]),
    "AWS::RDS::DBInstance": _asks(
        lambda ctx, name: ctx.connection.client("rds").describe_db_instances(
            DBInstanceIdentifier=name)["DBInstances"]),
    "AWS::ElastiCache::SubnetGroup": _asks(
        lambda ctx, name: ctx.connection.client("elasticache").describe_cache_subnet_groups(
            CacheSubnetGroupName=name)["CacheSubnetGroups"]),
    "AWS::ElastiCache::ReplicationGroup": _asks(
        lambda ctx, name: [g for g in ctx.connection.client("elasticache")
                           .describe_replication_groups(ReplicationGroupId=name)[
                               "ReplicationGroups"] if g.get("Status") != "deleting"]),
    "AWS::Logs::LogGroup": _asks(
        lambda ctx, name: [g for g in ctx.connection.client("logs").describe_log_groups(
            logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]),
    "AWS::CloudWatch::Alarm": _asks(
        lambda ctx, name: ctx.connection.client("cloudwatch").describe_alarms(
            AlarmNames=[name])["MetricAlarms"]),
}


def test_every_resource_is_real_while_running_and_gone_after_destroy(ctx: PortalContext) -> None:
    env = environments.launch(ctx, actor=ALICE, template_id="ha-web",
                              parameters={"enable_nat_gateway": "true"})
    assert env.status == "ready", env.status_reason
    resources = ctx.engine("cloudformation").stack_resources(env.deployment_name)
    unchecked = {r["type"] for r in resources} - set(LOOKUPS)
    assert not unchecked, f"no lookup for {unchecked}"
    assert {"AWS::WAFv2::WebACL", "AWS::WAFv2::WebACLAssociation",
            "AWS::ElastiCache::ReplicationGroup", "AWS::CodeDeploy::DeploymentGroup",
            "AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm",
            "AWS::AutoScaling::ScalingPolicy", "AWS::EC2::NatGateway"} <= {r["type"]
                                                                         for r in resources}
    missing_while_running = [
        (r["logical_id"], r["type"], r["physical_id"]) for r in resources
        if not r["physical_id"] or not LOOKUPS[r["type"]](ctx, r["physical_id"])]
    assert missing_while_running == []
    # A release bundle in the versioned bucket must not stop the destroy.
    bucket = env.outputs_by_name["bundle_bucket"]
    s3 = ctx.connection.client("s3")
    s3.put_object(Bucket=bucket, Key="releases/app.zip", Body=b"release 1")
    s3.put_object(Bucket=bucket, Key="releases/app.zip", Body=b"release 2")

    destroyed = environments.destroy(ctx, actor=ALICE, env_id=env.env_id)

    assert destroyed.status == "destroyed", destroyed.status_reason
    stack_delete = [e for e in environments.run_events(ctx, actor=ALICE,
                                                       run_id=destroyed.latest_run.run_id)
                    if e.resource_type == "AWS::CloudFormation::Stack"]
    assert stack_delete[-1].status == "DELETE_COMPLETE"
    still_there = [(r["logical_id"], r["type"]) for r in resources
                   if LOOKUPS[r["type"]](ctx, r["physical_id"])]
    assert still_there == []
    assert ctx.sweeper.find(env.env_id) == []
