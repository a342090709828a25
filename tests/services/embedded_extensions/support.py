"""A minimal stack in the embedded cloud over HTTP, for the tests of each extension."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from services.context import PortalContext

STACK_TYPE = "AWS::CloudFormation::Stack"

AMI = "ami-0d27e0fb3bac4d724"
NETWORK = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.7.0.0/16"}},
    "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.7.1.0/24",
        "AvailabilityZone": "us-east-1a"}},
    "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.7.2.0/24",
        "AvailabilityZone": "us-east-1b"}},
    "Web": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "web", "VpcId": {"Ref": "Vpc"}}},
}


def create_stack(ctx: PortalContext, resources: dict[str, Any],
                 tags: dict[str, str] | None = None, *, network: bool = True) -> dict[str, str]:
    """Create a stack of NETWORK (unless network=False) plus `resources`; logical id -> physical id."""
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(
        StackName=name, TemplateBody=json.dumps(
            {"Resources": {**(NETWORK if network else {}), **resources}}),
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}


# An Auto Scaling group of one instance behind an application load balancer, on NETWORK.
WEB_TIER = {
    "Template": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
        "LaunchTemplateData": {"ImageId": AMI, "InstanceType": "t3.micro"}}},
    "Targets": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "Port": 80, "Protocol": "HTTP"}},
    "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
        "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "SecurityGroups": [{"Ref": "Web"}]}},
    "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
        "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Targets"}}]}},
    "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
        "MinSize": "1", "MaxSize": "2", "DesiredCapacity": "1",
        "LaunchTemplate": {"LaunchTemplateId": {"Ref": "Template"},
                           "Version": {"Fn::GetAtt": ["Template", "LatestVersionNumber"]}},
        "VPCZoneIdentifier": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
        "TargetGroupARNs": [{"Ref": "Targets"}]}},
}


@dataclass(frozen=True)
class LaunchedStack:
    name: str
    status: str
    ids: dict[str, str]  # logical id -> physical id
    outputs: dict[str, str]


def launch_stack(ctx: PortalContext, resources: dict[str, Any],
                 tags: dict[str, str] | None = None, *, network: bool = True,
                 outputs: dict[str, Any] | None = None) -> LaunchedStack:
    """Like create_stack, with `Outputs` (output name -> value expression) and the stack's name,
    so that a test can read its outputs and delete it."""
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    template: dict[str, Any] = {"Resources": {**(NETWORK if network else {}), **resources}}
    if outputs:
        template["Outputs"] = {key: {"Value": value} for key, value in outputs.items()}
    cloudformation.create_stack(
        StackName=name, TemplateBody=json.dumps(template),
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return LaunchedStack(
        name=name, status=stack["StackStatus"],
        ids={s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries},
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})


def delete_stack(ctx: PortalContext, name: str) -> str:
    """Delete the stack; its final status, read from list_stacks (a deleted stack has no name)."""
    cloudformation = ctx.connection.client("cloudformation")
    cloudformation.delete_stack(StackName=name)
    summaries = cloudformation.list_stacks()["StackSummaries"]
    return next(s["StackStatus"] for s in summaries if s["StackName"] == name)


def tagged_arns(ctx: PortalContext, key: str, value: str) -> list[str]:
    """What the Resource Groups Tagging API lists under the tag."""
    pages = ctx.connection.client("resourcegroupstaggingapi").get_paginator(
        "get_resources").paginate(TagFilters=[{"Key": key, "Values": [value]}])
    return [m["ResourceARN"] for page in pages for m in page["ResourceTagMappingList"]]


# Internet and NAT gateways, a public (SubnetA) and a private (SubnetB) route table with their
# default routes and associations, an S3 gateway endpoint on both tables, and a database group
# that admits the web group, on NETWORK.
GATEWAYS = {
    "Igw": {"Type": "AWS::EC2::InternetGateway"},
    "IgwAttachment": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Igw"}}},
    "PublicRoutes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
    "PrivateRoutes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
    "PublicDefault": {"Type": "AWS::EC2::Route", "DependsOn": "IgwAttachment", "Properties": {
        "RouteTableId": {"Ref": "PublicRoutes"}, "DestinationCidrBlock": "0.0.0.0/0",
        "GatewayId": {"Ref": "Igw"}}},
    "PublicAssociation": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
        "SubnetId": {"Ref": "SubnetA"}, "RouteTableId": {"Ref": "PublicRoutes"}}},
    "PrivateAssociation": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
        "SubnetId": {"Ref": "SubnetB"}, "RouteTableId": {"Ref": "PrivateRoutes"}}},
    "NatAddress": {"Type": "AWS::EC2::EIP", "DependsOn": "IgwAttachment",
                   "Properties": {"Domain": "vpc"}},
    "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {
        "SubnetId": {"Ref": "SubnetA"},
        "AllocationId": {"Fn::GetAtt": ["NatAddress", "AllocationId"]}}},
    "PrivateDefault": {"Type": "AWS::EC2::Route", "Properties": {
        "RouteTableId": {"Ref": "PrivateRoutes"}, "DestinationCidrBlock": "0.0.0.0/0",
        "NatGatewayId": {"Ref": "Nat"}}},
    "S3Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "ServiceName": "com.amazonaws.us-east-1.s3",
        "VpcEndpointType": "Gateway",
        "RouteTableIds": [{"Ref": "PublicRoutes"}, {"Ref": "PrivateRoutes"}]}},
    "Db": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "db", "VpcId": {"Ref": "Vpc"}}},
    "DbFromWeb": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": {"Ref": "Db"}, "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306,
        "SourceSecurityGroupId": {"Ref": "Web"}}},
}


def stack_events(ctx: PortalContext, stack: str) -> list[dict[str, Any]]:
    """describe_stack_events of `stack` (a name, or the id of a deleted stack): newest first."""
    pages = ctx.connection.client("cloudformation").get_paginator(
        "describe_stack_events").paginate(StackName=stack)
    return [event for page in pages for event in page["StackEvents"]]


@dataclass(frozen=True)
class FailedCreate:
    name: str
    stack_id: str  # the only name of a stack its failed create deleted
    status: str
    reasons: dict[str, str]  # logical id of each resource that failed -> its reason
    stack_reason: str | None  # the reason of the stack's own failure event


def failing_create(ctx: PortalContext, template: dict[str, Any], **request: Any) -> FailedCreate:
    """create_stack of a template whose create fails: the call succeeds, as on AWS, and the
    stack ends failed; its status and the reasons its events give."""
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    stack_id = cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template),
                                           **request)["StackId"]
    status = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    events = stack_events(ctx, stack_id)
    reasons = {e["LogicalResourceId"]: e["ResourceStatusReason"] for e in events
               if e["ResourceStatus"] == "CREATE_FAILED" and e["ResourceType"] != STACK_TYPE}
    stack_reason = next((e.get("ResourceStatusReason") for e in events
                         if e["ResourceType"] == STACK_TYPE and e["ResourceStatus"] in (
                             "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS")),
                        None)
    return FailedCreate(name=name, stack_id=stack_id, status=status, reasons=reasons,
                        stack_reason=stack_reason)
