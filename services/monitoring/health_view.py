"""What the Health dashboards show, read from the history database only.

Every function takes the actor and a `DashboardFilter`, narrowed with `for_actor`: students see
their own environments only. Nothing here calls a cloud; the collector
(services/monitoring/collector.py) fills the tables these functions read.

Simulated data: environments on the embedded cloud get their metrics, scaling activities and
deployments from the workload simulator, not from real machines. Every result says how much of it
is simulated so that the UI can label it.

Throttling. An instance-hour counts as throttled when

- the CPU credit balance touched empty (its minimum over the hour at most `EMPTY_BALANCE`), and
- the hour's busiest five minutes sat at the baseline (CPU maximum within
  `THROTTLE_TOLERANCE_PERCENT` of it): the instance wanted more and was held at the cap.

The lower bound matters: a T3 in standard mode starts with no credits, so an idle new instance
shows an empty balance without being held back; and in unlimited mode an empty balance comes with
CPU above the baseline (surplus credits), which is not throttling either. The rule needs hours,
not days: a t3.micro drains a full day's credits in a few busy hours, and a daily minimum and
maximum cannot tell a throttled hour from a busy one.

Resolution. The class view reads hourly rollups for any window (at most 62 days, so at most 1,488
points per instance), in one query over the rollup's primary key; no raw points. Daily rollups
would be cheaper for long windows but cannot tell a throttled hour; so the throttle count is taken
from every hour, and only the lines handed to the chart are thinned when the class has more than
`CHART_POINT_BUDGET` instance-hours: to one point per span of a few hours, keeping the lowest
balance of each span so that a dip to empty never disappears (200 instances over 14 days: 3-hour
spans). Only the detail view of one instance reads raw 5-minute points.

Reuse. The class view's hourly rows are the costly part of it (tens of thousands of rows made into
Python objects); they are kept, per database, for the last few windows asked, under a fingerprint
of the rollups they come from: the count and sums of those rollups, computed by the database
without handing a row to Python, plus the instances' own rows. Any rollup the collector
(re)writes in the window changes the fingerprint, so a view is never served from older data; a
dashboard redrawn, another session opening the same class, or a window that moved by less than
an hour reads the rows once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from cachetools import LRUCache
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from services.burstable import burstable_spec
from services.context import PortalContext
from services.errors import EnvironmentNotFoundError
from services.history.models import (
    Deployment,
    Environment,
    MetricPoint,
    MetricRollup,
    MetricSeries,
    Run,
    RunEvent,
    ScalingActivity,
    UTCDateTime,
    utcnow,
)
from services.i18n import N_
from services.identity import Actor
from services.monitoring.filters import DashboardFilter, visible_clause

EC2_NAMESPACE = "AWS/EC2"
CREDIT_BALANCE = "CPUCreditBalance"
CPU_UTILIZATION = "CPUUtilization"
CREDIT_USAGE = "CPUCreditUsage"
SURPLUS_BALANCE = "CPUSurplusCreditBalance"
# The statistic the collector stores of each (services/monitoring/collector.py).
INSTANCE_STATS = {CREDIT_BALANCE: "Average", CPU_UTILIZATION: "Average", CREDIT_USAGE: "Sum",
                  SURPLUS_BALANCE: "Average"}
HOUR_S = 3600
# CloudWatch reports balances to two decimals and an emptying balance rarely lands on 0.00 at a
# five-minute sample: half a credit is under a minute of one vCPU at full speed.
EMPTY_BALANCE = 0.5
# Around the baseline, five-minute averages of a capped instance wander by about a point (AWS
# lowers the CPU gradually, not at one instant); two points keeps a busy instance just above its
# baseline (say 13% on a t3.micro) out.
THROTTLE_TOLERANCE_PERCENT = 2.0
# Points of all the class's lines together: what a browser draws without making the page wait.
CHART_POINT_BUDGET = 25_000
SIMULATED_CLOUD = "embedded"
# Shown with `_()` where the pages draw it (portal/components/health_charts.py).
SIMULATED_LABEL = N_("Simulated by the embedded cloud's workload simulator")


def _raw(column):  # type: ignore[no-untyped-def]
    """The column as the driver returns it: pandas parses whole columns of timestamps at once,
    far faster than a Python datetime made per value by the column type."""
    return type_coerce(column, String).label(column.key)


def _timestamps(values: pd.Series) -> pd.Series:
    """SQLite hands back text, PostgreSQL aware datetimes: UTC pandas timestamps either way."""
    return pd.to_datetime(values, utc=True, format="ISO8601")


class _HoursAfter(FunctionElement[int]):
    """Whole hours from `start` to a timestamp column, counted by the database.

    Tens of thousands of hour-of-rollup values come back as small integers instead of timestamps
    (text on SQLite, datetime objects on PostgreSQL) that Python would make one by one.
    """

    type = Integer()
    name = "hours_after"
    inherit_cache = True


@compiles(_HoursAfter, "sqlite")
def _hours_after_sqlite(element: _HoursAfter, compiler: SQLCompiler, **kw: object) -> str:
    moment, start = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(round((julianday({moment}) - julianday({start})) * 24) AS INTEGER)"


@compiles(_HoursAfter)
def _hours_after_default(element: _HoursAfter, compiler: SQLCompiler, **kw: object) -> str:
    moment, start = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(round(EXTRACT(EPOCH FROM ({moment} - {start})) / 3600) AS INTEGER)"


def _hours_after(column, start: datetime) -> _HoursAfter:  # type: ignore[no-untyped-def]
    return _HoursAfter(column, bindparam("hours_origin", start, type_=UTCDateTime))


def _environments(scope: DashboardFilter) -> ColumnElement[bool]:
    """The chosen environments that existed during the window."""
    return scope.environment_clause()


def _read(ctx: PortalContext, statement) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The rows of a Core select as a DataFrame, taken from the DB-API cursor: for tens of
    thousands of rows, making a Row object per row costs more than the query itself."""
    with ctx.sessions() as session:
        result = session.connection().execute(statement)
        columns = list(result.keys())
        return pd.DataFrame.from_records(result.cursor.fetchall(), columns=columns)


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def baseline_of(instance_type: str | None) -> float | None:
    spec = burstable_spec(instance_type or "")
    return spec.baseline_percent if spec else None


def _baselines(instance_types: pd.Series) -> pd.Series:
    return pd.Series([baseline_of(t) for t in instance_types], index=instance_types.index,
                     dtype="float64")


def throttled_mask(*, balance_min: pd.Series, cpu_max: pd.Series,
                   baseline: pd.Series) -> pd.Series:
    """The throttle rule of this module's docstring, vectorised; unknown CPU is not throttled."""
    near_baseline = (cpu_max - baseline).abs() <= THROTTLE_TOLERANCE_PERCENT
    return (balance_min <= EMPTY_BALANCE) & near_baseline.fillna(False).astype(bool)


# -- filter choices -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FilterOptions:
    """The distinct courses, students and templates of the environments the actor may see."""

    courses: tuple[str, ...]
    owners: tuple[str, ...]
    templates: tuple[str, ...]


def filter_options(ctx: PortalContext, actor: Actor) -> FilterOptions:
    query = select(Environment.course, Environment.owner, Environment.template_id).distinct()
    query = query.where(visible_clause(actor))
    with ctx.sessions() as session:
        rows = session.execute(query).all()
    return FilterOptions(courses=tuple(sorted({r.course for r in rows})),
                         owners=tuple(sorted({r.owner for r in rows})),
                         templates=tuple(sorted({r.template_id for r in rows})))


# -- class view: credit balance per instance ----------------------------------------------------
HOURS_COLUMNS = ["instance_id", "hour", "balance", "balance_min", "cpu", "cpu_max", "throttled"]
SUMMARY_COLUMNS = ["instance_id", "env_id", "owner", "template_id", "course", "instance_type",
                   "baseline_percent", "min_balance", "hours_throttled", "hours_observed",
                   "first_throttled", "replaced", "simulated"]


@dataclass(frozen=True, eq=False)
class ClassHealth:
    """Credit balance and CPU per instance and hour, and one summary row per instance.

    `hours`: instance_id, hour (UTC start), balance (at the end of the hour), balance_min, cpu
    (mean), cpu_max (busiest five minutes), throttled; thinned to `CHART_POINT_BUDGET` points in
    all (then `resolution_s` is the span of one point), ordered by instance and hour.
    `instances`: SUMMARY_COLUMNS, the most throttled first.
    """

    start: datetime
    end: datetime
    resolution_s: int
    hours: pd.DataFrame
    instances: pd.DataFrame

    @property
    def is_empty(self) -> bool:
        return self.instances.empty

    @property
    def simulated(self) -> int:
        """How many of the instances have simulated data."""
        return int(self.instances["simulated"].sum()) if not self.is_empty else 0


def _instance_series(scope: DashboardFilter):  # type: ignore[no-untyped-def]
    """The credit balance series of the instances of the chosen environments."""
    return (select(MetricSeries.id)
            .join(Environment, Environment.id == MetricSeries.env_id)
            .where(MetricSeries.namespace == EC2_NAMESPACE,
                   MetricSeries.metric_name == CREDIT_BALANCE,
                   MetricSeries.stat == INSTANCE_STATS[CREDIT_BALANCE],
                   _environments(scope)))


def class_health(ctx: PortalContext, *, actor: Actor, filter: DashboardFilter,
                 now: datetime | None = None) -> ClassHealth:
    scope = filter.for_actor(actor)
    end = min(scope.end, now or utcnow())
    start = _hour_floor(scope.start)
    instances = _read(ctx, (
        select(MetricSeries.id.label("series_id"), MetricSeries.resource_id.label("instance_id"),
               MetricSeries.env_id, MetricSeries.instance_type, Environment.owner,
               Environment.template_id, Environment.course, Environment.cloud)
        .join(Environment, Environment.id == MetricSeries.env_id)
        .where(MetricSeries.id.in_(_instance_series(scope)))))
    if instances.empty or end <= start:
        return ClassHealth(start=start, end=end, resolution_s=HOUR_S,
                           hours=pd.DataFrame(columns=HOURS_COLUMNS),
                           instances=pd.DataFrame(columns=SUMMARY_COLUMNS))

    key = (ctx.settings.effective_database_url, start, _hour_ceil(end),
           max(1, int((end - start).total_seconds() // HOUR_S)), CHART_POINT_BUDGET,
           tuple(instances.itertuples(index=False, name=None)),
           _rollup_fingerprint(ctx, scope, start, end))
    instances["baseline_percent"] = _baselines(instances["instance_type"])
    by_series = instances.set_index("series_id")
    with _hours_lock:
        cached = _hours_cache.get(key)
    if cached is None:
        cached = _class_hours(ctx, scope, start=start, end=end, by_series=by_series,
                              instances=len(instances))
        with _hours_lock:
            _hours_cache[key] = cached
    per_series, hours, resolution_s = cached

    summary = instances.join(per_series, on="series_id", how="inner")
    summary["simulated"] = summary.pop("cloud") == SIMULATED_CLOUD
    summary["replaced"] = _replaced(ctx, summary)
    summary = summary.sort_values(["hours_throttled", "min_balance", "instance_id"],
                                  ascending=[False, True, True], ignore_index=True)
    # A copy: the kept frame must not change under the next caller's feet.
    return ClassHealth(start=start, end=end, resolution_s=resolution_s, hours=hours.copy(),
                       instances=summary[SUMMARY_COLUMNS])


# The class view's per-instance hourly results, by database, window and rollup fingerprint.
_hours_cache: LRUCache[tuple[Any, ...], tuple[pd.DataFrame, pd.DataFrame, int]] = \
    LRUCache(maxsize=16)
_hours_lock = threading.Lock()


def _hour_ceil(moment: datetime) -> datetime:
    """Rollup buckets start on the hour: `bucket_start < moment` is `bucket_start < this`."""
    floor = _hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


def _window_series(scope: DashboardFilter):  # type: ignore[no-untyped-def]
    """The credit balance and CPU series of the instances of the chosen environments: every
    series the class view's rows come from."""
    return (select(MetricSeries.id)
            .join(Environment, Environment.id == MetricSeries.env_id)
            .where(MetricSeries.namespace == EC2_NAMESPACE,
                   MetricSeries.metric_name.in_([CREDIT_BALANCE, CPU_UTILIZATION]),
                   _environments(scope)))


def _rollup_fingerprint(ctx: PortalContext, scope: DashboardFilter, start: datetime,
                        end: datetime) -> tuple[Any, ...]:
    """What the class view's rows are made of, summed up by the database: the count, sums,
    minimums, maximums and last values of the window's hourly rollups of those series, and the
    series table's size (the CPU series are joined by their own rows). One aggregate over the
    rollup's primary key; nothing but one row comes back."""
    rollup = MetricRollup
    statement = select(
        func.count(), func.sum(rollup.count), func.sum(rollup.sum), func.sum(rollup.min),
        func.sum(rollup.max), func.sum(rollup.last), func.max(rollup.bucket_start),
    ).where(rollup.series_id.in_(_window_series(scope)), rollup.resolution_s == HOUR_S,
            rollup.bucket_start >= start, rollup.bucket_start < end)
    series = select(func.count(), func.max(MetricSeries.id))
    with ctx.sessions() as session:
        sums = tuple(session.execute(statement).one())
        sizes = tuple(session.execute(series).one())
    return sums + sizes


def _class_hours(ctx: PortalContext, scope: DashboardFilter, *, start: datetime, end: datetime,
                 by_series: pd.DataFrame, instances: int
                 ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per balance series: min_balance, hours_throttled, hours_observed, first_throttled; and
    the chart's (thinned) hours with their resolution."""
    balance, cpu, cpu_series = aliased(MetricRollup), aliased(MetricRollup), aliased(MetricSeries)
    # One row per instance-hour: the balance's hourly rollup and the CPU's of the same hour, both
    # reached through the rollup's primary key (series, resolution, bucket). Selecting the
    # balance series by IN (subquery) makes SQLite walk that key instead of scanning every rollup.
    rows = _read(ctx, (
        select(balance.series_id, _hours_after(balance.bucket_start, start).label("hour"),
               balance.min.label("balance_min"), balance.last.label("balance"),
               (cpu.sum / cpu.count).label("cpu"), cpu.max.label("cpu_max"))
        .join(MetricSeries, MetricSeries.id == balance.series_id)
        .outerjoin(cpu_series, and_(cpu_series.env_id == MetricSeries.env_id,
                                    cpu_series.namespace == EC2_NAMESPACE,
                                    cpu_series.metric_name == CPU_UTILIZATION,
                                    cpu_series.resource_id == MetricSeries.resource_id,
                                    cpu_series.stat == INSTANCE_STATS[CPU_UTILIZATION]))
        .outerjoin(cpu, and_(cpu.series_id == cpu_series.id, cpu.resolution_s == HOUR_S,
                             cpu.bucket_start == balance.bucket_start))
        .where(balance.series_id.in_(_instance_series(scope)), balance.resolution_s == HOUR_S,
               balance.bucket_start >= start, balance.bucket_start < end)
        .order_by(balance.series_id, balance.bucket_start)))

    rows["hour"] = pd.Timestamp(start) + pd.to_timedelta(rows["hour"], unit="h")
    rows["throttled"] = throttled_mask(
        balance_min=rows["balance_min"], cpu_max=rows["cpu_max"],
        baseline=rows["series_id"].map(by_series["baseline_percent"]))
    rows["instance_id"] = rows["series_id"].map(by_series["instance_id"])

    per_series = rows.groupby("series_id", sort=False).agg(
        min_balance=("balance_min", "min"), hours_throttled=("throttled", "sum"),
        hours_observed=("hour", "size"))
    per_series["first_throttled"] = rows.loc[rows["throttled"]].groupby("series_id")["hour"].min()
    served = set(per_series.index)
    hours, resolution_s = _thin(rows[HOURS_COLUMNS], start=start, end=end,
                                instances=int(by_series.index.isin(served).sum()))
    return per_series, hours, resolution_s


def _replaced(ctx: PortalContext, summary: pd.DataFrame) -> pd.Series:
    """Whether Auto Scaling terminated the instance: a Terminating activity of its environment
    names it (AWS words it "Terminating EC2 instance: i-...")."""
    env_ids = summary["env_id"].unique().tolist()
    statement = (select(ScalingActivity.description)
                 .where(ScalingActivity.env_id.in_(env_ids),
                        ScalingActivity.description.like("Terminating%")))
    with ctx.sessions() as session:
        descriptions = session.scalars(statement).all()
    terminated = {text.rsplit(":", 1)[-1].strip() for text in descriptions if text}
    return summary["instance_id"].isin(terminated)


def _thin(hours: pd.DataFrame, *, start: datetime, end: datetime,
          instances: int) -> tuple[pd.DataFrame, int]:
    """At most about CHART_POINT_BUDGET points in all: spans of whole hours, each keeping its
    lowest balance, its end balance, its mean and busiest CPU, and whether any hour of it
    throttled. Rows come in ordered by instance and hour and leave so."""
    window_hours = max(1, int((end - start).total_seconds() // HOUR_S))
    span = -(-window_hours * instances // CHART_POINT_BUDGET)
    if span <= 1:
        return hours.reset_index(drop=True), HOUR_S
    spans = hours.assign(hour=hours["hour"].dt.floor(f"{span}h"))
    thinned = spans.groupby(["instance_id", "hour"], sort=True).agg(
        balance=("balance", "last"), balance_min=("balance_min", "min"), cpu=("cpu", "mean"),
        cpu_max=("cpu_max", "max"), throttled=("throttled", "any")).reset_index()
    return thinned[HOURS_COLUMNS], span * HOUR_S


# -- one instance in detail ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class InstanceDetail:
    """Raw five-minute points of one instance: at, balance, cpu, credit_usage, surplus and
    throttled (the rule of this module's docstring, applied to each point)."""

    instance_id: str
    env_id: str
    owner: str
    template_id: str
    instance_type: str | None
    baseline_percent: float | None
    points: pd.DataFrame
    simulated: bool

    @property
    def throttled_spans(self) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """Runs of consecutive throttled points as (first sample, end of the last sample)."""
        if self.points.empty or not self.points["throttled"].any():
            return []
        flags = self.points["throttled"].to_numpy(dtype=bool)
        times = self.points["at"]
        step = times.diff().median() if len(times) > 1 else pd.Timedelta(minutes=5)
        edges = np.diff(np.concatenate(([0], flags.astype(int), [0])))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        return [(times.iloc[a], times.iloc[b] + step) for a, b in zip(starts, stops, strict=True)]


DETAIL_COLUMNS = {CREDIT_BALANCE: "balance", CPU_UTILIZATION: "cpu", CREDIT_USAGE: "credit_usage",
                  SURPLUS_BALANCE: "surplus"}


def instance_detail(ctx: PortalContext, *, actor: Actor, instance_id: str,
                    filter: DashboardFilter) -> InstanceDetail:
    scope = filter.for_actor(actor)
    with ctx.sessions() as session:
        found = session.execute(
            select(MetricSeries.env_id, MetricSeries.instance_type, Environment.owner,
                   Environment.template_id, Environment.cloud)
            .join(Environment, Environment.id == MetricSeries.env_id)
            .where(MetricSeries.resource_id == instance_id,
                   MetricSeries.namespace == EC2_NAMESPACE,
                   MetricSeries.metric_name == CREDIT_BALANCE,
                   _environments(scope))
        ).first()
    if found is None:
        raise EnvironmentNotFoundError(instance_id)
    statement = (
        select(MetricSeries.metric_name, _raw(MetricPoint.at), MetricPoint.value)
        .join(MetricSeries, MetricSeries.id == MetricPoint.series_id)
        .where(MetricSeries.env_id == found.env_id, MetricSeries.resource_id == instance_id,
               MetricSeries.namespace == EC2_NAMESPACE,
               or_(*(and_(MetricSeries.metric_name == metric, MetricSeries.stat == stat)
                     for metric, stat in INSTANCE_STATS.items())),
               MetricPoint.at >= scope.start, MetricPoint.at < scope.end)
    )
    long = _read(ctx, statement)
    baseline = baseline_of(found.instance_type)
    if long.empty:
        points = pd.DataFrame(columns=["at", *DETAIL_COLUMNS.values(), "throttled"])
    else:
        long["at"] = _timestamps(long["at"])
        points = (long.pivot(index="at", columns="metric_name", values="value")
                  .rename(columns=DETAIL_COLUMNS)
                  .reindex(columns=list(DETAIL_COLUMNS.values()))
                  .sort_index().reset_index())
        points.columns.name = None
        points["throttled"] = throttled_mask(
            balance_min=points["balance"], cpu_max=points["cpu"],
            baseline=pd.Series(baseline if baseline is not None else np.nan, index=points.index))
    return InstanceDetail(instance_id=instance_id, env_id=found.env_id, owner=found.owner,
                          template_id=found.template_id, instance_type=found.instance_type,
                          baseline_percent=baseline, points=points,
                          simulated=found.cloud == SIMULATED_CLOUD)


# -- Auto Scaling activities --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ScalingTimeline:
    """activity_id, start, end, action, description, cause, status, group, env_id, owner,
    template_id, simulated; oldest first."""

    activities: pd.DataFrame

    @property
    def simulated(self) -> int:
        return int(self.activities["simulated"].sum()) if not self.activities.empty else 0


def scaling_timeline(ctx: PortalContext, *, actor: Actor,
                     filter: DashboardFilter) -> ScalingTimeline:
    scope = filter.for_actor(actor)
    statement = (
        select(ScalingActivity.activity_id, _raw(ScalingActivity.start_time).label("start"),
               _raw(ScalingActivity.end_time).label("end"), ScalingActivity.description,
               ScalingActivity.cause, ScalingActivity.status_code.label("status"),
               ScalingActivity.group_name.label("group"), ScalingActivity.env_id,
               Environment.owner, Environment.template_id, Environment.cloud)
        .join(Environment, Environment.id == ScalingActivity.env_id)
        .where(ScalingActivity.start_time < scope.end,
               (ScalingActivity.end_time.is_(None)) | (ScalingActivity.end_time >= scope.start),
               _environments(scope))
        .order_by(ScalingActivity.start_time, ScalingActivity.activity_id)
    )
    rows = _read(ctx, statement)
    if rows.empty:
        rows = pd.DataFrame(columns=["activity_id", "start", "end", "action", "description",
                                     "cause", "status", "group", "env_id", "owner",
                                     "template_id", "simulated"])
        return ScalingTimeline(activities=rows)
    rows["start"] = _timestamps(rows["start"])
    rows["end"] = _timestamps(rows["end"])
    # "Launching a new EC2 instance: i-...", "Terminating EC2 instance: i-..."
    rows["action"] = rows["description"].fillna("").str.split(" ", n=1).str[0]
    rows["simulated"] = rows.pop("cloud") == SIMULATED_CLOUD
    return ScalingTimeline(activities=rows[["activity_id", "start", "end", "action",
                                            "description", "cause", "status", "group",
                                            "env_id", "owner", "template_id", "simulated"]])


# -- launch, destroy and deployment durations ---------------------------------------------------
RUN_COLUMNS = ["run_id", "kind", "status", "started_at", "ended_at", "duration_s", "env_id",
               "owner", "template_id", "simulated"]
DEPLOYMENT_COLUMNS = ["deployment_id", "env_id", "owner", "template_id", "application",
                      "group", "status", "created_at", "started_at", "ended_at", "waiting_s",
                      "running_s", "duration_s", "simulated"]


@dataclass(frozen=True, eq=False)
class DeployTimings:
    """Launch and destroy runs (RUN_COLUMNS; finished ones have a duration) and CodeDeploy
    deployments (DEPLOYMENT_COLUMNS: waiting = created to started, running = started to ended,
    duration = created to ended), oldest first."""

    runs: pd.DataFrame
    deployments: pd.DataFrame

    @property
    def simulated(self) -> int:
        return (int(self.runs["simulated"].sum()) if not self.runs.empty else 0) + (
            int(self.deployments["simulated"].sum()) if not self.deployments.empty else 0)


def _seconds(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.total_seconds()


def deploy_timings(ctx: PortalContext, *, actor: Actor,
                   filter: DashboardFilter) -> DeployTimings:
    scope = filter.for_actor(actor)
    runs = _read(ctx, (
        select(Run.id.label("run_id"), Run.kind, Run.status, _raw(Run.started_at),
               _raw(Run.ended_at), Run.env_id, Environment.owner, Environment.template_id,
               Environment.cloud)
        .join(Environment, Environment.id == Run.env_id)
        .where(Run.started_at >= scope.start, Run.started_at < scope.end,
               _environments(scope))
        .order_by(Run.started_at, Run.id)))
    if runs.empty:
        runs = pd.DataFrame(columns=RUN_COLUMNS)
    else:
        runs["started_at"] = _timestamps(runs["started_at"])
        runs["ended_at"] = _timestamps(runs["ended_at"])
        runs["duration_s"] = _seconds(runs["ended_at"], runs["started_at"])
        runs["simulated"] = runs.pop("cloud") == SIMULATED_CLOUD
        runs = runs[RUN_COLUMNS]

    deployments = _read(ctx, (
        select(Deployment.deployment_id, Deployment.env_id, Environment.owner,
               Environment.template_id, Deployment.application_name.label("application"),
               Deployment.group_name.label("group"), Deployment.status,
               _raw(Deployment.created_at), _raw(Deployment.started_at),
               _raw(Deployment.ended_at), Environment.cloud)
        .join(Environment, Environment.id == Deployment.env_id)
        .where(Deployment.created_at >= scope.start, Deployment.created_at < scope.end,
               _environments(scope))
        .order_by(Deployment.created_at, Deployment.deployment_id)))
    if deployments.empty:
        deployments = pd.DataFrame(columns=DEPLOYMENT_COLUMNS)
    else:
        for column in ("created_at", "started_at", "ended_at"):
            deployments[column] = _timestamps(deployments[column])
        deployments["waiting_s"] = _seconds(deployments["started_at"], deployments["created_at"])
        deployments["running_s"] = _seconds(deployments["ended_at"], deployments["started_at"])
        deployments["duration_s"] = _seconds(deployments["ended_at"], deployments["created_at"])
        deployments["simulated"] = deployments.pop("cloud") == SIMULATED_CLOUD
        deployments = deployments[DEPLOYMENT_COLUMNS]
    return DeployTimings(runs=runs, deployments=deployments)


# -- one run, resource by resource --------------------------------------------------------------
WATERFALL_COLUMNS = ["logical_id", "resource_type", "action", "start", "end", "duration_s",
                     "status"]


@dataclass(frozen=True, eq=False)
class RunWaterfall:
    """Per resource and action (CREATE, DELETE, ...): start = its first *_IN_PROGRESS event, end =
    the first *_COMPLETE or *_FAILED of the same action after it (None while it is still going),
    status = that event's status; sorted by start."""

    run_id: int
    kind: str
    env_id: str
    template_id: str
    started_at: datetime
    ended_at: datetime | None
    resources: pd.DataFrame
    simulated: bool


def run_waterfall(ctx: PortalContext, *, actor: Actor, run_id: int) -> RunWaterfall:
    with ctx.sessions() as session:
        run = session.get(Run, run_id)
        if run is None or not actor.can_see(run.environment.owner, run.environment.course):
            raise EnvironmentNotFoundError(f"run {run_id}")
        env = run.environment
        header = dict(run_id=run.id, kind=run.kind, env_id=env.id, template_id=env.template_id,
                      started_at=run.started_at, ended_at=run.ended_at,
                      simulated=env.cloud == SIMULATED_CLOUD)
    events = _read(ctx, (
        select(RunEvent.logical_id, RunEvent.resource_type, RunEvent.status,
               _raw(RunEvent.occurred_at))
        .where(RunEvent.run_id == run_id)
        .order_by(RunEvent.occurred_at, RunEvent.id)))
    return RunWaterfall(resources=_waterfall(events), **header)


def _waterfall(events: pd.DataFrame) -> pd.DataFrame:
    if events.empty:
        return pd.DataFrame(columns=WATERFALL_COLUMNS)
    events["occurred_at"] = _timestamps(events["occurred_at"])
    # CREATE_IN_PROGRESS -> (CREATE, IN_PROGRESS); UPDATE_ROLLBACK_COMPLETE -> (UPDATE_ROLLBACK,
    # COMPLETE); DELETE_SKIPPED and the like have no phase of their own and are left out.
    phase = events["status"].str.extract(r"^(?P<action>.+)_(?P<phase>IN_PROGRESS|COMPLETE|FAILED)$")
    events = events.join(phase).dropna(subset=["action"])
    keys = ["logical_id", "resource_type", "action"]
    starts = (events[events["phase"] == "IN_PROGRESS"].groupby(keys, sort=False)["occurred_at"]
              .min().rename("start").reset_index())
    ends = events[events["phase"] != "IN_PROGRESS"].merge(starts, on=keys)
    ends = (ends[ends["occurred_at"] >= ends["start"]]
            .sort_values("occurred_at").groupby(keys, sort=False)
            .agg(end=("occurred_at", "first"), status=("status", "first")).reset_index())
    rows = starts.merge(ends, on=keys, how="left")
    rows["duration_s"] = _seconds(rows["end"], rows["start"])
    rows["status"] = rows["status"].fillna(rows["action"] + "_IN_PROGRESS")
    return rows.sort_values(["start", "end", "logical_id"], ignore_index=True)[WATERFALL_COLUMNS]

