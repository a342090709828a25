"""A credit prediction as a chart: the balance over time above, the CPU the workload asks for and
the CPU it gets below, with the baseline and the moment of throttling marked on both.

The two panels share the hour axis because the lesson is in their coincidence: the balance
reaches zero at the very moment the CPU it gets falls to the baseline.

A prediction is a pure function of its inputs (a start left empty is the current hour): it is
kept under those inputs, and its figure under a digest of it and the reader's language, so a form
put back the way it was, or another student asking the same, computes neither again.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from services.burstable import CreditHour, CreditMode
from services.credit_predictor import CreditPrediction, predict_credits
from services.i18n import _, current_locale, format_number
from services.workload.profiles import WorkloadProfile

BALANCE_COLOR = "#1f77b4"
SURPLUS_COLOR = "#ff7f0e"
DEMANDED_COLOR = "#7f7f7f"
EFFECTIVE_COLOR = "#2ca02c"
THROTTLE_COLOR = "#d62728"
LIMIT_COLOR = "#9e9e9e"
# Predictions and figures kept: each a few kilobytes.
CACHE_ENTRIES = 256


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _predicted(instance_type: str, profile: WorkloadProfile, hours: int,
               start_balance: float | None, unlimited: bool, start: datetime
               ) -> CreditPrediction:
    return predict_credits(instance_type=instance_type, profile=profile, hours=hours,
                           start_balance=start_balance, unlimited=unlimited, start=start)


def predicted_credits(*, instance_type: str, profile: WorkloadProfile, hours: int,
                      start_balance: float | None, unlimited: bool,
                      start: datetime | None) -> CreditPrediction:
    """`predict_credits` with these inputs, computed once: a start left empty is the current
    hour, as `predict_credits` takes it. Raises what `predict_credits` raises."""
    if start is None:
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return _predicted(instance_type, profile, hours, start_balance, unlimited, start)


def _digest(prediction: CreditPrediction) -> str:
    """The whole prediction, every hour of it, as a short key for its figure."""
    return hashlib.blake2b(repr(prediction).encode(), digest_size=16).hexdigest()


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _figure(digest: str, locale: str, _prediction: CreditPrediction) -> dict[str, Any]:
    """`_prediction`'s figure as a dict, kept under its `digest` and the language of its words."""
    return credit_figure(_prediction).to_dict()


def _hour(hours: float) -> str:
    # To a tenth of an hour, without a trailing ".0".
    return _("{hours} h").format(hours=format_number(round(hours, 1)))


def _held_from(hours: float) -> str:
    return _("held at the baseline from {hour}").format(hour=_hour(hours))


def _inside(entry: CreditHour) -> float | None:
    """The moment within this hour the CPU was first held at the baseline, when that is after
    the hour's start; None for an hour held from its start or never held."""
    moment = entry.throttled_from
    return moment if moment is not None and entry.hour < moment < entry.hour + 1 else None


def _balance_points(prediction: CreditPrediction) -> tuple[list[float], list[float]]:
    """The balance at the start and at the end of each hour. The moment it reaches zero is a
    point of its own, so the line touches zero where throttling starts, not at an hour's end."""
    xs: list[float] = [0.0]
    ys: list[float] = [prediction.start_balance]
    for entry in prediction.hours:
        moment = _inside(entry)
        if moment is not None:
            xs.append(moment)
            ys.append(0.0)
        xs.append(entry.hour + 1.0)
        ys.append(entry.balance)
    return xs, ys


def _demanded_steps(prediction: CreditPrediction) -> tuple[list[float], list[float]]:
    # An hour's mean holds from its start to its end; the last value is repeated at the end of
    # the window so the final hour is drawn as wide as the others.
    xs = [float(entry.hour) for entry in prediction.hours]
    ys = [entry.demanded_cpu for entry in prediction.hours]
    return xs + [float(len(xs))], ys + ys[-1:]


def _effective_steps(prediction: CreditPrediction) -> tuple[list[float], list[float]]:
    """What the CPU got, exactly: in the hour throttling starts, what it asked for until that
    moment and the baseline after it (the table shows that hour's mean)."""
    xs: list[float] = []
    ys: list[float] = []
    for entry in prediction.hours:
        moment = _inside(entry)
        if moment is None:
            xs.append(float(entry.hour))
            ys.append(entry.effective_cpu)
        else:
            xs += [float(entry.hour), moment]
            ys += [entry.demanded_cpu, prediction.spec.baseline_percent]
    return xs + [float(len(prediction.hours))], ys + ys[-1:]


def credit_figure(prediction: CreditPrediction) -> go.Figure:
    spec = prediction.spec
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           row_heights=[0.55, 0.45])

    xs, ys = _balance_points(prediction)
    figure.add_trace(go.Scatter(
        x=xs, y=ys, name=_("Credit balance"), mode="lines", line={"color": BALANCE_COLOR},
        hovertemplate=_("{credits} credits after {hours} h").format(
            credits="%{y:,.1f}", hours="%{x:.1f}") + "<extra></extra>"), row=1, col=1)
    if prediction.mode is CreditMode.UNLIMITED:
        surplus = [0.0] + [entry.surplus_balance for entry in prediction.hours]
        figure.add_trace(go.Scatter(
            x=[0.0] + [entry.hour + 1.0 for entry in prediction.hours], y=surplus,
            name=_("Surplus credits owed"), mode="lines",
            line={"color": SURPLUS_COLOR, "dash": "dash"},
            hovertemplate=_("{credits} surplus credits after {hours} h").format(
                credits="%{y:,.1f}", hours="%{x:.1f}") + "<extra></extra>"),
            row=1, col=1)
    figure.add_hline(
        y=spec.max_earned_credits, row=1, col=1, line={"color": LIMIT_COLOR, "dash": "dot"},
        annotation_text=_("most it can hold: {credits}").format(
            credits=f"{spec.max_earned_credits:g}"),
        annotation_position="bottom right")

    hours, demanded = _demanded_steps(prediction)
    figure.add_trace(go.Scatter(
        x=hours, y=demanded, name=_("CPU asked for"), mode="lines", line_shape="hv",
        line={"color": DEMANDED_COLOR, "dash": "dash"},
        hovertemplate=_("asked for {cpu} from {hours} h").format(cpu="%{y:.1f}%",
                                                                 hours="%{x:.0f}")
        + "<extra></extra>"), row=2, col=1)
    moments, effective = _effective_steps(prediction)
    figure.add_trace(go.Scatter(
        x=moments, y=effective, name=_("CPU it gets"), mode="lines", line_shape="hv",
        line={"color": EFFECTIVE_COLOR}, fill="tozeroy",
        hovertemplate=_("got {cpu} from {hours} h").format(cpu="%{y:.1f}%", hours="%{x:.1f}")
        + "<extra></extra>"), row=2, col=1)
    figure.add_hline(
        y=spec.baseline_percent, row=2, col=1, line={"color": THROTTLE_COLOR, "dash": "dot"},
        annotation_text=_("baseline {percent}%").format(percent=f"{spec.baseline_percent:g}"),
        annotation_position="top left")

    throttled_at = prediction.throttled_at_hour
    if throttled_at is not None:
        figure.add_vline(x=throttled_at, line={"color": THROTTLE_COLOR, "width": 2})
        figure.add_trace(go.Scatter(
            x=[throttled_at], y=[spec.baseline_percent], name=_("Throttling starts"),
            mode="markers", marker={"color": THROTTLE_COLOR, "size": 11, "symbol": "x"},
            hovertemplate=_held_from(throttled_at) + "<extra></extra>"),
            row=2, col=1)
        # On the side of the line with more room, so the words stay inside the chart.
        early = throttled_at < len(prediction.hours) / 2
        figure.add_annotation(
            x=throttled_at, y=0.95, xref="x", yref="y domain", showarrow=False,
            xanchor="left" if early else "right", yanchor="top",
            text=_held_from(throttled_at),
            font={"color": THROTTLE_COLOR})

    figure.update_xaxes(title_text=_("hours from the start"), row=2, col=1,
                        range=[0, len(prediction.hours)])
    figure.update_yaxes(title_text=_("credit balance"), rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title_text=_("CPU (%)"), rangemode="tozero", row=2, col=1)
    figure.update_layout(height=560, margin={"t": 40, "b": 40, "l": 60, "r": 20},
                         hovermode="x unified",
                         legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    return figure


def credit_chart(prediction: CreditPrediction, *, key: str) -> None:
    when = (_("never held at the baseline") if prediction.throttled_at_hour is None
            else _held_from(prediction.throttled_at_hour))
    spec = _figure(_digest(prediction), current_locale(), prediction)
    st.plotly_chart(
        # Validated when it was made: as a dict, `st.plotly_chart` would validate it again.
        go.Figure(spec, _validate=False), width="stretch", key=f"{key}.figure",
        alt=_("CPU credit balance and CPU utilization of a {instance_type} over {hours} hours: "
              "{when}").format(instance_type=prediction.instance_type,
                               hours=len(prediction.hours), when=when))
