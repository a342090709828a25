"""Which resources are only records: each one described in its own service.

These run against the embedded cloud, which has the services LocalStack's free edition lacks
(RDS, ELBv2, Auto Scaling), so a check's "not found" is told apart from "no such service"; the
launches on LocalStack itself are in test_launch_on_localstack.py.
"""

from __future__ import annotations

import pytest

from services.clouds import localstack_records
from services.context import PortalContext
from services.engines.base import DeployedResource

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _resource(logical_id: str, resource_type: str, physical_id: str | None,
              status: str = "CREATE_COMPLETE") -> DeployedResource:
    return DeployedResource(logical_id, resource_type, physical_id, status)


def test_what_its_service_describes_is_real_and_what_it_does_not_is_a_record(
        ctx: PortalContext) -> None:
    ec2 = ctx.connection.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.61.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="records-web", Description="web",
                                      VpcId=vpc)["GroupId"]
    try:
        resources = [
            _resource("Vpc", "AWS::EC2::VPC", vpc),
            _resource("WebSecurityGroup", "AWS::EC2::SecurityGroup", group),
            _resource("GoneVpc", "AWS::EC2::VPC", "vpc-0123456789abcdef0"),
            _resource("LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer", "unknown"),
            _resource("TargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup",
                      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0"),
            _resource("Database", "AWS::RDS::DBInstance", "unknown"),
            _resource("AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", "unknown"),
            _resource("LaunchTemplate", "AWS::EC2::LaunchTemplate", "unknown"),
            _resource("Blank", "AWS::EC2::Subnet", None),
            # Not claimed either way: a type without a check, and one that did not complete.
            _resource("Topic", "AWS::SNS::Topic", "arn:aws:sns:us-east-1:123456789012:t"),
            _resource("Failed", "AWS::RDS::DBInstance", "db-1", status="CREATE_FAILED"),
        ]
        checks = {c.resource.logical_id: c for c in
                  localstack_records.check_resources(ctx.connection, resources)}
        assert "Failed" not in checks
        assert {name for name, c in checks.items() if c.exists is True} == {
            "Vpc", "WebSecurityGroup"}
        assert checks["Topic"].exists is None
        records = localstack_records.unbacked_resources(ctx.connection, resources)
        assert [c.resource.logical_id for c in records] == [
            "GoneVpc", "LoadBalancer", "TargetGroup", "Database", "AutoScalingGroup",
            "LaunchTemplate", "Blank"]
        assert "InvalidVpcID.NotFound" in checks["GoneVpc"].reason
        assert checks["Blank"].reason == "complete without a physical id"
        assert checks["Database"].to_json()["exists"] is False
    finally:
        ec2.delete_security_group(GroupId=group)
        ec2.delete_vpc(VpcId=vpc)
