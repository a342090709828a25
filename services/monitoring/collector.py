"""One collector pass: CloudWatch metrics, Auto Scaling activities and CodeDeploy deployments of
every environment that holds resources on the current target, into the history database.

A pass
1. picks the environments that may be running (launching, ready or destroying, on this cloud, and
   on the embedded cloud in the emulator's current life);
2. finds their resources (`discovery`) and the metric series each resource has: CPU of every
   instance, CPU credits of burstable ones, requests, 5XX and healthy hosts of application load
   balancers, CPU and connections of RDS instances;
3. asks CloudWatch with GetMetricData for each series' periods since its `fetched_until`, up to
   the last period that is complete (`collect_lag_s` ago). Series that share a window share calls,
   500 queries to a call (AWS's limit), so a steady class of N instances costs ceil(4N/500) calls;
4. stores the points of each answer as it arrives (insert-or-ignore) with the rollups of the hours
   and days they touch, in one transaction, then advances the series' `fetched_until`;
5. stores new and changed scaling activities and deployments, and one `CollectorPass` row.

An environment that cannot be read (its stack is gone, say) is recorded in the report and skipped;
the pass goes on. Two processes may run passes at once: every write is keyed by a unique
constraint and is an insert-or-ignore or an upsert, and `fetched_until` only moves forward.

The code is the same on AWS and on the embedded cloud, whose workload simulator publishes through
the same APIs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from services.settings import CloudTarget
from services.burstable import is_burstable
from services.clouds import CloudConnection
from services.context import PortalContext
from services.clouds.aws_calls import AWS_ERRORS, as_utc, aws_reason, retry_reads
from services.engines.base import DeploymentRef
from services.history.models import (
    CollectorPass,
    Deployment,
    Environment,
    EnvironmentStatus,
    MetricPoint,
    MetricSeries,
    ScalingActivity,
    utcnow,
)
from services.monitoring.discovery import (
    Discovery,
    DiscoveryRequest,
    EnvironmentResources,
    run_in_threads,
)
from services.monitoring.rollups import dialect_insert, refresh_rollups

logger = logging.getLogger(__name__)

PERIOD_S = 300
PERIOD = timedelta(seconds=PERIOD_S)
# AWS's limit of MetricDataQueries in one GetMetricData call.
MAX_QUERIES_PER_CALL = 500
# How far back a new series starts. CloudWatch keeps 5-minute data for 63 days, but the embedded
# cloud (moto) accepts datapoints only from 15 days back, and a class's dashboards look at weeks.
MAX_BACKFILL = timedelta(days=15)
COLLECTED_STATUSES = (EnvironmentStatus.LAUNCHING.value, EnvironmentStatus.READY.value,
                      EnvironmentStatus.DESTROYING.value)
FINAL_ACTIVITY_STATUSES = {"Successful", "Failed", "Cancelled"}
FINAL_DEPLOYMENT_STATUSES = {"Succeeded", "Failed", "Stopped"}
# Environments whose deployments are read at once (two CodeDeploy calls each).
DEPLOYMENT_WORKERS = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- what is watched ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    metric_name: str
    stat: str


INSTANCE_METRICS = (MetricSpec("AWS/EC2", "CPUUtilization", "Average"),)
# Published for burstable types only (T2, T3, T3a, T4g).
CREDIT_METRICS = (
    MetricSpec("AWS/EC2", "CPUCreditBalance", "Average"),
    MetricSpec("AWS/EC2", "CPUCreditUsage", "Sum"),
    MetricSpec("AWS/EC2", "CPUSurplusCreditBalance", "Average"),
)
LOAD_BALANCER_METRICS = (
    MetricSpec("AWS/ApplicationELB", "RequestCount", "Sum"),
    MetricSpec("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum"),
)
TARGET_GROUP_METRICS = (MetricSpec("AWS/ApplicationELB", "HealthyHostCount", "Average"),)
DB_METRICS = (
    MetricSpec("AWS/RDS", "CPUUtilization", "Average"),
    MetricSpec("AWS/RDS", "DatabaseConnections", "Average"),
)

SeriesKey = tuple[str, str, str, str, str]  # env id, namespace, metric, resource id, stat


@dataclass(frozen=True)
class WantedSeries:
    env_id: str
    resource_kind: str  # instance | load_balancer | target_group | db_instance
    resource_id: str
    spec: MetricSpec
    dimensions: tuple[tuple[str, str], ...]
    instance_type: str | None = None

    @property
    def key(self) -> SeriesKey:
        return (self.env_id, self.spec.namespace, self.spec.metric_name, self.resource_id,
                self.spec.stat)


def wanted_series(resources: EnvironmentResources,
                  known_types: Mapping[str, str] | None = None) -> list[WantedSeries]:
    """The series of an environment's resources. `known_types` (instance id -> type, from
    earlier passes) stands in for an instance AWS no longer describes."""
    env_id = resources.env_id
    found: list[WantedSeries] = []
    for instance_id, instance_type in sorted(resources.instances.items()):
        instance_type = instance_type or (known_types or {}).get(instance_id)
        specs = INSTANCE_METRICS + (CREDIT_METRICS if instance_type and
                                    is_burstable(instance_type) else ())
        found += [WantedSeries(env_id, "instance", instance_id, spec,
                               (("InstanceId", instance_id),), instance_type) for spec in specs]
    for load_balancer in resources.load_balancers:
        found += [WantedSeries(env_id, "load_balancer", load_balancer, spec,
                               (("LoadBalancer", load_balancer),))
                  for spec in LOAD_BALANCER_METRICS]
    for pair in resources.target_groups:
        found += [WantedSeries(env_id, "target_group", pair.target_group, spec,
                               (("TargetGroup", pair.target_group),
                                ("LoadBalancer", pair.load_balancer)))
                  for spec in TARGET_GROUP_METRICS]
    for db in resources.db_instances:
        found += [WantedSeries(env_id, "db_instance", db, spec, (("DBInstanceIdentifier", db),))
                  for spec in DB_METRICS]
    return found


# -- the report ---------------------------------------------------------------------------------
@dataclass
class CollectorPassReport:
    pass_id: int | None
    started_at: datetime
    # Periods are fetched up to (excluding) this time: the pass's `now` minus `collect_lag_s`.
    window_end: datetime
    ended_at: datetime | None = None
    environments: int = 0
    series: int = 0
    metric_queries: int = 0
    metric_calls: int = 0
    points_stored: int = 0
    activities_stored: int = 0
    deployments_stored: int = 0
    # Environment id -> why it was skipped or partly read.
    errors: dict[str, str] = field(default_factory=dict)
    # Why the pass as a whole, or some of its GetMetricData calls, failed.
    error: str | None = None
    # StartTime of each GetMetricData call, in the order made (NextToken pages included).
    call_windows: list[datetime] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "pass_id": self.pass_id, "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_s": self.duration_s, "window_end": self.window_end.isoformat(),
            "environments": self.environments, "series": self.series,
            "metric_queries": self.metric_queries, "metric_calls": self.metric_calls,
            "points_stored": self.points_stored, "activities_stored": self.activities_stored,
            "deployments_stored": self.deployments_stored, "errors": dict(self.errors),
            "error": self.error,
        }

    def summary_error(self) -> str | None:
        parts = ([self.error] if self.error else []) + [
            f"{env_id}: {reason}" for env_id, reason in sorted(self.errors.items())]
        return "; ".join(parts)[:4000] if parts else None


# -- time ---------------------------------------------------------------------------------------
def floor_period(at: datetime, period_s: int = PERIOD_S) -> datetime:
    seconds = int((at - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % period_s)


def ceil_period(at: datetime, period_s: int = PERIOD_S) -> datetime:
    floor = floor_period(at, period_s)
    return floor if floor == at else floor + timedelta(seconds=period_s)


# -- the pass -----------------------------------------------------------------------------------
def collect(ctx: PortalContext, *, now: datetime | None = None) -> CollectorPassReport:
    """Run one pass over every running environment; never raises for what AWS answers."""
    now = now or utcnow()
    started_at = utcnow()
    window_end = floor_period(now - timedelta(seconds=ctx.settings.collect_lag_s))
    with ctx.sessions() as session, session.begin():
        record = CollectorPass(started_at=started_at)
        session.add(record)
        session.flush()
        pass_id = record.id
    report = CollectorPassReport(pass_id=pass_id, started_at=started_at, window_end=window_end)
    try:
        connection = _current_connection(ctx)
        if connection is not None:
            _Pass(ctx, connection, report, now=now).run()
    except Exception as exc:  # noqa: BLE001 - the pass is recorded whatever broke it
        logger.exception("collector pass %s failed", pass_id)
        report.error = f"{type(exc).__name__}: {exc}"
    report.ended_at = utcnow()
    with ctx.sessions() as session, session.begin():
        record = session.get(CollectorPass, pass_id)
        if record is not None:
            record.ended_at = report.ended_at
            record.environments, record.series = report.environments, report.series
            record.metric_queries, record.metric_calls = report.metric_queries, report.metric_calls
            record.points_stored = report.points_stored
            record.activities_stored = report.activities_stored
            record.deployments_stored = report.deployments_stored
            record.error = report.summary_error()
    return report


def _current_connection(ctx: PortalContext) -> CloudConnection | None:
    """The connection to collect through; None when the embedded cloud is not running (a pass
    must not start one: whatever ran in it is gone)."""
    if ctx.settings.cloud is CloudTarget.EMBEDDED:
        from services.clouds import embedded

        if embedded.current_boot_id(ctx.settings) is None:
            return None
        ctx.ensure_current_connection()
    return ctx.connection


def _environments(ctx: PortalContext, session: Session,
                  connection: CloudConnection) -> list[Environment]:
    query = select(Environment).where(
        Environment.status.in_(COLLECTED_STATUSES),
        Environment.cloud == ctx.settings.cloud.value,
        Environment.region == connection.region,
    ).order_by(Environment.created_at, Environment.id)
    if ctx.settings.cloud is CloudTarget.EMBEDDED:
        query = query.where(Environment.cloud_session == connection.cloud_session)
    return list(session.scalars(query))


@dataclass(frozen=True)
class _StoredSeries:
    id: int
    env_id: str
    resource_id: str
    instance_type: str | None
    fetched_until: datetime | None


@dataclass
class _Call:
    start: datetime
    series: list[tuple[int, WantedSeries]]


class _Pass:
    def __init__(self, ctx: PortalContext, connection: CloudConnection,
                 report: CollectorPassReport, *, now: datetime) -> None:
        self.ctx = ctx
        self.report = report
        self.now = now
        self.window_end = report.window_end
        self.backfill_start = ceil_period(now - MAX_BACKFILL)
        self.connection = connection
        self.discovery = Discovery(connection)
        self.cloudwatch = connection.client("cloudwatch")

    def run(self) -> None:
        with self.ctx.sessions() as session:
            envs = _environments(self.ctx, session, self.connection)
            env_info = {env.id: (env.status, env.created_at, env.engine,
                                 DeploymentRef(env_id=env.id, deployment_name=env.deployment_name,
                                               deployment_id=env.deployment_id))
                        for env in envs}
            stored = self._stored_series(session, list(env_info))
            open_activity = self._oldest_open(session, ScalingActivity, ScalingActivity.start_time,
                                              ScalingActivity.status_code,
                                              FINAL_ACTIVITY_STATUSES, list(env_info))
            open_deployment = self._oldest_open(session, Deployment, Deployment.created_at,
                                                Deployment.status, FINAL_DEPLOYMENT_STATUSES,
                                                list(env_info))
        self.report.environments = len(envs)
        if not envs:
            return

        # Where each environment's last pass ended: activities since then may name instances
        # that left their group and still published metrics after it.
        last_fetched: dict[str, datetime] = {}
        for row in stored.values():
            if row.fetched_until is not None:
                current = last_fetched.get(row.env_id)
                if current is None or row.fetched_until > current:
                    last_fetched[row.env_id] = row.fetched_until
        requests: list[DiscoveryRequest] = []
        since_by_env: dict[str, datetime] = {}
        for env_id, (_, created_at, engine, ref) in env_info.items():
            instances_since = last_fetched.get(env_id) or (floor_period(created_at) - PERIOD)
            since_by_env[env_id] = instances_since
            activities_since = min(filter(None, (instances_since, open_activity.get(env_id))))
            requests.append(DiscoveryRequest(env_id=env_id, engine=self.ctx.engine(engine),
                                             ref=ref,
                                             activities_since=activities_since,
                                             instances_since=instances_since))
        found = self.discovery.discover(requests)

        known_types = {row.resource_id: row.instance_type for row in stored.values()
                       if row.instance_type}
        wanted: list[WantedSeries] = []
        readable: list[EnvironmentResources] = []
        for env_id, resources in found.items():
            if resources.error is not None:
                # A launch that has not made its deployment yet, or a destroy that has deleted
                # it, is no failure.
                if not (resources.deployment_missing
                        and env_info[env_id][0] != EnvironmentStatus.READY.value):
                    self.report.errors[env_id] = resources.error
                    logger.warning("collector: environment %s skipped: %s", env_id,
                                   resources.error)
                continue
            if resources.partial_error is not None:
                self.report.errors[env_id] = resources.partial_error
            readable.append(resources)
            wanted += wanted_series(resources, known_types)
        self.report.series = len(wanted)

        ids = self._ensure_series(wanted, stored)
        self._fetch_metrics(self._plan_calls(wanted, ids, stored, env_info))
        self._store_activities(readable)
        self._store_deployments(readable, since_by_env, open_deployment)

    # -- stored state -------------------------------------------------------------------------
    @staticmethod
    def _stored_series(session: Session, env_ids: list[str]) -> dict[SeriesKey, _StoredSeries]:
        rows: dict[SeriesKey, _StoredSeries] = {}
        for start in range(0, len(env_ids), 500):
            for row in session.execute(
                    select(MetricSeries.id, MetricSeries.env_id, MetricSeries.namespace,
                           MetricSeries.metric_name, MetricSeries.resource_id,
                           MetricSeries.stat, MetricSeries.instance_type,
                           MetricSeries.fetched_until)
                    .where(MetricSeries.env_id.in_(env_ids[start:start + 500]))):
                rows[(row.env_id, row.namespace, row.metric_name, row.resource_id,
                      row.stat)] = _StoredSeries(row.id, row.env_id, row.resource_id,
                                                 row.instance_type, row.fetched_until)
        return rows

    @staticmethod
    def _oldest_open(session: Session, model: Any, time_column: Any, status_column: Any,
                     final: set[str], env_ids: list[str]) -> dict[str, datetime]:
        """Env id -> start of its oldest activity (or deployment) not yet in a final state: it is
        read again until it ends."""
        found: dict[str, datetime] = {}
        for start in range(0, len(env_ids), 500):
            query = (select(model.env_id, func.min(time_column))
                     .where(model.env_id.in_(env_ids[start:start + 500]),
                            status_column.not_in(sorted(final)))
                     .group_by(model.env_id))
            for env_id, oldest in session.execute(query):
                if oldest is not None:
                    found[env_id] = oldest
        return found

    def _ensure_series(self, wanted: Sequence[WantedSeries],
                       stored: Mapping[SeriesKey, _StoredSeries]) -> dict[SeriesKey, int]:
        """Series ids of every wanted series, creating the new ones; another process making the
        same series at the same time is absorbed by the unique key."""
        ids = {key: row.id for key, row in stored.items()}
        new = [w for w in wanted if w.key not in stored]
        retyped = [(stored[w.key].id, w.instance_type) for w in wanted
                   if w.key in stored and w.instance_type
                   and stored[w.key].instance_type != w.instance_type]
        if not new and not retyped:
            return ids
        with self.ctx.sessions() as session, session.begin():
            if new:
                statement = dialect_insert(session, MetricSeries.__table__).on_conflict_do_nothing(
                    index_elements=["env_id", "namespace", "metric_name", "resource_id", "stat"])
                session.execute(statement, [
                    {"env_id": w.env_id, "resource_kind": w.resource_kind,
                     "resource_id": w.resource_id, "namespace": w.spec.namespace,
                     "metric_name": w.spec.metric_name, "stat": w.spec.stat,
                     "dimensions": dict(w.dimensions), "instance_type": w.instance_type,
                     "period_s": PERIOD_S, "fetched_until": None} for w in new])
            for series_id, instance_type in retyped:
                session.execute(update(MetricSeries).where(MetricSeries.id == series_id)
                                .values(instance_type=instance_type))
            if new:
                env_ids = sorted({w.env_id for w in new})
                for key, row in self._stored_series(session, env_ids).items():
                    ids[key] = row.id
        return ids

    # -- metrics ------------------------------------------------------------------------------
    def _start(self, row: _StoredSeries | None, created_at: datetime) -> datetime:
        if row is not None and row.fetched_until is not None:
            start = row.fetched_until + PERIOD
        else:
            start = floor_period(created_at)
        return max(start, self.backfill_start)

    def _plan_calls(self, wanted: Sequence[WantedSeries], ids: Mapping[SeriesKey, int],
                    stored: Mapping[SeriesKey, _StoredSeries],
                    env_info: Mapping[str, tuple[str, datetime, str]]) -> list[_Call]:
        """GetMetricData calls of the pass. StartTime and EndTime belong to the call, not to a
        query, so a call holds series whose next period starts at the same time. A series met
        for the first time has no data before its environment existed, so it may join any call
        that starts at or before its own start: a class launched at different times still
        shares calls."""
        groups: dict[datetime, list[tuple[int, WantedSeries]]] = {}
        fresh: list[tuple[datetime, int, WantedSeries]] = []
        for series in wanted:
            series_id = ids.get(series.key)
            if series_id is None:
                continue
            row = stored.get(series.key)
            start = self._start(row, env_info[series.env_id][1])
            if start >= self.window_end:
                continue
            if row is not None and row.fetched_until is not None:
                groups.setdefault(start, []).append((series_id, series))
            else:
                fresh.append((start, series_id, series))
        for start, series_id, series in sorted(fresh, key=lambda f: (f[0], f[1])):
            earlier = [s for s in groups if s <= start]
            groups.setdefault(max(earlier) if earlier else start, []).append((series_id, series))
        calls: list[_Call] = []
        for start in sorted(groups):
            members = groups[start]
            for first in range(0, len(members), MAX_QUERIES_PER_CALL):
                calls.append(_Call(start, members[first:first + MAX_QUERIES_PER_CALL]))
        return calls

    def _fetch_metrics(self, calls: Sequence[_Call]) -> None:
        fetched_until = self.window_end - PERIOD
        failures: list[str] = []
        for call in calls:
            queries = [{
                "Id": f"m{index}",
                "MetricStat": {
                    "Metric": {"Namespace": series.spec.namespace,
                               "MetricName": series.spec.metric_name,
                               "Dimensions": [{"Name": n, "Value": v}
                                              for n, v in series.dimensions]},
                    "Period": PERIOD_S, "Stat": series.spec.stat},
                "ReturnData": True,
            } for index, (_, series) in enumerate(call.series)]
            self.report.metric_queries += len(queries)
            series_of = {f"m{index}": series_id for index, (series_id, _) in enumerate(call.series)}
            try:
                failed = self._fetch_call(queries, call.start, series_of)
            except AWS_ERRORS as exc:
                # The series keep their fetched_until: the next pass asks for the same periods
                # (what was stored of them already is not stored twice).
                failures.append(f"GetMetricData from {call.start.isoformat()}: {aws_reason(exc)}")
                continue
            complete = [series_id for query_id, series_id in series_of.items()
                        if query_id not in failed]
            self._advance(complete, fetched_until)
        if failures:
            self.report.error = "; ".join(failures)

    @retry_reads
    def _get_metric_page(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.cloudwatch.get_metric_data(**request)

    def _fetch_call(self, queries: list[dict[str, Any]], start: datetime,
                    series_of: Mapping[str, int]) -> set[str]:
        """One GetMetricData call, following NextToken, each page stored as it comes (AWS
        returns at most 100,800 datapoints a page: a 15-day backfill of 500 series is about 20
        pages). Returns the query ids whose data AWS reported as failed."""
        failed: set[str] = set()
        request: dict[str, Any] = {
            "MetricDataQueries": queries, "StartTime": start, "EndTime": self.window_end,
            # Both ends lie on period boundaries, so AWS's buckets start at StartTime and each
            # point's timestamp is the start of its period.
            "ScanBy": "TimestampAscending",
        }
        while True:
            self.report.metric_calls += 1
            self.report.call_windows.append(start)
            page = self._get_metric_page(request)
            rows: list[dict[str, Any]] = []
            for result in page.get("MetricDataResults", []):
                query_id = result["Id"]
                if result.get("StatusCode") not in (None, "Complete", "PartialData"):
                    failed.add(query_id)
                series_id = series_of[query_id]
                rows += [{"series_id": series_id, "at": as_utc(at), "value": float(value)}
                         for at, value in zip(result.get("Timestamps", []),
                                              result.get("Values", []))]
            self.report.points_stored += self._store_points(rows)
            token = page.get("NextToken")
            if not token:
                return failed
            request["NextToken"] = token

    def _store_points(self, rows: list[dict[str, Any]]) -> int:
        """Insert the points that are new and refresh the rollups they touch, in one
        transaction."""
        if not rows:
            return 0
        stored = 0
        touched: dict[int, set[datetime]] = {}
        with self.ctx.sessions() as session, session.begin():
            table = MetricPoint.__table__
            statement = dialect_insert(session, table).on_conflict_do_nothing(
                index_elements=["series_id", "at"]).returning(table.c.series_id, table.c.at)
            # RETURNING gives the rows this transaction inserted, not those another process
            # stored first: their buckets are that process's to refresh.
            for first in range(0, len(rows), 5000):
                for series_id, at in session.execute(statement, rows[first:first + 5000]):
                    touched.setdefault(series_id, set()).add(at)
                    stored += 1
            refresh_rollups(session, touched)
        return stored

    def _advance(self, series_ids: list[int], fetched_until: datetime) -> None:
        """Move the series on once all their points are stored; never backwards, whichever of
        two concurrent passes ends last."""
        with self.ctx.sessions() as session, session.begin():
            for first in range(0, len(series_ids), 500):
                session.execute(
                    update(MetricSeries)
                    .where(MetricSeries.id.in_(series_ids[first:first + 500]),
                           or_(MetricSeries.fetched_until.is_(None),
                               MetricSeries.fetched_until < fetched_until))
                    .values(fetched_until=fetched_until))

    # -- Auto Scaling activities --------------------------------------------------------------
    def _store_activities(self, readable: Iterable[EnvironmentResources]) -> None:
        rows = {activity.activity_id: {
            "activity_id": activity.activity_id, "env_id": resources.env_id,
            "group_name": activity.group_name, "status_code": activity.status_code,
            "description": activity.description, "cause": activity.cause,
            "start_time": activity.start_time, "end_time": activity.end_time,
        } for resources in readable for activity in resources.activities}
        if not rows:
            return
        with self.ctx.sessions() as session, session.begin():
            ids = sorted(rows)
            for start in range(0, len(ids), 500):
                for activity_id, status, end_time in session.execute(
                        select(ScalingActivity.activity_id, ScalingActivity.status_code,
                               ScalingActivity.end_time)
                        .where(ScalingActivity.activity_id.in_(ids[start:start + 500]))):
                    row = rows[activity_id]
                    if row["status_code"] == status and row["end_time"] == end_time:
                        del rows[activity_id]
            if not rows:
                return
            statement = dialect_insert(session, ScalingActivity.__table__)
            statement = statement.on_conflict_do_update(
                index_elements=["activity_id"],
                set_={name: statement.excluded[name]
                      for name in ("status_code", "description", "cause", "end_time")})
            session.execute(statement, list(rows.values()))
        self.report.activities_stored += len(rows)

    # -- CodeDeploy deployments ---------------------------------------------------------------
    def _store_deployments(self, readable: Sequence[EnvironmentResources],
                           since_by_env: Mapping[str, datetime],
                           open_deployment: Mapping[str, datetime]) -> None:
        with_groups = [r for r in readable if r.deployment_groups]
        if not with_groups:
            return

        def read(resources: EnvironmentResources) -> tuple[str, list[dict[str, Any]], str | None]:
            env_id = resources.env_id
            since = min(filter(None, (since_by_env[env_id], open_deployment.get(env_id))))
            try:
                ids: list[str] = []
                for application, group in resources.deployment_groups:
                    ids += self.discovery.deployment_ids(application, group, since=since)
                with self.ctx.sessions() as session:
                    final = set(session.scalars(select(Deployment.deployment_id).where(
                        Deployment.deployment_id.in_(ids),
                        Deployment.status.in_(sorted(FINAL_DEPLOYMENT_STATUSES)))))
                return env_id, self.discovery.deployments(
                    [i for i in ids if i not in final]), None
            except AWS_ERRORS as exc:
                return env_id, [], f"deployments: {aws_reason(exc)}"

        results = run_in_threads(read, with_groups, workers=DEPLOYMENT_WORKERS,
                                 name="deployments")
        rows: dict[str, dict[str, Any]] = {}
        for env_id, infos, problem in results:
            if problem:
                self.report.errors[env_id] = "; ".join(
                    filter(None, (self.report.errors.get(env_id), problem)))
            for info in infos:
                error = info.get("errorInformation") or {}
                rows[info["deploymentId"]] = {
                    "deployment_id": info["deploymentId"], "env_id": env_id,
                    "application_name": info.get("applicationName", ""),
                    "group_name": info.get("deploymentGroupName", ""),
                    "status": info.get("status", ""),
                    "created_at": as_utc(info.get("createTime")) or self.now,
                    "started_at": as_utc(info.get("startTime")),
                    "ended_at": as_utc(info.get("completeTime")),
                    "error": (f"{error.get('code')}: {error.get('message')}"
                              if error.get("code") or error.get("message") else None),
                }
        if not rows:
            return
        with self.ctx.sessions() as session, session.begin():
            ids = sorted(rows)
            for start in range(0, len(ids), 500):
                for stored in session.scalars(select(Deployment).where(
                        Deployment.deployment_id.in_(ids[start:start + 500]))):
                    row = rows[stored.deployment_id]
                    if (stored.status, stored.started_at, stored.ended_at, stored.error) == \
                            (row["status"], row["started_at"], row["ended_at"], row["error"]):
                        del rows[stored.deployment_id]
            if not rows:
                return
            statement = dialect_insert(session, Deployment.__table__)
            statement = statement.on_conflict_do_update(
                index_elements=["deployment_id"],
                set_={name: statement.excluded[name]
                      for name in ("status", "started_at", "ended_at", "error")})
            session.execute(statement, list(rows.values()))
        self.report.deployments_stored += len(rows)
