"""AWS::WAFv2::WebACL and WebACLAssociation made by a stack, seen through wafv2, gone with it."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    delete_stack, failing_create, launch_stack, tagged_arns,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
              "MetricName": "metric"}
ALB = {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
    "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "SecurityGroups": [{"Ref": "Web"}]}}


def managed(priority: int, group: str, **statement: Any) -> dict[str, Any]:
    return {"Name": group, "Priority": priority, "OverrideAction": {"None": {}},
            "Statement": {"ManagedRuleGroupStatement": {
                "VendorName": "AWS", "Name": group, **statement}},
            "VisibilityConfig": {**VISIBILITY, "MetricName": group}}


def web_acl(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::WAFv2::WebACL", "Properties": {
        "Scope": "REGIONAL", "DefaultAction": {"Allow": {}}, "VisibilityConfig": VISIBILITY,
        "Rules": [
            managed(0, "AWSManagedRulesCommonRuleSet"),
            managed(1, "AWSManagedRulesKnownBadInputsRuleSet"),
            managed(2, "AWSManagedRulesAdminProtectionRuleSet", ScopeDownStatement={
                "ByteMatchStatement": {
                    "SearchString": "/admin", "FieldToMatch": {"UriPath": {}},
                    "PositionalConstraint": "STARTS_WITH",
                    "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}}),
        ],
        **properties}}


WEB_ACL_OUTPUTS = {
    "Ref": {"Ref": "Acl"}, "Arn": {"Fn::GetAtt": ["Acl", "Arn"]},
    "Id": {"Fn::GetAtt": ["Acl", "Id"]},
    "LabelNamespace": {"Fn::GetAtt": ["Acl", "LabelNamespace"]},
    "Capacity": {"Fn::GetAtt": ["Acl", "Capacity"]},
}


def test_web_acl_and_its_association_live_and_die_with_the_stack(ctx: PortalContext) -> None:
    name = f"acl-{uuid.uuid4().hex[:8]}"
    resources = {
        "Alb": ALB,
        "Acl": web_acl(Name=name, Tags=[{"Key": "team", "Value": "web"}]),
        "Association": {"Type": "AWS::WAFv2::WebACLAssociation", "Properties": {
            "ResourceArn": {"Ref": "Alb"}, "WebACLArn": {"Fn::GetAtt": ["Acl", "Arn"]}}},
    }
    stack = launch_stack(ctx, resources, tags={"sandbox:env-id": "waf-test"},
                         outputs=WEB_ACL_OUTPUTS)
    assert stack.status == "CREATE_COMPLETE"
    wafv2 = ctx.connection.client("wafv2")

    acl_id = stack.outputs["Id"]
    assert stack.outputs["Ref"] == stack.ids["Acl"] == f"{name}|{acl_id}|REGIONAL"
    assert int(stack.outputs["Capacity"]) > 0
    acl = wafv2.get_web_acl(Name=name, Id=acl_id, Scope="REGIONAL")["WebACL"]
    assert acl["ARN"] == stack.outputs["Arn"]
    assert acl["LabelNamespace"] == stack.outputs["LabelNamespace"] == \
        f"awswaf:{acl['ARN'].split(':')[4]}:webacl:{name}:"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert [(r["Name"], r["Priority"]) for r in acl["Rules"]] == [
        ("AWSManagedRulesCommonRuleSet", 0), ("AWSManagedRulesKnownBadInputsRuleSet", 1),
        ("AWSManagedRulesAdminProtectionRuleSet", 2)]
    scope_down = acl["Rules"][2]["Statement"]["ManagedRuleGroupStatement"][
        "ScopeDownStatement"]["ByteMatchStatement"]
    assert scope_down["SearchString"] == b"/admin"
    assert scope_down["PositionalConstraint"] == "STARTS_WITH"
    assert name in [a["Name"] for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]]

    associated = wafv2.get_web_acl_for_resource(ResourceArn=stack.ids["Alb"])["WebACL"]
    assert associated["ARN"] == acl["ARN"]
    assert stack.ids["Association"] == f"{stack.ids['Alb']}|{acl['ARN']}"

    tags = wafv2.list_tags_for_resource(ResourceARN=acl["ARN"])["TagInfoForResource"]["TagList"]
    assert {"Key": "team", "Value": "web"} in tags
    assert {"Key": "sandbox:env-id", "Value": "waf-test"} in tags
    assert acl["ARN"] in tagged_arns(ctx, "sandbox:env-id", "waf-test")

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert name not in [a["Name"] for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]]
    with pytest.raises(ClientError) as missing:
        wafv2.get_web_acl(Name=name, Id=acl_id, Scope="REGIONAL")
    assert missing.value.response["Error"]["Code"] == "WAFNonexistentItemException"
    assert acl["ARN"] not in tagged_arns(ctx, "sandbox:env-id", "waf-test")

    again = launch_stack(ctx, {"Acl": web_acl(Name=name)}, network=False)
    assert again.status == "CREATE_COMPLETE", "the name is free once the stack is gone"
    assert delete_stack(ctx, again.name) == "DELETE_COMPLETE"


def test_web_acl_without_a_name_is_named_after_its_logical_id(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Acl": web_acl()}, network=False, outputs=WEB_ACL_OUTPUTS)
    name, acl_id, scope = stack.outputs["Ref"].split("|")
    assert re.fullmatch(r"Acl-[A-Za-z0-9]{12}", name)
    assert scope == "REGIONAL" and acl_id == stack.outputs["Id"]
    acl = ctx.connection.client("wafv2").get_web_acl(Name=name, Id=acl_id, Scope=scope)["WebACL"]
    assert len(acl["Rules"]) == 3
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_association_moves_the_load_balancer_to_the_new_web_acl(ctx: PortalContext) -> None:
    first = launch_stack(ctx, {"Alb": ALB, "Old": web_acl()}, outputs={
        "Old": {"Fn::GetAtt": ["Old", "Arn"]}})
    wafv2 = ctx.connection.client("wafv2")
    alb = first.ids["Alb"]
    wafv2.associate_web_acl(WebACLArn=first.outputs["Old"], ResourceArn=alb)
    second = launch_stack(ctx, {
        "New": web_acl(),
        "Association": {"Type": "AWS::WAFv2::WebACLAssociation", "Properties": {
            "ResourceArn": alb, "WebACLArn": {"Fn::GetAtt": ["New", "Arn"]}}},
    }, network=False, outputs={"New": {"Fn::GetAtt": ["New", "Arn"]}})
    assert wafv2.get_web_acl_for_resource(ResourceArn=alb)["WebACL"]["ARN"] == \
        second.outputs["New"]

    assert delete_stack(ctx, second.name) == "DELETE_COMPLETE"
    assert wafv2.get_web_acl_for_resource(ResourceArn=alb).get("WebACL") is None
    assert delete_stack(ctx, first.name) == "DELETE_COMPLETE"


def test_association_with_a_missing_load_balancer_fails(ctx: PortalContext) -> None:
    missing_alb = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                   "loadbalancer/app/nowhere/0123456789abcdef")
    failed = failing_create(ctx, {"Resources": {
        "Acl": web_acl(),
        "Association": {"Type": "AWS::WAFv2::WebACLAssociation", "Properties": {
            "ResourceArn": missing_alb, "WebACLArn": {"Fn::GetAtt": ["Acl", "Arn"]}}}}})
    assert failed.status == "ROLLBACK_COMPLETE"
    assert failed.reasons["Association"].endswith(
        "(Error Code: WAFNonexistentItemException)")
    ctx.connection.client("cloudformation").delete_stack(StackName=failed.name)


def test_update_changes_the_web_acl_in_place(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Acl": web_acl(Tags=[{"Key": "old", "Value": "1"}])},
                         network=False)
    name, acl_id, _ = stack.ids["Acl"].split("|")
    changed = web_acl(DefaultAction={"Block": {}}, Tags=[{"Key": "new", "Value": "2"}])
    changed["Properties"]["Rules"] = changed["Properties"]["Rules"][:1]
    ctx.connection.client("cloudformation").update_stack(
        StackName=stack.name, TemplateBody=json.dumps({"Resources": {"Acl": changed}}))

    wafv2 = ctx.connection.client("wafv2")
    acl = wafv2.get_web_acl(Name=name, Id=acl_id, Scope="REGIONAL")["WebACL"]
    assert acl["DefaultAction"] == {"Block": {}}
    assert [r["Name"] for r in acl["Rules"]] == ["AWSManagedRulesCommonRuleSet"]
    tags = wafv2.list_tags_for_resource(ResourceARN=acl["ARN"])["TagInfoForResource"]["TagList"]
    assert {"Key": "new", "Value": "2"} in tags and all(t["Key"] != "old" for t in tags)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
