"""History rows for the Health views, written straight through the models: environments with
their runs, instance metrics as raw five-minute points with the hourly and daily rollups that
those points make, scaling activities, deployments and stack events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from services.context import PortalContext
from services.history.models import (
    Deployment,
    Environment,
    MetricPoint,
    MetricRollup,
    MetricSeries,
    Run,
    RunEvent,
    ScalingActivity,
)
from services.identity import Actor, Role
from services.monitoring.filters import DashboardFilter

# A Monday, so that class-hour profiles line up with the start.
T0 = datetime(2026, 11, 2, tzinfo=UTC)
STEP = timedelta(minutes=5)


def add_environment(session: Session, *, env_id: str, owner: str, template_id: str = "web-server",
                    course: str = "default", cloud: str = "embedded",
                    created_at: datetime = T0, launch_s: float = 40.0,
                    launch_status: str = "succeeded", destroyed_at: datetime | None = None,
                    destroy_s: float = 20.0) -> tuple[int, int | None]:
    """The environment with its launch run (and destroy run); returns both run ids."""
    status = "destroyed" if destroyed_at else ("ready" if launch_status == "succeeded"
                                              else "failed")
    session.add(Environment(
        id=env_id, template_id=template_id, owner=owner, course=course, status=status,
        cloud=cloud, region="us-east-1", deployment_name=f"sbx-{env_id}", created_at=created_at,
        lease_hours=4, hourly_cost_usd=0.0104))
    launch = Run(env_id=env_id, kind="launch", status=launch_status, started_at=created_at,
                 deadline_at=created_at + timedelta(hours=1),
                 ended_at=created_at + timedelta(seconds=launch_s))
    session.add(launch)
    destroy = None
    if destroyed_at is not None:
        destroy = Run(env_id=env_id, kind="destroy", status="succeeded", started_at=destroyed_at,
                      deadline_at=destroyed_at + timedelta(hours=1),
                      ended_at=destroyed_at + timedelta(seconds=destroy_s))
        session.add(destroy)
    session.flush()
    return launch.id, destroy.id if destroy else None


def rollups(series_id: int, points: Iterable[tuple[datetime, float]]) -> list[dict[str, object]]:
    """The hourly and daily rollups of `points`, as the collector's rollup step must make them."""
    buckets: dict[tuple[int, datetime], list[tuple[datetime, float]]] = defaultdict(list)
    for at, value in points:
        buckets[(3600, at.replace(minute=0, second=0, microsecond=0))].append((at, value))
        buckets[(86400, at.replace(hour=0, minute=0, second=0, microsecond=0))].append(
            (at, value))
    rows = []
    for (resolution, start), members in buckets.items():
        values = [v for _, v in members]
        rows.append({"series_id": series_id, "resolution_s": resolution, "bucket_start": start,
                     "count": len(values), "sum": sum(values), "min": min(values),
                     "max": max(values), "last": max(members)[1]})
    return rows


def add_series(session: Session, *, env_id: str, resource_id: str, metric: str,
               points: Sequence[tuple[datetime, float]], instance_type: str | None = "t3.micro",
               namespace: str = "AWS/EC2", stat: str = "Average",
               resource_kind: str = "instance") -> int:
    series = MetricSeries(env_id=env_id, resource_kind=resource_kind, resource_id=resource_id,
                          namespace=namespace, metric_name=metric, stat=stat,
                          dimensions={"InstanceId": resource_id}, instance_type=instance_type,
                          period_s=300, fetched_until=points[-1][0] if points else None)
    session.add(series)
    session.flush()
    if points:
        session.execute(insert(MetricPoint), [{"series_id": series.id, "at": at, "value": value}
                                              for at, value in points])
        session.execute(insert(MetricRollup), rollups(series.id, points))
    return series.id


def samples(start: datetime, hours: float,
            value: Callable[[int], float]) -> list[tuple[datetime, float]]:
    """Five-minute samples from `start`; `value(i)` gives the i-th."""
    return [(start + i * STEP, value(i)) for i in range(int(hours * 12))]


def add_instance(session: Session, *, env_id: str, instance_id: str,
                 balance: Sequence[tuple[datetime, float]], cpu: Sequence[tuple[datetime, float]],
                 instance_type: str = "t3.micro", with_usage: bool = True) -> None:
    """The four credit metrics of an instance; usage and surplus derived from the CPU given."""
    add_series(session, env_id=env_id, resource_id=instance_id, metric="CPUCreditBalance",
               points=balance, instance_type=instance_type)
    add_series(session, env_id=env_id, resource_id=instance_id, metric="CPUUtilization",
               points=cpu, instance_type=instance_type)
    if with_usage:
        add_series(session, env_id=env_id, resource_id=instance_id, metric="CPUCreditUsage",
                   points=[(at, v / 100 * 2 * 5) for at, v in cpu], instance_type=instance_type,
                   stat="Sum")
        add_series(session, env_id=env_id, resource_id=instance_id,
                   metric="CPUSurplusCreditBalance", points=[(at, 0.0) for at, _ in cpu],
                   instance_type=instance_type)


def add_activity(session: Session, *, env_id: str, activity_id: str, action: str,
                 instance_id: str, start: datetime, seconds: float = 60.0,
                 cause: str = "", group: str = "sbx-asg") -> None:
    description = (f"Launching a new EC2 instance: {instance_id}" if action == "Launching"
                   else f"Terminating EC2 instance: {instance_id}")
    session.add(ScalingActivity(activity_id=activity_id, env_id=env_id, group_name=group,
                                status_code="Successful", description=description, cause=cause,
                                start_time=start, end_time=start + timedelta(seconds=seconds)))


def add_deployment(session: Session, *, env_id: str, deployment_id: str, created_at: datetime,
                   waiting_s: float, running_s: float | None, status: str = "Succeeded") -> None:
    started = created_at + timedelta(seconds=waiting_s)
    session.add(Deployment(
        deployment_id=deployment_id, env_id=env_id, application_name="sbx-app",
        group_name="sbx-group", status=status, created_at=created_at, started_at=started,
        ended_at=started + timedelta(seconds=running_s) if running_s is not None else None))


def add_events(session: Session, *, run_id: int,
               events: Sequence[tuple[float, str, str, str]], start: datetime = T0) -> None:
    """Stack events as (seconds after `start`, logical id, resource type, status)."""
    session.execute(insert(RunEvent), [
        {"run_id": run_id, "event_key": f"e{run_id}-{i}", "occurred_at":
         start + timedelta(seconds=seconds), "logical_id": logical_id,
         "resource_type": resource_type, "physical_id": None, "status": status, "reason": None}
        for i, (seconds, logical_id, resource_type, status) in enumerate(events)])


# -- a small class: three students, four instances ---------------------------------------------
TEACHER = Actor("ms-lee", Role.INSTRUCTOR)
ALICE = Actor("alice", Role.STUDENT)
BOB = Actor("bob", Role.STUDENT)
DAY = DashboardFilter(start=T0, end=T0 + timedelta(hours=24))
NOW = T0 + timedelta(hours=24)


def alice_balance(i: int) -> float:
    """Five-minute samples of i-alice (t3.micro, baseline 10%) hour by hour: 0-3 draining but
    never empty; 4-8 empty; 9 empty; 10 empty; 11-23 refilling."""
    hour = i // 12
    if hour < 4:
        return 60 - i * 1.25
    if hour < 8:
        return 0.0
    if hour == 8:
        return 0.3
    if hour < 11:
        return 0.0
    return 0.6 + (i - 132) * 0.5


def alice_cpu(i: int) -> float:
    """0-3 busy (40%), 4-7 held at exactly the baseline, 8 within the tolerance (11.5%),
    9 above it (13%: bursting, not held), 10 idle on an empty balance (2%), then 5%."""
    hour = i // 12
    if hour < 4:
        return 40.0
    if hour < 8:
        return 10.0
    return {8: 11.5, 9: 13.0, 10: 2.0}.get(hour, 5.0)


def build_class(ctx: PortalContext, *, t0: datetime = T0) -> dict[str, int]:
    """alice: web-server on the embedded cloud, throttled 5 hours (4-8). bob: ha-web on AWS, one
    t3.small held at its 20% baseline all day, and one t3.micro Auto Scaling replaced after 6 h.
    carol: destroyed the day before the window (must not appear). The day starts at `t0`."""
    runs: dict[str, int] = {}
    with ctx.sessions() as session, session.begin():
        runs["alice"], _ = add_environment(session, env_id="e-alice", owner="alice",
                                           created_at=t0 - timedelta(hours=3), launch_s=42)
        # Before the window: would be throttled hours if the window leaked.
        add_instance(session, env_id="e-alice", instance_id="i-alice",
                     balance=samples(t0 - timedelta(hours=2), 26,
                                     lambda i: 0.0 if i < 24 else alice_balance(i - 24)),
                     cpu=samples(t0 - timedelta(hours=2), 26,
                                 lambda i: 10.0 if i < 24 else alice_cpu(i - 24)))
        runs["bob"], runs["bob_destroy"] = add_environment(
            session, env_id="e-bob", owner="bob", template_id="ha-web", cloud="aws",
            created_at=t0 - timedelta(minutes=30), launch_s=300,
            destroyed_at=t0 + timedelta(hours=23), destroy_s=120)
        add_instance(session, env_id="e-bob", instance_id="i-bob-1", instance_type="t3.small",
                     balance=samples(t0, 24, lambda i: 0.0), cpu=samples(t0, 24, lambda i: 20.0))
        add_instance(session, env_id="e-bob", instance_id="i-bob-2",
                     balance=samples(t0, 6, lambda i: 50.0), cpu=samples(t0, 6, lambda i: 5.0))
        add_activity(session, env_id="e-bob", activity_id="a-2", action="Terminating",
                     instance_id="i-bob-2", start=t0 + timedelta(hours=6),
                     cause=f"At {t0 + timedelta(hours=6):%Y-%m-%dT%H:%M:%SZ} an instance was taken "
                           "out of service in response to an ELB system health check failure.")
        add_activity(session, env_id="e-bob", activity_id="a-3", action="Launching",
                     instance_id="i-bob-3", start=t0 + timedelta(hours=6, seconds=30),
                     cause=f"At {t0 + timedelta(hours=6, seconds=30):%Y-%m-%dT%H:%M:%SZ} an "
                           "instance was started in response to a difference between desired "
                           "and actual capacity, increasing the capacity from 1 to 2.")
        add_activity(session, env_id="e-bob", activity_id="a-1", action="Launching",
                     instance_id="i-bob-1", start=t0 - timedelta(days=3))
        add_deployment(session, env_id="e-bob", deployment_id="d-1",
                       created_at=t0 + timedelta(hours=1), waiting_s=10, running_s=95)
        add_deployment(session, env_id="e-bob", deployment_id="d-2",
                       created_at=t0 + timedelta(hours=7), waiting_s=4, running_s=30,
                       status="Failed")
        add_deployment(session, env_id="e-bob", deployment_id="d-3",
                       created_at=t0 + timedelta(hours=9), waiting_s=2, running_s=None,
                       status="InProgress")
        runs["carol"], _ = add_environment(
            session, env_id="e-carol", owner="carol", created_at=t0 - timedelta(days=2),
            destroyed_at=t0 - timedelta(days=1))
        add_instance(session, env_id="e-carol", instance_id="i-carol",
                     balance=samples(t0 - timedelta(days=2), 24, lambda i: 0.0),
                     cpu=samples(t0 - timedelta(days=2), 24, lambda i: 10.0))
    return runs
