"""A class's health as charts: CPU credit balance per instance (one instance in detail, with its
baseline and the moments it was throttled), Auto Scaling activity with its causes, launch,
destroy and deployment durations, and the waterfall of one run.

Owns the `health_charts.{key}.*` session_state keys. The same panel serves the instructor's Class
health page and a student's own environments.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from portal.components.text import duration, md_escape
from services.context import PortalContext
from services.identity import Actor
from services.monitoring import health_view
from services.monitoring.filters import DashboardFilter
from services.monitoring.health_view import (
    ClassHealth,
    DeployTimings,
    InstanceDetail,
    RunWaterfall,
    ScalingTimeline,
)

PREFIX = "health_charts"
BALANCE_COLOR = "#1f77b4"
CPU_COLOR = "#ff7f0e"
BASELINE_COLOR = "#2ca02c"
THROTTLE_COLOR = "#d62728"
SURPLUS_COLOR = "#9467bd"
THROTTLED_TRACE = "throttled"
# Empty (red) to full (green): an empty balance is what throttles a standard-mode instance.
BALANCE_SCALE = [[0.0, "#d73027"], [0.15, "#fc8d59"], [0.4, "#fee08b"], [1.0, "#1a9850"]]
THROTTLE_CELL_COLOR = "#111111"
ACTION_COLORS = {"Launching": "#2ca02c", "Terminating": "#d62728"}
STATUS_COLORS = {"Succeeded": "#2ca02c", "succeeded": "#2ca02c", "Failed": "#d62728",
                 "failed": "#d62728", "Stopped": "#7f7f7f", "InProgress": "#1f77b4",
                 "running": "#1f77b4", "Created": "#aec7e8"}
# A bar shorter than this would not show: instant activities and resources still get one.
MIN_BAR = pd.Timedelta(seconds=1)
THROTTLE_RULE = (
    "Throttled: the credit balance touched empty (at most "
    f"{health_view.EMPTY_BALANCE:g} credits) while the busiest five minutes sat at the baseline "
    f"(within {health_view.THROTTLE_TOLERANCE_PERCENT:g} points): the instance wanted more CPU "
    "and was held at its cap.")
MARGIN = {"t": 30, "b": 40, "l": 60, "r": 20}
LEGEND = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def _utc(column: pd.Series) -> pd.Series:
    """Times as plotly should show them: UTC wall-clock, whatever the browser's zone."""
    return pd.to_datetime(column, utc=True).dt.tz_convert("UTC").dt.tz_localize(None)


def _naive(moment: datetime | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(moment).tz_convert("UTC").tz_localize(None)


def _ms(column: pd.Series) -> np.ndarray:
    """Milliseconds since 1970 UTC, which a plotly date axis shows as UTC wall-clock times.

    Numbers travel to the browser as packed binary arrays; dates would be text, one string each,
    several times larger for the class's tens of thousands of points.
    """
    moments = pd.to_datetime(column, utc=True).dt.as_unit("ms")
    return moments.astype("int64").to_numpy(dtype="float64")


def _wrap(text: object, width: int = 80) -> str:
    return "<br>".join(textwrap.wrap(str(text or ""), width)) or "-"


def _colors(names: list[str]) -> dict[str, str]:
    palette = qualitative.Plotly
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


# -- figures --------------------------------------------------------------------------------------
def credit_balance_figure(health: ClassHealth) -> go.Figure:
    """The credit balance of every instance over the window: one row per instance (the most
    throttled on top), one cell per hour (or span of hours), coloured from empty (red) to full;
    throttled cells overlaid in black.

    A heatmap, not a line per instance: a class of 200 instances over a week is 30,000 points,
    which a browser draws as SVG lines several times slower than as one heatmap image, and 200
    lines on one axis cannot be told apart anyway. One instance's lines, with its baseline, are
    the detail chart below.
    """
    hours = health.hours
    instances = health.instances
    ranked = instances["instance_id"].tolist()  # the most throttled first
    labels = (instances["instance_id"] + " (" + instances["owner"] + ", "
              + instances["template_id"] + ")").tolist()
    columns = np.sort(hours["hour"].unique())
    row_of = {instance_id: row for row, instance_id in enumerate(ranked)}
    column_of = {moment: column for column, moment in enumerate(columns)}
    rows = hours["instance_id"].map(row_of).to_numpy()
    cols = hours["hour"].map(column_of).to_numpy()
    shape = (len(ranked), len(columns))
    balance = np.full(shape, np.nan)
    # Rounded to what a reader can see: the page ships every cell to the browser as JSON text,
    # and full float precision tripled its size.
    balance[rows, cols] = hours["balance"].to_numpy(dtype="float64").round(1)
    marked = hours["throttled"].to_numpy(dtype=bool)
    # Throttled cells are drawn in the same image: a value below zero, which the colour scale's
    # first stop paints black. One heatmap draws in half the time of a heatmap and an overlay.
    top = max(float(np.nanmax(balance)) if np.isfinite(balance).any() else 0.0, 1.0)
    marker = -top / 20
    shown = balance.copy()
    balance[rows[marked], cols[marked]] = marker
    empty_at = -marker / (top - marker)
    scale = [[0.0, THROTTLE_CELL_COLOR], [empty_at * 0.999, THROTTLE_CELL_COLOR]] + [
        [empty_at + (1 - empty_at) * stop, color] for stop, color in BALANCE_SCALE]
    # Hover shows the balance itself; CPU per hour would double what the page sends, and the
    # detail chart below has it.
    traces: list[dict[str, object]] = [{
        "type": "heatmap", "x": _ms(pd.Series(columns)), "y": labels, "z": balance,
        "customdata": shown,
        "name": "credit balance", "zmin": marker, "zmax": top, "colorscale": scale,
        "colorbar": {"title": {"text": "credits"}, "thickness": 12, "tick0": 0,
                     "tickmode": "auto"},
        "hoverongaps": False,
        "hovertemplate": ("%{y}<br>%{x|%b %d %H:%M} UTC: %{customdata:.1f} credits"
                          "<extra></extra>")}]
    if marked.any():
        # A legend entry for the black cells (a heatmap has none of its own).
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                       "name": THROTTLED_TRACE, "showlegend": True,
                       "marker": {"symbol": "square", "size": 12, "color": THROTTLE_CELL_COLOR}})
    return go.Figure(data=traces, layout={
        "height": max(240, min(900, 20 * len(ranked) + 140)), "margin": MARGIN,
        "legend": LEGEND, "hovermode": "closest",
        "xaxis": {"title": {"text": "time (UTC)"}, "type": "date"},
        # Every row named while the names fit; a larger class is read by hovering.
        "yaxis": {"autorange": "reversed", "title": {"text": None}, "tickmode": "linear",
                  "dtick": 1, "showticklabels": len(ranked) <= 40}})


def instance_detail_figure(detail: InstanceDetail) -> go.Figure:
    """Balance above, CPU below with the baseline across it; throttled stretches shaded over
    both. Shapes are laid out in one go: plotly re-validates the whole layout on each
    `add_vrect`, which for a week of throttling took seconds."""
    points = detail.points
    at = _ms(points["at"]) if not points.empty else np.array([], dtype="float64")

    def line(column: str, name: str, color: str, axis: str, hover: str) -> dict[str, object]:
        return {"type": "scatter", "x": at, "y": points[column].to_numpy(dtype="float64"),
                "mode": "lines", "name": name, "line": {"color": color}, "xaxis": "x",
                "yaxis": axis, "hovertemplate": hover + "<extra></extra>"}

    traces = [line("balance", "credit balance", BALANCE_COLOR, "y", "%{y:.2f} credits")]
    if not points.empty and points["surplus"].fillna(0).gt(0).any():
        traces.append(line("surplus", "surplus credits", SURPLUS_COLOR, "y",
                           "%{y:.2f} surplus"))
    traces.append(line("cpu", "CPU", CPU_COLOR, "y2", "%{y:.1f}%"))
    shapes: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = [
        {"text": "CPU credit balance", "xref": "paper", "yref": "paper", "x": 0, "y": 1.0,
         "xanchor": "left", "yanchor": "bottom", "showarrow": False},
        {"text": "CPU utilization (%)", "xref": "paper", "yref": "paper", "x": 0, "y": 0.45,
         "xanchor": "left", "yanchor": "bottom", "showarrow": False}]
    if detail.baseline_percent is not None:
        shapes.append({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y2",
                       "y0": detail.baseline_percent, "y1": detail.baseline_percent,
                       "line": {"color": BASELINE_COLOR, "dash": "dash", "width": 2}})
        annotations.append({"text": f"baseline {detail.baseline_percent:g}%", "xref": "paper",
                            "x": 1, "xanchor": "right", "yref": "y2",
                            "y": detail.baseline_percent, "yanchor": "bottom",
                            "showarrow": False, "font": {"color": BASELINE_COLOR}})
    spans = detail.throttled_spans
    shapes += [{"type": "rect", "xref": "x", "yref": "paper", "x0": _naive(start),
                "x1": _naive(end), "y0": 0, "y1": 1, "fillcolor": THROTTLE_COLOR,
                "opacity": 0.15, "line": {"width": 0}, "layer": "below"}
               for start, end in spans]
    if spans:
        # A legend entry for the shading: shapes have none of their own.
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                       "name": THROTTLED_TRACE, "xaxis": "x", "yaxis": "y2",
                       "marker": {"color": THROTTLE_COLOR, "symbol": "square", "opacity": 0.3,
                                  "size": 12}})
    return go.Figure(data=traces, layout={
        "height": 480, "margin": MARGIN, "legend": LEGEND, "hovermode": "x unified",
        "xaxis": {"type": "date", "anchor": "y2", "title": {"text": "time (UTC)"}},
        "yaxis": {"domain": [0.55, 1.0], "rangemode": "tozero"},
        "yaxis2": {"domain": [0.0, 0.45], "range": [0, 100]},
        "shapes": shapes, "annotations": annotations})


def _bars(frame: pd.DataFrame, *, until: datetime) -> pd.DataFrame:
    """Bars with a visible length: an open one runs to `until`, an instant one lasts MIN_BAR."""
    start = _utc(frame["start"])
    end = _utc(frame["end"]).fillna(_naive(until))
    return frame.assign(start=start, end=end.where(end >= start + MIN_BAR, start + MIN_BAR))


def scaling_timeline_figure(timeline: ScalingTimeline, *, until: datetime) -> go.Figure:
    """One row per Auto Scaling group (with its owner), one bar per activity, coloured by what it
    did; the hover tells AWS's cause."""
    activities = _bars(timeline.activities, until=until)
    activities["row"] = activities["owner"] + " · " + activities["group"]
    figure = go.Figure()
    for action, rows in activities.groupby("action", sort=True):
        figure.add_trace(go.Bar(
            base=rows["start"], x=(rows["end"] - rows["start"]).dt.total_seconds() * 1000,
            y=rows["row"], orientation="h", name=action or "other",
            marker_color=ACTION_COLORS.get(str(action), "#7f7f7f"),
            customdata=list(zip(rows["description"].map(_wrap), rows["cause"].map(_wrap),
                                rows["status"], strict=True)),
            hovertemplate=("%{customdata[0]}<br>%{base|%b %d %H:%M:%S} UTC, %{customdata[2]}"
                           "<br><b>Cause</b>: %{customdata[1]}<extra></extra>")))
    figure.update_layout(barmode="overlay", height=max(220, 40 * activities["row"].nunique()
                                                       + 120),
                         margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", title_text="time (UTC)")
    figure.update_yaxes(autorange="reversed", title_text=None)
    return figure


def run_durations_figure(timings: DeployTimings) -> go.Figure:
    """Launch and destroy durations per template and day: a box of each day's runs, every run a
    point (hover: which one, and how it ended)."""
    runs = timings.runs.dropna(subset=["duration_s"])
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                           subplot_titles=("launch", "destroy"))
    colors = _colors(sorted(runs["template_id"].unique()))
    for column, kind in enumerate(("launch", "destroy"), start=1):
        for template_id, color in colors.items():
            rows = runs[(runs["kind"] == kind) & (runs["template_id"] == template_id)]
            if rows.empty:
                continue
            figure.add_trace(go.Box(
                x=_utc(rows["started_at"]).dt.floor("D"), y=rows["duration_s"],
                name=template_id, legendgroup=template_id, showlegend=column == 1,
                marker_color=color, boxpoints="all", jitter=0.4, pointpos=0,
                customdata=list(zip(rows["run_id"], rows["owner"], rows["status"], strict=True)),
                hovertemplate=("run %{customdata[0]} of %{customdata[1]}: %{y:.1f} s, "
                               "%{customdata[2]}<extra>" + template_id + "</extra>")),
                row=1, col=column)
    figure.update_layout(boxmode="group", height=380, margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", tickformat="%b %d", title_text="day (UTC)")
    figure.update_yaxes(title_text="duration (s)", rangemode="tozero", row=1, col=1)
    return figure


def deployment_durations_figure(timings: DeployTimings) -> go.Figure:
    """Each CodeDeploy deployment at its creation time: how long until it ended, by status."""
    deployments = timings.deployments.dropna(subset=["duration_s"])
    figure = go.Figure()
    for status, rows in deployments.groupby("status", sort=True):
        figure.add_trace(go.Scatter(
            x=_utc(rows["created_at"]), y=rows["duration_s"], mode="markers", name=str(status),
            marker={"color": STATUS_COLORS.get(str(status), "#7f7f7f"), "size": 8},
            customdata=list(zip(rows["deployment_id"], rows["owner"], rows["waiting_s"],
                                rows["running_s"], strict=True)),
            hovertemplate=("%{customdata[0]} (%{customdata[1]}): %{y:.0f} s, waited "
                           "%{customdata[2]:.0f} s, ran %{customdata[3]:.0f} s"
                           "<extra></extra>")))
    figure.update_layout(height=320, margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", title_text="created (UTC)")
    figure.update_yaxes(title_text="created to ended (s)", rangemode="tozero")
    return figure


def run_waterfall_figure(waterfall: RunWaterfall, *, until: datetime) -> go.Figure:
    """One bar per resource and action, from its first IN_PROGRESS to its COMPLETE or FAILED,
    first started on top."""
    resources = _bars(waterfall.resources, until=waterfall.ended_at or until)
    resources["row"] = resources["logical_id"] + " (" + resources["action"].str.lower() + ")"
    origin = _naive(waterfall.started_at)
    figure = go.Figure()
    for status, rows in resources.groupby("status", sort=False):
        figure.add_trace(go.Bar(
            base=rows["start"], x=(rows["end"] - rows["start"]).dt.total_seconds() * 1000,
            y=rows["row"], orientation="h", name=str(status),
            marker_color=("#d62728" if str(status).endswith("FAILED") else
                          "#2ca02c" if str(status).endswith("COMPLETE") else "#1f77b4"),
            customdata=list(zip(rows["resource_type"], rows["duration_s"].fillna(-1),
                                (rows["start"] - origin).dt.total_seconds(), strict=True)),
            hovertemplate=("%{y}: %{customdata[0]}<br>started at +%{customdata[2]:.1f} s, took "
                           "%{customdata[1]:.1f} s<extra></extra>")))
    figure.update_layout(barmode="overlay", height=max(260, 22 * len(resources) + 120),
                         margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", title_text="time (UTC)", tickformat="%H:%M:%S")
    figure.update_yaxes(autorange="reversed", categoryorder="array",
                        categoryarray=resources["row"].tolist(), title_text=None)
    return figure


# -- the panel ------------------------------------------------------------------------------------
# The views change when the collector writes (every few minutes) or a run ends: a minute of reuse
# lets a page be redrawn, a filter tried and put back, or an instance picked, without reading the
# class's history again. Keyed by the database too, so two portals in one process never mix.
# Each loader keeps its figures with its view, as plain dicts: making a class's figure again on
# every rerun cost more than the rest of the page's script together.
CACHE_TTL_S = 60
Figure = dict[str, Any]


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False)
def _credits(_ctx: PortalContext, database: str, actor: Actor,
             filter: DashboardFilter) -> tuple[ClassHealth, Figure | None]:
    health = health_view.class_health(_ctx, actor=actor, filter=filter)
    return health, None if health.is_empty else credit_balance_figure(health).to_dict()


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False)
def _detail(_ctx: PortalContext, database: str, actor: Actor, instance_id: str,
            filter: DashboardFilter) -> tuple[InstanceDetail, Figure]:
    detail = health_view.instance_detail(_ctx, actor=actor, instance_id=instance_id,
                                         filter=filter)
    return detail, instance_detail_figure(detail).to_dict()


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False)
def _scaling(_ctx: PortalContext, database: str, actor: Actor,
             filter: DashboardFilter) -> tuple[ScalingTimeline, Figure | None]:
    timeline = health_view.scaling_timeline(_ctx, actor=actor, filter=filter)
    if timeline.activities.empty:
        return timeline, None
    return timeline, scaling_timeline_figure(timeline, until=filter.end).to_dict()


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False)
def _timings(_ctx: PortalContext, database: str, actor: Actor, filter: DashboardFilter
             ) -> tuple[DeployTimings, Figure | None, Figure | None]:
    timings = health_view.deploy_timings(_ctx, actor=actor, filter=filter)
    runs = None if timings.runs.empty else run_durations_figure(timings).to_dict()
    deployments = (None if timings.deployments.empty
                   else deployment_durations_figure(timings).to_dict())
    return timings, runs, deployments


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False)
def _waterfall(_ctx: PortalContext, database: str, actor: Actor, run_id: int,
               until: datetime) -> tuple[RunWaterfall, Figure | None]:
    waterfall = health_view.run_waterfall(_ctx, actor=actor, run_id=run_id)
    if waterfall.resources.empty:
        return waterfall, None
    return waterfall, run_waterfall_figure(waterfall, until=until).to_dict()


def forget_cached() -> None:
    """Drop the views read so far, e.g. after a collector pass wrote new data."""
    for loader in (_credits, _detail, _scaling, _timings, _waterfall):
        loader.clear()


def _database(ctx: PortalContext) -> str:
    return ctx.settings.effective_database_url


def _to_the_minute(filter: DashboardFilter) -> DashboardFilter:
    """The window moved forward to whole minutes: "the last 7 days" asked again within the same
    minute is the same window, and its views come from the cache. Up, not down, so that nothing
    up to now is left out."""
    def up(moment: datetime) -> datetime:
        whole = moment.replace(second=0, microsecond=0)
        return whole if whole == moment else whole + timedelta(minutes=1)

    return replace(filter, start=up(filter.start), end=up(filter.end))


def simulated_label(count: int) -> None:
    if count:
        st.caption(f":material/science: {health_view.SIMULATED_LABEL}.")


def _credits_section(ctx: PortalContext, actor: Actor, filter: DashboardFilter, *,
                     key: str) -> bool:
    st.subheader("CPU credits")
    health, figure = _credits(ctx, _database(ctx), actor, filter)
    if figure is None:
        st.info("No CPU credit metrics in this window. Burstable instances (t2, t3, t3a, t4g) "
                "report them once the collector has run: launch environments and press "
                "Collect now, or run `sandbox demo` for a simulated class.",
                icon=":material/info:")
        return False
    simulated_label(health.simulated)
    throttled = health.instances[health.instances["hours_throttled"] > 0]
    cols = st.columns(3)
    cols[0].metric("Instances", len(health.instances))
    cols[1].metric("Throttled at some point", len(throttled))
    cols[2].metric("Hours throttled", int(health.instances["hours_throttled"].sum()))
    st.plotly_chart(figure, key=_key(key, "balances"))
    st.caption(THROTTLE_RULE)
    with st.expander(f"Every instance ({len(health.instances)}), the most throttled first",
                     icon=":material/table:"):
        st.dataframe(
            health.instances.assign(min_balance=health.instances["min_balance"].round(1)),
            hide_index=True, width="stretch",
            column_order=["instance_id", "owner", "template_id", "env_id", "instance_type",
                          "baseline_percent", "min_balance", "hours_throttled", "first_throttled",
                          "replaced"],
            column_config={"instance_id": "instance", "template_id": "template",
                           "env_id": "environment", "instance_type": "type",
                           "baseline_percent": st.column_config.NumberColumn("baseline",
                                                                             format="%g%%"),
                           "min_balance": "lowest balance", "hours_throttled": "hours throttled",
                           "first_throttled": st.column_config.DatetimeColumn(
                               "first throttled (UTC)", format="YYYY-MM-DD HH:mm"),
                           "replaced": st.column_config.CheckboxColumn("replaced by Auto Scaling")})
    _detail_fragment(ctx, actor, filter, health.instances["instance_id"].tolist(), key=key)
    return True


@st.fragment
def _detail_fragment(ctx: PortalContext, actor: Actor, filter: DashboardFilter,
                     instance_ids: list[str], *, key: str) -> None:
    # A fragment: picking another instance redraws this chart only, not the class view.
    # Nothing picked at first: the class view is what the page opens on, and one instance's
    # five-minute points are drawn when asked for.
    instance_id = st.selectbox("Instance in detail", instance_ids, index=None,
                               key=_key(key, "instance"),
                               placeholder="Pick an instance (the most throttled are first)",
                               help="Its five-minute credit balance and CPU, its baseline, and "
                                    "its throttled stretches shaded.")
    if instance_id is None:
        return
    detail, figure = _detail(ctx, _database(ctx), actor, instance_id, filter)
    if detail.points.empty:
        st.info("No five-minute points for this instance in the window.", icon=":material/info:")
        return
    st.plotly_chart(figure, key=_key(key, "detail"))
    baseline = (f"baseline {detail.baseline_percent:g}% CPU" if detail.baseline_percent
                is not None else "not burstable")
    spans = len(detail.throttled_spans)
    st.caption(f"{md_escape(detail.instance_type or 'unknown type')}, {baseline}; "
               f"{spans} throttled stretch{'es' if spans != 1 else ''} shaded.")


def _scaling_section(ctx: PortalContext, actor: Actor, filter: DashboardFilter, *,
                     key: str) -> bool:
    st.subheader("Auto Scaling activity")
    timeline, figure = _scaling(ctx, _database(ctx), actor, filter)
    if figure is None:
        st.info("No Auto Scaling activity in this window (only ha-web environments have an "
                "Auto Scaling group).", icon=":material/info:")
        return False
    simulated_label(timeline.simulated)
    st.plotly_chart(figure, key=_key(key, "scaling"))
    replaced = timeline.activities["cause"].fillna("").str.contains("health check").sum()
    st.caption(f"{len(timeline.activities)} activities; {replaced} of them after a failed "
               "health check. Hover a bar for AWS's cause.")
    return True


def _timings_section(ctx: PortalContext, actor: Actor, filter: DashboardFilter, *,
                     key: str) -> bool:
    st.subheader("Deploy timings")
    timings, runs_figure, deployments_figure = _timings(ctx, _database(ctx), actor, filter)
    if timings.runs.empty and timings.deployments.empty:
        st.info("No launches, destroys or deployments in this window.", icon=":material/info:")
        return False
    simulated_label(timings.simulated)
    if runs_figure is not None:
        st.plotly_chart(runs_figure, key=_key(key, "runs"))
    if deployments_figure is not None:
        st.markdown("**CodeDeploy deployments**")
        st.plotly_chart(deployments_figure, key=_key(key, "deployments"))
    if not timings.runs.empty:
        _waterfall_fragment(ctx, actor, timings.runs, until=filter.end, key=key)
    return True


def _run_labels(runs: pd.DataFrame) -> dict[int, str]:
    took = [duration(seconds) if pd.notna(seconds) else "still running"
            for seconds in runs["duration_s"]]
    labels = (runs["kind"] + " of " + runs["env_id"] + " (" + runs["template_id"] + ", "
              + runs["owner"] + "), " + runs["status"] + ", " + pd.Series(took, index=runs.index))
    return dict(zip(runs["run_id"].astype(int), labels, strict=True))


@st.fragment
def _waterfall_fragment(ctx: PortalContext, actor: Actor, runs: pd.DataFrame, *,
                        until: datetime, key: str) -> None:
    labels = _run_labels(runs.sort_values("started_at", ascending=False).head(200))
    run_id = st.selectbox("Run, resource by resource", list(labels), format_func=labels.get,
                          key=_key(key, "run"), help="The newest first.")
    if run_id is None:
        return
    waterfall, figure = _waterfall(ctx, _database(ctx), actor, run_id, until)
    if figure is None:
        st.info("No per-resource events were recorded for this run.", icon=":material/info:")
        return
    st.plotly_chart(figure, key=_key(key, "waterfall"))


def health_panel(ctx: PortalContext, actor: Actor, filter: DashboardFilter, *,
                 key: str) -> bool:
    """Every section of the Health view for the filter's environments; False when none of them
    had anything to show."""
    filter = _to_the_minute(filter)
    shown = [_credits_section(ctx, actor, filter, key=key),
             _scaling_section(ctx, actor, filter, key=key),
             _timings_section(ctx, actor, filter, key=key)]
    return any(shown)
