"""Types moto creates for a stack and could not delete, deleted with it (`resource_deletes`),
checked through each service's API, over HTTP."""

from __future__ import annotations

import json
import uuid

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    AMI, delete_stack, launch_stack, stack_events,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def test_network_storage_and_scaling_parts_go_with_their_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Other": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.8.0.0/16"}},
        "Peering": {"Type": "AWS::EC2::VPCPeeringConnection", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "PeerVpcId": {"Ref": "Other"}}},
        "Vpn": {"Type": "AWS::EC2::VPNGateway", "Properties": {"Type": "ipsec.1"}},
        "Transit": {"Type": "AWS::EC2::TransitGateway", "Properties": {"Description": "lab"}},
        "Flows": {"Type": "AWS::EC2::FlowLog", "Properties": {
            "ResourceType": "VPC", "ResourceId": {"Ref": "Vpc"}, "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs", "LogGroupName": "lab-flows",
            "DeliverLogsPermissionArn": "arn:aws:iam::123456789012:role/flows"}},
        "Server": {"Type": "AWS::EC2::Instance", "Properties": {
            "ImageId": AMI, "InstanceType": "t3.micro", "SubnetId": {"Ref": "SubnetA"}}},
        "Disk": {"Type": "AWS::EC2::Volume", "Properties": {
            "Size": 10, "AvailabilityZone": "us-east-1a"}},
        "Mount": {"Type": "AWS::EC2::VolumeAttachment", "Properties": {
            "InstanceId": {"Ref": "Server"}, "VolumeId": {"Ref": "Disk"},
            "Device": "/dev/sdh"}},
        "Template": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateData": {"ImageId": AMI, "InstanceType": "t3.micro"}}},
        "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
            "MinSize": "0", "MaxSize": "1", "DesiredCapacity": "0",
            "VPCZoneIdentifier": [{"Ref": "SubnetA"}],
            "LaunchTemplate": {"LaunchTemplateId": {"Ref": "Template"}, "Version": "1"}}},
        "Nightly": {"Type": "AWS::AutoScaling::ScheduledAction", "Properties": {
            "AutoScalingGroupName": {"Ref": "Group"}, "DesiredCapacity": 0,
            "Recurrence": "0 20 * * *"}},
    })
    assert stack.status == "CREATE_COMPLETE"
    assert stack.ids["Nightly"] and stack.ids["Mount"], "every resource has a physical id"

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    ec2 = ctx.connection.client("ec2")
    peerings = ec2.describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[stack.ids["Peering"]])["VpcPeeringConnections"]
    assert [p["Status"]["Code"] for p in peerings] in ([], ["deleted"])
    assert [g["State"] for g in ec2.describe_vpn_gateways(
        VpnGatewayIds=[stack.ids["Vpn"]])["VpnGateways"]] in ([], ["deleted"])
    assert [g["State"] for g in ec2.describe_transit_gateways(
        TransitGatewayIds=[stack.ids["Transit"]])["TransitGateways"]] in ([], ["deleted"])
    assert stack.ids["Flows"] not in {f["FlowLogId"] for f in ec2.describe_flow_logs()[
        "FlowLogs"]}
    assert stack.ids["Disk"] not in {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    events = stack_events(ctx, ctx.connection.client("cloudformation").list_stacks(
        StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"][0]["StackId"])
    assert not [e for e in events if e["ResourceStatus"] == "DELETE_SKIPPED"]


def test_function_dns_and_policy_parts_go_with_their_stack(ctx: PortalContext) -> None:
    zone = f"lab-{uuid.uuid4().hex[:8]}.example.com."
    stack = launch_stack(ctx, {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Roles": [{"Ref": "Role"}], "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return event\n"}}},
        "Invoke": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": "Function"}, "Action": "lambda:InvokeFunction",
            "Principal": "s3.amazonaws.com"}},
        "Release": {"Type": "AWS::Lambda::Version", "Properties": {
            "FunctionName": {"Ref": "Function"}}},
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": zone}},
        "Records": {"Type": "AWS::Route53::RecordSetGroup", "Properties": {
            "HostedZoneId": {"Ref": "Zone"}, "RecordSets": [{
                "Name": f"www.{zone}", "Type": "A", "TTL": "60",
                "ResourceRecords": ["10.0.0.1"]}]}},
        "Check": {"Type": "AWS::Route53::HealthCheck", "Properties": {
            "HealthCheckConfig": {"Type": "HTTP", "FullyQualifiedDomainName": f"www.{zone}",
                                  "Port": 80, "ResourcePath": "/"}}},
    }, network=False)
    assert stack.status == "CREATE_COMPLETE"
    assert stack.ids["Invoke"] and stack.ids["Release"].endswith(":1")
    lambda_ = ctx.connection.client("lambda")
    statements = json.loads(lambda_.get_policy(FunctionName=stack.ids["Function"])[
        "Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == [stack.ids["Invoke"]]
    policy_arn = stack.ids["Managed"]

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    iam = ctx.connection.client("iam")
    assert policy_arn not in {p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}
    route53 = ctx.connection.client("route53")
    assert zone not in {z["Name"] for z in route53.list_hosted_zones()["HostedZones"]}
    assert stack.ids["Check"] not in {c["Id"] for c in route53.list_health_checks()[
        "HealthChecks"]}
    assert stack.ids["Function"] not in {f["FunctionName"] for f in lambda_.list_functions()[
        "Functions"]}
