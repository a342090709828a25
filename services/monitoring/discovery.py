"""What of an environment the collector watches, found from what its engine deployed.

For each environment: its EC2 instances (the deployment's own, the members of its Auto Scaling groups,
and the instances its groups' scaling activities name since a given time, so that an instance
replaced between two passes still gets its last metrics), with their instance types; its
application load balancers and their target groups as CloudWatch dimension values; its RDS
instances; its Auto Scaling groups and their activities; its CodeDeploy deployment groups.

Each environment is read on its own (its engine's resource list, e.g. one `list_stack_resources`,
paginated, and the few lookups its resources need), so that one environment whose deployment is
gone fails alone. Types are read in CloudFormation's words, whichever engine made them. The instance types of
every environment are read together, in as few `describe_instances` calls as the filter's limit
allows.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from services.clouds import CloudConnection
from services.clouds.aws_calls import AWS_ERRORS, as_utc, aws_reason, retry_reads
from services.engines.base import DeploymentRef
from services.engines.resource_types import cloudformation_type

if TYPE_CHECKING:
    from services.engines.base import Engine

INSTANCE = "AWS::EC2::Instance"
AUTO_SCALING_GROUP = "AWS::AutoScaling::AutoScalingGroup"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
DB_INSTANCE = "AWS::RDS::DBInstance"
CODEDEPLOY_APPLICATION = "AWS::CodeDeploy::Application"
CODEDEPLOY_GROUP = "AWS::CodeDeploy::DeploymentGroup"

# EC2 takes at most 200 values in one filter; Auto Scaling describes at most 50 groups by name
# unless MaxRecords is raised (100 at most).
INSTANCE_FILTER_LIMIT = 200
GROUP_NAMES_LIMIT = 50
# Stacks read at once: each environment costs a few round trips, and on AWS each takes tens of
# milliseconds; a class of 30 is read in the time of four.
DISCOVERY_WORKERS = 8

# Auto Scaling names an instance in its activity's description ("Launching a new EC2 instance:
# i-0123456789abcdef0", "Terminating EC2 instance: i-...").
_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class DiscoveryRequest:
    env_id: str
    # The environment's engine and its deployment (engine.resources(ref) lists what it made).
    engine: Engine
    ref: DeploymentRef
    # How far back to read scaling activities (they are listed newest first).
    activities_since: datetime
    # Instances named by activities that started from then on are watched too: they may have
    # published metrics since the last pass even though they left their group.
    instances_since: datetime


@dataclass(frozen=True)
class ActivityRecord:
    activity_id: str
    group_name: str
    status_code: str
    description: str | None
    cause: str | None
    start_time: datetime
    end_time: datetime | None

    @property
    def instance_ids(self) -> list[str]:
        return _INSTANCE_ID.findall(self.description or "")


@dataclass(frozen=True)
class TargetGroupDimensions:
    """HealthyHostCount exists per target group and load balancer: AWS publishes it with the
    dimensions (TargetGroup, LoadBalancer) and (TargetGroup, AvailabilityZone, LoadBalancer),
    never per load balancer alone."""

    load_balancer: str  # app/<name>/<hash>
    target_group: str  # targetgroup/<name>/<hash>


@dataclass
class EnvironmentResources:
    env_id: str
    # Instance id -> instance type (None when AWS no longer knows the instance).
    instances: dict[str, str | None] = field(default_factory=dict)
    load_balancers: list[str] = field(default_factory=list)  # app/<name>/<hash>
    target_groups: list[TargetGroupDimensions] = field(default_factory=list)
    db_instances: list[str] = field(default_factory=list)  # DBInstanceIdentifier
    auto_scaling_groups: list[str] = field(default_factory=list)
    deployment_groups: list[tuple[str, str]] = field(default_factory=list)  # (application, group)
    activities: list[ActivityRecord] = field(default_factory=list)
    # Why the environment could not be read; its other fields are then empty.
    error: str | None = None
    # What could not be read of an environment whose deployment was read (instance types, say).
    partial_error: str | None = None
    # The deployment does not exist (any more, or not yet while a launch starts).
    deployment_missing: bool = False


def load_balancer_dimension(arn: str) -> str | None:
    """The `LoadBalancer` dimension of an application load balancer: `app/<name>/<hash>`.

    Network and gateway load balancers (`net/`, `gwy/`) publish to other namespaces with other
    metrics; they are not watched.
    """
    _, _, resource = arn.partition(":loadbalancer/")
    return resource if resource.startswith("app/") else None


def target_group_dimension(arn: str) -> str | None:
    """The `TargetGroup` dimension of a target group: `targetgroup/<name>/<hash>`."""
    _, found, resource = arn.partition(":targetgroup/")
    return f"targetgroup/{resource}" if found else None


def run_in_threads(work: Callable[[Item], Result], items: Sequence[Item], *, workers: int,
                   name: str) -> list[Result]:
    """`work` over `items` on a few threads, results in order.

    Each call runs in a copy of the caller's context: what rides in context variables (the
    embedded cloud's simulated clock, see services/clouds/simulated_clock.py) holds for the
    threads' requests as for the caller's.
    """
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(items)),
                            thread_name_prefix=name) as pool:
        futures = [pool.submit(contextvars.copy_context().run, work, item) for item in items]
        return [future.result() for future in futures]


def resources_by_type(engine: Engine, ref: DeploymentRef) -> dict[str, list[str]]:
    """Physical ids of what a deployment made and still has, by CloudFormation type."""
    by_type: dict[str, list[str]] = {}
    for resource in engine.resources(ref):
        # A resource not created (yet) has no physical id; nor has, on the embedded cloud, one of
        # a type the emulator does not model.
        if resource.physical_id and not resource.status.startswith("DELETE"):
            by_type.setdefault(cloudformation_type(resource.resource_type), []).append(
                resource.physical_id)
    return by_type


class Discovery:
    """Reads environments' resources through one connection's shared clients."""

    def __init__(self, connection: CloudConnection) -> None:
        self.autoscaling = connection.client("autoscaling")
        self.elbv2 = connection.client("elbv2")
        self.codedeploy = connection.client("codedeploy")
        self.ec2 = connection.client("ec2")

    def discover(self, requests: Sequence[DiscoveryRequest]) -> dict[str, EnvironmentResources]:
        """Every requested environment's resources, by env id; failures stay in their own entry."""
        if not requests:
            return {}
        found = run_in_threads(self._discover_one, requests, workers=DISCOVERY_WORKERS,
                               name="discovery")
        by_env = {resources.env_id: resources for resources in found}
        try:
            types = self.instance_types(
                {i for resources in found for i in resources.instances})
        except AWS_ERRORS as exc:
            # Without types only the credit metrics are unknown; the collector falls back to the
            # types it stored before.
            types = {}
            for resources in found:
                if resources.instances:
                    resources.partial_error = f"describe_instances: {aws_reason(exc)}"
        for resources in found:
            for instance_id in resources.instances:
                resources.instances[instance_id] = types.get(instance_id)
        return by_env

    # -- one environment ------------------------------------------------------------------------
    def _discover_one(self, request: DiscoveryRequest) -> EnvironmentResources:
        resources = EnvironmentResources(env_id=request.env_id)
        try:
            self._read_deployment(request, resources)
        except AWS_ERRORS as exc:
            resources = EnvironmentResources(env_id=request.env_id)
            resources.error = aws_reason(exc)
        return resources

    def _read_deployment(self, request: DiscoveryRequest,
                         resources: EnvironmentResources) -> None:
        by_type = resources_by_type(request.engine, request.ref)
        if not by_type:
            # A deployment that is gone lists nothing (AWS still answers for a deleted stack by
            # its id, with its resources DELETE_COMPLETE); one only just started has nothing
            # made yet either.
            resources.deployment_missing = True
            resources.error = f"deployment {request.ref.handle} holds no resources"
            return

        for instance_id in by_type.get(INSTANCE, []):
            resources.instances[instance_id] = None
        resources.db_instances = sorted(by_type.get(DB_INSTANCE, []))
        load_balancer_arns = [arn for arn in by_type.get(LOAD_BALANCER, [])
                              if load_balancer_dimension(arn)]
        resources.load_balancers = sorted(
            load_balancer_dimension(arn) or "" for arn in load_balancer_arns)
        resources.target_groups = self._target_groups(load_balancer_arns)

        groups = sorted(by_type.get(AUTO_SCALING_GROUP, []))
        resources.auto_scaling_groups = groups
        for member in self._group_members(groups):
            resources.instances.setdefault(member, None)
        for group in groups:
            activities = self._activities(group, since=request.activities_since)
            resources.activities += activities
            for activity in activities:
                if activity.start_time >= request.instances_since or activity.end_time is None \
                        or activity.end_time >= request.instances_since:
                    for instance_id in activity.instance_ids:
                        resources.instances.setdefault(instance_id, None)

        resources.deployment_groups = self._deployment_groups(
            by_type.get(CODEDEPLOY_APPLICATION, []), set(by_type.get(CODEDEPLOY_GROUP, [])))

    @retry_reads
    def _target_groups(self, load_balancer_arns: Iterable[str]) -> list[TargetGroupDimensions]:
        pairs: list[TargetGroupDimensions] = []
        for arn in load_balancer_arns:
            load_balancer = load_balancer_dimension(arn)
            paginator = self.elbv2.get_paginator("describe_target_groups")
            for page in paginator.paginate(LoadBalancerArn=arn):
                for group in page.get("TargetGroups", []):
                    target_group = target_group_dimension(group["TargetGroupArn"])
                    if load_balancer and target_group:
                        pairs.append(TargetGroupDimensions(load_balancer, target_group))
        return sorted(pairs, key=lambda p: (p.load_balancer, p.target_group))

    @retry_reads
    def _group_members(self, groups: Sequence[str]) -> list[str]:
        members: list[str] = []
        paginator = self.autoscaling.get_paginator("describe_auto_scaling_groups")
        for start in range(0, len(groups), GROUP_NAMES_LIMIT):
            names = list(groups[start:start + GROUP_NAMES_LIMIT])
            for page in paginator.paginate(AutoScalingGroupNames=names):
                for group in page.get("AutoScalingGroups", []):
                    members += [i["InstanceId"] for i in group.get("Instances", [])]
        return members

    @retry_reads
    def _activities(self, group: str, *, since: datetime) -> list[ActivityRecord]:
        """The group's activities that started at or after `since`, newest first, as AWS lists
        them; reading stops at the first page that reaches back past `since` (AWS keeps six
        weeks)."""
        found: list[ActivityRecord] = []
        paginator = self.autoscaling.get_paginator("describe_scaling_activities")
        for page in paginator.paginate(AutoScalingGroupName=group):
            reached_back = False
            for raw in page.get("Activities", []):
                start_time = as_utc(raw["StartTime"])
                if start_time is None or start_time < since:
                    reached_back = True
                    continue
                found.append(ActivityRecord(
                    activity_id=raw["ActivityId"],
                    group_name=raw.get("AutoScalingGroupName", group),
                    status_code=raw.get("StatusCode", ""), description=raw.get("Description"),
                    cause=raw.get("Cause"), start_time=start_time,
                    end_time=as_utc(raw.get("EndTime"))))
            if reached_back:
                break
        return found

    @retry_reads
    def _deployment_groups(self, applications: Sequence[str],
                           stack_groups: set[str]) -> list[tuple[str, str]]:
        """(application, group) of the deployment's deployment groups.

        A DeploymentGroup's physical id is its name alone; the application it belongs to is found
        by listing each of the stack's applications' groups.
        """
        pairs: list[tuple[str, str]] = []
        if not stack_groups:
            return pairs
        paginator = self.codedeploy.get_paginator("list_deployment_groups")
        for application in sorted(applications):
            for page in paginator.paginate(applicationName=application):
                pairs += [(application, name) for name in page.get("deploymentGroups", [])
                          if name in stack_groups]
        return sorted(pairs)

    # -- every environment at once --------------------------------------------------------------
    @retry_reads
    def instance_types(self, instance_ids: Iterable[str]) -> dict[str, str]:
        """Instance id -> type, terminated instances included while AWS still lists them (about
        an hour). A filter, unlike `InstanceIds`, does not fail the whole call for an id AWS has
        forgotten."""
        ids = sorted(set(instance_ids))
        types: dict[str, str] = {}
        paginator = self.ec2.get_paginator("describe_instances")
        for start in range(0, len(ids), INSTANCE_FILTER_LIMIT):
            chunk = ids[start:start + INSTANCE_FILTER_LIMIT]
            for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}]):
                for reservation in page.get("Reservations", []):
                    for instance in reservation.get("Instances", []):
                        types[instance["InstanceId"]] = instance["InstanceType"]
        return types

    # -- CodeDeploy deployments -----------------------------------------------------------------
    @retry_reads
    def deployment_ids(self, application: str, group: str, *, since: datetime) -> list[str]:
        paginator = self.codedeploy.get_paginator("list_deployments")
        ids: list[str] = []
        for page in paginator.paginate(
                applicationName=application, deploymentGroupName=group,
                createTimeRange={"start": since}):
            ids += page.get("deployments", [])
        return ids

    @retry_reads
    def deployments(self, deployment_ids: Sequence[str]) -> list[dict[str, Any]]:
        """DeploymentInfo of each id, 25 to a call (BatchGetDeployments' limit)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(deployment_ids), 25):
            chunk = list(deployment_ids[start:start + 25])
            found += self.codedeploy.batch_get_deployments(
                deploymentIds=chunk).get("deploymentsInfo", [])
        return found

