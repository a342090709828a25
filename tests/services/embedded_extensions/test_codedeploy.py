"""CodeDeploy applications and deployment groups made, shown and deleted by their stack."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from services.context import PortalContext

from tests.services.embedded_extensions.support import (
    WEB_TIER,
    delete_stack,
    launch_stack,
    tagged_arns,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}}}


def _deployment(*, application_name: str | None = None,
                group_name: str | None = None) -> dict[str, dict]:
    application: dict = {"ComputePlatform": "Server",
                         "Tags": [{"Key": "tier", "Value": "web"}]}
    if application_name:
        application["ApplicationName"] = application_name
    group: dict = {
        "ApplicationName": {"Ref": "App"},
        "ServiceRoleArn": {"Fn::GetAtt": ["DeployRole", "Arn"]},
        "AutoScalingGroups": [{"Ref": "Group"}],
        "DeploymentConfigName": "CodeDeployDefault.OneAtATime",
        "DeploymentStyle": {"DeploymentType": "IN_PLACE",
                            "DeploymentOption": "WITH_TRAFFIC_CONTROL"},
        "LoadBalancerInfo": {"TargetGroupInfoList": [
            {"Name": {"Fn::GetAtt": ["Targets", "TargetGroupName"]}}]},
        "AutoRollbackConfiguration": {"Enabled": "true", "Events": ["DEPLOYMENT_FAILURE"]},
        "Ec2TagSet": {"Ec2TagSetList": [{"Ec2TagGroup": [
            {"Key": "tier", "Value": "web", "Type": "KEY_AND_VALUE"}]}]},
        "Tags": [{"Key": "tier", "Value": "web"}],
    }
    if group_name:
        group["DeploymentGroupName"] = group_name
    return {**WEB_TIER, "DeployRole": ROLE,
            "App": {"Type": "AWS::CodeDeploy::Application", "Properties": application},
            "Deploy": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": group}}


@pytest.mark.parametrize("declared", [False, True], ids=["generated-names", "declared-names"])
def test_application_and_deployment_group_live_and_die_with_their_stack(
        ctx: PortalContext, declared: bool) -> None:
    suffix = uuid.uuid4().hex[:8]
    application_name = f"web-app-{suffix}" if declared else None
    group_name = f"web-group-{suffix}" if declared else None
    stack = launch_stack(ctx, _deployment(application_name=application_name,
                                          group_name=group_name),
                         tags={"sandbox:env-id": f"cd-{suffix}"},
                         outputs={"App": {"Ref": "App"}, "Deploy": {"Ref": "Deploy"},
                                  "Role": {"Fn::GetAtt": ["DeployRole", "Arn"]},
                                  "TargetGroup": {"Fn::GetAtt": ["Targets", "TargetGroupName"]}})
    assert stack.status == "CREATE_COMPLETE"
    app, group = stack.ids["App"], stack.ids["Deploy"]
    if declared:
        assert (app, group) == (application_name, group_name)
    else:
        assert app.startswith(f"{stack.name}-App-") and group.startswith(f"{stack.name}-Deploy-")
    assert (stack.outputs["App"], stack.outputs["Deploy"]) == (app, group)

    codedeploy = ctx.connection.client("codedeploy")
    assert app in codedeploy.list_applications()["applications"]
    assert codedeploy.get_application(applicationName=app)["application"]["computePlatform"] \
        == "Server"
    info = codedeploy.get_deployment_group(applicationName=app,
                                           deploymentGroupName=group)["deploymentGroupInfo"]
    assert info["autoScalingGroups"] == [{"name": stack.ids["Group"]}]
    assert info["loadBalancerInfo"] == {
        "targetGroupInfoList": [{"name": stack.outputs["TargetGroup"]}]}
    assert info["serviceRoleArn"] == stack.outputs["Role"]
    assert info["deploymentConfigName"] == "CodeDeployDefault.OneAtATime"
    assert info["deploymentStyle"] == {"deploymentType": "IN_PLACE",
                                       "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert info["autoRollbackConfiguration"] == {"enabled": True,
                                                 "events": ["DEPLOYMENT_FAILURE"]}
    assert info["ec2TagSet"] == {"ec2TagSetList": [[
        {"Key": "tier", "Value": "web", "Type": "KEY_AND_VALUE"}]]}
    assert codedeploy.list_deployment_groups(applicationName=app)["deploymentGroups"] == [group]

    arns = [a for a in tagged_arns(ctx, "sandbox:env-id", f"cd-{suffix}") if ":codedeploy:" in a]
    assert sorted(arns) == sorted([
        f"arn:aws:codedeploy:us-east-1:123456789012:application:{app}",
        f"arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:{app}/{group}"])
    for arn in arns:
        tags = codedeploy.list_tags_for_resource(ResourceArn=arn)["Tags"]
        assert {"Key": "tier", "Value": "web"} in tags
        assert {"Key": "sandbox:env-id", "Value": f"cd-{suffix}"} in tags

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert app not in codedeploy.list_applications()["applications"]
    with pytest.raises(ClientError) as gone:
        codedeploy.get_application(applicationName=app)
    assert gone.value.response["Error"]["Code"] == "ApplicationDoesNotExistException"
    assert not [a for a in tagged_arns(ctx, "sandbox:env-id", f"cd-{suffix}")
                if ":codedeploy:" in a]


def test_delete_application_through_the_api_takes_its_deployment_groups(
        ctx: PortalContext) -> None:
    codedeploy = ctx.connection.client("codedeploy")
    app = f"api-app-{uuid.uuid4().hex[:8]}"
    codedeploy.create_application(applicationName=app, computePlatform="Server")
    codedeploy.create_deployment_group(
        applicationName=app, deploymentGroupName="blue",
        serviceRoleArn="arn:aws:iam::123456789012:role/deploy")
    codedeploy.create_deployment_group(
        applicationName=app, deploymentGroupName="green",
        serviceRoleArn="arn:aws:iam::123456789012:role/deploy")

    answer = codedeploy.delete_deployment_group(applicationName=app, deploymentGroupName="blue")
    assert answer["hooksNotCleanedUp"] == []
    assert codedeploy.list_deployment_groups(applicationName=app)["deploymentGroups"] == ["green"]
    codedeploy.delete_application(applicationName=app)
    assert app not in codedeploy.list_applications()["applications"]
    # Deleting what is gone succeeds, as on AWS.
    codedeploy.delete_application(applicationName=app)
    codedeploy.delete_deployment_group(applicationName=app, deploymentGroupName="green")
