"""Per-resource stack events of `embedded_extensions.stack_events`, over HTTP."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from services.clouds.embedded_extensions.stack_deletion import dependencies
from services.context import PortalContext
from services.engines.base import ResourceEvent
from services.engines.cloudformation_engine import STACK_TYPE

from tests.services.embedded_extensions.support import (
    GATEWAYS, NETWORK, delete_stack, failing_create, launch_stack, stack_events,
)

pytestmark = pytest.mark.xdist_group("embedded-cloud")

CREATED = ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
DELETED = ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]


def _by_resource(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each resource's events, oldest first (events as listed: newest first)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in reversed(events):
        if event["ResourceType"] != STACK_TYPE:
            grouped[event["LogicalResourceId"]].append(event)
    return grouped


def _stack_level(events: list[dict[str, Any]]) -> list[str]:
    return [e["ResourceStatus"] for e in reversed(events) if e["ResourceType"] == STACK_TYPE]


def _started(history: list[dict[str, Any]], status: str) -> Any:
    return next(e["Timestamp"] for e in history if e["ResourceStatus"] == status)


def _ended(history: list[dict[str, Any]], status: str) -> Any:
    return next(e["Timestamp"] for e in reversed(history) if e["ResourceStatus"] == status)


def test_every_resource_has_its_create_events_inside_the_stacks(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, GATEWAYS)
    events = stack_events(ctx, stack.name)

    timestamps = [e["Timestamp"] for e in events]
    assert timestamps == sorted(timestamps, reverse=True), "newest first"
    assert len({e["EventId"] for e in events}) == len(events)
    assert events[-1]["ResourceType"] == STACK_TYPE
    assert (events[-1]["ResourceStatus"], events[-1]["ResourceStatusReason"]) == \
        ("CREATE_IN_PROGRESS", "User Initiated")
    assert (events[0]["ResourceType"], events[0]["ResourceStatus"]) == \
        (STACK_TYPE, "CREATE_COMPLETE")
    assert _stack_level(events) == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]

    histories = _by_resource(events)
    assert set(histories) == set(NETWORK) | set(GATEWAYS) == set(stack.ids)
    for logical_id, history in histories.items():
        assert [e["ResourceStatus"] for e in history] == CREATED, logical_id
        first, initiated, complete = history
        assert first["PhysicalResourceId"] == "" and "ResourceStatusReason" not in first
        assert initiated["ResourceStatusReason"] == "Resource creation Initiated"
        assert initiated["PhysicalResourceId"] == complete["PhysicalResourceId"] \
            == stack.ids[logical_id]
        assert {e["ResourceType"] for e in history} == \
            {{**NETWORK, **GATEWAYS}[logical_id]["Type"]}
    # ResourceProperties are the properties as created: references resolved.
    subnet = json.loads(histories["SubnetA"][0]["ResourceProperties"])
    assert subnet == {"VpcId": stack.ids["Vpc"], "CidrBlock": "10.7.1.0/24",
                      "AvailabilityZone": "us-east-1a"}
    assert json.loads(histories["DbFromWeb"][-1]["ResourceProperties"])[
        "SourceSecurityGroupId"] == stack.ids["Web"]
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_resource_starts_once_everything_it_refers_to_is_complete(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, GATEWAYS)
    histories = _by_resource(stack_events(ctx, stack.name))
    needs = dependencies({**NETWORK, **GATEWAYS})
    assert needs["PrivateDefault"] == {"PrivateRoutes", "Nat"}
    for logical_id, dependencies_of_it in needs.items():
        started = _started(histories[logical_id], "CREATE_IN_PROGRESS")
        for dependency in dependencies_of_it:
            assert started >= _ended(histories[dependency], "CREATE_COMPLETE"), \
                (logical_id, dependency)
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def _to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_the_events_bracket_the_moment_moto_creates_the_resource(ctx: PortalContext) -> None:
    # The APIs give creation times to the millisecond (truncated), the events to the microsecond.
    parameter_name = f"/ext/{uuid.uuid4().hex[:8]}"
    stack = launch_stack(ctx, {
        "Parameter": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Name": parameter_name, "Type": "String", "Value": {"Ref": "Vpc"}}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": {"Fn::Sub": "${AWS::StackName}-logs"}}},
    })
    histories = _by_resource(stack_events(ctx, stack.name))
    logs = ctx.connection.client("logs").describe_log_groups(
        logGroupNamePrefix=stack.ids["Logs"])["logGroups"][0]
    created = {
        "Parameter": ctx.connection.client("ssm").get_parameter(Name=parameter_name)[
            "Parameter"]["LastModifiedDate"],
        "Logs": datetime.fromtimestamp(logs["creationTime"] / 1000, tz=UTC),
    }
    for logical_id, moment in created.items():
        history = histories[logical_id]
        assert _to_millisecond(_started(history, "CREATE_IN_PROGRESS")) <= moment <= \
            _ended(history, "CREATE_COMPLETE"), logical_id
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_a_failing_resource_gets_create_failed_with_the_error_and_its_dependents_never_start(
        ctx: PortalContext) -> None:
    resources = {
        **NETWORK,
        "Outside": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.99.1.0/24"}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "OutsideAssociation": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
            "SubnetId": {"Ref": "Outside"}, "RouteTableId": {"Ref": "Routes"}}},
    }
    stack = failing_create(ctx, {"Resources": resources})
    histories = _by_resource(stack_events(ctx, stack.name))

    failed = histories["Outside"]
    assert [e["ResourceStatus"] for e in failed] == ["CREATE_IN_PROGRESS", "CREATE_FAILED"]
    reason = failed[-1]["ResourceStatusReason"]
    assert "10.99.1.0/24" in reason and reason == stack.reasons["Outside"]
    assert reason.endswith("(Error Code: InvalidSubnet.Range)")
    assert "OutsideAssociation" not in histories, "a resource whose dependency failed never starts"
    # What was made before the failure is deleted again by the rollback.
    assert [e["ResourceStatus"] for e in histories["Vpc"]] == CREATED + DELETED
    assert stack.status == "ROLLBACK_COMPLETE"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_delete_events_go_dependents_first_between_the_stacks(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, GATEWAYS)
    stack_id = ctx.connection.client("cloudformation").describe_stacks(
        StackName=stack.name)["Stacks"][0]["StackId"]
    created = len(stack_events(ctx, stack.name))
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"
    events = stack_events(ctx, stack_id)[: -created]

    assert _stack_level(events) == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert (events[0]["ResourceType"], events[-1]["ResourceType"]) == (STACK_TYPE, STACK_TYPE)
    histories = _by_resource(events)
    assert set(histories) == set(stack.ids)
    for logical_id, history in histories.items():
        assert [e["ResourceStatus"] for e in history] == DELETED, logical_id
        assert {e["PhysicalResourceId"] for e in history} == {stack.ids[logical_id]}
    for logical_id, dependencies_of_it in dependencies({**NETWORK, **GATEWAYS}).items():
        for dependency in dependencies_of_it:
            assert _started(histories[dependency], "DELETE_IN_PROGRESS") >= \
                _ended(histories[logical_id], "DELETE_COMPLETE"), (dependency, logical_id)


def test_an_update_records_the_resources_it_adds_changes_and_removes(ctx: PortalContext) -> None:
    stack = launch_stack(ctx, {"Extra": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "extra", "VpcId": {"Ref": "Vpc"}}}})
    created = len(stack_events(ctx, stack.name))
    changed = {**NETWORK,
               "Web": {**NETWORK["Web"], "Properties": {
                   **NETWORK["Web"]["Properties"], "GroupDescription": "web, changed"}},
               "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}}}
    ctx.connection.client("cloudformation").update_stack(
        StackName=stack.name, TemplateBody=json.dumps({"Resources": changed}))
    events = stack_events(ctx, stack.name)[: -created]

    assert _stack_level(events)[0] == "UPDATE_IN_PROGRESS"
    assert _stack_level(events)[-1] == "UPDATE_COMPLETE"
    assert (events[0]["ResourceType"], events[-1]["ResourceType"]) == (STACK_TYPE, STACK_TYPE)
    histories = _by_resource(events)
    assert {k: [e["ResourceStatus"] for e in v] for k, v in histories.items()} == {
        "Extra": DELETED, "Routes": CREATED, "Web": ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]}
    assert json.loads(histories["Web"][0]["ResourceProperties"])["GroupDescription"] == \
        "web, changed"
    assert delete_stack(ctx, stack.name) == "DELETE_COMPLETE"


def test_the_stack_starts_before_the_resources_its_exports_create(ctx: PortalContext) -> None:
    cloudformation = ctx.connection.client("cloudformation")
    name = f"ext-{uuid.uuid4().hex[:8]}"
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({
        "Resources": NETWORK,
        "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}, "Export": {"Name": f"{name}-vpc"}}}}))
    events = stack_events(ctx, name)
    assert (events[-1]["ResourceType"], events[-1]["ResourceStatus"]) == \
        (STACK_TYPE, "CREATE_IN_PROGRESS")
    assert _stack_level(events) == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    assert delete_stack(ctx, name) == "DELETE_COMPLETE"


def test_the_engine_streams_them_oldest_first_with_the_stacks_end_last(ctx: PortalContext) -> None:
    received: list[ResourceEvent] = []
    result = ctx.engine("cloudformation").create(
        stack_name=f"ext-{uuid.uuid4().hex[:8]}",
        template_body=json.dumps({"Resources": {**NETWORK, **GATEWAYS}}), parameters=[],
        tags={}, deadline=time.monotonic() + 60, on_events=received.extend)
    assert result.succeeded, result.error
    assert len({e.event_key for e in received}) == len(received) == 3 * len(NETWORK | GATEWAYS) + 2
    assert [e.occurred_at for e in received] == sorted(e.occurred_at for e in received)
    assert (received[0].resource_type, received[0].status) == (STACK_TYPE, "CREATE_IN_PROGRESS")
    assert (received[-1].resource_type, received[-1].status) == (STACK_TYPE, "CREATE_COMPLETE")

    deleted: list[ResourceEvent] = []
    deletion = ctx.engine("cloudformation").delete(stack=result.deployment_id or "", deadline=time.monotonic() + 60,
                                 on_events=deleted.extend)
    assert deletion.succeeded, deletion.error
    assert len(deleted) == 2 * len(NETWORK | GATEWAYS) + 2
    assert not {e.event_key for e in deleted} & {e.event_key for e in received}
    assert (deleted[-1].resource_type, deleted[-1].status) == (STACK_TYPE, "DELETE_COMPLETE")


def test_events_come_back_whole_with_utc_times_and_their_text_intact(ctx: PortalContext) -> None:
    description = 'rules & <limits> "quoted"'
    stack = launch_stack(ctx, {"Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": description, "VpcId": {"Ref": "Vpc"}}}})
    events = ctx.connection.client("cloudformation").describe_stack_events(
        StackName=stack.name)["StackEvents"]
    required = {"StackId", "EventId", "StackName", "LogicalResourceId", "PhysicalResourceId",
                "ResourceType", "Timestamp", "ResourceStatus"}
    assert all(required <= set(event) for event in events)
    assert len({event["EventId"] for event in events}) == len(events)
    assert all(event["Timestamp"].utcoffset().total_seconds() == 0 for event in events)
    assert [e["Timestamp"] for e in events] == sorted((e["Timestamp"] for e in events),
                                                      reverse=True)
    group_started = next(e for e in events if e["LogicalResourceId"] == "Group"
                         and e.get("ResourceProperties"))
    assert json.loads(group_started["ResourceProperties"])["GroupDescription"] == description
