"""What each source launches: an EC2 instance, or an Auto Scaling group through its launch
template or launch configuration, with the facts rules need (type, credit mode, user data, image,
a CPU target). Both sources come out in one shape, so a rule is written once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from services.advisor.model import AdvisorSubject, Source
from services.advisor.terraform_model import (
    TerraformConfig,
    TfResource,
    expression_text,
    nested_blocks,
    readable_text,
    reference_names,
)
from services.advisor.values import as_number, cfn_target
from services.template_model import ResolvedResource, ResolvedTemplate, decoded_user_data

CPU_METRIC = "ASGAverageCPUUtilization"


@dataclass(frozen=True)
class Launch:
    resource: str
    """The instance or the Auto Scaling group (logical id or Terraform address)."""
    kind: Literal["instance", "group"]
    source: Source
    template: str | None
    """For a group: the launch template or launch configuration it launches from."""
    instance_type: Any
    credit_mode: Any
    """As the template sets it ("standard", "unlimited"), or None when it does not."""
    user_data: str | None
    """The user data as readable text (possibly with unresolved `${...}` left in)."""
    has_user_data: bool
    image: str
    """What the image comes from, as text (an SSM path, a data source's filters, an id)."""
    cpu_target: float | None
    """Target value of a target-tracking policy on ASGAverageCPUUtilization, if any."""
    replaces_on_change: bool
    """Whether a change of user data reaches running instances by replacing them (Terraform
    user_data_replace_on_change, an ASG instance refresh, a CloudFormation UpdatePolicy)."""


# -- CloudFormation -------------------------------------------------------------------------------

def _cfn_launch_template(template: ResolvedTemplate,
                         group: ResolvedResource) -> tuple[ResolvedResource | None, Any]:
    """The launch template or configuration of `group`, and the instance type overriding it."""
    props = group.properties
    specification = props.get("LaunchTemplate")
    override_type = None
    mixed = props.get("MixedInstancesPolicy")
    if specification is None and isinstance(mixed, dict):
        launch = mixed.get("LaunchTemplate") or {}
        specification = launch.get("LaunchTemplateSpecification")
        overrides = launch.get("Overrides") or []
        if overrides and isinstance(overrides[0], dict):
            override_type = overrides[0].get("InstanceType")
    if isinstance(specification, dict):
        target = cfn_target(specification.get("LaunchTemplateId")) or \
            cfn_target(specification.get("LaunchTemplateName"))
        if target and target in template.resources:
            return template.resources[target], override_type
        name = specification.get("LaunchTemplateName")
        for candidate in template.of_type("AWS::EC2::LaunchTemplate"):
            if name and candidate.properties.get("LaunchTemplateName") == name:
                return candidate, override_type
        return None, override_type
    configuration = cfn_target(props.get("LaunchConfigurationName"))
    if configuration and configuration in template.resources:
        return template.resources[configuration], override_type
    return None, override_type


def _cfn_cpu_targets(template: ResolvedTemplate) -> dict[str, float]:
    targets: dict[str, float] = {}
    for policy in template.of_type("AWS::AutoScaling::ScalingPolicy"):
        props = policy.properties
        if props.get("PolicyType") != "TargetTrackingScaling":
            continue
        configuration = props.get("TargetTrackingConfiguration") or {}
        metric = (configuration.get("PredefinedMetricSpecification") or {}).get(
            "PredefinedMetricType")
        group = cfn_target(props.get("AutoScalingGroupName"))
        value = as_number(configuration.get("TargetValue"))
        if metric == CPU_METRIC and group and value is not None:
            targets[group] = value
    return targets


def _cfn_user_data(value: Any) -> tuple[str | None, bool]:
    if value is None:
        return None, False
    return decoded_user_data(value), True


def cloudformation_launches(subject: AdvisorSubject) -> Iterator[Launch]:
    template = subject.cloudformation
    if template is None:
        return
    for instance in template.of_type("AWS::EC2::Instance"):
        props = instance.properties
        user_data, has_user_data = _cfn_user_data(props.get("UserData"))
        yield Launch(
            resource=instance.logical_id, kind="instance", source="cloudformation", template=None,
            instance_type=props.get("InstanceType"),
            credit_mode=(props.get("CreditSpecification") or {}).get("CPUCredits"),
            user_data=user_data, has_user_data=has_user_data,
            image=str(props.get("ImageId", "")), cpu_target=None,
            # CloudFormation updates UserData of an instance by stop and start, in place.
            replaces_on_change=False)
    targets = _cfn_cpu_targets(template)
    for group in template.of_type("AWS::AutoScaling::AutoScalingGroup"):
        source, override_type = _cfn_launch_template(template, group)
        if source is None:
            continue
        data = (source.properties.get("LaunchTemplateData") or {}) \
            if source.type == "AWS::EC2::LaunchTemplate" else source.properties
        user_data, has_user_data = _cfn_user_data(data.get("UserData"))
        update_policy = subject.raw_resource(group.logical_id).get("UpdatePolicy") or {}
        yield Launch(
            resource=group.logical_id, kind="group", source="cloudformation",
            template=source.logical_id,
            instance_type=override_type or data.get("InstanceType"),
            credit_mode=(data.get("CreditSpecification") or {}).get("CpuCredits"),
            user_data=user_data, has_user_data=has_user_data,
            image=str(data.get("ImageId", "")), cpu_target=targets.get(group.logical_id),
            replaces_on_change=any(key in update_policy for key in
                                   ("AutoScalingRollingUpdate", "AutoScalingReplacingUpdate")))


# -- Terraform ------------------------------------------------------------------------------------

def _tf_image(config: TerraformConfig, resource: TfResource, attribute: str) -> str:
    """The image expression, with the SSM path or AMI filters of the data source it reads."""
    raw = expression_text(resource.body.get(attribute))
    described = [raw]
    for data_type, key in (("aws_ssm_parameter", "name"), ("aws_ami", "filter")):
        for name in reference_names(raw, f"data.{data_type}"):
            data = config.find(resource.module, f"data.{data_type}.{name}")
            if data is None:
                continue
            value = data.value(key) if key == "name" else [
                data.module.evaluate(block) for block in data.blocks("filter")]
            described.append(str(value))
            described.append(str(data.value("owners", "")))
    return " ".join(described)


def _tf_user_data(resource: TfResource) -> tuple[str | None, bool]:
    for attribute in ("user_data", "user_data_base64"):
        if resource.has(attribute):
            return readable_text(resource.value(attribute)), True
    return None, False


def _tf_credit_mode(resource: TfResource) -> Any:
    for block, bindings in resource.expanded_blocks("credit_specification"):
        return resource.module.evaluate(block.get("cpu_credits"), bindings)
    return None


def _tf_group_template(config: TerraformConfig, group: TfResource) -> TfResource | None:
    expressions: list[str] = []
    for block in group.blocks("launch_template"):
        expressions += [expression_text(block.get(k)) for k in ("id", "name") if k in block]
    for policy in group.blocks("mixed_instances_policy"):
        for launch in nested_blocks(policy, "launch_template"):
            for spec in nested_blocks(launch, "launch_template_specification"):
                expressions += [expression_text(spec.get(k)) for k in
                                ("launch_template_id", "launch_template_name") if k in spec]
    for expression in expressions:
        for name in reference_names(expression, "aws_launch_template"):
            found = config.find(group.module, f"aws_launch_template.{name}")
            if found:
                return found
    for name in reference_names(group.expression_text("launch_configuration"),
                                "aws_launch_configuration"):
        found = config.find(group.module, f"aws_launch_configuration.{name}")
        if found:
            return found
    return None


def _tf_cpu_targets(config: TerraformConfig) -> dict[str, float]:
    targets: dict[str, float] = {}
    for policy in config.resources("aws_autoscaling_policy"):
        if policy.value("policy_type") != "TargetTrackingScaling":
            continue
        for tracking in policy.blocks("target_tracking_configuration"):
            metrics = nested_blocks(tracking, "predefined_metric_specification")
            metric = policy.module.evaluate(metrics[0].get("predefined_metric_type")) \
                if metrics else None
            value = as_number(policy.module.evaluate(tracking.get("target_value")))
            if metric != CPU_METRIC or value is None:
                continue
            for name in reference_names(policy.expression_text("autoscaling_group_name"),
                                        "aws_autoscaling_group"):
                group = config.find(policy.module, f"aws_autoscaling_group.{name}")
                if group:
                    targets[group.address] = value
    return targets


def terraform_launches(subject: AdvisorSubject) -> Iterator[Launch]:
    config = subject.terraform_config
    for instance in config.resources("aws_instance"):
        user_data, has_user_data = _tf_user_data(instance)
        yield Launch(
            resource=instance.address, kind="instance", source="terraform", template=None,
            instance_type=instance.value("instance_type"),
            credit_mode=_tf_credit_mode(instance), user_data=user_data,
            has_user_data=has_user_data, image=_tf_image(config, instance, "ami"),
            cpu_target=None,
            replaces_on_change=instance.value("user_data_replace_on_change") is True)
    targets = _tf_cpu_targets(config)
    for group in config.resources("aws_autoscaling_group"):
        source = _tf_group_template(config, group)
        if source is None:
            continue
        user_data, has_user_data = _tf_user_data(source)
        yield Launch(
            resource=group.address, kind="group", source="terraform", template=source.address,
            instance_type=source.value("instance_type"), credit_mode=_tf_credit_mode(source),
            user_data=user_data, has_user_data=has_user_data,
            image=_tf_image(config, source, "image_id"), cpu_target=targets.get(group.address),
            replaces_on_change=bool(group.blocks("instance_refresh")))


def launches(subject: AdvisorSubject, source: Source) -> Iterator[Launch]:
    if source == "cloudformation":
        return cloudformation_launches(subject)
    return terraform_launches(subject)
