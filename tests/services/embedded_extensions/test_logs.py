"""Log groups made with their retention and tags, and deleted by their stack, over HTTP."""

from __future__ import annotations

import uuid

import pytest

from services.context import PortalContext

from tests.services.embedded_extensions.support import delete_stack, launch_stack, tagged_arns

pytestmark = pytest.mark.xdist_group("embedded-cloud")


@pytest.mark.parametrize(("retention", "tag"), [
    pytest.param(14, {"Key": "tier", "Value": "web"}, id="number-key-first"),
    pytest.param("7", {"Value": "web", "Key": "tier"}, id="string-value-first"),
])
def test_log_group_keeps_retention_and_tags_and_goes_with_its_stack(
        ctx: PortalContext, retention: int | str, tag: dict[str, str]) -> None:
    env_id = f"logs-{uuid.uuid4().hex[:8]}"
    stack = launch_stack(ctx, {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {
        "RetentionInDays": retention, "Tags": [tag]}}},
        tags={"sandbox:env-id": env_id}, network=False,
        outputs={"Arn": {"Fn::GetAtt": ["Logs", "Arn"]}})
    name = stack.ids["Logs"]
    assert name.startswith(f"{stack.name}-Logs-")
    assert stack.outputs["Arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{name}:*"
    logs = ctx.connection.client("logs")
    [group] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert group["retentionInDays"] == int(retention)
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {
        "tier": "web", "sandbox:env-id": env_id}
    assert [a for a in tagged_arns(ctx, "sandbox:env-id", env_id) if ":logs:" in a] == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:{name}"]

    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []
    assert [a for a in tagged_arns(ctx, "sandbox:env-id", env_id) if ":logs:" in a] == []


def test_a_log_stream_is_made_in_its_group_and_goes_with_its_stack(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {
        "Logs": {"Type": "AWS::Logs::LogGroup"},
        "Stream": {"Type": "AWS::Logs::LogStream", "Properties": {
            "LogGroupName": {"Ref": "Logs"}, "LogStreamName": "web-1"}},
        "Generated": {"Type": "AWS::Logs::LogStream", "Properties": {
            "LogGroupName": {"Ref": "Logs"}}},
    }, network=False)
    assert stack.status == "CREATE_COMPLETE"
    logs = ctx.connection.client("logs")
    streams = {s["logStreamName"] for s in logs.describe_log_streams(
        logGroupName=stack.ids["Logs"])["logStreams"]}
    assert streams == {"web-1", stack.ids["Generated"]}
    assert stack.ids["Stream"] == "web-1"

    ctx.connection.client("cloudformation").update_stack(StackName=stack.name, TemplateBody=(
        '{"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup"}}}'))
    assert logs.describe_log_streams(logGroupName=stack.ids["Logs"])["logStreams"] == []
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_log_group_made_again_under_its_name_carries_only_its_own_stacks_tags(
        ctx: PortalContext) -> None:
    name = f"/sandbox/named-{uuid.uuid4().hex[:8]}"
    group = {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name}}}
    first = launch_stack(ctx, group, network=False, tags={"sandbox:env-id": "logs-first"})
    assert delete_stack(ctx, first.name) == "DELETE_COMPLETE"

    second = launch_stack(ctx, group, network=False, tags={"sandbox:env-id": "logs-second"})
    logs = ctx.connection.client("logs")
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {
        "sandbox:env-id": "logs-second"}
    assert [a for a in tagged_arns(ctx, "sandbox:env-id", "logs-first") if ":logs:" in a] == []
    assert delete_stack(ctx, second.name) == "DELETE_COMPLETE"
