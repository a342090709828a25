"""The workload simulator of the embedded cloud: what a class's environments would report to
CloudWatch, Auto Scaling and CodeDeploy, published through the same AWS APIs real AWS fills.

moto generates no metrics, records no health-check replacements and runs no deployments. For each
environment this module walks 5-minute periods from where its last pass stopped to `until`:

- every EC2 instance of the stack or of its Auto Scaling groups demands CPU by a workload profile
  chosen from the environment's id (`workload_profile`), and a `CreditAccount` turns that demand
  into what the instance got; CPUUtilization, CPUCreditBalance, CPUCreditUsage and
  CPUSurplusCreditBalance go to AWS/EC2 (dimension InstanceId), one datapoint per period as EC2's
  basic monitoring publishes them;
- an Auto Scaling member with ELB health checks that is held at its baseline while it asks for
  much more cannot answer the load balancer in time (`is_starved`); once it has failed for
  `UNHEALTHY_AFTER_PERIODS` period, the simulator reports it unhealthy with SetInstanceHealth at
  that simulated moment and the emulator replaces it, recording the scaling activities;
- load balancers get RequestCount and HTTPCode_ELB_5XX_Count (dimension LoadBalancer) and
  HealthyHostCount (TargetGroup + LoadBalancer, as AWS publishes it), following the profile's
  class hours and the health of the hosts; RDS instances get CPUUtilization and
  DatabaseConnections (DBInstanceIdentifier);
- groups with a CodeDeploy deployment group get their first release soon after the launch and a
  few more in every class session, created at their simulated moment from a bundle uploaded to
  the stack's bucket; on throttled servers they run slow and some fail (scripted with
  `scripted_deployment`; the emulator times the others).

A pass keeps nothing between calls: each instance resumes from the last CPUCreditBalance and
CPUSurplusCreditBalance it published (read back with GetMetricData) and the period after it, so a
schedule can call `simulate` every few minutes and a restart loses nothing. Everything here is
made up, which is why it runs only on the embedded cloud (real AWS also refuses PutMetricData into
`AWS/` namespaces).
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.settings import CloudTarget
from services.burstable import BurstableSpec, CreditAccount, CreditMode, burstable_spec
from services.clouds.simulated_clock import (
    DeploymentPlan,
    at_simulated_time,
    scripted_deployment,
    use_simulated_clock,
)
from services.context import PortalContext
from services.clouds.aws_calls import AWS_ERRORS, as_utc, aws_reason, retry_reads
from services.engines.base import DeploymentRef
from services.errors import PortalError
from services.history.models import Environment, EnvironmentStatus, utcnow
from services.monitoring.discovery import (
    load_balancer_dimension,
    resources_by_type,
    target_group_dimension,
)
from services.workload.profiles import AGENT_OVERHEAD_PERCENT, ProfileKind, WorkloadProfile

PERIOD_S = 300
PERIOD = timedelta(seconds=PERIOD_S)
# PutMetricData takes up to 1000 metrics a call; GetMetricData up to 500 queries.
METRIC_DATA_PER_CALL = 1000
QUERIES_PER_CALL = 500
# The emulator, like CloudWatch, accepts datapoints up to about two weeks old (moto: 15 days);
# a day's margin keeps a pass that runs for a while inside it.
BACKDATE_LIMIT = timedelta(days=14)
# A pass first looks for an instance's last datapoint this far back: a schedule that runs every
# few minutes finds it there in one small read.
RECENT_WINDOW = timedelta(hours=1)

# The SSM agent alone (Amazon Linux 2023 ships it; web-server and three-tier install no other
# agent): the SSM share of AGENT_OVERHEAD_PERCENT's estimate.
SSM_AGENT_PERCENT = 1.5
# First boot (package installs, agent installs, the application's start) for this long, at
# BOOT_CPU_PERCENT.
BOOT = timedelta(minutes=4)
BOOT_CPU_PERCENT = 60.0
# A server held at its baseline while it asks for at least this multiple of the baseline queues
# requests faster than it answers them: the health check's 5-second timeout passes. An estimate:
# a little above the baseline the backlog still drains between requests.
STARVED_DEMAND_RATIO = 1.5
# How many consecutive starved periods make the group replace the server. The load balancer marks
# a target unhealthy after HealthCheckIntervalSeconds x UnhealthyThresholdCount (ha-web: 15 s x 3
# = 45 s) and Auto Scaling acts on the next ELB health report, so one 5-minute period in which the
# server failed for longer than that is enough.
UNHEALTHY_AFTER_PERIODS = 1
# Between a server's termination for failed health checks and its replacement's launch.
REPLACEMENT_DELAY = timedelta(seconds=30)
# What the load balancer needs before a new server counts as healthy, when its target group does
# not say: AWS's defaults (30 s interval, 5 healthy and 2 unhealthy checks).
DEFAULT_HEALTH_CHECK = (30, 5, 2)
# A deployment on a throttled group: how much slower it runs and how often it fails.
THROTTLED_DEPLOY_MINUTES = (15.0, 40.0)
THROTTLED_DEPLOY_FAILURE_RATE = 0.35

_LAUNCHING = re.compile(r"Launching a new EC2 instance: (i-[0-9a-f]+)")
_INSTANCE = "AWS::EC2::Instance"
_GROUP = "AWS::AutoScaling::AutoScalingGroup"
_LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
_DB_INSTANCE = "AWS::RDS::DBInstance"
_CODEDEPLOY_APPLICATION = "AWS::CodeDeploy::Application"
_CODEDEPLOY_GROUP = "AWS::CodeDeploy::DeploymentGroup"
_BUCKET = "AWS::S3::Bucket"


class SimulationRefusedError(PortalError):
    """The environment is not on the embedded cloud: made-up metrics belong nowhere else."""

    def __init__(self, env_id: str, cloud: str) -> None:
        self.env_id = env_id
        super().__init__(
            f"workload simulation: environment {env_id} is on the {cloud} cloud; the simulator "
            "publishes made-up metrics and health events and runs only on the embedded cloud")


class SimulationError(PortalError):
    """The environment's resources could not be read or written; carries AWS's reason."""

    def __init__(self, env_id: str, reason: str) -> None:
        self.env_id = env_id
        self.reason = reason
        super().__init__(f"workload simulation of environment {env_id} failed: {reason}")


# -- what is simulated --------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulationTarget:
    """The few facts of an environment the simulator needs; from an `EnvironmentView` or an
    `Environment` row."""

    env_id: str
    template_id: str
    engine: str
    ref: DeploymentRef
    cloud: str
    created_at: datetime

    @classmethod
    def of(cls, env: Any) -> SimulationTarget:
        if isinstance(env, SimulationTarget):
            return env
        env_id = getattr(env, "env_id", None) or env.id
        ref = DeploymentRef(env_id=env_id, deployment_name=env.deployment_name,
                            deployment_id=env.deployment_id)
        return cls(env_id=env_id, template_id=env.template_id, engine=env.engine, ref=ref,
                   cloud=env.cloud, created_at=as_utc(env.created_at))


def workload_profile(env_id: str, template_id: str) -> WorkloadProfile:
    """The workload of an environment's servers, the same for every call with the same id.

    ha-web runs a Django app with the SSM, CloudWatch and CodeDeploy agents: busy while the class
    uses it, nearly idle otherwise. web-server and three-tier run nginx (and a database client)
    with only the SSM agent: mostly idle or steady, now and then a student's heavier experiment.
    """
    rng = random.Random(f"workload-profile:{env_id}")
    if template_id == "ha-web":
        # Half the classes only click through their app; the others load-test it.
        peak = rng.uniform(1, 5) if rng.random() < 0.5 else rng.uniform(10, 45)
        return WorkloadProfile.class_hours(round(peak, 1),
                                           off_peak=round(rng.uniform(0.3, 1.5), 1),
                                           agents=AGENT_OVERHEAD_PERCENT)
    draw = rng.random()
    if template_id == "three-tier" and draw < 0.4:
        return WorkloadProfile.class_hours(round(rng.uniform(6, 30), 1),
                                           off_peak=round(rng.uniform(0.3, 2), 1),
                                           agents=SSM_AGENT_PERCENT)
    if draw < 0.45:
        return WorkloadProfile.idle(agents=SSM_AGENT_PERCENT)
    if draw < 0.85:
        return WorkloadProfile.steady(round(rng.uniform(1, 7), 1), agents=SSM_AGENT_PERCENT)
    return WorkloadProfile.steady(round(rng.uniform(10, 25), 1), agents=SSM_AGENT_PERCENT)


def is_starved(spec: BurstableSpec, *, demand_cpu: float, throttled_minutes: float,
               unhealthy_after_s: float) -> bool:
    """Whether a server failed its load balancer's health checks in a period: held at its
    baseline for longer than the checks take to mark it unhealthy, while asking for at least
    STARVED_DEMAND_RATIO times the baseline."""
    return (throttled_minutes * 60 >= unhealthy_after_s
            and demand_cpu >= STARVED_DEMAND_RATIO * spec.baseline_percent)


# -- the report ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstanceSummary:
    instance_id: str
    instance_type: str
    credit_mode: str | None
    simulated_from: datetime | None
    simulated_until: datetime | None
    periods: int
    throttled_periods: int
    final_balance: float | None
    replaced_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id, "instance_type": self.instance_type,
            "credit_mode": self.credit_mode,
            "simulated_from": _iso(self.simulated_from),
            "simulated_until": _iso(self.simulated_until), "periods": self.periods,
            "throttled_periods": self.throttled_periods, "final_balance": self.final_balance,
            "replaced_at": _iso(self.replaced_at),
        }


@dataclass(frozen=True)
class SimulationReport:
    env_id: str
    template_id: str
    profile: str
    simulated_from: datetime | None
    until: datetime
    periods: int
    metric_data: int
    put_calls: int
    instances: list[InstanceSummary]
    replacements: list[str]
    deployments: list[str]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id, "template": self.template_id, "profile": self.profile,
            "simulated_from": _iso(self.simulated_from), "until": _iso(self.until),
            "periods": self.periods, "metric_data": self.metric_data,
            "put_calls": self.put_calls,
            "instances": [i.to_json() for i in self.instances],
            "replacements": self.replacements, "deployments": self.deployments,
            "error": self.error,
        }


# -- entry points -------------------------------------------------------------------------------
def simulate(ctx: PortalContext, env: Any, *,
             until: datetime | None = None,
             profile: WorkloadProfile | None = None) -> SimulationReport:
    """Simulate `env` (an EnvironmentView, an Environment row or a SimulationTarget) from where
    its last pass stopped to `until` (default: now), publishing what it did.

    `profile` replaces the environment's own (`workload_profile`); a caller that gives one must
    give the same on every pass of that environment."""
    connection = ctx.connection
    target = SimulationTarget.of(env)
    if target.cloud != CloudTarget.EMBEDDED.value or connection.target is not CloudTarget.EMBEDDED:
        raise SimulationRefusedError(target.env_id, target.cloud
                                     if target.cloud != CloudTarget.EMBEDDED.value
                                     else connection.target.value)
    end = as_utc(until) if until is not None else utcnow()
    try:
        return _EnvironmentPass(ctx, target, until=end, profile=profile).run()
    except AWS_ERRORS as exc:
        raise SimulationError(target.env_id, aws_reason(exc)) from exc


def simulate_running(ctx: PortalContext, *, now: datetime | None = None,
                     workers: int = 4) -> list[SimulationReport]:
    """One pass over every ready environment of the embedded cloud that is running now, for a
    schedule. An environment that fails is reported with its error; the others go on."""
    if ctx.settings.cloud is not CloudTarget.EMBEDDED:
        return []
    end = as_utc(now) if now is not None else utcnow()
    ctx.ensure_current_connection()
    session_id = ctx.connection.cloud_session
    with ctx.sessions() as session:
        rows = session.scalars(select(Environment).where(
            Environment.status == EnvironmentStatus.READY.value,
            Environment.cloud == CloudTarget.EMBEDDED.value,
            Environment.cloud_session == session_id)).all()
        targets = [SimulationTarget.of(row) for row in rows]

    def one(target: SimulationTarget) -> SimulationReport:
        try:
            return simulate(ctx, target, until=end)
        except PortalError as exc:
            return SimulationReport(
                env_id=target.env_id, template_id=target.template_id,
                profile=workload_profile(target.env_id, target.template_id).describe(),
                simulated_from=None, until=end, periods=0, metric_data=0, put_calls=0,
                instances=[], replacements=[], deployments=[], error=str(exc))

    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets))),
                            thread_name_prefix="workload") as pool:
        return list(pool.map(one, targets))


# -- one pass over one environment ---------------------------------------------------------------
@dataclass
class _Group:
    name: str
    elb_health_checks: bool
    grace: timedelta
    unhealthy_after_s: float
    healthy_after_s: float
    target_groups: list[str]  # ARNs


@dataclass
class _Instance:
    instance_id: str
    instance_type: str
    spec: BurstableSpec | None
    mode: CreditMode | None
    started: datetime
    group: _Group | None
    resume_at: datetime | None = None  # first period start not yet published
    account: CreditAccount | None = None
    starved_periods: int = 0
    replaced_at: datetime | None = None
    first_period: datetime | None = None
    last_period: datetime | None = None
    periods: int = 0
    throttled_periods: int = 0
    # Health of the current period, read by the load balancer's metrics.
    healthy_fraction: float = 0.0
    failing_fraction: float = 0.0

    def summary(self) -> InstanceSummary:
        return InstanceSummary(
            instance_id=self.instance_id, instance_type=self.instance_type,
            credit_mode=self.mode.value if self.mode else None,
            simulated_from=self.first_period,
            simulated_until=self.last_period + PERIOD if self.last_period else None,
            periods=self.periods, throttled_periods=self.throttled_periods,
            final_balance=self.account.balance if self.account else None,
            replaced_at=self.replaced_at)


@dataclass
class _LoadBalancer:
    dimension: str  # app/<name>/<hash>
    target_groups: dict[str, str]  # ARN -> targetgroup/<name>/<hash>
    resume_at: datetime | None = None


@dataclass
class _Database:
    identifier: str
    resume_at: datetime | None = None


@dataclass
class _Topology:
    instances: dict[str, _Instance] = field(default_factory=dict)
    groups: dict[str, _Group] = field(default_factory=dict)
    load_balancers: list[_LoadBalancer] = field(default_factory=list)
    databases: list[_Database] = field(default_factory=list)
    deployment_group: tuple[str, str] | None = None  # (application, group)
    bucket: str | None = None


class _EnvironmentPass:
    def __init__(self, ctx: PortalContext, target: SimulationTarget, *,
                 until: datetime, profile: WorkloadProfile | None = None) -> None:
        connection = ctx.connection
        self.target = target
        self.until = until
        self.profile = profile or workload_profile(target.env_id, target.template_id)
        self.engine = ctx.engine(target.engine)
        self.ec2 = connection.client("ec2")
        self.elbv2 = connection.client("elbv2")
        self.s3 = connection.client("s3")
        self.cloudwatch = connection.client("cloudwatch")
        # Replacements and deployments must happen at their simulated moment.
        self.autoscaling = use_simulated_clock(connection.client("autoscaling"))
        self.codedeploy = use_simulated_clock(connection.client("codedeploy"))
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.metric_data = 0
        self.put_calls = 0
        self.replacements: list[str] = []
        self.deployments: list[str] = []

    # -- the pass ------------------------------------------------------------------------------
    def run(self) -> SimulationReport:
        # The emulator refuses datapoints older than about two weeks of its own (wall) clock.
        earliest = _floor(max(self.target.created_at, utcnow() - BACKDATE_LIMIT))
        last_period_end = _floor(self.until)
        topology = self._discover()
        self._resume(topology, earliest=earliest)
        starts = [i.resume_at for i in topology.instances.values() if i.resume_at]
        starts += [lb.resume_at for lb in topology.load_balancers if lb.resume_at]
        starts += [db.resume_at for db in topology.databases if db.resume_at]
        first = max(min(starts), earliest) if starts else None
        periods = 0
        if first is not None and first < last_period_end:
            deployments = self._planned_deployments(topology, first, last_period_end)
            period = first
            while period < last_period_end:
                self._period(topology, period, deployments)
                period += PERIOD
                periods += 1
        self._flush(final=True)
        return SimulationReport(
            env_id=self.target.env_id, template_id=self.target.template_id,
            profile=self.profile.describe(),
            simulated_from=first if periods else None, until=self.until, periods=periods,
            metric_data=self.metric_data, put_calls=self.put_calls,
            instances=[i.summary() for i in topology.instances.values()],
            replacements=self.replacements, deployments=self.deployments)

    # -- discovery -----------------------------------------------------------------------------
    def _discover(self) -> _Topology:
        # What the deployment made, as monitoring's discovery reads it.
        by_type = resources_by_type(self.engine, self.target.ref)
        topology = _Topology()
        members: dict[str, _Group] = {}
        for raw in self._describe_groups(by_type.get(_GROUP, [])):
            group = self._group(raw)
            topology.groups[group.name] = group
            for member in raw.get("Instances", []):
                if member.get("LifecycleState", "InService") in ("InService", "Pending"):
                    members[member["InstanceId"]] = group
        launched = self._launch_times(topology.groups, wanted=set(members))
        instance_ids = sorted(set(by_type.get(_INSTANCE, [])) | set(members))
        for raw in self._describe_instances(instance_ids):
            instance_id = raw["InstanceId"]
            if raw.get("State", {}).get("Name") in ("terminated", "shutting-down", "stopped"):
                continue
            instance_type = raw["InstanceType"]
            spec = burstable_spec(instance_type)
            topology.instances[instance_id] = _Instance(
                instance_id=instance_id, instance_type=instance_type, spec=spec, mode=None,
                started=self._started(launched.get(instance_id), as_utc(raw.get("LaunchTime"))),
                group=members.get(instance_id))
        self._credit_modes(topology.instances.values())
        for arn in by_type.get(_LOAD_BALANCER, []):
            dimension = load_balancer_dimension(arn)
            if dimension:
                topology.load_balancers.append(_LoadBalancer(
                    dimension=dimension, target_groups=self._target_groups(arn)))
        topology.databases = [_Database(identifier) for identifier in by_type.get(_DB_INSTANCE, [])]
        applications = by_type.get(_CODEDEPLOY_APPLICATION, [])
        groups = by_type.get(_CODEDEPLOY_GROUP, [])
        if applications and groups:
            topology.deployment_group = (applications[0], groups[0])
        buckets = by_type.get(_BUCKET, [])
        topology.bucket = buckets[0] if buckets else None
        return topology

    def _started(self, activity_time: datetime | None, launch_time: datetime | None) -> datetime:
        """When an instance started, in the simulation's time: its Launching activity if the
        group recorded one, else EC2's LaunchTime; an instance of a demo environment created now
        but standing for an earlier launch started with its environment."""
        for moment in (activity_time, launch_time):
            if moment is not None and self.target.created_at <= moment <= self.until:
                return moment
        return self.target.created_at

    @retry_reads
    def _describe_groups(self, names: Sequence[str]) -> list[dict[str, Any]]:
        if not names:
            return []
        groups: list[dict[str, Any]] = []
        paginator = self.autoscaling.get_paginator("describe_auto_scaling_groups")
        for start in range(0, len(names), 50):
            for page in paginator.paginate(AutoScalingGroupNames=list(names[start:start + 50])):
                groups += page.get("AutoScalingGroups", [])
        return groups

    def _group(self, raw: dict[str, Any]) -> _Group:
        interval, healthy, unhealthy = DEFAULT_HEALTH_CHECK
        target_groups = list(raw.get("TargetGroupARNs", []))
        if target_groups:
            described = self._describe_target_groups(target_groups[:1])
            if described:
                check = described[0]
                interval = check.get("HealthCheckIntervalSeconds", interval)
                healthy = check.get("HealthyThresholdCount", healthy)
                unhealthy = check.get("UnhealthyThresholdCount", unhealthy)
        return _Group(
            name=raw["AutoScalingGroupName"],
            elb_health_checks="ELB" in raw.get("HealthCheckType", "EC2"),
            grace=timedelta(seconds=raw.get("HealthCheckGracePeriod", 0) or 0),
            unhealthy_after_s=interval * unhealthy, healthy_after_s=interval * healthy,
            target_groups=target_groups)

    @retry_reads
    def _describe_target_groups(self, arns: Sequence[str]) -> list[dict[str, Any]]:
        return self.elbv2.describe_target_groups(TargetGroupArns=list(arns)).get(
            "TargetGroups", [])

    @retry_reads
    def _target_groups(self, load_balancer_arn: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for group in self.elbv2.describe_target_groups(
                LoadBalancerArn=load_balancer_arn).get("TargetGroups", []):
            dimension = target_group_dimension(group["TargetGroupArn"])
            if dimension:
                found[group["TargetGroupArn"]] = dimension
        return found

    @retry_reads
    def _launch_times(self, groups: dict[str, _Group], *, wanted: set[str]) -> dict[str, datetime]:
        """Instance id -> start of the group's activity that launched it, for the `wanted`
        instances. Activities come newest first, so reading stops once all are found: a group
        that replaced hundreds of servers is not read to its beginning on every pass."""
        found: dict[str, datetime] = {}
        for name in groups:
            paginator = self.autoscaling.get_paginator("describe_scaling_activities")
            for page in paginator.paginate(AutoScalingGroupName=name):
                for activity in page.get("Activities", []):
                    match = _LAUNCHING.search(activity.get("Description") or "")
                    if match and match.group(1) not in found:
                        found[match.group(1)] = as_utc(activity["StartTime"])
                if wanted <= set(found):
                    break
        return found

    @retry_reads
    def _describe_instances(self, instance_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not instance_ids:
            return []
        found: list[dict[str, Any]] = []
        paginator = self.ec2.get_paginator("describe_instances")
        for start in range(0, len(instance_ids), 200):
            chunk = list(instance_ids[start:start + 200])
            for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": chunk}]):
                for reservation in page.get("Reservations", []):
                    found += reservation.get("Instances", [])
        return found

    @retry_reads
    def _credit_modes(self, instances: Iterable[_Instance]) -> None:
        # The embedded cloud answers "standard" for every instance, which is what the built-in
        # templates ask for; on AWS this is the instance's real credit option.
        burstable = {i.instance_id: i for i in instances if i.spec is not None}
        ids = sorted(burstable)
        for start in range(0, len(ids), 1000):
            answer = self.ec2.describe_instance_credit_specifications(
                InstanceIds=ids[start:start + 1000])
            for item in answer.get("InstanceCreditSpecifications", []):
                instance = burstable.get(item["InstanceId"])
                if instance is not None:
                    instance.mode = CreditMode(item.get("CpuCredits", "standard"))
        for instance in burstable.values():
            if instance.mode is None:
                instance.mode = instance.spec.default_mode  # type: ignore[union-attr]

    # -- resuming from what was published ------------------------------------------------------
    def _resume(self, topology: _Topology, *, earliest: datetime) -> None:
        """Set each resource's first unpublished period and, for burstable instances, the credit
        account it continues from."""
        probes: dict[str, _Probe] = {}
        for instance in topology.instances.values():
            start = _floor(max(instance.started, earliest))
            balance_metric = "CPUCreditBalance" if instance.spec else "CPUUtilization"
            probes[f"b_{_query_id(instance.instance_id)}"] = _Probe(
                "AWS/EC2", balance_metric, {"InstanceId": instance.instance_id}, "Maximum", start,
                instance)
            if instance.spec:
                probes[f"s_{_query_id(instance.instance_id)}"] = _Probe(
                    "AWS/EC2", "CPUSurplusCreditBalance", {"InstanceId": instance.instance_id},
                    "Maximum", start, instance)
        for lb in topology.load_balancers:
            probes[f"l_{_query_id(lb.dimension)}"] = _Probe(
                "AWS/ApplicationELB", "RequestCount", {"LoadBalancer": lb.dimension}, "Sum",
                earliest, lb)
        for db in topology.databases:
            probes[f"d_{_query_id(db.identifier)}"] = _Probe(
                "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": db.identifier}, "Maximum",
                earliest, db)
        last = self._last_points(probes)
        for key, probe in probes.items():
            owner = probe.owner
            if key.startswith("s_"):
                continue
            found = last.get(key)
            owner.resume_at = found[0] + PERIOD if found else probe.start
            if isinstance(owner, _Instance) and owner.spec is not None:
                minutes_into_hour = _minutes_into_hour(max(owner.resume_at, owner.started))
                if found:
                    surplus = last.get("s_" + key[2:])
                    owner.account = CreditAccount.resumed(
                        owner.spec, mode=owner.mode or owner.spec.default_mode,
                        balance=found[1], surplus_balance=surplus[1] if surplus else 0.0,
                        minutes_into_hour=minutes_into_hour)
                else:
                    owner.account = CreditAccount.launched(
                        owner.spec, mode=owner.mode, minutes_into_hour=minutes_into_hour)

    def _last_points(self, probes: dict[str, _Probe]) -> dict[str, tuple[datetime, float]]:
        """Query id -> (timestamp, value) of the newest datapoint of each probe, if any.

        Three reads at most, each small: the last hour (where a regular schedule finds every
        one), then the first period of what is still missing (nothing there: never published),
        then the rest of the history of what remains.
        """
        found: dict[str, tuple[datetime, float]] = {}
        end = _floor(self.until) + PERIOD
        recent = {k: p for k, p in probes.items() if p.start < end}
        found.update(self._newest(recent, start=max(end - RECENT_WINDOW,
                                                    min((p.start for p in recent.values()),
                                                        default=end)), end=end))
        missing = {k: p for k, p in recent.items() if k not in found}
        by_start: dict[datetime, dict[str, _Probe]] = {}
        for key, probe in missing.items():
            if probe.start < end - RECENT_WINDOW:
                by_start.setdefault(probe.start, {})[key] = probe
        older: dict[str, _Probe] = {}
        for start, group in by_start.items():
            seen = self._newest(group, start=start, end=start + PERIOD)
            older.update({k: group[k] for k in seen})
        if older:
            found.update(self._newest(older, start=min(p.start for p in older.values()),
                                      end=end - RECENT_WINDOW))
        return found

    @retry_reads
    def _newest(self, probes: dict[str, _Probe], *, start: datetime,
                end: datetime) -> dict[str, tuple[datetime, float]]:
        if not probes or start >= end:
            return {}
        found: dict[str, tuple[datetime, float]] = {}
        items = list(probes.items())
        for offset in range(0, len(items), QUERIES_PER_CALL):
            queries = [{
                "Id": key,
                "MetricStat": {
                    "Metric": {"Namespace": probe.namespace, "MetricName": probe.metric,
                               "Dimensions": [{"Name": n, "Value": v}
                                              for n, v in probe.dimensions.items()]},
                    "Period": PERIOD_S, "Stat": probe.stat},
                "ReturnData": True,
            } for key, probe in items[offset:offset + QUERIES_PER_CALL]]
            token: str | None = None
            while True:
                request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start,
                                           "EndTime": end, "ScanBy": "TimestampDescending"}
                if token:
                    request["NextToken"] = token
                answer = self.cloudwatch.get_metric_data(**request)
                for result in answer.get("MetricDataResults", []):
                    stamps = [as_utc(t) for t in result.get("Timestamps", [])]
                    if not stamps:
                        continue
                    newest = max(range(len(stamps)), key=stamps.__getitem__)
                    candidate = (stamps[newest], float(result["Values"][newest]))
                    known = found.get(result["Id"])
                    if known is None or candidate[0] > known[0]:
                        found[result["Id"]] = candidate
                token = answer.get("NextToken")
                if not token:
                    break
        return found

    # -- one period ----------------------------------------------------------------------------
    def _period(self, topology: _Topology, period: datetime,
                deployments: dict[datetime, list[_PlannedDeployment]]) -> None:
        period_end = period + PERIOD
        for planned in deployments.get(period, []):
            self._deploy(topology, planned)
        deploying = [d for starts in deployments.values() for d in starts
                     if d.at < period_end and d.at + d.busy > period]
        for instance in list(topology.instances.values()):
            if instance.resume_at is None or instance.resume_at > period \
                    or instance.replaced_at is not None:
                instance.healthy_fraction = instance.failing_fraction = 0.0
                if instance.resume_at is not None and instance.resume_at > period \
                        and instance.started < period_end:
                    # Already published by an earlier pass: only its health counts here.
                    instance.healthy_fraction = self._boot_health(instance, period)
                continue
            self._instance_period(instance, period, deploying)
        for instance in list(topology.instances.values()):
            if instance.group is not None and instance.replaced_at is None \
                    and instance.starved_periods >= UNHEALTHY_AFTER_PERIODS:
                self._replace(topology, instance, at=period_end)
        for lb in topology.load_balancers:
            if lb.resume_at is not None and lb.resume_at <= period:
                self._load_balancer_period(topology, lb, period)
        for db in topology.databases:
            if db.resume_at is not None and db.resume_at <= period:
                self._database_period(topology, db, period)
        self._flush()

    def _boot_health(self, instance: _Instance, period: datetime) -> float:
        """The share of the period in which a server that has just started already passes its
        load balancer's checks: after its boot and the healthy threshold's checks."""
        healthy_after = BOOT.total_seconds() + (
            instance.group.healthy_after_s if instance.group else 0.0)
        healthy_from = instance.started + timedelta(seconds=healthy_after)
        if healthy_from <= period:
            return 1.0
        return max(0.0, (period + PERIOD - healthy_from).total_seconds() / PERIOD_S)

    def _instance_period(self, instance: _Instance, period: datetime,
                         deploying: Sequence[_PlannedDeployment]) -> None:
        begin = max(period, instance.started)
        minutes = (period + PERIOD - begin).total_seconds() / 60
        noise = 1 + 0.15 * _jitter(instance.instance_id, period)
        running = self.profile.demand_at(period) * noise
        if any(d.group_name == (instance.group.name if instance.group else None)
               for d in deploying):
            running += 25.0  # the CodeDeploy agent unpacks the bundle and restarts the app
        running = min(max(running, 0.0), 100.0)
        # The first boot's installs come on top; the group's grace period covers them, so they
        # count for the credits but not for the health checks.
        booting = (min(period + PERIOD, instance.started + BOOT) - begin).total_seconds() / 60
        demand = running
        if booting > 0:
            demand += (max(running, BOOT_CPU_PERCENT) - running) * booting / minutes
        dimensions = [{"Name": "InstanceId", "Value": instance.instance_id}]
        if instance.spec is None or instance.account is None:
            self._put("AWS/EC2", "CPUUtilization", dimensions, period, demand, "Percent")
            instance.healthy_fraction = self._boot_health(instance, period)
            instance.failing_fraction = 0.0
            instance.starved_periods = 0
        else:
            step = instance.account.step(minutes, demand)
            self._put("AWS/EC2", "CPUUtilization", dimensions, period, step.effective_cpu,
                      "Percent")
            self._put("AWS/EC2", "CPUCreditBalance", dimensions, period, step.balance, "Count")
            self._put("AWS/EC2", "CPUCreditUsage", dimensions, period, step.credit_usage, "Count")
            self._put("AWS/EC2", "CPUSurplusCreditBalance", dimensions, period,
                      step.surplus_balance, "Count")
            if step.throttled:
                instance.throttled_periods += 1
            group = instance.group
            instance.healthy_fraction = self._boot_health(instance, period)
            if group is not None and group.elb_health_checks and is_starved(
                    instance.spec, demand_cpu=running, throttled_minutes=step.throttled_minutes,
                    unhealthy_after_s=group.unhealthy_after_s):
                in_grace = period + PERIOD <= instance.started + group.grace
                failing_s = step.throttled_minutes * 60 - group.unhealthy_after_s
                instance.failing_fraction = min(1.0, step.throttled_minutes * 60 / PERIOD_S)
                instance.healthy_fraction = max(0.0, instance.healthy_fraction
                                                - failing_s / PERIOD_S)
                instance.starved_periods = 0 if in_grace else instance.starved_periods + 1
            else:
                instance.failing_fraction = 0.0
                instance.starved_periods = 0
        instance.periods += 1
        instance.first_period = instance.first_period or period
        instance.last_period = period

    def _replace(self, topology: _Topology, instance: _Instance, *, at: datetime) -> None:
        """Report the starved server unhealthy at `at`; the group terminates and replaces it."""
        group = instance.group
        assert group is not None
        with at_simulated_time(at):
            self.autoscaling.set_instance_health(
                InstanceId=instance.instance_id, HealthStatus="Unhealthy",
                ShouldRespectGracePeriod=False)
        instance.replaced_at = at
        self.replacements.append(instance.instance_id)
        known = set(topology.instances)
        (raw,) = self._describe_groups([group.name]) or [{}]
        # The group launches the replacement from the same launch template about half a minute
        # after the termination (its Launching activity says exactly when; the next pass reads
        # it from there).
        started = at + REPLACEMENT_DELAY
        for member in raw.get("Instances", []):
            if member["InstanceId"] in known:
                continue
            instance_type = member.get("InstanceType", instance.instance_type)
            spec = burstable_spec(instance_type)
            replacement = _Instance(
                instance_id=member["InstanceId"], instance_type=instance_type, spec=spec,
                mode=instance.mode if spec else None, started=started, group=group,
                resume_at=_floor(started))
            if spec is not None:
                replacement.account = CreditAccount.launched(
                    spec, mode=replacement.mode, minutes_into_hour=_minutes_into_hour(started))
            topology.instances[replacement.instance_id] = replacement

    def _load_balancer_period(self, topology: _Topology, lb: _LoadBalancer,
                              period: datetime) -> None:
        in_class = self.profile.kind is ProfileKind.CLASS_HOURS and self.profile.in_class(period)
        app_cpu = max(0.0, self.profile.demand_at(period) - self.profile.agent_overhead_percent)
        # Scanners and bots find every public load balancer; students' clicks and their load
        # tests follow the class hours (about 40 requests per 5 minutes per % of app CPU).
        noise = 1 + 0.3 * _jitter(lb.dimension, period)
        requests = max(0, round((6 + app_cpu * 40 * (1.0 if in_class or
                                                     self.profile.kind is ProfileKind.STEADY
                                                     else 0.2)) * noise))
        hosts = [i for i in topology.instances.values()
                 if i.group is not None and set(i.group.target_groups) & set(lb.target_groups)
                 and i.started < period + PERIOD
                 and (i.replaced_at is None or i.replaced_at > period)]
        healthy = sum(i.healthy_fraction for i in hosts)
        if not hosts or healthy <= 0:
            errors = requests  # no healthy target: every request fails
        else:
            # Requests reach a failing server until the checks mark it unhealthy.
            share_failing = sum(i.failing_fraction for i in hosts) / len(hosts)
            errors = round(requests * min(1.0, share_failing * 0.5))
        dimensions = [{"Name": "LoadBalancer", "Value": lb.dimension}]
        self._put("AWS/ApplicationELB", "RequestCount", dimensions, period, requests, "Count")
        if errors:  # as on AWS: the HTTPCode metrics are reported when they are not zero
            self._put("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", dimensions, period, errors,
                      "Count")
        for arn, target_group in lb.target_groups.items():
            members = [i for i in hosts if i.group is not None and arn in i.group.target_groups]
            self._put_healthy_hosts(lb.dimension, target_group, period, members)

    def _put_healthy_hosts(self, load_balancer: str, target_group: str, period: datetime,
                           members: Sequence[_Instance]) -> None:
        """HealthyHostCount as AWS publishes it: one sample a minute, sent as Values and Counts so
        that Minimum, Maximum and Average of the period read as on AWS."""
        samples = []
        for minute in range(5):
            moment = period + timedelta(minutes=minute, seconds=30)
            count = 0
            for instance in members:
                healthy_until = period + timedelta(seconds=instance.healthy_fraction * PERIOD_S)
                healthy_from = period + PERIOD - timedelta(
                    seconds=self._boot_health(instance, period) * PERIOD_S)
                if instance.failing_fraction > 0:
                    count += moment < healthy_until
                else:
                    count += moment >= healthy_from
            samples.append(count)
        values = sorted(set(samples))
        datum = {
            "MetricName": "HealthyHostCount",
            "Dimensions": [{"Name": "TargetGroup", "Value": target_group},
                           {"Name": "LoadBalancer", "Value": load_balancer}],
            "Timestamp": period, "Values": [float(v) for v in values],
            "Counts": [float(samples.count(v)) for v in values], "Unit": "Count"}
        self._queue("AWS/ApplicationELB", datum)

    def _database_period(self, topology: _Topology, db: _Database, period: datetime) -> None:
        servers = [i for i in topology.instances.values()
                   if i.started < period + PERIOD and (i.replaced_at is None
                                                       or i.replaced_at > period)]
        app_cpu = max(0.0, self.profile.demand_at(period) - self.profile.agent_overhead_percent)
        noise = _jitter(db.identifier, period)
        cpu = min(100.0, 3.0 + 0.6 * app_cpu + 1.0 * noise)
        # Django keeps a persistent connection per worker; two workers per server.
        connections = 2 * sum(1 for i in servers if i.healthy_fraction > 0)
        connections += 1 if noise > 0.6 else 0  # a student's SQL client now and then
        dimensions = [{"Name": "DBInstanceIdentifier", "Value": db.identifier}]
        self._put("AWS/RDS", "CPUUtilization", dimensions, period, max(cpu, 0.5), "Percent")
        self._put("AWS/RDS", "DatabaseConnections", dimensions, period, connections, "Count")

    # -- deployments ---------------------------------------------------------------------------
    def _planned_deployments(self, topology: _Topology, start: datetime,
                             end: datetime) -> dict[datetime, list[_PlannedDeployment]]:
        """Deployments of the class sessions between `start` and `end`, by the period they fall
        in, without those an earlier pass already created."""
        if topology.deployment_group is None or topology.bucket is None:
            return {}
        application, group = topology.deployment_group
        asg = next(iter(topology.groups), None)
        planned: dict[datetime, list[_PlannedDeployment]] = {}
        existing = self._deployment_times(application, group, start, end)
        # The first release goes out once the stack is up, then a few in every class session.
        first = random.Random(f"deployments:{self.target.env_id}:first")
        moments = [(self.target.created_at + timedelta(minutes=first.uniform(8, 20)),
                    first.random())]
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            for slot in self.profile.class_slots:
                if slot.weekday != day.weekday():
                    continue
                rng = random.Random(f"deployments:{self.target.env_id}:{day.date()}:{slot}")
                session_start = day + timedelta(hours=slot.start_hour)
                session_minutes = (slot.end_hour - slot.start_hour) * 60
                for _ in range(rng.randint(1, 3)):
                    moments.append((session_start + timedelta(
                        minutes=rng.uniform(5, session_minutes - 10)), rng.random()))
            day += timedelta(days=1)
        for at, seed in moments:
            at = at.replace(microsecond=0)
            if not start <= at < end or any(abs((at - t).total_seconds()) < 1 for t in existing):
                continue
            planned.setdefault(_floor(at), []).append(_PlannedDeployment(
                at=at, application=application, group=group, group_name=asg,
                bucket=topology.bucket, seed=seed))
        return planned

    @retry_reads
    def _deployment_times(self, application: str, group: str, start: datetime,
                          end: datetime) -> list[datetime]:
        ids: list[str] = []
        paginator = self.codedeploy.get_paginator("list_deployments")
        for page in paginator.paginate(applicationName=application, deploymentGroupName=group,
                                       createTimeRange={"start": start, "end": end}):
            ids += page.get("deployments", [])
        times: list[datetime] = []
        for offset in range(0, len(ids), 25):
            infos = self.codedeploy.batch_get_deployments(
                deploymentIds=ids[offset:offset + 25]).get("deploymentsInfo", [])
            times += [as_utc(info["createTime"]) for info in infos if info.get("createTime")]
        return times

    def _deploy(self, topology: _Topology, planned: _PlannedDeployment) -> None:
        """Upload a release bundle and deploy it at its moment. On servers held at their
        baseline the lifecycle scripts crawl: the deployment takes far longer and may fail its
        health constraints."""
        group = topology.groups.get(planned.group_name or "")
        demand = self.profile.demand_at(planned.at)
        throttled = any(
            i.group is group and i.replaced_at is None and i.account is not None
            and i.account.balance <= 0 and demand > i.account.spec.baseline_percent
            for i in topology.instances.values())
        rng = random.Random(planned.seed)
        if throttled:
            minutes = rng.uniform(*THROTTLED_DEPLOY_MINUTES)
            failed = rng.random() < THROTTLED_DEPLOY_FAILURE_RATE
            plan = DeploymentPlan(
                duration_s=minutes * 60, outcome="Failed" if failed else "Succeeded",
                error_code="HEALTH_CONSTRAINTS" if failed else None,
                message=("The overall deployment failed because too many individual instances "
                         "failed deployment, too few healthy instances are available for "
                         "deployment, or some instances in your deployment group are "
                         "experiencing problems.") if failed else None)
            planned.busy = timedelta(minutes=minutes)
        else:
            plan = DeploymentPlan()  # the emulator times it from the group and its config
            planned.busy = timedelta(minutes=6)
        key = f"releases/{planned.at.strftime('%Y%m%dT%H%M%SZ')}.zip"
        self.s3.put_object(Bucket=planned.bucket, Key=key, Body=_bundle(key))
        with at_simulated_time(planned.at), scripted_deployment(plan):
            answer = self.codedeploy.create_deployment(
                applicationName=planned.application, deploymentGroupName=planned.group,
                revision={"revisionType": "S3", "s3Location": {
                    "bucket": planned.bucket, "key": key, "bundleType": "zip"}},
                description="class release (simulated)")
        self.deployments.append(answer["deploymentId"])

    # -- publishing ----------------------------------------------------------------------------
    def _put(self, namespace: str, metric: str, dimensions: list[dict[str, str]],
             timestamp: datetime, value: float, unit: str) -> None:
        self._queue(namespace, {"MetricName": metric, "Dimensions": dimensions,
                                "Timestamp": timestamp, "Value": float(value), "Unit": unit})

    def _queue(self, namespace: str, datum: dict[str, Any]) -> None:
        self.pending.setdefault(namespace, []).append(datum)

    def _flush(self, *, final: bool = False) -> None:
        for namespace, data in self.pending.items():
            while len(data) >= METRIC_DATA_PER_CALL or (final and data):
                batch, data[:] = data[:METRIC_DATA_PER_CALL], data[METRIC_DATA_PER_CALL:]
                # A write: not repeated on failure, the next pass resumes from what landed.
                self.cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)
                self.metric_data += len(batch)
                self.put_calls += 1


@dataclass
class _Probe:
    namespace: str
    metric: str
    dimensions: dict[str, str]
    stat: str
    start: datetime
    owner: Any


@dataclass
class _PlannedDeployment:
    at: datetime
    application: str
    group: str
    group_name: str | None  # the Auto Scaling group it installs on
    bucket: str
    seed: float
    busy: timedelta = timedelta(minutes=6)


# -- small helpers ------------------------------------------------------------------------------
def _floor(moment: datetime) -> datetime:
    """The start of the 5-minute period that holds `moment`."""
    moment = as_utc(moment)
    seconds = int(moment.timestamp()) // PERIOD_S * PERIOD_S
    return datetime.fromtimestamp(seconds, UTC)


def _minutes_into_hour(moment: datetime) -> float:
    return moment.minute + moment.second / 60


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _jitter(key: str, moment: datetime) -> float:
    """A number in [-1, 1], the same for the same key and moment."""
    digest = hashlib.blake2b(f"{key}@{int(moment.timestamp())}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 0xFFFFFFFF * 2 - 1


def _query_id(resource: str) -> str:
    """A GetMetricData query id (a lowercase letter, then letters, digits, underscores)."""
    return re.sub(r"[^0-9a-zA-Z_]", "_", resource).lower()


def _bundle(key: str) -> bytes:
    """A small release bundle: an appspec and the page it installs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("appspec.yml", "version: 0.0\nos: linux\nfiles:\n"
                         "  - source: index.html\n    destination: /var/www/html\n")
        archive.writestr("index.html", f"<p>release {key}</p>\n")
    return buffer.getvalue()
