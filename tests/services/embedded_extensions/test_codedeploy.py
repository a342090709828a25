"""CodeDeploy applications and deployment groups made, shown and deleted by their stack;
deployments that run, read at any simulated moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.clouds.simulated_clock import (
    DeploymentPlan,
    at_simulated_time,
    scripted_deployment,
    use_simulated_clock,
)
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


# Deployments. Each is created at a simulated moment a day back and read at chosen moments.

AMI = "ami-0d27e0fb3bac4d724"
REVISION = {"revisionType": "S3", "s3Location": {
    "bucket": "artifacts", "key": "web.zip", "bundleType": "zip"}}


@pytest.fixture
def created_at() -> datetime:
    # Whole seconds: the API answers times in milliseconds.
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


@pytest.fixture
def codedeploy(ctx: PortalContext) -> Any:
    return use_simulated_clock(ctx.connection.client("codedeploy"))


def _tagged_fleet(ctx: PortalContext, codedeploy: Any, instances: int, *,
                  config: str = "CodeDeployDefault.OneAtATime") -> str:
    """An application whose group "web" targets `instances` new instances by their tag."""
    app = f"fleet-{uuid.uuid4().hex[:8]}"
    if instances:
        ctx.connection.client("ec2").run_instances(
            ImageId=AMI, MinCount=instances, MaxCount=instances, InstanceType="t3.micro",
            TagSpecifications=[{"ResourceType": "instance",
                                "Tags": [{"Key": "fleet", "Value": app}]}])
    codedeploy.create_application(applicationName=app, computePlatform="Server")
    codedeploy.create_deployment_group(
        applicationName=app, deploymentGroupName="web", deploymentConfigName=config,
        serviceRoleArn="arn:aws:iam::123456789012:role/deploy",
        ec2TagFilters=[{"Key": "fleet", "Value": app, "Type": "KEY_AND_VALUE"}])
    return app


def _deploy(codedeploy: Any, app: str, at: datetime) -> str:
    with at_simulated_time(at):
        return codedeploy.create_deployment(applicationName=app, deploymentGroupName="web",
                                            revision=REVISION)["deploymentId"]


def _read(codedeploy: Any, deployment_id: str, at: datetime) -> dict[str, Any]:
    with at_simulated_time(at):
        return codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]


def _overview(info: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in info["deploymentOverview"].items() if v}


def test_deployment_moves_through_its_states_at_the_readers_moment(
        ctx: PortalContext, codedeploy: Any, created_at: datetime) -> None:
    # A stack's Auto Scaling group of one instance, as the ha-web template deploys to.
    stack = launch_stack(ctx, _deployment())
    app, group = stack.ids["App"], stack.ids["Deploy"]
    with at_simulated_time(created_at):
        deployment_id = codedeploy.create_deployment(
            applicationName=app, deploymentGroupName=group, revision=REVISION)["deploymentId"]

    done = _read(codedeploy, deployment_id, created_at + timedelta(hours=1))
    assert done["status"] == "Succeeded"
    assert done["createTime"] == created_at
    started, completed = done["startTime"], done["completeTime"]
    assert timedelta(seconds=1) < started - created_at < timedelta(seconds=10)
    # One instance through the lifecycle events behind a load balancer: one to three minutes.
    assert timedelta(seconds=45) < completed - started < timedelta(minutes=4)
    assert _overview(done) == {"Succeeded": 1}
    assert "errorInformation" not in done
    assert done["deploymentConfigName"] == "CodeDeployDefault.OneAtATime"

    created = _read(codedeploy, deployment_id, created_at)
    assert created["status"] == "Created"
    assert "startTime" not in created and "completeTime" not in created
    assert _overview(created) == {"Pending": 1}

    running = _read(codedeploy, deployment_id, started + (completed - started) / 2)
    assert running["status"] == "InProgress"
    assert running["startTime"] == started and "completeTime" not in running
    assert _overview(running) == {"InProgress": 1}

    # A reader at the wall clock, a day later, sees it done too.
    assert codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"][
        "status"] == "Succeeded"


@pytest.mark.parametrize(("config", "instances", "in_progress"), [
    ("CodeDeployDefault.OneAtATime", 4, 1),
    ("CodeDeployDefault.HalfAtATime", 4, 2),
    ("CodeDeployDefault.HalfAtATime", 3, 1),
    ("CodeDeployDefault.AllAtOnce", 4, 4),
])
def test_deployment_configuration_decides_how_many_instances_run_at_once(
        ctx: PortalContext, codedeploy: Any, created_at: datetime, config: str,
        instances: int, in_progress: int) -> None:
    app = _tagged_fleet(ctx, codedeploy, instances, config=config)
    deployment_id = _deploy(codedeploy, app, created_at)
    done = _read(codedeploy, deployment_id, created_at + timedelta(hours=2))
    assert done["deploymentConfigName"] == config
    assert _overview(done) == {"Succeeded": instances}

    just_started = _read(codedeploy, deployment_id, done["startTime"] + timedelta(seconds=1))
    expected = {"InProgress": in_progress, "Pending": instances - in_progress}
    assert _overview(just_started) == {k: v for k, v in expected.items() if v}
    # Batches add up: one instance takes at least 40 s, so a sequence takes longer.
    batches = -(-instances // in_progress)
    assert done["completeTime"] - done["startTime"] > timedelta(seconds=40 * batches)


def test_scripted_failure_ends_when_the_plan_says(ctx: PortalContext, codedeploy: Any,
                                                  created_at: datetime) -> None:
    app = _tagged_fleet(ctx, codedeploy, 3)
    plan = DeploymentPlan(duration_s=1234, outcome="Failed", error_code="SCRIPT_FAILED",
                          message="Script at specified location: validate.sh failed; exit 1")
    with scripted_deployment(plan):
        deployment_id = _deploy(codedeploy, app, created_at)

    failed = _read(codedeploy, deployment_id, created_at + timedelta(hours=1))
    assert failed["status"] == "Failed"
    assert failed["completeTime"] - failed["startTime"] == timedelta(seconds=1234)
    assert failed["errorInformation"] == {"code": "SCRIPT_FAILED", "message": plan.message}
    overview = _overview(failed)
    assert overview["Failed"] == 1 and sum(overview.values()) == 3
    assert set(overview) <= {"Failed", "Succeeded", "Skipped"}

    halfway = _read(codedeploy, deployment_id, failed["startTime"] + timedelta(seconds=617))
    assert halfway["status"] == "InProgress" and "errorInformation" not in halfway


def test_group_without_instances_fails_as_on_aws(ctx: PortalContext, codedeploy: Any,
                                                 created_at: datetime) -> None:
    app = _tagged_fleet(ctx, codedeploy, 0)
    deployment_id = _deploy(codedeploy, app, created_at)
    failed = _read(codedeploy, deployment_id, created_at + timedelta(minutes=5))
    assert failed["status"] == "Failed"
    assert failed["errorInformation"]["code"] == "NO_INSTANCES"
    assert failed["completeTime"] - failed["createTime"] < timedelta(seconds=20)


def test_list_deployments_filters_at_the_readers_moment(ctx: PortalContext, codedeploy: Any,
                                                        created_at: datetime) -> None:
    app = _tagged_fleet(ctx, codedeploy, 1)
    early = _deploy(codedeploy, app, created_at)
    late = _deploy(codedeploy, app, created_at + timedelta(hours=3))

    def listed(at: datetime, **filters: Any) -> list[str]:
        with at_simulated_time(at):
            pages = codedeploy.get_paginator("list_deployments").paginate(
                applicationName=app, deploymentGroupName="web", **filters)
            return [d for page in pages for d in page["deployments"]]

    assert listed(created_at + timedelta(days=1)) == [early, late]
    an_hour_on = created_at + timedelta(hours=1)
    assert listed(an_hour_on, includeOnlyStatuses=["Succeeded"]) == [early]
    assert listed(an_hour_on, includeOnlyStatuses=["Created", "InProgress"]) == [late]
    assert listed(created_at + timedelta(hours=3, seconds=1),
                  includeOnlyStatuses=["Created"]) == [late]
    assert listed(created_at + timedelta(days=1), createTimeRange={
        "start": created_at + timedelta(hours=1), "end": created_at + timedelta(hours=4)}) == [late]

    with pytest.raises(ClientError) as refused:
        codedeploy.list_deployments(applicationName=app)
    assert refused.value.response["Error"]["Code"] == "DeploymentGroupNameRequiredException"
    with pytest.raises(ClientError) as refused:
        codedeploy.batch_get_deployments(deploymentIds=[early] * 26)
    assert refused.value.response["Error"]["Code"] == "BatchLimitExceededException"


def test_stopped_deployment_stays_stopped(ctx: PortalContext, codedeploy: Any,
                                          created_at: datetime) -> None:
    app = _tagged_fleet(ctx, codedeploy, 2)
    deployment_id = _deploy(codedeploy, app, created_at)
    stop_at = _read(codedeploy, deployment_id, created_at + timedelta(hours=1))[
        "startTime"] + timedelta(seconds=20)
    with at_simulated_time(stop_at):
        answer = codedeploy.stop_deployment(deploymentId=deployment_id)
    assert answer["status"] == "Succeeded"

    stopped = _read(codedeploy, deployment_id, created_at + timedelta(hours=1))
    assert stopped["status"] == "Stopped"
    assert stopped["completeTime"] == stop_at
    assert stopped["errorInformation"]["code"] == "MANUAL_STOP"
    assert _overview(stopped) == {"Skipped": 2}
    assert _read(codedeploy, deployment_id, stop_at - timedelta(seconds=1))["status"] \
        == "InProgress"
    with pytest.raises(ClientError) as again:
        codedeploy.stop_deployment(deploymentId=deployment_id)
    assert again.value.response["Error"]["Code"] == "DeploymentAlreadyCompletedException"


def test_malformed_deployment_plan_is_refused(ctx: PortalContext, codedeploy: Any) -> None:
    app = _tagged_fleet(ctx, codedeploy, 1)
    connection = ctx.connection
    client = connection.session.client("codedeploy", region_name=connection.region,
                                       endpoint_url=connection.endpoint_url)

    def bad_plan(request: Any, **_: Any) -> None:
        request.headers["X-Sandbox-Deployment-Plan"] = "duration=soon;outcome=Failed"

    client.meta.events.register("before-send", bad_plan)
    with pytest.raises(ClientError) as refused:
        client.create_deployment(applicationName=app, deploymentGroupName="web")
    assert refused.value.response["Error"]["Code"] == "InvalidInputException"
    assert "duration" in refused.value.response["Error"]["Message"]
