"""The cost meter against a real history database (SQLite, and PostgreSQL when
PORTAL_TEST_DATABASE_URL is set): environments and runs written through the models, sums worked
out here by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import event

from services.settings import Settings
from services import cost_meter, cost_service, template_model
from services.context import PortalContext
from services.environment_service import render_template
from services.history.models import Environment, Run
from services.identity import Actor, Role
from services.monitoring.filters import DashboardFilter

# 22:00 UTC, two hours before a midnight.
T0 = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
TEACHER = Actor("ms-lee", Role.INSTRUCTOR)
ALICE = Actor("alice", Role.STUDENT)


def _context(tmp_path: Path, url: str, **settings: Any) -> PortalContext:
    return PortalContext(Settings(data_dir=tmp_path, database_url=url, **settings))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def meter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PortalContext]:
    """A context on a fresh history database of either dialect."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    ctx = _context(tmp_path, url)
    yield ctx
    ctx.sessions.kw["bind"].dispose()


@pytest.fixture
def sqlite_meter(tmp_path: Path) -> Iterator[PortalContext]:
    ctx = _context(tmp_path, f"sqlite:///{tmp_path / 'history.db'}", student_budget_usd=10.0)
    yield ctx
    ctx.sessions.kw["bind"].dispose()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def run(kind: str, status: str, start: datetime, end: datetime | None, **extra: Any) -> Run:
    return Run(kind=kind, status=status, started_at=start, ended_at=end,
               deadline_at=start + timedelta(minutes=30), **extra)


def environment(env_id: str, *, owner: str = "alice", price: float | None = 0.10,
                launched: datetime = T0, status: str = "ready", runs: list[Run] | None = None,
                lease_hours: int = 4, template_id: str = "web-server", course: str = "default",
                cloud: str = "embedded", parameters: dict[str, Any] | None = None,
                updated: datetime | None = None) -> Environment:
    """An environment whose launch run starts at `launched`; `runs` replace the default
    successful launch of one minute."""
    env = Environment(id=env_id, template_id=template_id, owner=owner, course=course,
                      status=status, parameters=parameters or {}, outputs={}, cloud=cloud,
                      region="us-east-1", deployment_name=f"sbx-{env_id}", created_at=launched,
                      updated_at=updated or launched, lease_hours=lease_hours,
                      expires_at=launched + timedelta(hours=lease_hours), hourly_cost_usd=price)
    env.runs = runs if runs is not None else [
        run("launch", "succeeded", launched, launched + timedelta(minutes=1))]
    return env


def destroyed(env_id: str, *, start: datetime, end: datetime, **kwargs: Any) -> Environment:
    return environment(env_id, launched=start, status="destroyed", updated=end, runs=[
        run("launch", "succeeded", start, start + timedelta(minutes=1)),
        run("destroy", "succeeded", end - timedelta(minutes=1), end),
    ], **kwargs)


def add(ctx: PortalContext, *envs: Environment) -> None:
    with ctx.sessions() as session, session.begin():
        session.add_all(envs)


def window(start: datetime, end: datetime, **choices: tuple[str, ...]) -> DashboardFilter:
    return DashboardFilter(start=start, end=end, **choices)


def cost_of(ctx: PortalContext, *, start: datetime = at(-24), end: datetime = at(24),
            now: datetime = at(24), actor: Actor = TEACHER,
            **choices: tuple[str, ...]) -> cost_meter.ClassCost:
    return cost_meter.class_cost(ctx, actor=actor, filter=window(start, end, **choices), now=now)


def student(cost: cost_meter.ClassCost, owner: str) -> dict[str, Any]:
    rows = cost.per_student.set_index("owner")
    return rows.loc[owner].to_dict()


# -- metering -------------------------------------------------------------------------------------
def test_ninety_minutes_at_ten_cents_an_hour_cost_fifteen_cents(meter: PortalContext) -> None:
    add(meter, destroyed("e1", start=T0, end=at(1.5)))
    cost = cost_of(meter)
    assert cost.total_usd == pytest.approx(0.15, abs=1e-12)
    assert cost.projected_usd == pytest.approx(0.15, abs=1e-12)
    assert cost.environments == 1 and cost.running_now == 0
    row = cost.per_environment.iloc[0]
    assert row["hours"] == pytest.approx(1.5)
    assert row["ended_at"] == pd.Timestamp(at(1.5))
    assert student(cost, "alice")["cost_usd"] == pytest.approx(0.15)
    assert cost.per_template.to_dict("records") == [
        {"template_id": "web-server", "environments": 1, "running": 0,
         "cost_usd": pytest.approx(0.15), "projected_usd": pytest.approx(0.15)}]


def test_a_day_is_split_exactly_at_utc_midnight(meter: PortalContext) -> None:
    # 23:00 to 01:30 at $0.10: one hour on the 10th, an hour and a half on the 11th.
    add(meter, destroyed("e1", start=at(1), end=at(3.5)),
        # Stops at midnight exactly: nothing on the 11th.
        destroyed("e2", start=at(0), end=at(2), price=1.0, template_id="three-tier"))
    days = {(row["day"].date().isoformat(), row["template_id"]): row["cost_usd"]
            for row in cost_of(meter).per_day.to_dict("records")}
    assert days == {("2026-03-10", "web-server"): pytest.approx(0.10),
                    ("2026-03-11", "web-server"): pytest.approx(0.15),
                    ("2026-03-10", "three-tier"): pytest.approx(2.0)}


def test_the_window_clips_what_ran_before_and_after_it(meter: PortalContext) -> None:
    add(meter, destroyed("e1", start=T0, end=at(3)),
        destroyed("e2", start=at(-30), end=at(-26)))
    cost = cost_of(meter, start=at(0.5), end=at(1.25))
    assert cost.total_usd == pytest.approx(0.075)
    assert list(cost.per_environment["env_id"]) == ["e1"]
    assert cost.per_day["cost_usd"].sum() == pytest.approx(0.075)


def test_a_running_environment_costs_until_now_and_is_projected_to_its_lease_end(
        meter: PortalContext) -> None:
    add(meter, environment("e1", price=0.20, lease_hours=4))
    cost = cost_of(meter, end=at(1), now=at(1))
    assert cost.total_usd == pytest.approx(0.20)
    # Three hours of lease left at $0.20.
    assert cost.projected_usd == pytest.approx(0.80)
    assert cost.running_now == 1
    row = cost.per_environment.iloc[0]
    assert bool(row["running"]) and pd.isna(row["ended_at"])
    assert row["lease_left_hours"] == pytest.approx(3.0)
    # Asked again a little later, the meter has moved on: nothing lags behind the clock.
    later = cost_of(meter, end=at(1.5), now=at(1.5))
    assert later.total_usd == pytest.approx(0.30)
    assert later.projected_usd == pytest.approx(0.80)


def test_a_failed_launch_costs_what_it_made_until_its_clean_up_ends(
        meter: PortalContext) -> None:
    add(meter,
        # Its clean-up removed everything; the destroy started at the lease's end removes nothing
        # more and adds nothing.
        environment("cleaned", status="destroyed", runs=[
            run("launch", "failed", T0, at(0.5), leftovers=[], error="CREATE_FAILED"),
            run("destroy", "succeeded", at(4), at(4.1))]),
        # The clean-up left a resource behind: it costs until a destroy removes it.
        environment("left", status="failed", runs=[
            run("launch", "failed", T0, at(0.5), leftovers=["ec2 instance i-1"],
                error="CREATE_FAILED")]),
        # The clean-up itself crashed: nothing says what remains, so it still costs.
        environment("crashed", status="failed", runs=[
            run("launch", "failed", T0, at(0.5), leftovers=[],
                error="CREATE_FAILED; clean-up failed (RuntimeError: boom): destroy it to retry")]),
        # Interrupted launch (the portal process died): no clean-up ran.
        environment("interrupted", status="failed", runs=[
            run("launch", "failed", T0, at(0.5), error="interrupted")]),
    )
    cost = cost_of(meter, end=at(5), now=at(5))
    hours = dict(zip(cost.per_environment["env_id"], cost.per_environment["hours"]))
    assert hours == {"cleaned": pytest.approx(0.5), "left": pytest.approx(5.0),
                     "crashed": pytest.approx(5.0), "interrupted": pytest.approx(5.0)}
    assert cost.running_now == 3


def test_a_failed_destroy_keeps_costing_until_a_destroy_succeeds(meter: PortalContext) -> None:
    add(meter,
        environment("retried", status="destroyed", runs=[
            run("launch", "succeeded", T0, at(0.1)),
            run("destroy", "failed", at(1), at(1.1), error="1 resources remain"),
            run("destroy", "succeeded", at(2), at(2.5))]),
        environment("stuck", status="failed", runs=[
            run("launch", "succeeded", T0, at(0.1)),
            run("destroy", "failed", at(1), at(1.1), error="1 resources remain")]),
        environment("destroying", status="destroying", runs=[
            run("launch", "succeeded", T0, at(0.1)),
            run("destroy", "running", at(2.9), None)]),
        # The embedded cloud that held it stopped: nothing of it exists since.
        environment("lost", status="lost", updated=at(1.25)))
    cost = cost_of(meter, end=at(3), now=at(3))
    hours = dict(zip(cost.per_environment["env_id"], cost.per_environment["hours"]))
    assert hours == {"retried": pytest.approx(2.5), "stuck": pytest.approx(3.0),
                     "destroying": pytest.approx(3.0), "lost": pytest.approx(1.25)}


def test_students_get_their_own_environments_only(meter: PortalContext) -> None:
    add(meter, destroyed("a1", start=T0, end=at(1)),
        destroyed("b1", start=T0, end=at(1), owner="bob", price=5.0))
    mine = cost_of(meter, actor=ALICE, owners=("bob",))
    assert list(mine.per_environment["env_id"]) == ["a1"]
    assert mine.total_usd == pytest.approx(0.10)
    assert list(mine.per_student["owner"]) == ["alice"]
    everyone = cost_of(meter)
    assert everyone.total_usd == pytest.approx(5.10)
    assert list(everyone.top_spenders(1)["owner"]) == ["bob"]


def test_course_and_template_choices(meter: PortalContext) -> None:
    add(meter, destroyed("w", start=T0, end=at(1)),
        destroyed("t", start=T0, end=at(1), template_id="three-tier", price=1.0),
        destroyed("other", start=T0, end=at(1), course="cs-202", price=3.0))
    assert cost_of(meter, templates=("three-tier",)).total_usd == pytest.approx(1.0)
    assert cost_of(meter, courses=("default",)).total_usd == pytest.approx(1.10)
    assert cost_of(meter, courses=("cs-202",)).total_usd == pytest.approx(3.0)


# -- budgets --------------------------------------------------------------------------------------
def test_the_day_a_student_is_projected_to_cross_the_budget(sqlite_meter: PortalContext) -> None:
    # Budget $10. $2/h from 22:00 for a 24-hour lease: $6 spent at 01:00, the remaining $4 take
    # two more hours, so the projection crosses at 03:00 on the 11th.
    add(sqlite_meter, environment("e1", price=2.0, lease_hours=24))
    cost = cost_of(sqlite_meter, end=at(3), now=at(3))
    alice = student(cost, "alice")
    assert alice["spent_usd"] == pytest.approx(6.0)
    assert alice["remaining_usd"] == pytest.approx(4.0)
    assert alice["projected_spent_usd"] == pytest.approx(48.0)
    assert alice["projected_remaining_usd"] == pytest.approx(-38.0)
    assert alice["crosses_budget_at"] == pd.Timestamp(at(5))
    assert cost_meter.budget_day(alice["crosses_budget_at"]).isoformat() == "2026-03-11"
    assert not alice["over_budget"]
    assert cost.budget_used_pct == pytest.approx(60.0)


def test_a_student_already_over_budget_crossed_it_in_the_past(sqlite_meter: PortalContext
                                                              ) -> None:
    # $4/h from 22:00 to 01:00 is $12: the $10 were gone at 00:30.
    add(sqlite_meter, destroyed("e1", start=T0, end=at(3), price=4.0))
    alice = student(cost_of(sqlite_meter), "alice")
    assert alice["over_budget"]
    assert alice["crosses_budget_at"] == pd.Timestamp(at(2.5))
    assert alice["remaining_usd"] == pytest.approx(-2.0)


def test_a_student_inside_the_budget_crosses_nothing(sqlite_meter: PortalContext) -> None:
    add(sqlite_meter, environment("e1", price=0.5, lease_hours=4))
    alice = student(cost_of(sqlite_meter, end=at(1), now=at(1)), "alice")
    assert pd.isna(alice["crosses_budget_at"])
    assert alice["projected_spent_usd"] == pytest.approx(2.0)


def test_the_budget_counts_spending_before_the_window_and_on_other_templates(
        sqlite_meter: PortalContext) -> None:
    add(sqlite_meter, destroyed("before", start=at(-48), end=at(-46), price=1.0),
        destroyed("other", start=T0, end=at(1), price=3.0, template_id="three-tier"),
        destroyed("seen", start=T0, end=at(1), price=0.5))
    cost = cost_of(sqlite_meter, start=at(-1), templates=("web-server",))
    alice = student(cost, "alice")
    assert alice["cost_usd"] == pytest.approx(0.5)
    assert alice["spent_usd"] == pytest.approx(5.5)
    assert alice["budget_used_pct"] == pytest.approx(55.0)


def test_burn_down_runs_from_the_window_start_to_the_lease_end(sqlite_meter: PortalContext
                                                               ) -> None:
    add(sqlite_meter, destroyed("before", start=at(-48), end=at(-47), price=1.0),
        environment("e1", price=2.0, lease_hours=4))
    cost = cost_of(sqlite_meter, start=at(-24), end=at(1), now=at(1))
    curve = cost.burn_down[cost.burn_down["owner"] == "alice"]
    metered = curve[~curve["projected"]].set_index("at")["remaining_usd"]
    projected = curve[curve["projected"]].set_index("at")["remaining_usd"]
    # $1 went before the window: the line starts at $9.
    assert metered.loc[pd.Timestamp(at(-24))] == pytest.approx(9.0)
    # An hour at $2 since.
    assert metered.loc[pd.Timestamp(at(1))] == pytest.approx(7.0)
    assert metered.index.max() == pd.Timestamp(at(1))
    # The projection starts where the meter stops and ends with the lease.
    assert list(projected.index) == [pd.Timestamp(at(1)), pd.Timestamp(at(4))]
    assert list(projected) == [pytest.approx(7.0), pytest.approx(1.0)]
    # Midnights inside the window are points of the line (a reading per day).
    assert pd.Timestamp(datetime(2026, 3, 10, tzinfo=UTC)) in metered.index


# -- prices ---------------------------------------------------------------------------------------
def _estimate(ctx: PortalContext, template_id: str, **parameters: Any) -> float:
    rendered = render_template(ctx, template_id=template_id, parameters=parameters)
    resolved = template_model.resolve_rendered(rendered, region="us-east-1")
    return float(cost_service.estimate(resolved, hours=1).total_hourly_usd)


def test_hourly_cost_is_the_price_tables_hourly_total(sqlite_meter: PortalContext) -> None:
    for template_id, parameters in [("web-server", {"instance_type": "t3.small"}),
                                    ("three-tier", {}), ("ha-web", {})]:
        price = cost_meter.hourly_cost_usd(sqlite_meter, template_id=template_id,
                                           parameters=parameters, region="us-east-1")
        assert price == pytest.approx(_estimate(sqlite_meter, template_id, **parameters))
        assert price > 0
    assert cost_meter.hourly_cost_usd(sqlite_meter, template_id="web-server", parameters={},
                                      region="mars-north-1") is None
    assert cost_meter.hourly_cost_usd(sqlite_meter, template_id="gone", parameters={},
                                      region="us-east-1") is None


def test_rows_without_a_stored_price_are_priced_from_the_table(sqlite_meter: PortalContext
                                                               ) -> None:
    add(sqlite_meter,
        destroyed("old", start=T0, end=at(2), price=None,
                  parameters={"instance_type": "t3.small"}),
        destroyed("unknown", start=T0, end=at(2), price=None, template_id="retired"))
    cost = cost_of(sqlite_meter)
    expected = _estimate(sqlite_meter, "web-server", instance_type="t3.small")
    assert cost.total_usd == pytest.approx(2 * expected)
    assert cost.unpriced == ["unknown"]
    assert cost.environments == 2


# -- shape ----------------------------------------------------------------------------------------
def test_a_class_costs_two_queries_whatever_its_size(sqlite_meter: PortalContext) -> None:
    envs = [destroyed(f"e{i:03d}", start=at(-i / 10), end=at(1), owner=f"student{i % 30}")
            for i in range(200)]
    add(sqlite_meter, *envs)
    statements: list[str] = []
    engine = sqlite_meter.sessions.kw["bind"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        cost = cost_of(sqlite_meter)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 2
    assert cost.environments == 200 and cost.students == 30


def test_nothing_ran(meter: PortalContext) -> None:
    cost = cost_of(meter)
    assert (cost.total_usd, cost.projected_usd, cost.environments, cost.students) == (0, 0, 0, 0)
    assert cost.per_day.empty and cost.burn_down.empty and cost.top_spenders().empty
    assert cost.budget_used_pct == 0.0
    json.dumps(cost.to_json())


def test_to_json_is_plain_json(sqlite_meter: PortalContext) -> None:
    add(sqlite_meter, environment("e1", price=2.0, lease_hours=24),
        destroyed("e2", start=T0, end=at(1), owner="bob"))
    data = json.loads(json.dumps(cost_of(sqlite_meter, end=at(3), now=at(3)).to_json()))
    assert data["total_usd"] == pytest.approx(6.1)
    assert data["running_now"] == 1
    assert data["clouds"] == ["embedded"]
    alice = next(s for s in data["per_student"] if s["owner"] == "alice")
    assert alice["crosses_budget_at"] == "2026-03-11T03:00:00+00:00"
    bob = next(s for s in data["per_student"] if s["owner"] == "bob")
    assert bob["crosses_budget_at"] is None
    assert {row["day"] for row in data["per_day"]} == {"2026-03-10T00:00:00+00:00",
                                                      "2026-03-11T00:00:00+00:00"}
