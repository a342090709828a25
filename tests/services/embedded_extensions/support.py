"""A minimal stack in the embedded cloud over HTTP, for the tests of each extension."""

from __future__ import annotations

import json
import uuid
from typing import Any

from services.context import PortalContext

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
