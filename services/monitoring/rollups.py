"""Hourly and daily rollups of raw metric points: what class-wide views read instead of points.

A rollup bucket holds the count, sum, minimum, maximum and last value (the value of the bucket's
newest point, e.g. a credit balance at the end of the hour) of one series' points in that hour or
day. The collector hands `refresh_rollups` the points it just stored; exactly the buckets they fall
in are recomputed and written. Hours are recomputed from the raw points (a 5-minute series has 12
per hour), days from their hours (24 rows instead of 288 points), which gives the same count, sum,
minimum, maximum and last as the raw points would. `compute_rollups` computes every bucket from
scratch, for tests, benchmarks and repairs.

The same code runs on SQLite and PostgreSQL; a recomputation reads all touched buckets of a batch
of series in one query, so a pass over hundreds of series costs a few statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.history.models import MetricPoint, MetricRollup

HOUR = 3600
DAY = 86400
RESOLUTIONS = (HOUR, DAY)
# Series per read: keeps each IN list well under SQLite's and psycopg's parameter limits.
SERIES_PER_BATCH = 400
ROWS_PER_WRITE = 2000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(at: datetime, resolution_s: int) -> datetime:
    """Start of the UTC bucket of `resolution_s` seconds (3600 or 86400) that holds `at`."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    if resolution_s == HOUR:
        return at.replace(minute=0, second=0, microsecond=0)
    if resolution_s == DAY:
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = int((at - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % resolution_s)


def dialect_insert(session: Session, table: Any) -> Any:
    """INSERT of the session's dialect, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"history database dialect {name!r}: no ON CONFLICT support here")


@dataclass
class Aggregate:
    count: int
    sum: float
    min: float
    max: float
    last: float
    last_at: datetime

    @classmethod
    def of(cls, at: datetime, value: float) -> Aggregate:
        return cls(1, value, value, value, value, at)

    def add(self, at: datetime, value: float) -> None:
        self.count += 1
        self.sum += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if at >= self.last_at:
            self.last, self.last_at = value, at

    def merge(self, other: Aggregate) -> None:
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        if other.last_at >= self.last_at:
            self.last, self.last_at = other.last, other.last_at

    def row(self, series_id: int, resolution_s: int, start: datetime) -> dict[str, Any]:
        return {"series_id": series_id, "resolution_s": resolution_s, "bucket_start": start,
                "count": self.count, "sum": self.sum, "min": self.min, "max": self.max,
                "last": self.last}


RollupKey = tuple[int, int, datetime]  # (series id, resolution, bucket start)


def aggregate_points(points: Iterable[tuple[int, datetime, float]],
                     resolutions: Iterable[int] = RESOLUTIONS) -> dict[RollupKey, Aggregate]:
    """Every bucket of every resolution, straight from (series id, at, value) points."""
    resolutions = tuple(resolutions)
    buckets: dict[RollupKey, Aggregate] = {}
    for series_id, at, value in points:
        for resolution in resolutions:
            key = (series_id, resolution, bucket_start(at, resolution))
            found = buckets.get(key)
            if found is None:
                buckets[key] = Aggregate.of(at, value)
            else:
                found.add(at, value)
    return buckets


def compute_rollups(session: Session, series_ids: Iterable[int] | None = None
                    ) -> dict[RollupKey, Aggregate]:
    """Rollups computed from scratch from all raw points (of `series_ids`, or of every series),
    independently of what `refresh_rollups` stored."""
    query = select(MetricPoint.series_id, MetricPoint.at, MetricPoint.value)
    if series_ids is not None:
        query = query.where(MetricPoint.series_id.in_(list(series_ids)))
    return aggregate_points(session.execute(query))


def stored_rollups(session: Session, series_ids: Iterable[int] | None = None
                   ) -> dict[RollupKey, MetricRollup]:
    # Fresh from the database: the upserts bypass the session's identity map.
    query = select(MetricRollup).execution_options(populate_existing=True)
    if series_ids is not None:
        query = query.where(MetricRollup.series_id.in_(list(series_ids)))
    return {(r.series_id, r.resolution_s, r.bucket_start): r for r in session.scalars(query)}


def _batches(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    table: Table = MetricRollup.__table__  # type: ignore[assignment]
    for start in range(0, len(rows), ROWS_PER_WRITE):
        statement = dialect_insert(session, table)
        statement = statement.on_conflict_do_update(
            index_elements=["series_id", "resolution_s", "bucket_start"],
            set_={name: statement.excluded[name] for name in ("count", "sum", "min", "max",
                                                              "last")})
        session.execute(statement, rows[start:start + ROWS_PER_WRITE])


def refresh_rollups(session: Session, touched: Mapping[int, Iterable[datetime]]) -> int:
    """Recompute and store the hourly and daily buckets that hold the `touched` points
    (series id -> point times); returns the number of buckets written.

    Runs inside the caller's transaction, after the points are written, so that the rollups
    commit with the points they summarise.
    """
    hours: dict[int, set[datetime]] = {}
    for series_id, times in touched.items():
        starts = {bucket_start(at, HOUR) for at in times}
        if starts:
            hours[series_id] = starts
    if not hours:
        return 0

    hourly = _hours_from_points(session, hours)
    _upsert(session, [aggregate.row(key[0], HOUR, key[2]) for key, aggregate in hourly.items()])
    days = {series_id: {bucket_start(start, DAY) for start in starts}
            for series_id, starts in hours.items()}
    daily = _days_from_hours(session, days)
    _upsert(session, [aggregate.row(key[0], DAY, key[2]) for key, aggregate in daily.items()])
    return len(hourly) + len(daily)


def _hours_from_points(session: Session, hours: Mapping[int, set[datetime]]
                       ) -> dict[RollupKey, Aggregate]:
    """Aggregates of the given hours from the raw points: one read per batch of series spans
    its touched hours (a steady pass touches the last one or two)."""
    result: dict[RollupKey, Aggregate] = {}
    for batch in _batches(sorted(hours), SERIES_PER_BATCH):
        low = min(min(hours[s]) for s in batch)
        high = max(max(hours[s]) for s in batch) + timedelta(seconds=HOUR)
        rows = session.execute(
            select(MetricPoint.series_id, MetricPoint.at, MetricPoint.value)
            .where(MetricPoint.series_id.in_(batch), MetricPoint.at >= low,
                   MetricPoint.at < high))
        for series_id, at, value in rows:
            start = bucket_start(at, HOUR)
            if start not in hours[series_id]:
                continue
            key = (series_id, HOUR, start)
            found = result.get(key)
            if found is None:
                result[key] = Aggregate.of(at, value)
            else:
                found.add(at, value)
    return result


def _days_from_hours(session: Session, days: Mapping[int, set[datetime]]
                     ) -> dict[RollupKey, Aggregate]:
    """Aggregates of the given days from their hourly rollups, summed by the database: a day of
    a 5-minute series is 24 hourly rows instead of 288 points. The day's last value is the last
    of its newest hour."""
    result: dict[RollupKey, Aggregate] = {}
    hourly = MetricRollup.__table__.c
    by_day: dict[datetime, list[int]] = {}
    for series_id, starts in days.items():
        for day in starts:
            by_day.setdefault(day, []).append(series_id)
    for day, series_ids in sorted(by_day.items()):
        for batch in _batches(sorted(series_ids), SERIES_PER_BATCH):
            in_day = (hourly.series_id.in_(batch), hourly.resolution_s == HOUR,
                      hourly.bucket_start >= day,
                      hourly.bucket_start < day + timedelta(seconds=DAY))
            newest: dict[int, datetime] = {}
            for series_id, count, total, low, high, newest_hour in session.execute(
                    select(hourly.series_id, func.sum(hourly.count), func.sum(hourly.sum),
                           func.min(hourly.min), func.max(hourly.max),
                           func.max(hourly.bucket_start))
                    .where(*in_day).group_by(hourly.series_id)):
                result[(series_id, DAY, day)] = Aggregate(int(count), float(total), low, high,
                                                          0.0, newest_hour)
                newest[series_id] = newest_hour
            if not newest:
                continue
            for series_id, last in session.execute(
                    select(hourly.series_id, hourly.last).where(
                        hourly.resolution_s == HOUR,
                        tuple_(hourly.series_id, hourly.bucket_start).in_(
                            list(newest.items())))):
                result[(series_id, DAY, day)].last = last
    return result


def rebuild_rollups(session: Session, series_ids: Iterable[int]) -> int:
    """Recompute every bucket of the given series from their raw points (a repair)."""
    ids = list(series_ids)
    touched: dict[int, set[datetime]] = {}
    for batch in _batches(ids, SERIES_PER_BATCH):
        for series_id, at in session.execute(
                select(MetricPoint.series_id, MetricPoint.at)
                .where(MetricPoint.series_id.in_(batch))):
            touched.setdefault(series_id, set()).add(at)
    return refresh_rollups(session, touched)

