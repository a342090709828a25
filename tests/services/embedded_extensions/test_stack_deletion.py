"""`delete_stack` leaving nothing behind (`stack_deletion` and the network deletes of `ec2`)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from services import environment_service as environments
from services.clouds.embedded_extensions.stack_deletion import deletion_order
from services.context import PortalContext
from services.engines.cloudformation_engine import STACK_TYPE
from services.identity import Actor, Role

from tests.services.embedded_extensions.support import (
    GATEWAYS, NETWORK, delete_stack, launch_stack, stack_events,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")
ENV_TAG = "sandbox:env-id"


def _stack(ctx: PortalContext, name_or_id: str) -> dict[str, Any]:
    return ctx.connection.client("cloudformation").describe_stacks(
        StackName=name_or_id)["Stacks"][0]


def _resource_events(events: list[dict[str, Any]], status: str) -> list[str]:
    return [e["LogicalResourceId"] for e in reversed(events)
            if e["ResourceType"] != STACK_TYPE and e["ResourceStatus"] == status]


@pytest.mark.parametrize(("resources", "expected"), [
    pytest.param({"A": {}, "B": {}}, ["B", "A"], id="independent: later first"),
    pytest.param({"Vpc": {}, "Subnet": {"Properties": {"VpcId": {"Ref": "Vpc"}}}},
                 ["Subnet", "Vpc"], id="ref"),
    pytest.param({"Ip": {}, "Nat": {"Properties": {"Id": {"Fn::GetAtt": ["Ip", "Id"]}}}},
                 ["Nat", "Ip"], id="getatt list"),
    pytest.param({"Db": {}, "Url": {"Properties": {"V": {"Fn::GetAtt": "Db.Endpoint.Address"}}}},
                 ["Url", "Db"], id="getatt dotted"),
    pytest.param({"Db": {}, "Cfg": {"Properties": {"V": {"Fn::Sub": "${Db.Endpoint}:${!Db}"}}}},
                 ["Cfg", "Db"], id="sub"),
    pytest.param({"Db": {}, "Cfg": {"Properties": {"V": {"Fn::Sub": ["${Host}", {
        "Host": {"Ref": "Db"}}]}}}}, ["Cfg", "Db"], id="sub with variables"),
    pytest.param({"Attach": {}, "Route": {"DependsOn": "Attach"}}, ["Route", "Attach"],
                 id="depends on"),
    pytest.param({"Route": {"Properties": {"T": {"Ref": "Table"}}}, "Table": {}},
                 ["Route", "Table"], id="dependent listed first"),
    pytest.param({"Sg": {"Properties": {"V": {"Ref": "AWS::StackName"}, "P": {"Ref": "Param"}}}},
                 ["Sg"], id="pseudo parameters and parameters are not resources"),
])
def test_deletion_order_puts_dependents_first(resources: dict[str, Any],
                                              expected: list[str]) -> None:
    assert deletion_order(resources) == expected


def test_a_network_stack_deletes_every_resource_it_made(ctx: PortalContext) -> None:
    env_id = f"del-{uuid.uuid4().hex[:8]}"
    stack = launch_stack(ctx, GATEWAYS, tags={ENV_TAG: env_id})
    ids = stack.ids
    ec2 = ctx.connection.client("ec2")
    nat = ec2.describe_nat_gateways(NatGatewayIds=[ids["Nat"]])["NatGateways"][0]
    nat_interface = nat["NatGatewayAddresses"][0]["NetworkInterfaceId"]
    vpc = [{"Name": "vpc-id", "Values": [ids["Vpc"]]}]

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert ec2.describe_vpcs(Filters=vpc)["Vpcs"] == []
    assert ec2.describe_subnets(Filters=vpc)["Subnets"] == []
    assert ec2.describe_route_tables(Filters=vpc)["RouteTables"] == []
    assert ec2.describe_security_groups(Filters=vpc)["SecurityGroups"] == []
    assert ec2.describe_internet_gateways(Filters=[
        {"Name": "internet-gateway-id", "Values": [ids["Igw"]]}])["InternetGateways"] == []
    assert [n["State"] for n in ec2.describe_nat_gateways(
        NatGatewayIds=[ids["Nat"]])["NatGateways"]] == ["deleted"]
    assert ec2.describe_network_interfaces(Filters=[
        {"Name": "network-interface-id", "Values": [nat_interface]}])["NetworkInterfaces"] == []
    assert ec2.describe_addresses(Filters=[
        {"Name": "public-ip", "Values": [ids["NatAddress"]]}])["Addresses"] == []
    assert ec2.describe_vpc_endpoints(Filters=vpc)["VpcEndpoints"] == []
    assert ctx.sweeper.find(env_id) == []


def test_deleting_a_nat_gateway_frees_its_interface_and_its_address(ctx: PortalContext) -> None:
    ec2 = ctx.connection.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation_id)["NatGateway"]
    interface = nat["NatGatewayAddresses"][0]["NetworkInterfaceId"]

    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    assert ec2.describe_network_interfaces(Filters=[
        {"Name": "network-interface-id", "Values": [interface]}])["NetworkInterfaces"] == []
    address = ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]
    assert not address.get("AssociationId") and not address.get("NetworkInterfaceId")
    ec2.release_address(AllocationId=allocation_id)
    ec2.delete_subnet(SubnetId=subnet_id)
    ec2.delete_vpc(VpcId=vpc_id)


def test_subnet_route_table_associations_exist_and_go_with_the_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, GATEWAYS)
    ids = stack.ids
    ec2 = ctx.connection.client("ec2")
    tables = {t["RouteTableId"]: t for t in ec2.describe_route_tables(
        RouteTableIds=[ids["PublicRoutes"], ids["PrivateRoutes"]])["RouteTables"]}
    for table, subnet, association in [("PublicRoutes", "SubnetA", "PublicAssociation"),
                                       ("PrivateRoutes", "SubnetB", "PrivateAssociation")]:
        associations = tables[ids[table]]["Associations"]
        assert [(a["SubnetId"], a["RouteTableAssociationId"]) for a in associations] == \
            [(ids[subnet], ids[association])]
    routes = {(r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId"),
               r.get("GatewayId") or r.get("NatGatewayId"))
              for r in tables[ids["PrivateRoutes"]]["Routes"]}
    assert ("0.0.0.0/0", ids["Nat"]) in routes
    assert any(target == ids["S3Endpoint"] for _, target in routes)

    # Removing the associations alone (an update) leaves the tables unassociated.
    kept = {k: v for k, v in {**NETWORK, **GATEWAYS}.items()
            if k not in ("PublicAssociation", "PrivateAssociation")}
    ctx.connection.client("cloudformation").update_stack(
        StackName=stack.name, TemplateBody=json.dumps({"Resources": kept}))
    tables_after = ec2.describe_route_tables(
        RouteTableIds=[ids["PublicRoutes"], ids["PrivateRoutes"]])["RouteTables"]
    assert [t["Associations"] for t in tables_after] == [[], []]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_security_group_ingress_is_revoked_with_its_stack(ctx: PortalContext) -> None:
    ec2 = ctx.connection.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName=f"g-{uuid.uuid4().hex[:6]}",
                                      Description="outside the stack", VpcId=vpc_id)["GroupId"]
    stack = launch_stack(ctx, {"Https": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": group, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "CidrIp": "0.0.0.0/0"}}}, network=False)
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    assert stack.ids["Https"] in {r["SecurityGroupRuleId"] for r in rules if not r["IsEgress"]}

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    permissions = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0][
        "IpPermissions"]
    assert permissions == []
    ec2.delete_security_group(GroupId=group)
    ec2.delete_vpc(VpcId=vpc_id)


def test_a_delete_blocked_from_outside_ends_delete_failed_and_can_be_retried(
        ctx: PortalContext) -> None:
    ec2 = ctx.connection.client("ec2")
    stack = launch_stack(ctx, GATEWAYS)
    stack_id = _stack(ctx, stack.name)["StackId"]
    created = len(stack_events(ctx, stack.name))
    intruder = ec2.create_subnet(VpcId=stack.ids["Vpc"], CidrBlock="10.7.9.0/24")["Subnet"][
        "SubnetId"]

    assert delete_stack(ctx, stack.name) == "DELETE_FAILED"
    described = _stack(ctx, stack.name)
    assert described["StackId"] == stack_id
    assert described["StackStatus"] == "DELETE_FAILED"
    assert described["StackStatusReason"] == \
        "The following resource(s) failed to delete: [Vpc]. "
    events = stack_events(ctx, stack.name)[: -created]
    assert (events[0]["ResourceType"], events[0]["ResourceStatus"]) == \
        (STACK_TYPE, "DELETE_FAILED")
    assert events[0]["ResourceStatusReason"] == described["StackStatusReason"]
    assert _resource_events(events, "DELETE_FAILED") == ["Vpc"]
    vpc_failure = next(e for e in events if e["ResourceStatus"] == "DELETE_FAILED"
                       and e["LogicalResourceId"] == "Vpc")
    assert "DependencyViolation" in vpc_failure["ResourceStatusReason"]
    assert set(_resource_events(events, "DELETE_COMPLETE")) == set(stack.ids) - {"Vpc"}
    remaining = ctx.connection.client("cloudformation").list_stack_resources(
        StackName=stack.name)["StackResourceSummaries"]
    assert [(r["LogicalResourceId"], r["PhysicalResourceId"]) for r in remaining] == \
        [("Vpc", stack.ids["Vpc"])]
    assert [s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [stack.ids["Vpc"]]}])["Subnets"]] == [intruder]

    ec2.delete_subnet(SubnetId=intruder)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [stack.ids["Vpc"]]}])[
        "Vpcs"] == []
    finally_deleted = _stack(ctx, stack_id)
    assert finally_deleted["StackStatus"] == "DELETE_COMPLETE"
    assert "StackStatusReason" not in finally_deleted


def test_what_a_failed_resource_depends_on_is_left_alone(ctx: PortalContext) -> None:
    ec2 = ctx.connection.client("ec2")
    stack = launch_stack(ctx, {"Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {
        "VpcId": {"Ref": "Vpc"}}}})
    created = len(stack_events(ctx, stack.name))
    # A subnet of the stack associated with its route table from outside the stack.
    association = ec2.associate_route_table(RouteTableId=stack.ids["Routes"],
                                            SubnetId=stack.ids["SubnetA"])["AssociationId"]

    assert delete_stack(ctx, stack.name) == "DELETE_FAILED"
    events = stack_events(ctx, stack.name)[: -created]
    assert _resource_events(events, "DELETE_FAILED") == ["Routes"]
    assert "Vpc" not in {e["LogicalResourceId"] for e in events}, "the VPC is not even tried"
    assert set(_resource_events(events, "DELETE_COMPLETE")) == {"SubnetA", "SubnetB", "Web"}
    assert ec2.describe_vpcs(VpcIds=[stack.ids["Vpc"]])["Vpcs"]

    ec2.disassociate_route_table(AssociationId=association)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_deleted_stack_creates_nothing_when_read_again(ctx: PortalContext) -> None:
    env_id = f"del-{uuid.uuid4().hex[:8]}"
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    # Outputs never read before the delete: moto resolves them lazily, creating what they name.
    stack_id = cloudformation.create_stack(
        StackName=name, Tags=[{"Key": ENV_TAG, "Value": env_id}],
        TemplateBody=json.dumps({"Resources": NETWORK,
                                 "Outputs": {"Vpc": {"Value": {"Ref": "Vpc"}}}}))["StackId"]
    assert delete_stack(ctx, name) == "DELETE_COMPLETE"

    assert cloudformation.list_stack_resources(StackName=stack_id)[
        "StackResourceSummaries"] == []
    assert _stack(ctx, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert ctx.sweeper.find(env_id) == []


def test_retained_resources_are_skipped_and_stay(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Kept": {"Type": "AWS::EC2::SecurityGroup",
                                        "DeletionPolicy": "Retain", "Properties": {
                                            "GroupDescription": "kept"}}}, network=False)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert _resource_events(stack_events(ctx, _stack_id_of_deleted(ctx, stack.name)),
                            "DELETE_SKIPPED") == ["Kept"]
    ec2 = ctx.connection.client("ec2")
    assert ec2.describe_security_groups(GroupIds=[stack.ids["Kept"]])["SecurityGroups"]
    ec2.delete_security_group(GroupId=stack.ids["Kept"])


def test_a_resource_moto_cannot_delete_is_skipped_and_said_so(ctx: PortalContext) -> None:
    # AWS Batch's types are among the few moto creates and has no delete for.
    name = f"ext-{uuid.uuid4().hex[:8]}"
    stack = launch_stack(ctx, {"Job": {"Type": "AWS::Batch::JobDefinition", "Properties": {
        "JobDefinitionName": name, "Type": "container", "RetryStrategy": {"Attempts": 1},
        "Parameters": {}, "Timeout": {},
        "ContainerProperties": {"Image": "busybox", "Vcpus": 1, "Memory": 128}}}},
        network=False)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    events = stack_events(ctx, _stack_id_of_deleted(ctx, stack.name))
    skipped = next(e for e in events if e["ResourceStatus"] == "DELETE_SKIPPED")
    assert skipped["LogicalResourceId"] == "Job"
    assert "cannot delete AWS::Batch::JobDefinition" in skipped["ResourceStatusReason"]
    batch = ctx.connection.client("batch")
    assert [d["status"] for d in batch.describe_job_definitions(
        jobDefinitionName=name)["jobDefinitions"]] == ["ACTIVE"]
    batch.deregister_job_definition(jobDefinition=stack.ids["Job"])


def test_the_engine_reports_the_resource_that_failed_and_why(ctx: PortalContext) -> None:
    ec2 = ctx.connection.client("ec2")
    stack = launch_stack(ctx, {})
    intruder = ec2.create_subnet(VpcId=stack.ids["Vpc"], CidrBlock="10.7.9.0/24")["Subnet"][
        "SubnetId"]
    deletion = ctx.engine("cloudformation").delete(stack=stack.name, deadline=time.monotonic() + 60,
                                 on_events=lambda events: None)
    assert not deletion.succeeded
    assert deletion.error is not None
    assert deletion.error.startswith("DELETE_FAILED: Vpc (AWS::EC2::VPC): ")
    assert "(Error Code: DependencyViolation)" in deletion.error
    assert ctx.engine("cloudformation").stack_status(stack.name) == "DELETE_FAILED"
    ec2.delete_subnet(SubnetId=intruder)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def _stack_id_of_deleted(ctx: PortalContext, name: str) -> str:
    summaries = ctx.connection.client("cloudformation").list_stacks(
        StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    return next(s["StackId"] for s in summaries if s["StackName"] == name)


@pytest.mark.parametrize("template_id", ["web-server", "three-tier"])
def test_a_shipped_template_deletes_without_the_sweeper(ctx: PortalContext,
                                                        template_id: str) -> None:
    env = environments.launch(ctx, actor=Actor("alice", Role.STUDENT), template_id=template_id,
                              parameters={})
    assert env.status == "ready", env.status_reason
    assert ctx.sweeper.find(env.env_id), "the environment's resources carry its tag"
    deletion = ctx.engine("cloudformation").delete(stack=env.deployment_name, deadline=time.monotonic() + 60,
                                 on_events=lambda events: None)
    assert deletion.succeeded, deletion.error
    assert ctx.sweeper.find(env.env_id) == []
