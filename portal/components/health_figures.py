"""The Health view's plotly figures: CPU credit balance per instance (one instance in detail, with
its baseline and the moments it was throttled), Auto Scaling activity with its causes, launch,
destroy and deployment durations, and the waterfall of one run.

Functions from `health_view`'s frames to `go.Figure`, without streamlit: the panel in
`health_charts` caches each figure with the view it was made from (and the language it is in).
"""

from __future__ import annotations

import textwrap
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from services.i18n import N_, _
from services.monitoring.health_view import (
    ClassHealth,
    DeployTimings,
    InstanceDetail,
    RunWaterfall,
    ScalingTimeline,
)

BALANCE_COLOR = "#1f77b4"
CPU_COLOR = "#ff7f0e"
BASELINE_COLOR = "#2ca02c"
THROTTLE_COLOR = "#d62728"
SURPLUS_COLOR = "#9467bd"
# The throttling marks' legend name, in English; `_(THROTTLED_TRACE)` is what a figure shows.
THROTTLED_TRACE = N_("throttled")
# Empty (red) to full (green): an empty balance is what throttles a standard-mode instance.
BALANCE_SCALE = [[0.0, "#d73027"], [0.15, "#fc8d59"], [0.4, "#fee08b"], [1.0, "#1a9850"]]
THROTTLE_CELL_COLOR = "#111111"
ACTION_COLORS = {"Launching": "#2ca02c", "Terminating": "#d62728"}
# AWS's first word of an activity, as the legend names it.
ACTION_LABELS = {"Launching": N_("Launching"), "Terminating": N_("Terminating")}
STATUS_COLORS = {"Succeeded": "#2ca02c", "succeeded": "#2ca02c", "Failed": "#d62728",
                 "failed": "#d62728", "Stopped": "#7f7f7f", "InProgress": "#1f77b4",
                 "running": "#1f77b4", "Created": "#aec7e8"}
# The class chart's columns at most: about a pixel and a half each across a wide page; a longer
# window's cells are spans of hours.
MAX_COLUMNS = 600
# Rows named on the class chart's axis at most: a larger class's names would overlap.
MAX_NAMED_ROWS = 40
# A bar shorter than this would not show: instant activities and resources still get one.
MIN_BAR = pd.Timedelta(seconds=1)
MARGIN = {"t": 30, "b": 40, "l": 60, "r": 20}
LEGEND = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}


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
    at = _ms(hours["hour"])
    # More columns than the chart has pixels for would not show: spans of whole points then,
    # each cell the balance at the end of its span, marked if any hour of it throttled.
    step = max(health.resolution_s, 1) * 1000.0
    span = -(-int(np.unique(at).size) // MAX_COLUMNS)
    if span > 1:
        at = at - np.mod(at, step * span)
    columns = np.unique(at)
    row_of = {instance_id: row for row, instance_id in enumerate(ranked)}
    rows = hours["instance_id"].map(row_of).to_numpy()
    cols = np.searchsorted(columns, at)
    shape = (len(ranked), len(columns))
    # Rows come ordered by instance and hour: the last of each cell's rows is its span's end.
    cell = rows * len(columns) + cols
    last = np.ones(len(cell), dtype=bool)
    last[:-1] = cell[1:] != cell[:-1]
    balance = np.full(shape, np.nan)
    # Rounded to what a reader can see; sent as 32-bit floats (plotly packs numpy arrays as
    # binary): half the bytes of 64-bit ones, and a tenth of a credit is far within their
    # precision.
    balance[rows[last], cols[last]] = hours["balance"].to_numpy(dtype="float64")[last].round(1)
    marked_cells = np.zeros(shape, dtype=bool)
    throttled = hours["throttled"].to_numpy(dtype=bool)
    marked_cells[rows[throttled], cols[throttled]] = True
    # Throttled cells are drawn in the same image: a value below zero, which the colour scale's
    # first stop paints black. One heatmap draws in half the time of a heatmap and an overlay.
    top = max(float(np.nanmax(balance)) if np.isfinite(balance).any() else 0.0, 1.0)
    marker = -top / 20
    shown = balance.astype(np.float32)
    balance[marked_cells] = marker
    empty_at = -marker / (top - marker)
    scale = [[0.0, THROTTLE_CELL_COLOR], [empty_at * 0.999, THROTTLE_CELL_COLOR]] + [
        [empty_at + (1 - empty_at) * stop, color] for stop, color in BALANCE_SCALE]
    # Hover shows the balance itself; CPU per hour would double what the page sends, and the
    # detail chart below has it.
    traces: list[dict[str, object]] = [{
        "type": "heatmap", "x": columns, "y": labels, "z": balance.astype(np.float32),
        "customdata": shown,
        "name": _("credit balance"), "zmin": marker, "zmax": top, "colorscale": scale,
        "colorbar": {"title": {"text": _("credits")}, "thickness": 12, "tick0": 0,
                     "tickmode": "auto"},
        "hoverongaps": False,
        "hovertemplate": "%{y}<br>" + _("{time} UTC: {credits} credits").format(
            time="%{x|%b %d %H:%M}", credits="%{customdata:.1f}") + "<extra></extra>"}]
    if marked_cells.any():
        # A legend entry for the black cells (a heatmap has none of its own).
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                       "name": _(THROTTLED_TRACE), "showlegend": True,
                       "marker": {"symbol": "square", "size": 12, "color": THROTTLE_CELL_COLOR}})
    return go.Figure(data=traces, layout={
        "height": max(240, min(900, 20 * len(ranked) + 140)), "margin": MARGIN,
        "legend": LEGEND, "hovermode": "closest",
        "xaxis": {"title": {"text": _("time (UTC)")}, "type": "date"},
        # Every row named while the names fit; a larger class is read by hovering, and gets
        # neither a tick nor a grid line per row that no one could see.
        "yaxis": {"autorange": "reversed", "title": {"text": None}, "showgrid": False,
                  **({"tickmode": "linear", "dtick": 1} if len(ranked) <= MAX_NAMED_ROWS
                     else {"showticklabels": False, "ticks": ""})}})


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

    traces = [line("balance", _("credit balance"), BALANCE_COLOR, "y",
                   _("{credits} credits").format(credits="%{y:.2f}"))]
    if not points.empty and points["surplus"].fillna(0).gt(0).any():
        traces.append(line("surplus", _("surplus credits"), SURPLUS_COLOR, "y",
                           _("{credits} surplus").format(credits="%{y:.2f}")))
    traces.append(line("cpu", _("CPU"), CPU_COLOR, "y2", "%{y:.1f}%"))
    shapes: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = [
        {"text": _("CPU credit balance"), "xref": "paper", "yref": "paper", "x": 0, "y": 1.0,
         "xanchor": "left", "yanchor": "bottom", "showarrow": False},
        {"text": _("CPU utilization (%)"), "xref": "paper", "yref": "paper", "x": 0, "y": 0.45,
         "xanchor": "left", "yanchor": "bottom", "showarrow": False}]
    if detail.baseline_percent is not None:
        shapes.append({"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y2",
                       "y0": detail.baseline_percent, "y1": detail.baseline_percent,
                       "line": {"color": BASELINE_COLOR, "dash": "dash", "width": 2}})
        annotations.append({"text": _("baseline {percent}%").format(
                                percent=f"{detail.baseline_percent:g}"), "xref": "paper",
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
                       "name": _(THROTTLED_TRACE), "xaxis": "x", "yaxis": "y2",
                       "marker": {"color": THROTTLE_COLOR, "symbol": "square", "opacity": 0.3,
                                  "size": 12}})
    return go.Figure(data=traces, layout={
        "height": 480, "margin": MARGIN, "legend": LEGEND, "hovermode": "x unified",
        "xaxis": {"type": "date", "anchor": "y2", "title": {"text": _("time (UTC)")}},
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
            y=rows["row"], orientation="h",
            name=(_(ACTION_LABELS[action]) if action in ACTION_LABELS
                  else str(action) if action else _("other")),
            marker_color=ACTION_COLORS.get(str(action), "#7f7f7f"),
            customdata=list(zip(rows["description"].map(_wrap), rows["cause"].map(_wrap),
                                rows["status"], strict=True)),
            hovertemplate=("%{customdata[0]}<br>" + _(
                "{time} UTC, {status}<br><b>Cause</b>: {cause}").format(
                    time="%{base|%b %d %H:%M:%S}", status="%{customdata[2]}",
                    cause="%{customdata[1]}") + "<extra></extra>")))
    figure.update_layout(barmode="overlay", height=max(220, 40 * activities["row"].nunique()
                                                       + 120),
                         margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", title_text=_("time (UTC)"))
    figure.update_yaxes(autorange="reversed", title_text=None)
    return figure


def run_durations_figure(timings: DeployTimings) -> go.Figure:
    """Launch and destroy durations per template and day: a box of each day's runs, every run a
    point (hover: which one, and how it ended)."""
    runs = timings.runs.dropna(subset=["duration_s"])
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                           subplot_titles=(_("launch"), _("destroy")))
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
                hovertemplate=(_("run {run} of {student}: {seconds} s, {status}").format(
                    run="%{customdata[0]}", student="%{customdata[1]}", seconds="%{y:.1f}",
                    status="%{customdata[2]}") + "<extra>" + template_id + "</extra>")),
                row=1, col=column)
    figure.update_layout(boxmode="group", height=380, margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", tickformat="%b %d", title_text=_("day (UTC)"))
    figure.update_yaxes(title_text=_("duration (s)"), rangemode="tozero", row=1, col=1)
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
            hovertemplate=_("{deployment} ({student}): {seconds} s, waited {waited} s, ran "
                            "{ran} s").format(
                deployment="%{customdata[0]}", student="%{customdata[1]}", seconds="%{y:.0f}",
                waited="%{customdata[2]:.0f}", ran="%{customdata[3]:.0f}") + "<extra></extra>"))
    figure.update_layout(height=320, margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", title_text=_("created (UTC)"))
    figure.update_yaxes(title_text=_("created to ended (s)"), rangemode="tozero")
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
            hovertemplate=("%{y}: %{customdata[0]}<br>" + _(
                "started at +{start} s, took {seconds} s").format(
                    start="%{customdata[2]:.1f}", seconds="%{customdata[1]:.1f}")
                + "<extra></extra>")))
    figure.update_layout(barmode="overlay", height=max(260, 22 * len(resources) + 120),
                         margin=MARGIN, legend=LEGEND)
    figure.update_xaxes(type="date", title_text=_("time (UTC)"), tickformat="%H:%M:%S")
    figure.update_yaxes(autorange="reversed", categoryorder="array",
                        categoryarray=resources["row"].tolist(), title_text=None)
    return figure

