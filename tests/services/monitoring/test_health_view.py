"""The Health views on a real history database: the throttle rule, baselines, who sees what,
launch/destroy/deployment timings and the per-resource waterfall of a run."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from services import settings as settings_module
from services import context as context_module
from services.context import PortalContext
from services.errors import EnvironmentNotFoundError
from services.monitoring import health_view
from services.monitoring.filters import DashboardFilter
from tests.services.monitoring.health_history import (
    ALICE,
    BOB,
    DAY,
    NOW,
    T0,
    TEACHER,
    add_events,
    alice_balance,
    alice_cpu,
    build_class,
)

@pytest.fixture
def history(ctx: PortalContext) -> dict[str, int]:
    return build_class(ctx)


def by_instance(health: health_view.ClassHealth) -> dict[str, dict[str, object]]:
    return {row["instance_id"]: row for row in health.instances.to_dict("records")}


def test_throttled_hours_need_an_empty_balance_and_the_cpu_held_at_the_baseline(
        ctx: PortalContext, history: dict[str, int]) -> None:
    health = health_view.class_health(ctx, actor=TEACHER, filter=DAY, now=NOW)
    rows = by_instance(health)
    assert set(rows) == {"i-alice", "i-bob-1", "i-bob-2"}
    # Hours 4-7 at the baseline and hour 8 within the tolerance; not hour 9 (above it, so
    # bursting) nor 10 (idle on an empty balance), nor the two hours before the window.
    assert rows["i-alice"]["hours_throttled"] == 5
    assert rows["i-alice"]["first_throttled"] == pd.Timestamp(T0 + timedelta(hours=4))
    alice_hours = health.hours[health.hours["instance_id"] == "i-alice"]
    assert alice_hours.loc[alice_hours["throttled"], "hour"].tolist() == [
        pd.Timestamp(T0 + timedelta(hours=h)) for h in range(4, 9)]
    assert rows["i-bob-1"]["hours_throttled"] == 24
    assert rows["i-bob-2"]["hours_throttled"] == 0
    assert (rows["i-alice"]["baseline_percent"], rows["i-bob-1"]["baseline_percent"]) == (10, 20)
    assert rows["i-alice"]["min_balance"] == 0.0 and rows["i-bob-2"]["min_balance"] == 50.0
    assert rows["i-alice"]["hours_observed"] == 24 and rows["i-bob-2"]["hours_observed"] == 6
    assert [rows[i]["replaced"] for i in ("i-alice", "i-bob-1", "i-bob-2")] == [
        False, False, True]
    assert [rows[i]["simulated"] for i in ("i-alice", "i-bob-1")] == [True, False]
    assert health.simulated == 1
    assert health.instances["instance_id"].tolist()[:2] == ["i-bob-1", "i-alice"]
    assert (rows["i-bob-1"]["owner"], rows["i-bob-1"]["template_id"]) == ("bob", "ha-web")


def test_the_class_view_shows_the_hourly_rollups_of_the_raw_points(
        ctx: PortalContext, history: dict[str, int]) -> None:
    health = health_view.class_health(ctx, actor=TEACHER, filter=DAY, now=NOW)
    assert health.resolution_s == 3600
    alice = health.hours[health.hours["instance_id"] == "i-alice"].set_index("hour")
    assert len(alice) == 24
    raw = pd.DataFrame({"at": [T0 + timedelta(minutes=5 * i) for i in range(288)],
                        "balance": [alice_balance(i) for i in range(288)],
                        "cpu": [alice_cpu(i) for i in range(288)]})
    hourly = raw.groupby(pd.to_datetime(raw["at"], utc=True).dt.floor("h")).agg(
        balance=("balance", "last"), balance_min=("balance", "min"), cpu=("cpu", "mean"),
        cpu_max=("cpu", "max"))
    for column in ("balance", "balance_min", "cpu", "cpu_max"):
        assert alice[column].to_numpy() == pytest.approx(hourly[column].to_numpy()), column


def test_students_see_their_own_instances_whatever_they_choose(
        ctx: PortalContext, history: dict[str, int]) -> None:
    chosen = DashboardFilter(start=DAY.start, end=DAY.end, owners=("bob",))
    health = health_view.class_health(ctx, actor=ALICE, filter=chosen, now=NOW)
    assert health.instances["instance_id"].tolist() == ["i-alice"]
    assert set(health.hours["instance_id"]) == {"i-alice"}
    assert health_view.filter_options(ctx, ALICE) == health_view.FilterOptions(
        courses=("default",), owners=("alice",), templates=("web-server",))
    assert health_view.filter_options(ctx, TEACHER).owners == ("alice", "bob", "carol")


def test_instructors_filter_by_template_and_window(
        ctx: PortalContext, history: dict[str, int]) -> None:
    ha_web = DashboardFilter(start=DAY.start, end=DAY.end, templates=("ha-web",))
    assert set(health_view.class_health(ctx, actor=TEACHER, filter=ha_web, now=NOW)
               .instances["instance_id"]) == {"i-bob-1", "i-bob-2"}
    # The day before: carol's environment still existed, bob's had not started.
    before = DashboardFilter(start=T0 - timedelta(days=2), end=T0 - timedelta(hours=12))
    rows = by_instance(health_view.class_health(ctx, actor=TEACHER, filter=before, now=NOW))
    assert set(rows) == {"i-carol"} and rows["i-carol"]["hours_throttled"] == 24
    empty = health_view.class_health(ctx, actor=TEACHER, filter=ha_web,
                                     now=T0 - timedelta(days=5))
    assert empty.is_empty and empty.simulated == 0


def test_lines_beyond_the_budget_are_thinned_for_drawing_but_every_hour_counts(
        ctx: PortalContext, history: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    month = DashboardFilter(start=NOW - timedelta(days=40), end=NOW)
    assert health_view.class_health(ctx, actor=TEACHER, filter=month,
                                    now=NOW).resolution_s == 3600
    # 4 instances x 960 hours in at most 1,300 points: 3-hour spans.
    monkeypatch.setattr(health_view, "CHART_POINT_BUDGET", 1300)
    health = health_view.class_health(ctx, actor=TEACHER, filter=month, now=NOW)
    assert health.resolution_s == 3 * 3600
    # The 5 hours of the day and the 2 before it, each counted although spans are 3 hours.
    assert by_instance(health)["i-alice"]["hours_throttled"] == 7
    alice = health.hours[health.hours["instance_id"] == "i-alice"]
    assert alice["hour"].diff().dropna().min() >= pd.Timedelta(hours=3)
    # The hour-8 span's lowest balance is kept; its end balance is the last hour's.
    span = alice.set_index("hour").loc[pd.Timestamp(T0 + timedelta(hours=6))]
    assert bool(span["throttled"]) and span["balance_min"] == 0.0
    assert span["balance"] == pytest.approx(alice_balance(8 * 12 + 11))


def test_the_detail_of_one_instance_reads_its_raw_points(
        ctx: PortalContext, history: dict[str, int]) -> None:
    detail = health_view.instance_detail(ctx, actor=ALICE, instance_id="i-alice", filter=DAY)
    assert (detail.env_id, detail.owner, detail.instance_type, detail.baseline_percent) == (
        "e-alice", "alice", "t3.micro", 10)
    assert detail.simulated
    points = detail.points
    assert len(points) == 288
    assert list(points.columns) == ["at", "balance", "cpu", "credit_usage", "surplus",
                                    "throttled"]
    assert points["cpu"].tolist() == [alice_cpu(i) for i in range(288)]
    assert points["credit_usage"].iloc[0] == pytest.approx(40 / 100 * 2 * 5)
    assert int(points["throttled"].sum()) == 60
    assert detail.throttled_spans == [(pd.Timestamp(T0 + timedelta(hours=4)),
                                       pd.Timestamp(T0 + timedelta(hours=9)))]
    with pytest.raises(EnvironmentNotFoundError):
        health_view.instance_detail(ctx, actor=BOB, instance_id="i-alice", filter=DAY)


def test_scaling_activities_in_the_window_with_their_causes(
        ctx: PortalContext, history: dict[str, int]) -> None:
    timeline = health_view.scaling_timeline(ctx, actor=TEACHER, filter=DAY)
    rows = timeline.activities
    assert rows["activity_id"].tolist() == ["a-2", "a-3"]
    assert rows["action"].tolist() == ["Terminating", "Launching"]
    assert "ELB system health check failure" in rows["cause"].iloc[0]
    assert rows["start"].iloc[0] == pd.Timestamp(T0 + timedelta(hours=6))
    assert (rows["end"] - rows["start"]).iloc[0] == pd.Timedelta(seconds=60)
    assert set(rows["owner"]) == {"bob"} and timeline.simulated == 0
    assert health_view.scaling_timeline(ctx, actor=ALICE, filter=DAY).activities.empty


def test_launch_destroy_and_deployment_durations(ctx: PortalContext,
                                                 history: dict[str, int]) -> None:
    window = DashboardFilter(start=T0 - timedelta(hours=4), end=NOW)
    timings = health_view.deploy_timings(ctx, actor=TEACHER, filter=window)
    runs = timings.runs.set_index("run_id")
    assert set(runs.index) == {history["alice"], history["bob"], history["bob_destroy"]}
    assert runs.loc[history["alice"], "duration_s"] == 42
    assert runs.loc[history["bob"], ["kind", "template_id", "duration_s"]].tolist() == [
        "launch", "ha-web", 300]
    assert runs.loc[history["bob_destroy"], ["kind", "duration_s"]].tolist() == ["destroy", 120]
    assert runs["simulated"].to_dict() == {history["alice"]: True, history["bob"]: False,
                                           history["bob_destroy"]: False}

    deployments = timings.deployments.set_index("deployment_id")
    assert deployments.loc["d-1", ["waiting_s", "running_s", "duration_s"]].tolist() == [
        10, 95, 105]
    assert deployments.loc["d-2", "status"] == "Failed"
    assert pd.isna(deployments.loc["d-3", "duration_s"])  # still going
    mine = health_view.deploy_timings(ctx, actor=ALICE, filter=window)
    assert mine.runs["run_id"].tolist() == [history["alice"]] and mine.deployments.empty
    assert mine.simulated == 1


def test_the_waterfall_pairs_each_resource_start_with_its_end(ctx: PortalContext,
                                                              history: dict[str, int]) -> None:
    stack = "AWS::CloudFormation::Stack"
    with ctx.sessions() as session, session.begin():
        add_events(session, run_id=history["alice"], start=T0, events=[
            (0.0, "sbx-e-alice", stack, "CREATE_IN_PROGRESS"),
            (1.0, "Vpc", "AWS::EC2::VPC", "CREATE_IN_PROGRESS"),
            (1.5, "Vpc", "AWS::EC2::VPC", "CREATE_IN_PROGRESS"),  # "Resource creation Initiated"
            (4.0, "Vpc", "AWS::EC2::VPC", "CREATE_COMPLETE"),
            (4.5, "Subnet", "AWS::EC2::Subnet", "CREATE_IN_PROGRESS"),
            (5.0, "Server", "AWS::EC2::Instance", "CREATE_IN_PROGRESS"),
            (6.0, "Subnet", "AWS::EC2::Subnet", "CREATE_FAILED"),
            (7.0, "Subnet", "AWS::EC2::Subnet", "DELETE_IN_PROGRESS"),
            (8.0, "Subnet", "AWS::EC2::Subnet", "DELETE_COMPLETE"),
            (8.5, "Bucket", "AWS::S3::Bucket", "DELETE_SKIPPED"),
            (9.0, "sbx-e-alice", stack, "CREATE_COMPLETE"),
        ])
    waterfall = health_view.run_waterfall(ctx, actor=ALICE, run_id=history["alice"])
    assert (waterfall.kind, waterfall.env_id, waterfall.simulated) == ("launch", "e-alice", True)
    rows = waterfall.resources
    assert list(zip(rows["logical_id"], rows["action"], strict=True)) == [
        ("sbx-e-alice", "CREATE"), ("Vpc", "CREATE"), ("Subnet", "CREATE"),
        ("Server", "CREATE"), ("Subnet", "DELETE")]
    assert rows["duration_s"].tolist()[:3] == [9.0, 3.0, 1.5]
    assert pd.isna(rows["duration_s"].iloc[3]) and pd.isna(rows["end"].iloc[3])
    assert rows["duration_s"].iloc[4] == 1.0
    assert rows["status"].tolist() == ["CREATE_COMPLETE", "CREATE_COMPLETE", "CREATE_FAILED",
                                       "CREATE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert rows["start"].iloc[1] == pd.Timestamp(T0 + timedelta(seconds=1))
    with pytest.raises(EnvironmentNotFoundError):
        health_view.run_waterfall(ctx, actor=BOB, run_id=history["alice"])
    empty = health_view.run_waterfall(ctx, actor=BOB, run_id=history["bob"])
    assert empty.resources.empty


@pytest.mark.postgres
def test_the_class_view_on_postgresql(portal_env: dict[str, str], postgres_url: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url)
    settings_module.get_settings.cache_clear()
    context_module._context = None
    pg = context_module.get_context()
    assert pg.sessions.kw["bind"].dialect.name == "postgresql"
    build_class(pg)
    health = health_view.class_health(pg, actor=TEACHER, filter=DAY, now=NOW)
    rows = by_instance(health)
    assert {i: rows[i]["hours_throttled"] for i in rows} == {"i-alice": 5, "i-bob-1": 24,
                                                             "i-bob-2": 0}
    assert rows["i-bob-2"]["replaced"] and rows["i-alice"]["simulated"]
    alice = health.hours[health.hours["instance_id"] == "i-alice"]
    assert alice["hour"].tolist() == [pd.Timestamp(T0 + timedelta(hours=h)) for h in range(24)]
    assert alice["cpu"].iloc[0] == pytest.approx(40.0)
    month = DashboardFilter(start=NOW - timedelta(days=40), end=NOW)
    assert by_instance(health_view.class_health(pg, actor=TEACHER, filter=month, now=NOW))[
        "i-alice"]["hours_throttled"] == 7
    detail = health_view.instance_detail(pg, actor=TEACHER, instance_id="i-alice", filter=DAY)
    assert int(detail.points["throttled"].sum()) == 60
    waterfall_runs = health_view.deploy_timings(pg, actor=TEACHER, filter=DAY).runs
    assert waterfall_runs["duration_s"].tolist() == [120.0]
