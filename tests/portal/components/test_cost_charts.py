"""The cost charts drawn from a real meter reading: the traces say what the meter says, the panel
renders every part, and the embedded cloud's figures are labelled as costing nothing real."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from portal.components.cost_charts import (
    burn_down_figure,
    money,
    panel_views,
    per_day_figure,
    per_student_figure,
    reading_version,
    top_spenders_rows,
)
from services.settings import Settings
from services import cost_meter
from services.context import PortalContext
from services.cost_meter import ClassCost
from services.identity import Actor, Role
from services.monitoring.filters import DashboardFilter
from tests.services.test_cost_meter import T0, add, at, destroyed, environment

TEACHER = Actor("ms-lee", Role.INSTRUCTOR)


@pytest.fixture
def meter(tmp_path: Path) -> Iterator[PortalContext]:
    ctx = PortalContext(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'h.db'}",
                                 student_budget_usd=10.0))
    yield ctx
    ctx.sessions.kw["bind"].dispose()


def reading(ctx: PortalContext, *, now: datetime = at(3), actor: Actor = TEACHER) -> ClassCost:
    return cost_meter.class_cost(ctx, actor=actor, now=now,
                                 filter=DashboardFilter(start=at(-24), end=now))


@pytest.fixture
def class_cost(meter: PortalContext) -> ClassCost:
    # alice: $2/h since 22:00 on a 24-hour lease, over budget by projection at 03:00.
    # bob: two web-server hours ($0.10/h) and an hour of three-tier ($1/h) that ends at midnight.
    add(meter, environment("a1", price=2.0, lease_hours=24),
        destroyed("b1", start=T0, end=at(2), owner="bob"),
        destroyed("b2", start=at(1), end=at(2), owner="bob", price=1.0,
                  template_id="three-tier", cloud="aws"))
    return reading(meter)


def traces(figure) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {trace["name"]: trace for trace in figure.to_dict()["data"]}


def test_cost_per_day_is_stacked_by_template(class_cost: ClassCost) -> None:
    figure = per_day_figure(class_cost)
    drawn = traces(figure)
    assert list(drawn) == ["three-tier", "web-server"]
    assert figure.to_dict()["layout"]["barmode"] == "stack"
    web = drawn["web-server"]
    # The 10th: alice 2 h at $2 + bob 2 h at $0.10; the 11th: alice 1 h.
    assert [str(x)[:10] for x in web["x"]] == ["2026-03-10", "2026-03-11"]
    assert list(web["y"]) == pytest.approx([4.2, 2.0])
    assert list(drawn["three-tier"]["y"]) == pytest.approx([1.0])
    assert sum(sum(t["y"]) for t in drawn.values()) == pytest.approx(class_cost.total_usd)


def test_per_student_bars_with_the_budget_line(class_cost: ClassCost) -> None:
    figure = per_student_figure(class_cost)
    drawn = traces(figure)
    assert list(drawn) == ["in this view", "projected at lease end"]
    assert list(drawn["in this view"]["x"]) == ["alice", "bob"]
    assert list(drawn["in this view"]["y"]) == pytest.approx([6.0, 1.2])
    assert list(drawn["projected at lease end"]["y"]) == pytest.approx([48.0, 1.2])
    budget = [s for s in figure.to_dict()["layout"]["shapes"] if s["y0"] == s["y1"]]
    assert [s["y0"] for s in budget] == [10.0]
    notes = [a["text"] for a in figure.to_dict()["layout"]["annotations"]]
    assert notes == ["budget $10.00"]


def test_spending_outside_the_view_is_a_bar_of_its_own(meter: PortalContext) -> None:
    add(meter, destroyed("old", start=at(-48), end=at(-46), price=1.0),
        destroyed("new", start=T0, end=at(1)))
    drawn = traces(per_student_figure(reading(meter)))
    assert list(drawn["in this view"]["y"]) == pytest.approx([0.1])
    assert list(drawn["before the window or other templates"]["y"]) == pytest.approx([2.0])


def test_burn_down_lines_are_solid_then_dashed_with_the_crossing_marked(
        class_cost: ClassCost) -> None:
    figure = burn_down_figure(class_cost)
    drawn = traces(figure)
    # bob runs nothing now: no projection of his own.
    assert set(drawn) == {"alice", "alice (projected)", "alice crosses the budget", "bob"}
    assert drawn["alice"]["line"]["dash"] == "solid"
    assert drawn["alice (projected)"]["line"]["dash"] == "dash"
    assert drawn["alice"]["line"]["color"] == drawn["alice (projected)"]["line"]["color"]
    # Metered to 01:00 ($6 spent), projected to the lease's end at 22:00 the next day.
    assert drawn["alice"]["y"][-1] == pytest.approx(4.0)
    assert list(drawn["alice (projected)"]["y"]) == pytest.approx([4.0, -38.0])
    # Plotly is handed UTC wall-clock times, so every browser shows UTC.
    assert drawn["alice (projected)"]["x"][-1] == pd.Timestamp("2026-03-11 22:00")
    # $4 left at $2/h: gone at 03:00.
    crossing = drawn["alice crosses the budget"]
    assert list(crossing["x"]) == [pd.Timestamp("2026-03-11 03:00")]
    assert list(crossing["y"]) == [0]
    zero = [s for s in figure.to_dict()["layout"]["shapes"] if s["y0"] == s["y1"] == 0]
    assert len(zero) == 1
    only_bob = traces(burn_down_figure(class_cost, owners=["bob"]))
    assert list(only_bob) == ["bob"]


def test_top_spenders_rank_by_cost_in_view(class_cost: ClassCost) -> None:
    rows = top_spenders_rows(class_cost, n=1)
    assert [(r["student"], r["cost in view (USD)"]) for r in rows] == [("alice",
                                                                        pytest.approx(6.0))]
    assert rows[0]["budget reached on (UTC)"] == "2026-03-11"
    assert rows[0]["budget used"] == pytest.approx(60.0)


def test_the_figures_are_kept_under_a_digest_of_the_reading(meter: PortalContext,
                                                            class_cost: ClassCost) -> None:
    # The same rows read again: the same digest, so the same kept figures.
    assert reading_version(reading(meter)) == reading_version(class_cost)
    add(meter, destroyed("b3", start=T0, end=at(1), owner="bob", price=0.5))
    assert reading_version(reading(meter)) != reading_version(class_cost)
    # And a later moment is another reading: the projection moved.
    assert reading_version(reading(meter, now=at(4))) != reading_version(reading(meter))


def test_money() -> None:
    assert money(12.345) == "$12.35"
    assert money(0.15) == "$0.150"
    assert money(0) == "$0.00"
    assert money(-38) == "-$38.00"


def panel_app(payload: str) -> None:
    import pandas as pd

    from portal.components.cost_charts import cost_metrics, cost_panel
    from services.cost_meter import ClassCost

    cost: ClassCost = pd.read_pickle(payload)
    cost_metrics(cost)
    cost_panel(cost, key="test")


def run_panel(cost: ClassCost, tmp_path: Path) -> AppTest:
    payload = tmp_path / "cost.pkl"
    pd.to_pickle(cost, payload)
    app = AppTest.from_function(panel_app, args=(str(payload),), default_timeout=30).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def plotly_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


VIEW_KEY = "cost_charts.test.view"


def show(app: AppTest, view: str) -> AppTest:
    """Pick one of the panel's views: only that one is drawn."""
    app.segmented_control(key=VIEW_KEY).set_value(view).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def every_view(app: AppTest, *, single: bool = False) -> dict[str, list]:
    """What the panel draws across its views, picked one after the other: the views' labels, and
    the charts, tables and captions of all of them in the views' order."""
    drawn: dict[str, list] = {"views": list(app.segmented_control(key=VIEW_KEY).options),
                              "charts": [], "dataframes": [], "captions": []}
    for view in panel_views(single):
        show(app, view)
        drawn["charts"] += plotly_specs(app)
        drawn["dataframes"] += [frame.value for frame in app.dataframe]
        drawn["captions"] += [c.value for c in app.caption if c.value not in drawn["captions"]]
    return drawn


def test_the_panel_renders_metrics_charts_and_tables(class_cost: ClassCost,
                                                     tmp_path: Path) -> None:
    app = run_panel(class_cost, tmp_path)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Cost so far": money(class_cost.total_usd),
                       "Projected": money(class_cost.projected_usd),
                       "Budget used": f"{class_cost.budget_used_pct:.0f}%",
                       "Running now": "1"}
    # One view at a time: the cost per day first.
    assert len(plotly_specs(app)) == 1 and not app.dataframe
    drawn = every_view(app)
    assert len(drawn["charts"]) == 3
    assert drawn["views"] == ["Cost per day", "Per student", "Budget burn-down", "Top spenders",
                              "Per template"]
    top = drawn["dataframes"][0]
    assert list(top["student"]) == ["alice", "bob"]
    per_template = drawn["dataframes"][1]
    assert per_template["cost so far (USD)"].sum() == pytest.approx(class_cost.total_usd)
    captions = " ".join(drawn["captions"])
    assert "2 of the 3 environments ran on the embedded cloud and cost nothing real" in captions
    assert "until its lease ends" in captions


def test_one_students_panel_has_no_class_parts(meter: PortalContext, tmp_path: Path) -> None:
    add(meter, environment("a1", price=2.0, lease_hours=24),
        destroyed("b1", start=T0, end=at(2), owner="bob"))
    mine = reading(meter, actor=Actor("alice", Role.STUDENT))
    app = run_panel(mine, tmp_path)
    assert app.segmented_control(key=VIEW_KEY).options == ["Cost per day", "Against the budget",
                                                           "Budget burn-down", "Per template"]
    assert "Metered from list prices; environments on the embedded cloud cost nothing real." in [
        c.value.split(" ", 1)[1] for c in app.caption if c.value.startswith(":material/science:")]


def test_many_students_pick_who_is_on_the_burn_down(meter: PortalContext, tmp_path: Path) -> None:
    add(meter, *[destroyed(f"e{i}", start=T0, end=at(1), owner=f"s{i:02d}", price=float(i))
                 for i in range(1, 13)])
    app = show(run_panel(reading(meter), tmp_path), "burn_down")
    picker = app.multiselect[0]
    # The eight projected to spend most.
    assert picker.value == [f"s{i:02d}" for i in range(12, 4, -1)]
    [burn_down] = plotly_specs(app)
    lines = {t["name"] for t in burn_down["data"]}
    assert lines == {f"s{i:02d}" for i in range(5, 13)} | {
        f"s{i} crosses the budget" for i in (10, 11, 12)}
    picker.set_value(["s01"]).run()
    assert {t["name"] for t in plotly_specs(app)[0]["data"]} == {"s01"}


def test_an_empty_window_says_so(meter: PortalContext, tmp_path: Path) -> None:
    app = run_panel(reading(meter), tmp_path)
    assert [i.value for i in app.info] == ["No environment ran in this window."]
    assert not app.get("plotly_chart")
