"""Hourly and daily rollups against the raw points they summarise, on SQLite and PostgreSQL:
hand-computed buckets, incremental refreshes in any order equal a computation from scratch, only
touched buckets are rewritten, and a refresh over hundreds of series costs a handful of
statements."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session

from services.context import PortalContext
from services.history.models import Environment, MetricPoint, MetricSeries
from services.monitoring.rollups import (
    DAY,
    HOUR,
    aggregate_points,
    bucket_start,
    compute_rollups,
    rebuild_rollups,
    refresh_rollups,
    stored_rollups,
)

from tests.services.monitoring.collector_support import history_ctx  # noqa: F401 - a fixture

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)


def _series(session: Session, count: int) -> list[int]:
    env_id = secrets.token_hex(5)
    session.add(Environment(id=env_id, template_id="web-server", owner="alice", status="ready",
                            parameters={}, outputs={}, cloud="embedded", region="us-east-1",
                            deployment_name=f"sbx-{env_id}", created_at=DAY0, updated_at=DAY0))
    session.flush()
    return list(session.scalars(insert(MetricSeries).returning(MetricSeries.id), [
        {"env_id": env_id, "resource_kind": "instance", "resource_id": f"i-{index:017x}",
         "namespace": "AWS/EC2", "metric_name": "CPUUtilization", "stat": "Average",
         "dimensions": {"InstanceId": f"i-{index:017x}"}, "period_s": 300}
        for index in range(count)]))


def _store(session: Session, points: list[tuple[int, datetime, float]]) -> dict[int, set[datetime]]:
    session.execute(insert(MetricPoint), [{"series_id": s, "at": at, "value": v}
                                          for s, at, v in points])
    touched: dict[int, set[datetime]] = {}
    for series_id, at, _ in points:
        touched.setdefault(series_id, set()).add(at)
    return touched


def _assert_equal_to_scratch(session: Session) -> None:
    computed = compute_rollups(session)
    stored = stored_rollups(session)
    assert set(stored) == set(computed)
    for key, expected in computed.items():
        row = stored[key]
        assert (row.count, row.min, row.max, row.last) == \
            (expected.count, expected.min, expected.max, expected.last), key
        assert row.sum == pytest.approx(expected.sum), key


def test_buckets_by_hand(history_ctx: PortalContext) -> None:
    with history_ctx.sessions() as session, session.begin():
        (series,) = _series(session, 1)
        at = DAY0 + timedelta(hours=10)
        touched = _store(session, [
            (series, at, 1.0), (series, at + timedelta(minutes=55), 3.0),
            (series, at + timedelta(minutes=5), 5.0),  # arrives last, is not the newest
            (series, at + timedelta(hours=1, minutes=10), 7.0),
            (series, DAY0 + timedelta(days=1, minutes=5), 2.0),
        ])
        assert refresh_rollups(session, touched) == 3 + 2
        rows = stored_rollups(session, [series])
    hour = {k[2]: (r.count, r.sum, r.min, r.max, r.last) for k, r in rows.items() if k[1] == HOUR}
    day = {k[2]: (r.count, r.sum, r.min, r.max, r.last) for k, r in rows.items() if k[1] == DAY}
    assert hour == {at: (3, 9.0, 1.0, 5.0, 3.0),
                    at + timedelta(hours=1): (1, 7.0, 7.0, 7.0, 7.0),
                    DAY0 + timedelta(days=1): (1, 2.0, 2.0, 2.0, 2.0)}
    assert day == {DAY0: (4, 16.0, 1.0, 7.0, 7.0),
                   DAY0 + timedelta(days=1): (1, 2.0, 2.0, 2.0, 2.0)}


def test_refreshes_in_any_order_equal_a_computation_from_scratch(
        history_ctx: PortalContext) -> None:
    rng = random.Random(7)
    with history_ctx.sessions() as session, session.begin():
        series = _series(session, 5)
        points = [(s, DAY0 + timedelta(minutes=5 * n), round(rng.uniform(0, 100), 3))
                  for s in series for n in range(3 * 288) if rng.random() < 0.7]
        rng.shuffle(points)
        # Batches of every size, each refreshed as the collector does after storing it.
        while points:
            size = rng.randint(1, 400)
            batch, points = points[:size], points[size:]
            refresh_rollups(session, _store(session, batch))
        _assert_equal_to_scratch(session)


def test_only_touched_buckets_are_rewritten(history_ctx: PortalContext) -> None:
    with history_ctx.sessions() as session, session.begin():
        (series,) = _series(session, 1)
        early, late = DAY0 + timedelta(hours=3), DAY0 + timedelta(hours=5)
        refresh_rollups(session, _store(session, [(series, early, 10.0), (series, late, 20.0)]))
        # A raw point changed behind the rollups' back, then a new point in another hour.
        session.execute(update(MetricPoint).where(MetricPoint.at == early).values(value=99.0))
        refresh_rollups(session, _store(session, [(series, late + timedelta(minutes=5), 30.0)]))
        rows = stored_rollups(session, [series])
        assert rows[(series, HOUR, early)].max == 10.0, "an untouched hour is left alone"
        assert rows[(series, HOUR, late)].count == 2
        assert rows[(series, DAY, DAY0)].max == 30.0
        assert rebuild_rollups(session, [series]) == 2 + 1
        rows = stored_rollups(session, [series])
        assert rows[(series, HOUR, early)].max == 99.0
        _assert_equal_to_scratch(session)


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_refresh_over_hundreds_of_series_costs_a_few_statements(
        history_ctx: PortalContext) -> None:
    with history_ctx.sessions() as session, session.begin():
        series = _series(session, 600)
        # The hour so far, then the next period of every series: a steady pass.
        start = DAY0 + timedelta(hours=14)
        refresh_rollups(session, _store(session, [(s, start + timedelta(minutes=5 * n), float(n))
                                                  for s in series for n in range(6)]))
        touched = _store(session, [(s, start + timedelta(minutes=30), 6.0) for s in series])
        with _statements(session) as statements:
            assert refresh_rollups(session, touched) == 600 * 2
        # Per batch of 400 series: one read of points, one sum of hours, one read of the last
        # hours; and the two upserts.
        assert len(statements) <= 12, statements
        rows = stored_rollups(session, series[:1])
        assert rows[(series[0], HOUR, start)].count == 7
        assert rows[(series[0], DAY, DAY0)].last == 6.0


def test_bucket_start_is_utc() -> None:
    seoul = timezone(timedelta(hours=9))
    at = datetime(2026, 3, 2, 8, 30, tzinfo=seoul)  # 23:30 UTC the day before
    assert bucket_start(at, HOUR) == datetime(2026, 3, 1, 23, tzinfo=UTC)
    assert bucket_start(at, DAY) == datetime(2026, 3, 1, tzinfo=UTC)
    assert bucket_start(datetime(2026, 3, 2, 0, 7, tzinfo=UTC), 300) == \
        datetime(2026, 3, 2, 0, 5, tzinfo=UTC)


def test_aggregate_points_keeps_the_newest_value_as_last() -> None:
    points = [(1, DAY0 + timedelta(minutes=m), v) for m, v in [(50, 4.0), (10, 9.0), (55, 1.0)]]
    hour = aggregate_points(points)[(1, HOUR, DAY0)]
    assert (hour.count, hour.sum, hour.min, hour.max, hour.last) == (3, 14.0, 1.0, 9.0, 1.0)
