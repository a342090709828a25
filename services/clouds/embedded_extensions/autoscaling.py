"""Auto Scaling: scaling policies that a stack creates and deletes; stack tags on groups.

moto's Auto Scaling backend keeps scaling policies (target tracking, simple, step) but its
CloudFormation has no model for AWS::AutoScaling::ScalingPolicy: the policy was skipped with a
warning and `Ref` gave ''. This model puts it through the backend's PutScalingPolicy. A stack's
tags also reach its Auto Scaling groups and, as on AWS, the instances they launch.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.models import (
    AutoScalingBackend,
    FakeAutoScalingGroup,
    FakeScalingPolicy,
    autoscaling_backends,
)
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

from . import stack_tags
from .api_shapes import to_api_request


def _backend(account_id: str, region_name: str) -> AutoScalingBackend:
    return autoscaling_backends[account_id][region_name]


class AutoScalingScalingPolicy(CloudFormationModel):
    """AWS::AutoScaling::ScalingPolicy, kept in moto's Auto Scaling backend. As on AWS, `Ref`
    gives the policy's ARN; `Fn::GetAtt` gives `Arn` and `PolicyName`."""

    def __init__(self, policy: FakeScalingPolicy) -> None:
        self.policy = policy

    @property
    def name(self) -> str:
        return self.policy.name

    @property
    def arn(self) -> str:
        return self.policy.arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""  # the policy takes no name property: CloudFormation makes one up

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::AutoScaling::ScalingPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "PolicyName")

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.arn
        if attribute_name == "PolicyName":
            return self.name
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> AutoScalingScalingPolicy:
        request = to_api_request("autoscaling", "PutScalingPolicy",
                                 cloudformation_json.get("Properties", {}))
        policy = _backend(account_id, region_name).put_scaling_policy(
            name=resource_name,
            policy_type=request.get("PolicyType", "SimpleScaling"),
            metric_aggregation_type=request.get("MetricAggregationType"),
            adjustment_type=request.get("AdjustmentType"),
            as_name=request["AutoScalingGroupName"],
            min_adjustment_magnitude=request.get("MinAdjustmentMagnitude"),
            scaling_adjustment=request.get("ScalingAdjustment"),
            cooldown=request.get("Cooldown"),
            target_tracking_config=request.get("TargetTrackingConfiguration", {}),
            step_adjustments=request.get("StepAdjustments", []),
            estimated_instance_warmup=request.get("EstimatedInstanceWarmup"),
            predictive_scaling_configuration=request.get(
                "PredictiveScalingConfiguration", {}),
        )
        return cls(policy)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: AutoScalingScalingPolicy, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> AutoScalingScalingPolicy:
        # PutScalingPolicy on the same name updates the policy in place, as on AWS.
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json,
                                                   account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        # The physical id is the ARN, which ends in "policyName/<name>".
        _backend(account_id, region_name).delete_policy(resource_name.rsplit("policyName/", 1)[-1])

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_policy(self.name)


def _tag_group_and_its_instances(group: FakeAutoScalingGroup, tags: dict[str, str],
                                 account_id: str, region_name: str) -> None:
    """Stack tags go on the group with PropagateAtLaunch, so instances launched later carry
    them; the instances it launched while the stack was being made get them now."""
    backend = _backend(account_id, region_name)
    present = {tag["Key"] for tag in group.tags}
    missing = {k: v for k, v in tags.items() if k not in present}
    if not missing:
        return
    backend.create_or_update_tags([
        {"ResourceId": group.name, "ResourceType": "auto-scaling-group", "Key": key,
         "Value": value, "PropagateAtLaunch": True} for key, value in missing.items()])
    instance_ids = [state.instance.id for state in group.instance_states]
    if instance_ids:
        backend.ec2_backend.create_tags(instance_ids, missing)


def install() -> None:
    stack_tags.register(FakeAutoScalingGroup, _tag_group_and_its_instances)
