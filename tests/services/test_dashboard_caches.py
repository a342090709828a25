"""The dashboards' two caches, against a real SQLite history database and the real services.

`health_view.class_health` keeps each window's per-instance hourly rows under a fingerprint of
the rollups they come from; `cost_meter.class_cost` reuses a result while the environments and
runs it was computed from are the same, and meters a live call (no `now`) at a LIVE_STEP_S mark.
Both must serve an unchanged class from the cache, never serve a changed one from it, hand out
results their callers may change, and give two sessions asking at once the same right answer.

Whether a call was served from the cache is told by counting the calls of the costly function
behind it (`_class_hours`, `_class_cost`), never by timing. The clock of live calls is the
module's `utcnow`, set by each test, so nothing depends on when the test runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import insert, select, update

from services import cost_meter, environment_service
from services.context import PortalContext
from services.history.models import Environment, MetricPoint, MetricSeries, Run
from services.identity import Actor, Role
from services.monitoring import health_view
from services.monitoring.filters import DashboardFilter
from services.monitoring.rollups import refresh_rollups
from services.settings import Settings
from tests.services.monitoring.health_history import DAY, NOW, T0, TEACHER, build_class

ALICE = Actor("alice", Role.STUDENT)
# A live dashboard's clock: two seconds after a LIVE_STEP_S mark, in the past of the real one.
CLOCK = datetime(2026, 11, 20, 10, 0, 2, tzinfo=UTC)
assert CLOCK.timestamp() % cost_meter.LIVE_STEP_S == 2


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[PortalContext]:
    """A portal on a history database of its own (the caches are keyed by database)."""
    context = PortalContext(Settings(data_dir=tmp_path,
                                     database_url=f"sqlite:///{tmp_path / 'history.db'}"))
    yield context
    context.sessions.kw["bind"].dispose()


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Replace `module.name` by a wrapper that counts its calls; returns the counter."""
    calls: list[int] = []
    inner = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return inner(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def at_once(call: Callable[[], Any], *, threads: int = 2) -> list[Any]:
    """`call` from `threads` threads released together; their results in order."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - reported in the test's thread below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors
    return results


# -- class health ---------------------------------------------------------------------------------
@pytest.fixture
def health_class(ctx: PortalContext) -> PortalContext:
    build_class(ctx)
    return ctx


def health(ctx: PortalContext, *, actor: Actor = TEACHER) -> health_view.ClassHealth:
    return health_view.class_health(ctx, actor=actor, filter=DAY, now=NOW)


def assert_same_health(first: health_view.ClassHealth, second: health_view.ClassHealth) -> None:
    assert (first.start, first.end, first.resolution_s) == (second.start, second.end,
                                                            second.resolution_s)
    pd.testing.assert_frame_equal(first.hours, second.hours)
    pd.testing.assert_frame_equal(first.instances, second.instances)


def throttled_hours(result: health_view.ClassHealth, instance_id: str) -> int:
    rows = result.instances.set_index("instance_id")
    return int(rows.loc[instance_id, "hours_throttled"])


def series_id(ctx: PortalContext, instance_id: str, metric: str) -> int:
    with ctx.sessions() as session:
        return session.scalars(select(MetricSeries.id).where(
            MetricSeries.resource_id == instance_id, MetricSeries.metric_name == metric)).one()


def collect_point(ctx: PortalContext, series: int, at: datetime, value: float) -> None:
    """Store one new point and refresh its rollups, as a collector pass does."""
    with ctx.sessions() as session, session.begin():
        session.execute(insert(MetricPoint), [{"series_id": series, "at": at, "value": value}])
        refresh_rollups(session, {series: [at]})


def test_an_unchanged_class_health_is_served_from_the_cache(
        health_class: PortalContext, monkeypatch: pytest.MonkeyPatch) -> None:
    computed = counting(monkeypatch, health_view, "_class_hours")
    first = health(health_class)
    second = health(health_class)
    assert len(computed) == 1
    assert_same_health(first, second)
    assert throttled_hours(second, "i-alice") == 5
    # A student's own view is another class's rows: computed, then kept too.
    mine = health(health_class, actor=ALICE)
    again = health(health_class, actor=ALICE)
    assert len(computed) == 2
    assert_same_health(mine, again)
    assert mine.instances["instance_id"].tolist() == ["i-alice"]


def test_a_collected_point_shows_at_once(health_class: PortalContext,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    computed = counting(monkeypatch, health_view, "_class_hours")
    before = health(health_class)
    assert throttled_hours(before, "i-alice") == 5
    hour_23 = T0 + timedelta(hours=23)
    # Hour 23 of i-alice refills at 5% CPU: a point at an empty balance and one at the 10%
    # baseline, stored between two of its samples, make it a throttled hour.
    collect_point(health_class, series_id(health_class, "i-alice", "CPUCreditBalance"),
                  hour_23 + timedelta(minutes=2, seconds=30), 0.0)
    collect_point(health_class, series_id(health_class, "i-alice", "CPUUtilization"),
                  hour_23 + timedelta(minutes=2, seconds=30), 10.0)
    after = health(health_class)
    assert len(computed) == 2
    assert throttled_hours(after, "i-alice") == 6
    alice = after.hours[after.hours["instance_id"] == "i-alice"].set_index("hour")
    assert bool(alice.loc[pd.Timestamp(hour_23), "throttled"])
    assert alice.loc[pd.Timestamp(hour_23), "balance_min"] == 0.0
    # The next call with nothing new is served again.
    assert_same_health(after, health(health_class))
    assert len(computed) == 2


def test_a_point_in_a_new_hour_and_a_new_instance_show_at_once(
        health_class: PortalContext) -> None:
    before = health(health_class)
    assert set(before.instances["instance_id"]) == {"i-alice", "i-bob-1", "i-bob-2"}
    # i-bob-2 stopped reporting after six hours; a late point in hour 7 is a seventh hour.
    collect_point(health_class, series_id(health_class, "i-bob-2", "CPUCreditBalance"),
                  T0 + timedelta(hours=7, minutes=5), 40.0)
    later = health(health_class)
    rows = later.instances.set_index("instance_id")
    assert rows.loc["i-bob-2", "hours_observed"] == 7
    assert rows.loc["i-bob-2", "min_balance"] == 40.0
    # Auto Scaling's replacement i-bob-3 reports for the first time.
    with health_class.sessions() as session, session.begin():
        session.add(MetricSeries(env_id="e-bob", resource_kind="instance", resource_id="i-bob-3",
                                 namespace="AWS/EC2", metric_name="CPUCreditBalance",
                                 stat="Average", dimensions={"InstanceId": "i-bob-3"},
                                 instance_type="t3.micro", period_s=300))
    collect_point(health_class, series_id(health_class, "i-bob-3", "CPUCreditBalance"),
                  T0 + timedelta(hours=8), 0.0)
    newest = health(health_class)
    assert "i-bob-3" in set(newest.instances["instance_id"])
    assert newest.hours["instance_id"].value_counts()["i-bob-3"] == 1


def test_class_health_hands_out_copies(health_class: PortalContext) -> None:
    first = health(health_class)
    expected_hours, expected_instances = first.hours.copy(), first.instances.copy()
    # Changed in place, column by column and row by row.
    first.hours.loc[:, "balance_min"] = -5.0
    first.hours.iloc[0, first.hours.columns.get_loc("cpu")] = 1e6
    first.hours["balance"] = -1.0
    first.instances.loc[:, "min_balance"] = -5.0
    first.instances.iloc[0, first.instances.columns.get_loc("instance_id")] = "i-nobody"
    first.instances["hours_throttled"] = 999
    second = health(health_class)
    pd.testing.assert_frame_equal(second.hours, expected_hours)
    pd.testing.assert_frame_equal(second.instances, expected_instances)
    second.hours.loc[:, "throttled"] = False
    pd.testing.assert_frame_equal(health(health_class).hours, expected_hours)


def test_two_sessions_asking_at_once_get_the_same_class_health(
        health_class: PortalContext) -> None:
    first, second = at_once(lambda: health(health_class))
    assert_same_health(first, second)
    assert throttled_hours(first, "i-alice") == 5 and throttled_hours(first, "i-bob-1") == 24
    first.hours["balance"] = -1.0
    assert (second.hours["balance"] >= 0).all()
    # And once more at once after a change: both see it.
    collect_point(health_class, series_id(health_class, "i-alice", "CPUCreditBalance"),
                  T0 + timedelta(hours=23, minutes=2, seconds=30), 0.0)
    collect_point(health_class, series_id(health_class, "i-alice", "CPUUtilization"),
                  T0 + timedelta(hours=23, minutes=2, seconds=30), 10.0)
    third, fourth = at_once(lambda: health(health_class))
    assert_same_health(third, fourth)
    assert throttled_hours(third, "i-alice") == 6


# -- class cost -----------------------------------------------------------------------------------
@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The live dashboards' clock: `clock[0]` is utcnow() for the cost meter."""
    now = [CLOCK]
    monkeypatch.setattr(cost_meter, "utcnow", lambda: now[0])
    return now


def launched(env_id: str, *, at: datetime, owner: str = "alice", price: float = 0.5,
             lease_hours: int = 4, status: str = "ready",
             launch_ended: datetime | None = None) -> Environment:
    """An environment as a launch records it: the row and its launch run, started `at`."""
    env = Environment(id=env_id, template_id="web-server", owner=owner, course="default",
                      status=status, parameters={}, outputs={}, cloud="embedded",
                      region="us-east-1", deployment_name=f"sbx-{env_id}", created_at=at,
                      updated_at=launch_ended or at, lease_hours=lease_hours,
                      expires_at=at + timedelta(hours=lease_hours), hourly_cost_usd=price)
    env.runs = [Run(kind="launch", status="succeeded" if launch_ended else "running",
                    started_at=at, ended_at=launch_ended, deadline_at=at + timedelta(hours=1))]
    return env


def add(ctx: PortalContext, *envs: Environment) -> None:
    with ctx.sessions() as session, session.begin():
        session.add_all(envs)


def live_cost(ctx: PortalContext, clock: list[datetime], *,
              actor: Actor = TEACHER) -> cost_meter.ClassCost:
    """What a dashboard asks on a rerun: the last day up to its clock, no `now`."""
    chosen = DashboardFilter.last(1, now=clock[0])
    return cost_meter.class_cost(ctx, actor=actor, filter=chosen)


def assert_same_cost(first: cost_meter.ClassCost, second: cost_meter.ClassCost) -> None:
    assert first.to_json() == second.to_json()
    for name in ("per_environment", "per_student", "per_template", "per_day", "burn_down"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


def running_env_ids(cost: cost_meter.ClassCost) -> set[str]:
    frame = cost.per_environment
    return set(frame.loc[frame["running"], "env_id"])


@pytest.fixture
def class_of_two(ctx: PortalContext) -> PortalContext:
    """alice's environment running for two hours at $0.50, bob's destroyed an hour ago."""
    add(ctx, launched("e-alice", at=CLOCK - timedelta(hours=2),
                      launch_ended=CLOCK - timedelta(hours=2) + timedelta(minutes=1)))
    bob = launched("e-bob", at=CLOCK - timedelta(hours=3), owner="bob", price=1.0,
                   launch_ended=CLOCK - timedelta(hours=3) + timedelta(minutes=1))
    bob.status, bob.updated_at = "destroyed", CLOCK - timedelta(hours=1)
    bob.runs.append(Run(kind="destroy", status="succeeded",
                        started_at=CLOCK - timedelta(hours=1, minutes=1),
                        ended_at=CLOCK - timedelta(hours=1),
                        deadline_at=CLOCK + timedelta(hours=1)))
    add(ctx, bob)
    return ctx


def test_an_unchanged_class_cost_is_served_from_the_cache(
        class_of_two: PortalContext, clock: list[datetime],
        monkeypatch: pytest.MonkeyPatch) -> None:
    computed = counting(monkeypatch, cost_meter, "_class_cost")
    first = live_cost(class_of_two, clock)
    # Another session, a second later: the same mark, the same rows.
    clock[0] += timedelta(seconds=1)
    second = live_cost(class_of_two, clock)
    assert len(computed) == 1
    assert_same_cost(first, second)
    mark = CLOCK - timedelta(seconds=2)
    assert first.now == mark
    # alice: two hours at $0.50 up to the mark; bob: two hours at $1.
    assert first.total_usd == pytest.approx(2 * 0.5 + 2 * 1.0, abs=1e-3)
    assert running_env_ids(first) == {"e-alice"}
    # Asked with that `now` explicitly, it is the same computation; another `now` is kept too.
    explicit = dict(actor=TEACHER, filter=DashboardFilter.last(1, now=mark), now=mark)
    assert_same_cost(first, cost_meter.class_cost(class_of_two, **explicit))
    assert len(computed) == 1
    earlier = mark - timedelta(minutes=1)
    explicit = dict(actor=TEACHER, filter=DashboardFilter.last(1, now=earlier), now=earlier)
    assert_same_cost(cost_meter.class_cost(class_of_two, **explicit),
                     cost_meter.class_cost(class_of_two, **explicit))
    assert len(computed) == 2


def test_a_launch_shows_at_once(class_of_two: PortalContext, clock: list[datetime],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = live_cost(class_of_two, clock)
    assert before.environments == 2 and before.running_now == 1
    # carol launches one second after the dashboard drew the class, within the same step.
    clock[0] += timedelta(seconds=1)
    add(class_of_two, launched("e-carol", at=clock[0], owner="carol", price=2.0, lease_hours=3,
                               status="launching"))
    clock[0] += timedelta(seconds=1)
    after = live_cost(class_of_two, clock)
    assert after.environments == 3 and after.running_now == 2
    assert running_env_ids(after) == {"e-alice", "e-carol"}
    assert "carol" in set(after.per_student["owner"])
    carol = after.per_environment.set_index("env_id").loc["e-carol"]
    assert carol["status"] == "launching"
    # Projected to the end of its three-hour lease: $6 more than before.
    assert after.projected_usd == pytest.approx(before.projected_usd + 6.0, abs=0.01)
    assert after.now <= clock[0]
    # Every session drawing the class in that state, within the step, shares the result.
    computed = counting(monkeypatch, cost_meter, "_class_cost")
    clock[0] += timedelta(milliseconds=500)
    assert_same_cost(after, live_cost(class_of_two, clock))
    assert computed == []


def test_a_destroy_shows_at_once(class_of_two: PortalContext, clock: list[datetime]) -> None:
    before = live_cost(class_of_two, clock)
    assert running_env_ids(before) == {"e-alice"}
    clock[0] += timedelta(seconds=1)
    with class_of_two.sessions() as session, session.begin():
        session.add(Run(env_id="e-alice", kind="destroy", status="succeeded",
                        started_at=clock[0] - timedelta(milliseconds=500), ended_at=clock[0],
                        deadline_at=clock[0] + timedelta(hours=1)))
        session.execute(update(Environment).where(Environment.id == "e-alice")
                        .values(status="destroyed", updated_at=clock[0]))
    clock[0] += timedelta(seconds=1)
    after = live_cost(class_of_two, clock)
    assert after.running_now == 0 and running_env_ids(after) == set()
    alice = after.per_environment.set_index("env_id").loc["e-alice"]
    assert alice["status"] == "destroyed" and alice["lease_left_hours"] == 0
    # Nothing runs on: the projection is what was spent.
    assert after.projected_usd == pytest.approx(after.total_usd)
    assert after.projected_usd < before.projected_usd


def test_a_lease_extension_shows_at_once(class_of_two: PortalContext,
                                         clock: list[datetime]) -> None:
    before = live_cost(class_of_two, clock)
    clock[0] += timedelta(seconds=1)
    environment_service.extend_lease(class_of_two, actor=TEACHER, env_id="e-alice", hours=3,
                                     now=clock[0])
    after = live_cost(class_of_two, clock)
    # Three more hours at $0.50.
    assert after.projected_usd == pytest.approx(before.projected_usd + 1.5, abs=1e-6)
    alice = after.per_environment.set_index("env_id").loc["e-alice"]
    assert alice["lease_left_hours"] == pytest.approx(
        before.per_environment.set_index("env_id").loc["e-alice", "lease_left_hours"] + 3,
        abs=1e-3)


def test_a_changed_row_shows_at_once(class_of_two: PortalContext, clock: list[datetime],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = live_cost(class_of_two, clock)
    with class_of_two.sessions() as session, session.begin():
        session.execute(update(Environment).where(Environment.id == "e-bob")
                        .values(hourly_cost_usd=3.0))
    computed = counting(monkeypatch, cost_meter, "_class_cost")
    after = live_cost(class_of_two, clock)
    assert len(computed) == 1
    assert after.total_usd == pytest.approx(before.total_usd + 2 * 2.0, abs=1e-3)


def test_class_cost_hands_out_copies(class_of_two: PortalContext, clock: list[datetime]) -> None:
    first = live_cost(class_of_two, clock)
    expected = {name: getattr(first, name).copy() for name in
                ("per_environment", "per_student", "per_template", "per_day", "burn_down")}
    expected_lists = (list(first.unpriced), list(first.clouds))
    for name in expected:
        frame = getattr(first, name)
        frame.loc[:, frame.select_dtypes("number").columns] = -1
        frame.iloc[0, 0] = None
    first.unpriced.append("e-nobody")
    first.clouds.append("moon")
    second = live_cost(class_of_two, clock)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(getattr(second, name), frame)
    assert (second.unpriced, second.clouds) == expected_lists
    second.per_student.loc[:, "spent_usd"] = 1e6
    assert live_cost(class_of_two, clock).per_student["spent_usd"].max() < 10


def test_two_sessions_asking_at_once_get_the_same_class_cost(
        class_of_two: PortalContext, clock: list[datetime]) -> None:
    first, second = at_once(lambda: live_cost(class_of_two, clock))
    assert_same_cost(first, second)
    assert first.total_usd == pytest.approx(3.0, abs=1e-3)
    assert first.environments == 2 and first.students == 2
    first.per_environment.loc[:, "cost_usd"] = -1.0
    assert (second.per_environment["cost_usd"] > 0).all()
    # A launch, then two sessions at once: both see it.
    clock[0] += timedelta(seconds=1)
    add(class_of_two, launched("e-carol", at=clock[0], owner="carol", status="launching"))
    clock[0] += timedelta(seconds=1)
    third, fourth = at_once(lambda: live_cost(class_of_two, clock))
    assert_same_cost(third, fourth)
    assert third.environments == 3 and third.running_now == 2
