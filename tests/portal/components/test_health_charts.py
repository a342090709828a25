"""The Health charts: a row of cells per instance and the throttled hours marked, the detail with its
baseline and shaded throttling, activities with their causes, durations and the waterfall; and
the panel drawing them with the simulated label."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from plotly.io import to_json
from streamlit.testing.v1 import AppTest

from portal.components import health_charts, health_figures
from services.context import PortalContext
from services.identity import Actor
from services.monitoring import health_view
from services.monitoring.filters import DashboardFilter
from tests.services.monitoring.health_history import (
    ALICE,
    DAY,
    NOW,
    T0,
    TEACHER,
    add_environment,
    add_events,
    add_instance,
    build_class,
    samples,
)


def _image(figure) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The class chart's image as RGBA pixels."""
    [image] = figure.layout.images
    source = image.source
    assert source.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))


def _cell_pixel(pixels: np.ndarray, grid: health_figures.BalanceGrid, row: int,
                column: int) -> tuple[int, ...]:
    """The pixel at the middle of a cell."""
    rows, columns = grid.balance.shape
    height, width = pixels.shape[:2]
    return tuple(int(v) for v in pixels[int((row + 0.5) * height / rows),
                                        int((column + 0.5) * width / columns)])


BLACK = (0x11, 0x11, 0x11, 255)


def test_a_row_per_instance_most_throttled_on_top_and_its_throttled_hours_marked(
        ctx: PortalContext) -> None:
    build_class(ctx)
    health = health_view.class_health(ctx, actor=TEACHER, filter=DAY, now=NOW)
    grid = health_figures.balance_grid(health)
    assert grid.labels == ["i-bob-1 (bob, ha-web)", "i-alice (alice, web-server)",
                           "i-bob-2 (bob, ha-web)"]
    hours = health.hours
    alice = hours[hours["instance_id"] == "i-alice"].sort_values("hour")
    columns = [pd.Timestamp(x, unit="ms") for x in grid.columns]
    # Each cell is the balance at the end of its hour.
    by_hour = dict(zip(columns, grid.balance[1], strict=True))
    for _, hour in alice.iterrows():
        assert by_hour[hour["hour"].tz_localize(None)] == pytest.approx(hour["balance"])
    # Alice's hours 4 to 8 and bob's whole day are throttled, nothing else.
    start = pd.Timestamp("2026-11-02")
    assert [c for c, m in zip(columns, grid.marked[1], strict=True) if m] == [
        start + timedelta(hours=h) for h in range(4, 9)]
    assert grid.marked[0].sum() == 24 and not grid.marked[2].any()

    figure = health_charts.credit_balance_figure(health)
    [scale, legend] = figure.data
    assert scale.marker.showscale and legend.name == health_charts.THROTTLED_TRACE
    # Every row named on the axis, the most throttled on top.
    assert list(figure.layout.yaxis.ticktext) == grid.labels
    assert list(figure.layout.yaxis.range) == [2.5, -0.5]
    # The image covers the window's hours, and its throttled cells are black.
    [image] = figure.layout.images
    assert (image.x, image.sizex) == (grid.columns[0], 24 * 3600 * 1000)
    pixels = _image(figure)
    assert _cell_pixel(pixels, grid, 1, 5) == BLACK
    assert _cell_pixel(pixels, grid, 1, 12) != BLACK
    assert all(_cell_pixel(pixels, grid, 0, column) == BLACK for column in range(24))
    assert all(_cell_pixel(pixels, grid, 2, column) != BLACK for column in range(24))


def test_a_large_class_is_one_image_with_a_row_per_instance(ctx: PortalContext) -> None:
    with ctx.sessions() as session, session.begin():
        for number in range(20):
            add_environment(session, env_id=f"e-{number:02d}", owner=f"s{number:02d}",
                            created_at=T0 - timedelta(hours=1))
            # Student n is held at the baseline for n hours.
            add_instance(session, env_id=f"e-{number:02d}", instance_id=f"i-{number:02d}",
                         with_usage=False,
                         balance=samples(T0, 24, lambda i, n=number: 0.0 if i < 12 * n else 9),
                         cpu=samples(T0, 24, lambda i: 10.0))
    health = health_view.class_health(ctx, actor=TEACHER, filter=DAY, now=NOW)
    grid = health_figures.balance_grid(health)
    assert [label.split(" ")[0] for label in grid.labels] == [
        f"i-{n:02d}" for n in range(19, -1, -1)]
    assert list(grid.marked.sum(axis=1)) == [min(n, 24) for n in range(19, -1, -1)]
    figure = health_charts.credit_balance_figure(health)
    assert [t.type for t in figure.data] == ["scatter", "scatter"]
    assert len(figure.layout.images) == 1
    pixels = _image(figure)
    black = [sum(_cell_pixel(pixels, grid, row, column) == BLACK for column in range(24))
             for row in range(20)]
    assert black == [min(n, 24) for n in range(19, -1, -1)]


def _class_of(instances: int, hours: int) -> health_view.ClassHealth:
    moments = pd.date_range("2026-09-01", periods=hours, freq="h", tz="UTC")
    ids = [f"i-{n:04d}" for n in range(instances)]
    # Each instance earns 6 credits an hour up to 144, spends them all and starts again, at its
    # own phase; throttled while empty.
    balance = (np.arange(hours)[None, :] * 6 + np.arange(instances)[:, None] * 13) % 150
    balance = np.minimum(balance, 144).astype("float64").ravel()
    frame = pd.DataFrame({
        "instance_id": np.repeat(ids, hours), "hour": np.tile(moments, instances),
        "balance": balance, "throttled": balance < 6})
    frame["balance_min"] = frame["balance"]
    frame["cpu"] = frame["cpu_max"] = 5.0
    return health_view.ClassHealth(
        start=moments[0].to_pydatetime(), end=moments[-1].to_pydatetime(), resolution_s=3600,
        hours=frame, instances=pd.DataFrame({"instance_id": ids, "owner": "s",
                                             "template_id": "web-server"}))


def test_a_class_of_200_over_two_weeks_is_sent_as_a_small_image() -> None:
    """67,200 cells: one PNG, a fraction of the cells' numbers as 32-bit floats."""
    health = _class_of(200, 14 * 24)
    figure = health_charts.credit_balance_figure(health)
    [image] = figure.layout.images
    assert len(image.source) < 200 * 14 * 24 * 4 / 3
    assert not figure.layout.yaxis.showticklabels  # 200 names would overlap
    pixels = _image(figure)
    assert pixels.shape[1] >= health_figures.IMAGE_WIDTH and pixels.shape[2] == 4
    grid = health_figures.balance_grid(health)
    assert grid.marked.sum() == (health.hours["throttled"]).sum()
    assert _cell_pixel(pixels, grid, 0, 0) == BLACK  # instance 0 starts empty


def test_more_columns_than_the_chart_can_show_become_spans(ctx: PortalContext) -> None:
    """A small class over a long window: 1,000 hours in at most MAX_COLUMNS columns, each the
    balance at the end of its span, marked if any hour of it throttled."""
    hours = 1000
    moments = pd.date_range("2026-09-01", periods=hours, freq="h", tz="UTC")
    frame = pd.DataFrame({
        "instance_id": "i-one", "hour": moments, "balance": np.arange(hours, dtype="float64"),
        "balance_min": np.arange(hours, dtype="float64"), "cpu": 5.0, "cpu_max": 5.0,
        "throttled": np.arange(hours) == 501})
    instances = pd.DataFrame({"instance_id": ["i-one"], "owner": ["alice"],
                              "template_id": ["web-server"]})
    health = health_view.ClassHealth(start=moments[0].to_pydatetime(),
                                     end=moments[-1].to_pydatetime(), resolution_s=3600,
                                     hours=frame, instances=instances)
    grid = health_figures.balance_grid(health)
    columns = [pd.Timestamp(x, unit="ms") for x in grid.columns]
    assert len(columns) == 500 <= health_figures.MAX_COLUMNS
    assert columns[:2] == [pd.Timestamp("2026-09-01 00:00"), pd.Timestamp("2026-09-01 02:00")]
    assert grid.span_ms == 2 * 3600 * 1000
    assert list(grid.balance[0][:3]) == [1.0, 3.0, 5.0]  # the balance at the end of each span
    assert list(np.flatnonzero(grid.marked[0])) == [250]  # hours 500 and 501


def test_a_window_ending_now_is_kept_by_its_shape_not_its_moments() -> None:
    now = datetime(2026, 11, 20, 15, 30, 12, tzinfo=UTC)
    week = DashboardFilter(start=now - timedelta(days=7), end=now, owners=("bob",))
    later = DashboardFilter(start=now - timedelta(days=7, minutes=-3), end=now + timedelta(
        minutes=3), owners=("bob",))
    # The last 7 days asked now and three minutes later: one key, so one entry, refreshed in
    # the background rather than read afresh while a visitor waits.
    live = health_charts.cache_window(week, now=now)
    assert live == health_charts.cache_window(later, now=now + timedelta(minutes=3))
    assert isinstance(live, health_charts.LiveWindow) and live.length == timedelta(days=7)
    resolved = health_charts.window_filter(live)
    assert resolved.end - resolved.start == timedelta(days=7) and resolved.owners == ("bob",)
    assert resolved.end.second == 0 and resolved.end >= datetime.now(UTC) - timedelta(minutes=1)
    # A custom range up to today starts where it starts, however long it has run.
    today = DashboardFilter(start=datetime(2026, 11, 14, tzinfo=UTC), end=now)
    custom = health_charts.cache_window(today, now=now)
    assert custom == health_charts.cache_window(
        DashboardFilter(start=today.start, end=now + timedelta(minutes=5)),
        now=now + timedelta(minutes=5))
    assert health_charts.window_filter(custom).start == today.start
    # A window of the past is itself, to the minute.
    assert health_charts.cache_window(DAY, now=now) == DAY


def test_the_detail_draws_the_baseline_and_shades_throttling(ctx: PortalContext) -> None:
    build_class(ctx)
    detail = health_view.instance_detail(ctx, actor=TEACHER, instance_id="i-alice", filter=DAY)
    figure = health_charts.instance_detail_figure(detail)
    assert [(t.name, t.yaxis) for t in figure.data] == [
        ("credit balance", "y"), ("CPU", "y2"), (health_charts.THROTTLED_TRACE, "y2")]
    shapes = figure.layout.shapes
    [baseline] = [s for s in shapes if s.type == "line"]
    assert (baseline.y0, baseline.y1, baseline.yref) == (10, 10, "y2")
    # One throttled stretch, shaded over both plots.
    [shaded] = [s for s in shapes if s.type == "rect"]
    assert (pd.Timestamp(shaded.x0), pd.Timestamp(shaded.x1), shaded.yref) == (
        pd.Timestamp("2026-11-02 04:00"), pd.Timestamp("2026-11-02 09:00"), "paper")
    assert any("baseline 10%" in a.text for a in figure.layout.annotations)

    unthrottled = health_view.instance_detail(ctx, actor=TEACHER, instance_id="i-bob-2",
                                              filter=DAY)
    figure = health_charts.instance_detail_figure(unthrottled)
    assert not [s for s in figure.layout.shapes if s.type == "rect"]
    assert health_charts.THROTTLED_TRACE not in [t.name for t in figure.data]


def test_scaling_activities_show_their_cause_on_hover(ctx: PortalContext) -> None:
    build_class(ctx)
    timeline = health_view.scaling_timeline(ctx, actor=TEACHER, filter=DAY)
    figure = health_charts.scaling_timeline_figure(timeline, until=DAY.end)
    assert [t.name for t in figure.data] == ["Launching", "Terminating"]
    terminating = figure.data[1]
    assert list(terminating.y) == ["bob · sbx-asg"]
    assert "ELB system health" in terminating.customdata[0][1]
    assert list(terminating.x) == [60_000]  # a minute, in milliseconds on a date axis


def test_durations_per_template_and_day_and_deployments_by_status(ctx: PortalContext) -> None:
    build_class(ctx)
    window = health_view.deploy_timings(
        ctx, actor=TEACHER, filter=DAY.__class__(start=T0 - timedelta(hours=4), end=NOW))
    figure = health_charts.run_durations_figure(window)
    boxes = {(t.name, t.xaxis): list(t.y) for t in figure.data}
    assert boxes == {("web-server", "x"): [42.0], ("ha-web", "x"): [300.0],
                     ("ha-web", "x2"): [120.0]}
    deployments = health_charts.deployment_durations_figure(window)
    assert {t.name: list(t.y) for t in deployments.data} == {"Failed": [34.0],
                                                             "Succeeded": [105.0]}


def test_the_waterfall_has_a_bar_per_resource_first_started_on_top(ctx: PortalContext) -> None:
    runs = build_class(ctx)
    with ctx.sessions() as session, session.begin():
        add_events(session, run_id=runs["alice"], start=T0, events=[
            (0.0, "Stack", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS"),
            (1.0, "Vpc", "AWS::EC2::VPC", "CREATE_IN_PROGRESS"),
            (3.0, "Vpc", "AWS::EC2::VPC", "CREATE_COMPLETE"),
            (3.5, "Server", "AWS::EC2::Instance", "CREATE_IN_PROGRESS"),
            (6.0, "Server", "AWS::EC2::Instance", "CREATE_FAILED"),
            (7.0, "Stack", "AWS::CloudFormation::Stack", "CREATE_COMPLETE")])
    waterfall = health_view.run_waterfall(ctx, actor=ALICE, run_id=runs["alice"])
    figure = health_charts.run_waterfall_figure(waterfall, until=NOW)
    assert list(figure.layout.yaxis.categoryarray) == [
        "Stack (create)", "Vpc (create)", "Server (create)"]
    bars = {y: x for t in figure.data for y, x in zip(t.y, t.x, strict=True)}
    assert bars == {"Stack (create)": 7000, "Vpc (create)": 2000, "Server (create)": 2500}
    assert {t.name: t.marker.color for t in figure.data}["CREATE_FAILED"] == "#d62728"


def panel_app(actor: "Actor") -> None:  # run as a script: no postponed annotations
    from datetime import UTC, datetime, timedelta

    from portal.components.health_charts import health_panel
    from services.context import get_context
    from services.monitoring.filters import DashboardFilter

    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    health_panel(get_context(), actor, DashboardFilter(start=t0 - timedelta(hours=4),
                                                       end=t0 + timedelta(hours=24)),
                 key="test")


def test_the_panel_draws_every_section_and_labels_simulated_data(ctx: PortalContext) -> None:
    runs = build_class(ctx)
    with ctx.sessions() as session, session.begin():
        add_events(session, run_id=runs["bob_destroy"], start=T0 + timedelta(hours=23), events=[
            (0.0, "Web", "AWS::AutoScaling::AutoScalingGroup", "DELETE_IN_PROGRESS"),
            (80.0, "Web", "AWS::AutoScaling::AutoScalingGroup", "DELETE_COMPLETE")])
    at = AppTest.from_function(panel_app, args=(TEACHER,), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [h.value for h in at.subheader] == ["CPU credits", "Auto Scaling activity",
                                               "Deploy timings"]
    charts = at.get("plotly_chart")
    assert len(charts) == 5  # balances, scaling, runs, deployments, waterfall
    captions = [c.value for c in at.caption]
    # alice's environment is on the embedded cloud: credits and timings carry the label; the
    # scaling activities are all bob's, on AWS.
    assert sum(health_view.SIMULATED_LABEL in c for c in captions) == 2
    assert {m.label: m.value for m in at.metric} == {
        "Instances": "3", "Throttled at some point": "2", "Hours throttled": "31"}
    # The newest run is picked for the waterfall: bob's destroy.
    assert at.selectbox(key="health_charts.test.run").value == runs["bob_destroy"]
    # The section of one instance in detail is drawn once opened; no instance in detail until
    # one is picked; the most throttled is offered first.
    assert not [s for s in at.selectbox if s.key == "health_charts.test.instance"]
    at.session_state[health_charts.detail_key("test")] = True
    at.run()
    picker = at.selectbox(key="health_charts.test.instance")
    assert picker.value is None and picker.options[0] == "i-bob-1"
    picker.select("i-alice").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 6
    # The two hours before the day, and hours 4-8 of it.
    assert "2 throttled stretches shaded" in "\n".join(c.value for c in at.caption)


def test_every_instance_is_listed_once_its_expander_is_opened(ctx: PortalContext) -> None:
    build_class(ctx)
    at = AppTest.from_function(panel_app, args=(TEACHER,), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    [every] = [e for e in at.expander if e.label.startswith("Every instance")]
    assert every.label == "Every instance (3), the most throttled first"
    assert not at.dataframe  # not sent until opened
    at.session_state["health_charts.test.instances"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [table] = at.dataframe
    assert list(table.value["instance_id"]) == ["i-bob-1", "i-alice", "i-bob-2"]


def test_a_student_with_nothing_to_show_gets_empty_states(ctx: PortalContext) -> None:
    at = AppTest.from_function(panel_app, args=(ALICE,), default_timeout=30).run()
    assert not at.exception
    assert len(at.info) == 3 and not at.get("plotly_chart")
    assert "sandbox demo" in at.info[0].value
    assert not any(health_view.SIMULATED_LABEL in c.value for c in at.caption)
