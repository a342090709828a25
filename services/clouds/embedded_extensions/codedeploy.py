"""CodeDeploy: applications and deployment groups that a stack creates and deletes.

moto has a CodeDeploy backend but no CloudFormation model for it: AWS::CodeDeploy::Application and
AWS::CodeDeploy::DeploymentGroup were skipped with a warning, `Ref` to them gave '' and nothing was
created. Its backend cannot delete either (no DeleteApplication, no DeleteDeploymentGroup), so those
are added too, to the backend and to its API, which also lets a clean-up remove a leftover; and
GetDeploymentGroup is made to answer with the Auto Scaling groups and alarms the group holds.

Deployments to those groups run through their lifecycle in `codedeploy_lifecycle.py`, which
`install()` installs with them.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.codedeploy.models import (
    Application,
    CodeDeployBackend,
    DeploymentGroup,
    codedeploy_backends,
)
from moto.core.common_models import CloudFormationModel

from . import codedeploy_lifecycle, stack_tags
from .api_shapes import to_api_request


def _backend(account_id: str, region_name: str) -> CodeDeployBackend:
    return codedeploy_backends[account_id][region_name]


class CodeDeployApplication(CloudFormationModel):
    """AWS::CodeDeploy::Application, kept in moto's codedeploy backend; `Ref` gives its name."""

    def __init__(self, application: Application, *, arn: str) -> None:
        self.application = application
        self.arn = arn

    @property
    def name(self) -> str:
        return self.application.application_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ApplicationName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeDeploy::Application"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False  # AWS documents no Fn::GetAtt attribute for it

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CodeDeployApplication:
        request = to_api_request("codedeploy", "CreateApplication",
                                 cloudformation_json.get("Properties", {}))
        backend = _backend(account_id, region_name)
        backend.create_application(
            application_name=resource_name,
            compute_platform=request.get("computePlatform", "Server"),  # AWS's default
            tags=request.get("tags", []))
        return cls(backend.get_application(resource_name),
                   arn=backend._application_arn(resource_name))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: CodeDeployApplication, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> CodeDeployApplication:
        properties = cloudformation_json.get("Properties", {})
        # moto draws a fresh generated name on every update; only a declared new name replaces.
        name = properties.get("ApplicationName") or original_resource.name
        platform = properties.get("ComputePlatform", "Server")
        if name == original_resource.name and \
                platform == original_resource.application.compute_platform:
            return original_resource
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(name, cloudformation_json, account_id,
                                                   region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        _backend(account_id, region_name).delete_application(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_application(self.name)


class CodeDeployDeploymentGroup(CloudFormationModel):
    """AWS::CodeDeploy::DeploymentGroup, kept in moto's codedeploy backend; `Ref` gives its name.

    Its properties reach the backend as CreateDeploymentGroup's request (camelCase, lists of tag
    groups unwrapped), which is what moto's GetDeploymentGroup answers with."""

    def __init__(self, group: DeploymentGroup, *, arn: str) -> None:
        self.group = group
        self.arn = arn

    @property
    def name(self) -> str:
        return self.group.deployment_group_name

    @property
    def application_name(self) -> str:
        return self.group.application.application_name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DeploymentGroupName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeDeploy::DeploymentGroup"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False  # AWS documents no Fn::GetAtt attribute for it

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str, **kwargs: Any) -> CodeDeployDeploymentGroup:
        request = to_api_request("codedeploy", "CreateDeploymentGroup",
                                 cloudformation_json.get("Properties", {}))
        application_name = request["applicationName"]
        backend = _backend(account_id, region_name)
        backend.create_deployment_group(
            application_name=application_name,
            deployment_group_name=resource_name,
            deployment_config_name=request.get("deploymentConfigName"),
            ec2_tag_filters=request.get("ec2TagFilters"),
            on_premises_instance_tag_filters=request.get("onPremisesInstanceTagFilters"),
            auto_scaling_groups=request.get("autoScalingGroups"),
            service_role_arn=request["serviceRoleArn"],
            trigger_configurations=request.get("triggerConfigurations"),
            alarm_configuration=request.get("alarmConfiguration"),
            auto_rollback_configuration=request.get("autoRollbackConfiguration"),
            outdated_instances_strategy=request.get("outdatedInstancesStrategy"),
            deployment_style=request.get("deploymentStyle"),
            blue_green_deployment_configuration=request.get("blueGreenDeploymentConfiguration"),
            load_balancer_info=request.get("loadBalancerInfo"),
            ec2_tag_set=request.get("ec2TagSet"),
            ecs_services=request.get("ecsServices"),
            on_premises_tag_set=request.get("onPremisesTagSet"),
            tags=request.get("tags"),
            termination_hook_enabled=request.get("terminationHookEnabled"),
        )
        return cls(backend.get_deployment_group(application_name, resource_name),
                   arn=backend._deployment_group_arn(application_name, resource_name))

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
            cls, original_resource: CodeDeployDeploymentGroup, new_resource_name: str,
            cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> CodeDeployDeploymentGroup:
        # AWS updates a group in place (UpdateDeploymentGroup); the backend has no update, so the
        # group is made again under the name it keeps unless the template names a new one.
        name = (cloudformation_json.get("Properties", {}).get("DeploymentGroupName")
                or original_resource.name)
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(name, cloudformation_json, account_id,
                                                   region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
            region_name: str) -> None:
        # The template's ApplicationName may still be an unresolved {"Ref": ...} here.
        declared = cloudformation_json.get("Properties", {}).get("ApplicationName")
        application_name = declared if isinstance(declared, str) else None
        backend = _backend(account_id, region_name)
        for application, groups in list(backend.deployment_groups.items()):
            if resource_name in groups and application_name in (None, application):
                backend.delete_deployment_group(application, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_deployment_group(self.application_name,
                                                                  self.name)


def _backend_deletes_applications_and_groups() -> None:
    """DeleteApplication and DeleteDeploymentGroup, as AWS has them: deleting an application
    deletes its deployment groups, and deleting what is already gone succeeds."""
    from moto.codedeploy.responses import CodeDeployResponse
    from moto.core.responses import ActionResult, EmptyResult

    def delete_deployment_group(self: CodeDeployBackend, application_name: str,
                                deployment_group_name: str) -> None:
        groups = self.deployment_groups.get(application_name, {})
        if groups.pop(deployment_group_name, None) is not None:
            self.tagger.delete_all_tags_for_resource(
                self._deployment_group_arn(application_name, deployment_group_name))

    def delete_application(self: CodeDeployBackend, application_name: str) -> None:
        for group_name in list(self.deployment_groups.get(application_name, {})):
            self.delete_deployment_group(application_name, group_name)
        self.deployment_groups.pop(application_name, None)
        if self.applications.pop(application_name, None) is not None:
            self.tagger.delete_all_tags_for_resource(self._application_arn(application_name))

    def delete_application_action(self: CodeDeployResponse) -> EmptyResult:
        self.codedeploy_backend.delete_application(self._get_param("applicationName"))
        return EmptyResult()

    def delete_deployment_group_action(self: CodeDeployResponse) -> ActionResult:
        self.codedeploy_backend.delete_deployment_group(
            self._get_param("applicationName"), self._get_param("deploymentGroupName"))
        return ActionResult({"hooksNotCleanedUp": []})

    # New methods, found by moto's dispatch by name: DeleteApplication -> delete_application.
    setattr(CodeDeployBackend, "delete_deployment_group", delete_deployment_group)
    setattr(CodeDeployBackend, "delete_application", delete_application)
    setattr(CodeDeployResponse, "delete_application", delete_application_action)
    setattr(CodeDeployResponse, "delete_deployment_group", delete_deployment_group_action)


def _deployment_group_answers_its_groups_and_alarms() -> None:
    """moto's GetDeploymentGroup answers `autoScalingGroups` with the names it was given where
    the API has `{"name": ...}` objects, so SDKs read `[{}]`; and it always answers
    `alarmConfiguration` with `{}`, whatever the group was created with."""
    from moto.codedeploy import responses

    original = responses._deployment_group_info

    def deployment_group_info(deployment_group: DeploymentGroup) -> dict[str, Any]:
        info = original(deployment_group)
        info["autoScalingGroups"] = [
            group if isinstance(group, dict) else {"name": group}
            for group in deployment_group.auto_scaling_groups]
        info["alarmConfiguration"] = deployment_group.alarm_configuration or {}
        return info

    responses._deployment_group_info = deployment_group_info


def _tag(resource: CodeDeployApplication | CodeDeployDeploymentGroup, tags: dict[str, str],
         account_id: str, region_name: str) -> None:
    backend = _backend(account_id, region_name)
    present = backend.tagger.get_tag_dict_for_resource(resource.arn)
    missing = {k: v for k, v in tags.items() if k not in present}
    if missing:
        backend.tag_resource(resource.arn, missing)


def install() -> None:
    _backend_deletes_applications_and_groups()
    _deployment_group_answers_its_groups_and_alarms()
    codedeploy_lifecycle.install()
    stack_tags.register(CodeDeployApplication, _tag)
    stack_tags.register(CodeDeployDeploymentGroup, _tag)
