"""Intrinsic functions evaluated as CloudFormation evaluates them (`intrinsic_functions`), read
back from what the stack made, over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import NETWORK, delete_stack, failing_create

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _parameter(name: str, value: Any) -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": name, "Type": "String", "Value": value}}


def test_functions_give_what_cloudformation_gives(ctx: PortalContext) -> None:
    prefix = f"/ext-{uuid.uuid4().hex[:8]}"
    values = {
        # `Db.Endpoint.Address`-style names are one attribute after the first dot.
        "sub-attribute": {"Fn::Sub": "${Lb.SourceSecurityGroup.GroupName}"},
        "sub-variables": {"Fn::Sub": ["${AWS::Region}/${Name}/${!Literal}", {
            "Name": {"Ref": "Vpc"}}]},
        "cidr": {"Fn::Join": [",", {"Fn::Cidr": ["10.7.0.0/16", 3, 8]}]},
        "select-by-ref": {"Fn::Select": [{"Ref": "Index"}, {"Fn::GetAZs": {
            "Ref": "AWS::Region"}}]},
        "get-azs-here": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        "join-no-value": {"Fn::Join": ["-", ["a", {"Ref": "AWS::NoValue"}, "b"]]},
    }
    resources = {
        **NETWORK,
        "Lb": {"Type": "AWS::ElasticLoadBalancing::LoadBalancer", "Properties": {
            "Subnets": [{"Ref": "SubnetA"}], "SecurityGroups": [{"Ref": "Web"}],
            "Listeners": [{"LoadBalancerPort": "80", "InstancePort": "80",
                           "Protocol": "HTTP"}]}},
        **{f"P{n}": _parameter(f"{prefix}/{key}", value)
           for n, (key, value) in enumerate(values.items())},
    }
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({
        "Parameters": {"Index": {"Type": "Number", "Default": 2}}, "Resources": resources}))
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == \
        "CREATE_COMPLETE"
    ids = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in
           cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]}
    group_name = ctx.connection.client("ec2").describe_security_groups(
        GroupIds=[ids["Web"]])["SecurityGroups"][0]["GroupName"]

    got = {key: ctx.connection.client("ssm").get_parameter(Name=f"{prefix}/{key}")[
        "Parameter"]["Value"] for key in values}
    assert got == {
        "sub-attribute": group_name,
        "sub-variables": f"us-east-1/{ids['Vpc']}/${{Literal}}",
        "cidr": "10.7.0.0/24,10.7.1.0/24,10.7.2.0/24",
        "select-by-ref": "us-east-1c",
        "get-azs-here": "us-east-1a",
        "join-no-value": "a-b",
    }
    assert delete_stack(ctx, name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("value", "reason"), [
    ({"Fn::Select": [5, ["a", "b"]]}, "Template error: Fn::Select cannot select nonexistent "
                                      "value at index 5"),
    ({"Ref": "Nowhere"}, "Template format error: Unresolved resource dependencies [Nowhere] in "
                         "the Resources block of the template"),
    ({"Fn::Sub": "${Nowhere}"}, "Template format error: Unresolved resource dependencies "
                                "[Nowhere]"),
    ({"Fn::Cidr": ["10.7.0.0/24", 300, 8]}, "Template error: Fn::Cidr cannot make 300 blocks"),
    ({"Fn::Base64": ["not", "a", "string"]}, "Template error: Fn::Base64 takes a string"),
])
def test_a_function_cloudformation_refuses_fails_its_resource(ctx: PortalContext, value: Any,
                                                              reason: str) -> None:
    stack = failing_create(ctx, {"Resources": {
        "Bad": _parameter(f"/ext-{uuid.uuid4().hex[:8]}", value)}})
    assert stack.status == "ROLLBACK_COMPLETE"
    assert stack.reasons["Bad"].startswith(reason)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_conditions_read_parameters_through_the_same_functions(ctx: PortalContext) -> None:
    prefix = f"/ext-{uuid.uuid4().hex[:8]}"
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    zone = {"Fn::Select": [{"Ref": "Index"}, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({
        "Parameters": {"Index": {"Type": "Number", "Default": 1}},
        "Conditions": {"SecondZone": {"Fn::Equals": [zone, "us-east-1b"]},
                       "Elsewhere": {"Fn::Not": [{"Condition": "SecondZone"}]}},
        "Resources": {
            "Made": {**_parameter(f"{prefix}/made", "yes"), "Condition": "SecondZone"},
            "Skipped": {**_parameter(f"{prefix}/skipped", "no"), "Condition": "Elsewhere"},
        }}))
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    assert [s["LogicalResourceId"] for s in summaries] == ["Made"], \
        "a resource whose condition is false is not listed, not even blank"
    assert delete_stack(ctx, name) == "DELETE_COMPLETE"
