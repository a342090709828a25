"""Auto Scaling: scaling policies that a stack creates and deletes; stack tags on groups;
scaling activities; replacement of instances marked unhealthy.

moto's Auto Scaling backend keeps scaling policies (target tracking, simple, step) but its
CloudFormation has no model for AWS::AutoScaling::ScalingPolicy: the policy was skipped with a
warning and `Ref` gave ''. This model puts it through the backend's PutScalingPolicy. A stack's
tags also reach its Auto Scaling groups and, as on AWS, the instances they launch.

moto records no scaling activities (DescribeScalingActivities always answers an empty list) and
SetInstanceHealth only changes a label. Here every launch and termination a group makes is
recorded as AWS records it: one activity per instance, "Launching a new EC2 instance: i-..." or
"Terminating EC2 instance: i-...", its Cause in AWS's words (the user request that changed the
desired capacity, then what the group did about it), Details with the subnet and zone, and
StatusCode Successful. Causes are recorded for CreateAutoScalingGroup (a stack's groups too),
UpdateAutoScalingGroup, SetDesiredCapacity, ExecutePolicy, DeleteAutoScalingGroup (worded as the
update to min 0, max 0, desired 0 that CloudFormation makes before it deletes a group),
TerminateInstanceInAutoScalingGroup and EC2 TerminateInstances of a member.

SetInstanceHealth(HealthStatus=Unhealthy) now does what AWS's health checks do: the instance is
terminated in EC2, deregistered from the group's target groups (moto never deregisters) and
replaced by a new one, registered in its place. The embedded cloud runs no load balancer health
checks, so on a group whose HealthCheckType includes ELB the call stands for a failed ELB check
and is recorded as one; on an EC2 group it is recorded as AWS records a custom health check.
ShouldRespectGracePeriod (AWS's default: true) ignores the call while the instance is younger
than the group's HealthCheckGracePeriod.

Times come from `_clock.request_now()`, so a simulation can date activities with its own clock.
An activity lasts as long as it does on AWS: about half a minute for a launch, less for a
termination; the replacement's launch is decided about 30 s after the termination began. Each
duration is drawn from a generator seeded by the instance id, so a replay gives the same times.
Activities stay for six weeks of request time; those of a deleted group are only listed with
IncludeDeletedGroups, as on AWS.
"""

from __future__ import annotations

import json
import random
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Iterator

from moto.autoscaling.exceptions import AutoscalingClientError, ValidationError
from moto.autoscaling.models import (
    AutoScalingBackend,
    FakeAutoScalingGroup,
    FakeScalingPolicy,
    InstanceState,
    autoscaling_backends,
)
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random

from . import _clock, stack_tags
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


ACTIVITY_RETENTION = timedelta(weeks=6)
MAX_RECORDS = 100
MAX_ACTIVITY_IDS = 50


class InvalidNextToken(AutoscalingClientError):
    code = "InvalidNextToken"
    message = "The NextToken value is not valid."


@dataclass
class ScalingActivity:
    """One recorded activity; `group_id` tells a group from a later one of the same name."""

    activity_id: str
    group_name: str
    group_arn: str
    group_id: str
    description: str
    cause: str
    start_time: datetime
    end_time: datetime
    details: str
    sequence: int

    def to_api(self, *, group_state: str | None) -> dict[str, Any]:
        activity = {
            "ActivityId": self.activity_id, "AutoScalingGroupName": self.group_name,
            "AutoScalingGroupARN": self.group_arn, "Description": self.description,
            "Cause": self.cause, "StartTime": self.start_time, "EndTime": self.end_time,
            "StatusCode": "Successful", "Progress": 100, "Details": self.details,
        }
        if group_state is not None:
            activity["AutoScalingGroupState"] = group_state
        return activity


@dataclass
class _ActivityLog:
    activities: list[ScalingActivity] = field(default_factory=list)
    # When each instance came into service, for ShouldRespectGracePeriod.
    in_service_at: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, activity: ScalingActivity) -> None:
        with self.lock:
            activity.sequence = len(self.activities)
            self.activities.append(activity)


def _log(backend: AutoScalingBackend) -> _ActivityLog:
    # Kept on the backend, so moto's reset forgets it with everything else.
    log = backend.__dict__.get("sandbox_activity_log")
    if log is None:
        log = backend.__dict__.setdefault("sandbox_activity_log", _ActivityLog())
    return log  # type: ignore[no-any-return]


def activities_of(backend: AutoScalingBackend) -> list[ScalingActivity]:
    """Every recorded activity of the backend, in the order recorded."""
    return list(_log(backend).activities)


def _aws_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(instance_id: str, purpose: str, low: float, high: float) -> timedelta:
    """A duration between `low` and `high` seconds, the same for the same instance and purpose."""
    return timedelta(seconds=random.Random(f"{instance_id}/{purpose}").uniform(low, high))


# What made a group change its desired capacity: the moment of the user's request and how AWS
# words it, given the group and the desired capacity before and after. The outermost request
# wins: ExecutePolicy calls SetDesiredCapacity, DeleteAutoScalingGroup sets the capacity to 0.
Wording = Callable[[FakeAutoScalingGroup, int, int], str]
_trigger: ContextVar[tuple[datetime, Wording] | None] = ContextVar(
    "autoscaling_trigger", default=None)
# When set, launches are decided at this moment: the replacement of a terminated instance.
_replacement_at: ContextVar[datetime | None] = ContextVar("autoscaling_replacement_at",
                                                         default=None)


@contextmanager
def _triggered_by(wording: Wording) -> Iterator[None]:
    if _trigger.get() is not None:
        yield
        return
    token = _trigger.set((_clock.request_now(), wording))
    try:
        yield
    finally:
        _trigger.reset(token)


@contextmanager
def _replacements_decided_at(moment: datetime) -> Iterator[None]:
    token = _replacement_at.set(moment)
    try:
        yield
    finally:
        _replacement_at.reset(token)


def _details(state: InstanceState) -> str:
    instance = state.instance
    details = {"Subnet ID": instance.subnet_id, "Availability Zone": instance.placement.zone}
    return json.dumps({key: value for key, value in details.items() if value},
                      separators=(",", ":"))


def _record(group: FakeAutoScalingGroup, state: InstanceState, *, description: str, cause: str,
            start: datetime, duration: timedelta) -> ScalingActivity:
    activity = ScalingActivity(
        activity_id=str(mock_random.uuid4()), group_name=group.name, group_arn=group.arn,
        group_id=group._id, description=description, cause=cause, start_time=start,
        end_time=start + duration, details=_details(state), sequence=0)
    _log(group.autoscaling_backend).add(activity)
    return activity


def _record_launches(group: FakeAutoScalingGroup, launched: list[InstanceState], *,
                     capacity_before: int, prefix: str, decided_at: datetime,
                     replacing: bool) -> None:
    """A replacement is decided at `decided_at`; a launch the user asked for a few seconds
    after the request."""
    capacity_after = capacity_before + len(launched)
    for state in launched:
        instance_id = state.instance.id
        at = decided_at
        if not replacing:
            at = decided_at + _seconds(instance_id, "launch-decided", 1, 8)
        start = at + _seconds(instance_id, "launch-start", 0.5, 2.5)
        cause = (f"{prefix}At {_aws_time(at)} an instance was started in response to a "
                 f"difference between desired and actual capacity, increasing the capacity "
                 f"from {capacity_before} to {capacity_after}.")
        activity = _record(group, state, description=f"Launching a new EC2 instance: {instance_id}",
                           cause=cause, start=start,
                           duration=_seconds(instance_id, "launch", 30, 55))
        _log(group.autoscaling_backend).in_service_at[instance_id] = activity.end_time


def _record_termination(group: FakeAutoScalingGroup, state: InstanceState, *, cause: str,
                        at: datetime) -> ScalingActivity:
    instance_id = state.instance.id
    start = at + _seconds(instance_id, "terminate-start", 0.3, 1.5)
    in_service_at = _log(group.autoscaling_backend).in_service_at.get(instance_id)
    if in_service_at is not None and start <= in_service_at:
        # Asked to go while its launch was still under way: AWS lets the launch finish first.
        start = in_service_at + _seconds(instance_id, "terminate-start", 0.3, 1.5)
    return _record(group, state, description=f"Terminating EC2 instance: {instance_id}",
                   cause=cause, start=start, duration=_seconds(instance_id, "terminate", 8, 25))


def _deregister(group: FakeAutoScalingGroup, instance_ids: list[str]) -> None:
    """Take terminated members out of the group's target groups, as AWS does before it
    terminates them; moto's groups only ever register."""
    elbv2 = group.autoscaling_backend.elbv2_backend
    for arn in group.target_group_arns:
        target_group = elbv2.target_groups.get(arn)
        if target_group is None:
            continue  # deleted before its group, as a stack's delete may do
        registered = [{"Id": i} for i in instance_ids if i in target_group.targets]
        if registered:
            target_group.deregister(registered)


def _group_set_desired_capacity_records_activities() -> None:
    """Every capacity change of a group passes through FakeAutoScalingGroup.set_desired_capacity
    (creation included): the instances it added and removed are its activities."""
    original = FakeAutoScalingGroup.set_desired_capacity

    def set_desired_capacity(self: FakeAutoScalingGroup, new_capacity: int | None) -> None:
        desired_before = getattr(self, "desired_capacity", None) or 0  # None while created
        states_before = list(self.instance_states)
        capacity_before = len(self.active_instances())
        original(self, new_capacity)
        ids_before = {state.instance.id for state in states_before}
        ids_after = {state.instance.id for state in self.instance_states}
        launched = [state for state in self.instance_states if state.instance.id not in ids_before]
        removed = [state for state in states_before if state.instance.id not in ids_after]
        if not launched and not removed:
            return

        trigger = _trigger.get()
        replacement_at = _replacement_at.get()
        decided_at = replacement_at or (trigger[0] if trigger else _clock.request_now())
        prefix = ""
        if trigger is not None and replacement_at is None:
            moment, wording = trigger
            desired_after = self.desired_capacity or 0
            prefix = f"At {_aws_time(moment)} {wording(self, desired_before, desired_after)}  "
        if removed:
            _deregister(self, [state.instance.id for state in removed])
            capacity_after = capacity_before - len(removed)
            for state in removed:
                at = decided_at + _seconds(state.instance.id, "terminate-decided", 1, 8)
                _record_termination(self, state, at=at, cause=(
                    f"{prefix}At {_aws_time(at)} an instance was taken out of service in "
                    f"response to a difference between desired and actual capacity, shrinking "
                    f"the capacity from {capacity_before} to {capacity_after}."))
        if launched:
            _record_launches(self, launched, capacity_before=capacity_before - len(removed),
                             prefix=prefix, decided_at=decided_at,
                             replacing=replacement_at is not None)

    FakeAutoScalingGroup.set_desired_capacity = set_desired_capacity  # type: ignore[method-assign]


def _requests_name_their_cause() -> None:
    """The requests that change a group's desired capacity, each worded as AWS words it."""

    def created(group: FakeAutoScalingGroup, before: int, after: int) -> str:
        return (f"a user request created an AutoScalingGroup changing the desired capacity "
                f"from {before} to {after}.")

    def updated(group: FakeAutoScalingGroup, before: int, after: int) -> str:
        return (f"a user request update of AutoScalingGroup constraints to min: "
                f"{group.min_size}, max: {group.max_size}, desired: {group.desired_capacity} "
                f"changing the desired capacity from {before} to {after}.")

    def set_explicitly(group: FakeAutoScalingGroup, before: int, after: int) -> str:
        return (f"a user request explicitly set group desired capacity changing the desired "
                f"capacity from {before} to {after}.")

    def deleted(group: FakeAutoScalingGroup, before: int, after: int) -> str:
        return (f"a user request update of AutoScalingGroup constraints to min: 0, max: 0, "
                f"desired: 0 changing the desired capacity from {before} to {after}.")

    def wrap(name: str, wording: Callable[..., Wording]) -> None:
        original = getattr(AutoScalingBackend, name)

        def method(self: AutoScalingBackend, *args: Any, **kwargs: Any) -> Any:
            with _triggered_by(wording(*args, **kwargs)):
                return original(self, *args, **kwargs)

        method.__name__ = name
        setattr(AutoScalingBackend, name, method)

    def executed(policy_name: str) -> Wording:
        return lambda group, before, after: (
            f"a user request executed policy {policy_name} changing the desired capacity from "
            f"{before} to {after}.")

    wrap("create_auto_scaling_group", lambda *a, **k: created)
    wrap("update_auto_scaling_group", lambda *a, **k: updated)
    wrap("set_desired_capacity", lambda *a, **k: set_explicitly)
    wrap("delete_auto_scaling_group", lambda *a, **k: deleted)
    wrap("execute_policy", lambda group_name, *a, **k: executed(group_name))


def _member(backend: AutoScalingBackend, instance_id: str) -> InstanceState:
    for group in backend.autoscaling_groups.values():
        for state in group.instance_states:
            if state.instance.id == instance_id:
                return state
    raise ValidationError(
        f"Instance Id not found - No managed instance found for instance ID: {instance_id}")


def _replace_unhealthy(backend: AutoScalingBackend, state: InstanceState) -> None:
    group = state.auto_scaling_group
    instance_id = state.instance.id
    now = _clock.request_now()
    if "ELB" in (group.health_check_type or "").upper():
        reason = "an ELB system health check failure"
    else:
        reason = "a user health-check"
    _record_termination(group, state, at=now, cause=(
        f"At {_aws_time(now)} an instance was taken out of service in response to {reason}."))
    group.instance_states = [s for s in group.instance_states if s is not state]
    _deregister(group, [instance_id])
    backend.ec2_backend.terminate_instances([instance_id])
    backend.update_attached_elbs(group.name)
    with _replacements_decided_at(now + _seconds(instance_id, "replaced", 25, 35)):
        # The group is one short of its desired capacity now: this launches the replacement
        # and registers it with the group's target groups.
        group.set_desired_capacity(group.desired_capacity)


def _in_grace_period(backend: AutoScalingBackend, state: InstanceState) -> bool:
    in_service_at = _log(backend).in_service_at.get(state.instance.id)
    grace = state.auto_scaling_group.health_check_grace_period or 0
    if in_service_at is None or not grace:
        return False
    return _clock.request_now() - in_service_at < timedelta(seconds=int(grace))


def _unhealthy_instances_are_replaced() -> None:
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult, EmptyResult

    def set_instance_health(self: AutoScalingBackend, instance_id: str, health_status: str,
                            should_respect_grace_period: bool = True) -> None:
        state = _member(self, instance_id)
        if health_status == "Unhealthy" and state.lifecycle_state == "InService":
            if should_respect_grace_period and _in_grace_period(self, state):
                return  # AWS ignores the call while the instance is in its grace period
            state.health_status = health_status
            _replace_unhealthy(self, state)
            return
        state.health_status = health_status

    def set_instance_health_action(self: AutoScalingResponse) -> ActionResult:
        health_status = self._get_param("HealthStatus")
        if health_status not in ("Healthy", "Unhealthy"):
            raise ValidationError("Valid instance health states are: [Healthy, Unhealthy]")
        respect = self._get_param("ShouldRespectGracePeriod")
        self.autoscaling_backend.set_instance_health(
            self._get_param("InstanceId"), health_status,
            should_respect_grace_period=True if respect is None else bool(respect))
        return EmptyResult()

    AutoScalingBackend.set_instance_health = set_instance_health  # type: ignore[method-assign]
    setattr(AutoScalingResponse, "set_instance_health", set_instance_health_action)


def _terminations_by_request_are_recorded() -> None:
    """TerminateInstanceInAutoScalingGroup, and EC2 TerminateInstances of a member (which the
    group sees as a failed EC2 health check), followed by the replacement a group then makes."""
    from moto.autoscaling.models import TerminateInstanceActivity

    terminate_instance = AutoScalingBackend.terminate_instance

    def terminate(self: AutoScalingBackend, instance_id: str,
                  should_decrement: bool) -> TerminateInstanceActivity:
        state = _member(self, instance_id)
        group = state.auto_scaling_group
        desired_before = group.desired_capacity
        now = _clock.request_now()
        with _replacements_decided_at(now + _seconds(instance_id, "replaced", 25, 35)):
            answer = terminate_instance(self, instance_id, should_decrement)
        cause = (f"At {_aws_time(now)} instance {instance_id} was taken out of service in "
                 f"response to a user request")
        if group.desired_capacity != desired_before:
            cause += (f", shrinking the capacity from {desired_before} to "
                      f"{group.desired_capacity}.")
        else:
            cause += "."
        _deregister(group, [instance_id])
        activity = _record_termination(group, state, at=now, cause=cause)
        # The answer describes the activity now under way, as AWS's does.
        answer.activity_id = activity.activity_id
        answer.cause = cause
        answer.start_time = activity.start_time
        return answer

    notify_terminate_instances = AutoScalingBackend.notify_terminate_instances

    def notify_terminated(self: AutoScalingBackend, instance_ids: list[str]) -> None:
        now = _clock.request_now()
        before = {group.name: (group, list(group.instance_states), len(group.active_instances()))
                  for group in self.autoscaling_groups.values()}
        notify_terminate_instances(self, instance_ids)
        for group, states_before, capacity_before in before.values():
            removed = [s for s in states_before if s.instance.id in instance_ids]
            if not removed:
                continue
            for state in removed:
                _record_termination(group, state, at=now, cause=(
                    f"At {_aws_time(now)} an instance was taken out of service in response to "
                    f"an EC2 health check indicating it has been terminated or stopped."))
            ids_before = {s.instance.id for s in states_before}
            launched = [s for s in group.instance_states if s.instance.id not in ids_before]
            if launched:
                _record_launches(
                    group, launched, prefix="", replacing=True,
                    decided_at=now + _seconds(removed[0].instance.id, "replaced", 25, 35),
                    capacity_before=capacity_before - len(removed))
                self.update_attached_target_groups(group.name)

    AutoScalingBackend.terminate_instance = terminate  # type: ignore[method-assign]
    AutoScalingBackend.notify_terminate_instances = notify_terminated  # type: ignore[method-assign]


def _scaling_activities_are_described() -> None:
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    def describe_scaling_activities(self: AutoScalingResponse) -> ActionResult:
        backend = self.autoscaling_backend
        activity_ids = set(self._get_param("ActivityIds", []) or [])
        group_name = self._get_param("AutoScalingGroupName")
        include_deleted = bool(self._get_param("IncludeDeletedGroups", False))
        max_records = self._get_param("MaxRecords") or MAX_RECORDS
        token = self._get_param("NextToken")
        if len(activity_ids) > MAX_ACTIVITY_IDS:
            raise ValidationError(
                f"The number of activity IDs must not exceed {MAX_ACTIVITY_IDS}.")
        if not 1 <= int(max_records) <= MAX_RECORDS:
            raise ValidationError(
                f"1 validation error detected: Value '{max_records}' at 'maxRecords' failed to "
                f"satisfy constraint: Member must have value less than or equal to {MAX_RECORDS}")

        oldest = _clock.request_now() - ACTIVITY_RETENTION
        chosen: list[tuple[ScalingActivity, bool]] = []
        for activity in sorted(activities_of(backend),
                               key=lambda a: (a.start_time, a.sequence), reverse=True):
            live = backend.autoscaling_groups.get(activity.group_name)
            deleted = live is None or live._id != activity.group_id
            if (deleted and not include_deleted) or activity.start_time < oldest:
                continue
            if group_name and activity.group_name != group_name:
                continue
            if activity_ids and activity.activity_id not in activity_ids:
                continue
            chosen.append((activity, deleted))

        start = 0
        if token:
            # The token names the first activity of the next page: newer activities recorded
            # meanwhile sort before it and do not shift the pages.
            start = next((i for i, (a, _) in enumerate(chosen) if a.activity_id == token), -1)
            if start < 0:
                raise InvalidNextToken()
        page = chosen[start:start + int(max_records)]
        rest = chosen[start + int(max_records):]
        result: dict[str, Any] = {"Activities": [
            activity.to_api(group_state=("Deleted" if deleted else "InService")
                            if include_deleted else None)
            for activity, deleted in page]}
        if rest:
            result["NextToken"] = rest[0][0].activity_id
        return ActionResult(result)

    setattr(AutoScalingResponse, "describe_scaling_activities", describe_scaling_activities)


def install() -> None:
    _clock.install()
    stack_tags.register(FakeAutoScalingGroup, _tag_group_and_its_instances)
    _group_set_desired_capacity_records_activities()
    _requests_name_their_cause()
    _unhealthy_instances_are_replaced()
    _terminations_by_request_are_recorded()
    _scaling_activities_are_described()
