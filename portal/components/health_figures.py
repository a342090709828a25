"""The Health view's plotly figures: CPU credit balance per instance (one instance in detail, with
its baseline and the moments it was throttled), Auto Scaling activity with its causes, launch,
destroy and deployment durations, and the waterfall of one run.

Functions from `health_view`'s frames to `go.Figure`, without streamlit: the panel in
`health_charts` caches each figure with the view it was made from (and the language it is in).
"""

from __future__ import annotations

import base64
import io
import textwrap
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image
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
# The class chart's image is drawn about this wide (pixels), near a wide page's plot width.
IMAGE_WIDTH = 1200
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


@dataclass(frozen=True)
class BalanceGrid:
    """The class chart's cells: a row per instance (the most throttled first), a column per hour
    or span of hours (`columns`, their starts in ms since 1970 UTC, `span_ms` wide), each the
    balance at the end of its span (NaN: no data) and whether any hour of it was throttled."""

    labels: list[str]
    columns: np.ndarray
    span_ms: float
    balance: np.ndarray
    marked: np.ndarray


def balance_grid(health: ClassHealth) -> BalanceGrid:
    """The cells of the class chart of `health`."""
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
    balance[rows[last], cols[last]] = hours["balance"].to_numpy(dtype="float64")[last]
    marked = np.zeros(shape, dtype=bool)
    throttled = hours["throttled"].to_numpy(dtype=bool)
    marked[rows[throttled], cols[throttled]] = True
    return BalanceGrid(labels=labels, columns=columns, span_ms=step * max(span, 1),
                       balance=balance, marked=marked)


def _rgb(color: str) -> list[int]:
    return [int(color[i:i + 2], 16) for i in (1, 3, 5)]


def balance_image(grid: BalanceGrid, *, top: float, width: int, height: int) -> bytes:
    """The cells as a PNG of about `width` x `height` pixels: coloured by `BALANCE_SCALE` from
    empty to `top` credits, throttled cells black, cells without data transparent. Each cell is
    a block of whole pixels, so that the browser, stretching the image a little to the plot,
    keeps the cells' edges."""
    share = np.clip(np.nan_to_num(grid.balance / top), 0.0, 1.0)
    stops = np.array([stop for stop, _color in BALANCE_SCALE])
    colors = np.array([_rgb(color) for _stop, color in BALANCE_SCALE], dtype="float64")
    rows, columns = grid.balance.shape
    pixels = np.zeros((rows, columns, 4), dtype=np.uint8)
    for channel in range(3):
        pixels[..., channel] = np.interp(share, stops, colors[:, channel]).round()
    pixels[..., 3] = np.where(np.isnan(grid.balance), 0, 255)
    pixels[grid.marked, :3] = _rgb(THROTTLE_CELL_COLOR)
    pixels[grid.marked, 3] = 255
    across = max(1, -(-width // max(columns, 1)))
    down = max(1, -(-height // max(rows, 1)))
    pixels = np.repeat(np.repeat(pixels, down, axis=0), across, axis=1)
    png = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(png, format="PNG")
    return png.getvalue()


def credit_balance_figure(health: ClassHealth) -> go.Figure:
    """The credit balance of every instance over the window: one row per instance (the most
    throttled on top), one cell per hour (or span of hours), coloured from empty (red) to full;
    throttled cells black.

    The cells are one PNG image on the chart's time axis, not a plotly heatmap: a class of 200
    instances over two weeks is 67,000 cells, which the browser took longer to lay out as a
    heatmap, on every visit, than the rest of the page and a bare page's chart together; the PNG
    is some 35 kB. What a cell held is read on the detail chart below (one instance's lines,
    with its baseline) or in the table of every instance.
    """
    grid = balance_grid(health)
    rows = len(grid.labels)
    top = max(float(np.nanmax(grid.balance)) if np.isfinite(grid.balance).any() else 0.0, 1.0)
    height = max(240, min(900, 20 * rows + 140))
    plot_height = height - MARGIN["t"] - MARGIN["b"]
    png = balance_image(grid, top=top, width=IMAGE_WIDTH, height=plot_height)
    start = float(grid.columns[0]) if len(grid.columns) else 0.0
    end = float(grid.columns[-1]) + grid.span_ms if len(grid.columns) else grid.span_ms
    # The colour bar of the image: a trace with no points, whose only use is its scale.
    traces: list[dict[str, object]] = [{
        "type": "scatter", "x": [None], "y": [None], "mode": "markers", "showlegend": False,
        "hoverinfo": "skip",
        "marker": {"color": [0.0], "cmin": 0.0, "cmax": top, "colorscale": BALANCE_SCALE,
                   "showscale": True,
                   "colorbar": {"title": {"text": _("credits")}, "thickness": 12}}}]
    if grid.marked.any():
        # A legend entry for the black cells (an image has none of its own).
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                       "name": _(THROTTLED_TRACE), "showlegend": True, "hoverinfo": "skip",
                       "marker": {"symbol": "square", "size": 12, "color": THROTTLE_CELL_COLOR}})
    return go.Figure(data=traces, layout={
        "height": height, "margin": MARGIN, "legend": LEGEND, "hovermode": False,
        "images": [{"source": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                    "xref": "x", "yref": "y", "x": start, "y": -0.5, "sizex": end - start,
                    "sizey": rows, "sizing": "stretch", "xanchor": "left", "yanchor": "top",
                    "layer": "below"}],
        "xaxis": {"title": {"text": _("time (UTC)")}, "type": "date", "range": [start, end],
                  "showgrid": False},
        # Every row named while the names fit; a larger class's rows are read in the table of
        # every instance, and get neither a tick nor a grid line per row that no one could see.
        "yaxis": {"range": [rows - 0.5, -0.5], "title": {"text": None}, "showgrid": False,
                  "zeroline": False,
                  **({"tickmode": "array", "tickvals": list(range(rows)),
                      "ticktext": grid.labels} if rows <= MAX_NAMED_ROWS
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

