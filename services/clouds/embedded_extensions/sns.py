"""SNS: AWS::SNS::Subscription and AWS::SNS::TopicPolicy.

moto models an SNS topic (with subscriptions declared inside it) but neither of these types:
AWS's sample topic template subscribes its endpoint with a separate AWS::SNS::Subscription, and
templates that let other services publish give the topic an AWS::SNS::TopicPolicy. A
subscription is made with Subscribe (its physical id is the subscription ARN, as on AWS) and
removed with Unsubscribe; a topic policy sets each topic's Policy attribute and, on delete,
gives the topics back the default policy.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel


def _backend(account_id: str, region_name: str) -> Any:
    from moto.sns.models import sns_backends

    return sns_backends[account_id][region_name]


class SnsSubscription(CloudFormationModel):
    def __init__(self, arn: str) -> None:
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> SnsSubscription:
        properties = cloudformation_json.get("Properties") or {}
        backend = _backend(account_id, region_name)
        subscription = backend.subscribe(properties["TopicArn"], properties["Endpoint"],
                                         properties["Protocol"])
        for name in ("FilterPolicy", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy"):
            value = properties.get(name)
            if value is not None:
                text = value if isinstance(value, str) else json.dumps(value)
                backend.set_subscription_attributes(subscription.arn, name,
                                                    text.lower() if isinstance(value, bool)
                                                    else text)
        return cls(subscription.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).unsubscribe(self.arn)


class SnsTopicPolicy(CloudFormationModel):
    def __init__(self, physical_id: str, topic_arns: list[str]) -> None:
        self.physical_id = physical_id
        self.topic_arns = topic_arns

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> SnsTopicPolicy:
        properties = cloudformation_json.get("Properties") or {}
        document = properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        backend = _backend(account_id, region_name)
        topics = list(properties.get("Topics") or [])
        for topic_arn in topics:
            backend.set_topic_attribute(topic_arn, "policy", text)
        return cls(resource_name, topics)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        for topic_arn in self.topic_arns:
            topic = backend.topics.get(topic_arn)
            if topic is not None:
                topic._policy_json = topic._create_default_topic_policy(
                    topic.sns_backend.region_name, topic.account_id, topic.name)


def install() -> None:
    """The classes above are found by moto's type registry once its caches are cleared."""
