"""Queue policies made by a stack (`sqs`), over HTTP."""

from __future__ import annotations

import json

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_a_queue_policy_lets_a_topic_send_and_goes_with_its_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Policy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
            "Queues": [{"Ref": "Queue"}], "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "Topic"}}}}]}}},
    }, network=False)
    assert stack.status == "CREATE_COMPLETE"
    sqs = ctx.connection.client("sqs")
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=stack.ids["Queue"], AttributeNames=[
        "Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == \
        stack.ids["Topic"]
    ctx.connection.client("cloudformation").update_stack(StackName=stack.name, TemplateBody=(
        '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}, '
        '"Queue": {"Type": "AWS::SQS::Queue"}}}'))
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=stack.ids["Queue"],
                                                   AttributeNames=["Policy"]).get(
        "Attributes", {})
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
