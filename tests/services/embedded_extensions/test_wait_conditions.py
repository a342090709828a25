"""Wait conditions and creation policies with their signals simulated (`wait_conditions`), over
HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    AMI, NETWORK, delete_stack, failing_create, launch_stack, stack_events,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")
SIMULATED = ("simulated: the embedded cloud runs nothing on its instances, so it counts the "
             "signals as sent once the resource is up")


def _completed(events: list[dict[str, Any]], logical_id: str) -> dict[str, Any]:
    return next(e for e in events if e["LogicalResourceId"] == logical_id
                and e["ResourceStatus"] == "CREATE_COMPLETE")


def test_a_wait_condition_completes_with_its_signals_simulated(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Server": {"Type": "AWS::EC2::Instance", "Properties": {
            "ImageId": AMI, "InstanceType": "t3.micro", "SubnetId": {"Ref": "SubnetA"},
            "UserData": {"Fn::Base64": {"Fn::Sub": "cfn-signal '${Handle}'"}}}},
        "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Ready": {"Type": "AWS::CloudFormation::WaitCondition", "DependsOn": "Server",
                  "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": "600", "Count": 2}},
    }, outputs={"Data": {"Fn::GetAtt": ["Ready", "Data"]}, "Url": {"Ref": "Handle"}})

    assert stack.status == "CREATE_COMPLETE"
    assert stack.outputs["Url"] == stack.ids["Handle"]
    assert stack.outputs["Url"].startswith(
        "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/arn%3Aaws%3A")
    assert json.loads(stack.outputs["Data"]) == {
        "simulated-1": "signal simulated by the embedded cloud",
        "simulated-2": "signal simulated by the embedded cloud"}
    events = stack_events(ctx, stack.name)
    assert _completed(events, "Ready")["ResourceStatusReason"] == \
        f"Received 2 SUCCESS signal(s) out of 2, {SIMULATED}"
    assert "ResourceStatusReason" not in _completed(events, "Handle")
    assert stack.ids["Ready"].endswith("/Ready")
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_creation_policy_counts_its_signals_as_sent(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Server": {"Type": "AWS::EC2::Instance",
                   "CreationPolicy": {"ResourceSignal": {"Count": 1, "Timeout": "PT10M"}},
                   "Properties": {"ImageId": AMI, "InstanceType": "t3.micro",
                                  "SubnetId": {"Ref": "SubnetA"}}},
        "Waiting": {"Type": "AWS::CloudFormation::WaitCondition",
                    "CreationPolicy": {"ResourceSignal": {"Count": 3, "Timeout": "PT5M"}}},
    })
    assert stack.status == "CREATE_COMPLETE"
    events = stack_events(ctx, stack.name)
    assert _completed(events, "Server")["ResourceStatusReason"] == \
        f"Received 1 SUCCESS signal(s) out of 1, {SIMULATED}"
    assert _completed(events, "Waiting")["ResourceStatusReason"] == \
        f"Received 3 SUCCESS signal(s) out of 3, {SIMULATED}"
    assert "ResourceStatusReason" not in _completed(events, "Vpc")
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


@pytest.mark.parametrize(("properties", "reason"), [
    ({"Timeout": "600"}, "Template error: WaitCondition Ready needs a Handle or a "
                         "CreationPolicy"),
    ({"Handle": {"Ref": "Handle"}, "Timeout": "50000"},
     "Template error: the Timeout of WaitCondition Ready must be a number of seconds from 1 "
     "to 43200"),
])
def test_a_wait_condition_cloudformation_refuses_fails(ctx: PortalContext,
                                                      properties: dict[str, Any],
                                                      reason: str) -> None:
    stack = failing_create(ctx, {"Resources": {
        **NETWORK, "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "Ready": {"Type": "AWS::CloudFormation::WaitCondition", "Properties": properties}}})
    assert stack.status == "ROLLBACK_COMPLETE"
    assert stack.reasons["Ready"].startswith(reason)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
