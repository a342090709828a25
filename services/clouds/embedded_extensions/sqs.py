"""SQS: AWS::SQS::QueuePolicy, which moto does not model.

A queue that an SNS topic or an S3 bucket delivers to needs a policy letting that service send to
it; templates give it with AWS::SQS::QueuePolicy. moto skipped the type, so the queue kept no
policy. It is set as each queue's `Policy` attribute, as SetQueueAttributes would, and removed on
delete.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel


def _backend(account_id: str, region_name: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region_name]


class QueuePolicy(CloudFormationModel):
    def __init__(self, physical_id: str, queue_names: list[str]) -> None:
        self.physical_id = physical_id
        self.queue_names = queue_names

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> QueuePolicy:
        properties = cloudformation_json.get("Properties") or {}
        document = properties["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        # Queues are named by their URLs; the queue's name is the URL's last part.
        names = [str(url).rstrip("/").rsplit("/", 1)[-1] for url in properties["Queues"]]
        backend = _backend(account_id, region_name)
        for name in names:
            backend.set_queue_attributes(name, {"Policy": text})
        return cls(resource_name, names)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        for name in self.queue_names:
            queue = backend.queues.get(name)
            if queue is not None:
                queue.policy = None


def install() -> None:
    """QueuePolicy is found by moto's type registry once its caches are cleared."""
