"""SNS subscriptions and topic policies made by a stack (`sns`), over HTTP."""

from __future__ import annotations

import json

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def test_a_queue_subscribed_to_a_topic_that_lets_s3_publish(ctx: PortalContext) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sns:Publish", "Resource": "*"}]}
    stack = launch_stack(ctx, {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Subscription": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "sqs", "RawMessageDelivery": True,
            "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]}}},
        "Policy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": "Topic"}], "PolicyDocument": policy}},
    }, network=False, outputs={"Subscription": {"Fn::GetAtt": ["Subscription", "Arn"]}})
    assert stack.status == "CREATE_COMPLETE"
    sns = ctx.connection.client("sns")
    topic = stack.ids["Topic"]
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subscription["SubscriptionArn"] == stack.ids["Subscription"] == \
        stack.outputs["Subscription"]
    assert subscription["Protocol"] == "sqs"
    attributes = sns.get_subscription_attributes(
        SubscriptionArn=stack.ids["Subscription"])["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == policy

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert stack.ids["Subscription"] not in {
        s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]}
