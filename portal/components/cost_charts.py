"""A class's cost as charts: cost per day stacked by template, per student against the budget,
each student's budget burning down (metered, then projected to their leases' end), the top
spenders.

Owns the `cost_charts.{key}.*` session_state keys. The same panel serves the instructor's Class
cost page and a student's own environments: with one student the class-only parts drop out.

One view at a time: the panel draws the chart or table its view picker shows and nothing else
(every element sent is one more the browser mounts). The figures are kept, as plain dicts, under a
digest of the meter reading they are drawn from and the reader's language: a redraw, another
session on the same class, or a view picked and picked back makes none of them again.
"""

from __future__ import annotations

import hashlib
import zlib
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from babel.numbers import get_currency_symbol
from plotly.colors import qualitative

from services.cost_meter import ClassCost, budget_day
from services.i18n import N_, _, current_locale, format_money, format_percent, ngettext

PREFIX = "cost_charts"
BUDGET_COLOR = "#d62728"
VIEW_COLOR = "#1f77b4"
OUTSIDE_COLOR = "#aec7e8"
PROJECTED_COLOR = "#ff7f0e"
# More burn-down lines than this turn into a tangle: the rest are one pick away.
BURN_DOWN_LINES = 8
TOP_SPENDERS = 10
# The panel's views, in the picker's order: the values are stable codes (the picker's state),
# the labels are shown in the reader's language. One student has no "Top spenders", and their
# "Per student" is their spend against the budget.
VIEWS = {"per_day": N_("Cost per day"), "per_student": N_("Per student"),
         "burn_down": N_("Budget burn-down"), "top_spenders": N_("Top spenders"),
         "per_template": N_("Per template")}
SINGLE_STUDENT_LABEL = N_("Against the budget")
DEFAULT_VIEW = "per_day"
# Figures kept: a few views of a few filters of a few classes, each a few kilobytes.
FIGURE_CACHE_ENTRIES = 64
FIGURE_CACHE_TTL_S = 3600
PROJECTION_NOTE = N_("Projected: the cost so far, plus each environment running now at its "
                     "hourly price until its lease ends, when the portal destroys it.")
METERED_NOTE = N_("Metered from list prices: each environment's hourly price (priced at launch "
                  "from its template and parameters) times the time it held resources, up to now.")


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def money(amount: float) -> str:
    """Dollars to the cent, or to a tenth of a cent below a dollar so small charges still show."""
    decimals = 3 if 0 < abs(amount) < 1 else 2
    # Rounded from the float's exact value, as Python's own formatting does (Babel would round
    # its shortest decimal form: $12.345 to $12.34).
    exact = Decimal(amount or 0.0).quantize(Decimal(1).scaleb(-decimals),  # -0.0: $0.00
                                            rounding=ROUND_HALF_EVEN)
    return format_money(exact, decimals=decimals)


def _currency() -> str:
    """The dollar's sign in the reader's language: `$` in English, `US$` in Korean."""
    return get_currency_symbol("USD", locale=current_locale())


def _hover_money(field: str, digits: str) -> str:
    """A plotly hover field in dollars: plotly's own `$` in English, the language's sign before
    the number otherwise."""
    symbol = _currency()
    return f"%{{{field}:${digits}}}" if symbol == "$" else f"{symbol}%{{{field}:{digits}}}"


def _money_column(label: str) -> Any:
    return st.column_config.NumberColumn(label, format=f"{_currency()}%.2f")


def _utc(column: pd.Series) -> list[pd.Timestamp]:
    """Times as plotly should show them: UTC wall-clock, whatever the browser's zone."""
    return column.dt.tz_convert("UTC").dt.tz_localize(None).tolist()


def _values(column: pd.Series) -> list[float]:
    # Plain lists: plotly would otherwise encode arrays as binary, unreadable in the figure's JSON.
    return [float(value) for value in column]


def _colors(names: list[str]) -> dict[str, str]:
    palette = qualitative.Plotly
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


# -- figures --------------------------------------------------------------------------------------
def per_day_figure(cost: ClassCost) -> go.Figure:
    """Cost per UTC day, one stacked bar segment per template."""
    figure = go.Figure()
    days = cost.per_day
    templates = sorted(days["template_id"].unique())
    for template_id, color in _colors(templates).items():
        rows = days[days["template_id"] == template_id]
        figure.add_trace(go.Bar(
            x=_utc(rows["day"]), y=_values(rows["cost_usd"]), name=template_id, marker_color=color,
            hovertemplate=_("{template}: {cost} on {day}").format(
                template=template_id, cost=_hover_money("y", ",.3f"), day="%{x|%Y-%m-%d}")
            + "<extra></extra>"))
    figure.update_layout(barmode="stack", height=360, margin={"t": 30, "b": 40, "l": 60, "r": 20},
                         legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    figure.update_xaxes(title_text=_("day (UTC)"), type="date", dtick="D1", tickformat="%b %d")
    figure.update_yaxes(title_text=_("cost (USD)"), tickprefix=_currency(), rangemode="tozero")
    return figure


def per_student_figure(cost: ClassCost) -> go.Figure:
    """Each student's spend toward the budget: what the view shows, what it does not (earlier, or
    other templates), and where the projection ends; the budget as a line across."""
    students = cost.per_student.sort_values(["spent_usd", "owner"], ascending=[False, True])
    owners = students["owner"].tolist()
    outside = (students["spent_usd"] - students["cost_usd"]).clip(lower=0)
    hover = {"student": "%{x}", "cost": _hover_money("y", ",.2f")}
    figure = go.Figure()
    figure.add_trace(go.Bar(
        x=owners, y=_values(students["cost_usd"]), name=_("in this view"),
        marker_color=VIEW_COLOR,
        hovertemplate=_("{student}: {cost} in this view").format(**hover) + "<extra></extra>"))
    if (outside > 0.005).any():
        figure.add_trace(go.Bar(
            x=owners, y=_values(outside), name=_("before the window or other templates"),
            marker_color=OUTSIDE_COLOR,
            hovertemplate=_("{student}: {cost} outside this view").format(**hover)
            + "<extra></extra>"))
    figure.add_trace(go.Scatter(
        x=owners, y=_values(students["projected_spent_usd"]), name=_("projected at lease end"),
        mode="markers", marker={"color": PROJECTED_COLOR, "symbol": "diamond", "size": 10},
        hovertemplate=_("{student}: {cost} when the leases end").format(**hover)
        + "<extra></extra>"))
    figure.add_hline(y=cost.budget_usd, line={"color": BUDGET_COLOR, "dash": "dash"},
                     annotation_text=_("budget {amount}").format(amount=money(cost.budget_usd)),
                     annotation_position="top left")
    figure.update_layout(barmode="stack", height=380, margin={"t": 30, "b": 40, "l": 60, "r": 20},
                         legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    figure.update_xaxes(title_text=_("student"), type="category")
    figure.update_yaxes(title_text=_("spent (USD)"), tickprefix=_currency(), rangemode="tozero")
    return figure


def burn_down_figure(cost: ClassCost, *, owners: list[str] | None = None) -> go.Figure:
    """Remaining budget per student over time: solid while metered, dashed where projected, the
    zero line where the budget is gone and a mark where the projection crosses it."""
    chosen = owners if owners is not None else cost.per_student["owner"].tolist()
    curve = cost.burn_down[cost.burn_down["owner"].isin(chosen)]
    crossings = cost.per_student.set_index("owner")["crosses_budget_at"]
    amount, moment = _hover_money("y", ",.2f"), "%{x|%Y-%m-%d %H:%M}"
    figure = go.Figure()
    for owner, color in _colors(chosen).items():
        rows = curve[curve["owner"] == owner]
        for projected, dash, hover in (
                (False, "solid", N_("{student}: {amount} remaining at {time} UTC")),
                (True, "dash", N_("{student}: {amount} projected at {time} UTC"))):
            part = rows[rows["projected"] == projected]
            if part.empty:
                continue
            figure.add_trace(go.Scatter(
                x=_utc(part["at"]), y=_values(part["remaining_usd"]), mode="lines",
                name=owner if not projected else _("{student} (projected)").format(student=owner),
                legendgroup=owner, showlegend=not projected, line={"color": color, "dash": dash},
                hovertemplate=_(hover).format(student=owner, amount=amount, time=moment)
                + "<extra></extra>"))
        crossing = crossings.get(owner)
        if crossing is not None and not pd.isna(crossing):
            figure.add_trace(go.Scatter(
                x=[pd.Timestamp(crossing).tz_convert("UTC").tz_localize(None)], y=[0.0],
                mode="markers", name=_("{student} crosses the budget").format(student=owner),
                legendgroup=owner, showlegend=False,
                marker={"color": color, "symbol": "x", "size": 11},
                hovertemplate=_("{student} reaches the budget at {time} UTC").format(
                    student=owner, time=moment) + "<extra></extra>"))
    figure.add_hline(y=0.0, line={"color": BUDGET_COLOR, "width": 2},
                     annotation_text=_("budget spent"), annotation_position="bottom left")
    figure.add_vline(x=pd.Timestamp(cost.now).tz_convert("UTC").tz_localize(None),
                     line={"color": "#9e9e9e", "dash": "dot"})
    figure.update_layout(height=420, margin={"t": 30, "b": 40, "l": 60, "r": 20},
                         hovermode="closest",
                         legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    figure.update_xaxes(title_text=_("time (UTC)"), type="date")
    figure.update_yaxes(title_text=_("budget remaining (USD)"), tickprefix=_currency())
    return figure


def _percent(percent: float) -> str:
    """A share given in percent, whole, rounded as Python's own formatting rounds it."""
    whole = Decimal(percent).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return format_percent(float(whole / 100))


def top_spenders_rows(cost: ClassCost, *, n: int = TOP_SPENDERS) -> list[dict[str, Any]]:
    rows = []
    for student in cost.top_spenders(n).to_dict("records"):
        reached = budget_day(student["crosses_budget_at"])
        rows.append({
            "student": student["owner"],
            "cost in view (USD)": student["cost_usd"],
            "projected (USD)": student["projected_usd"],
            "budget used": student["budget_used_pct"],
            "budget left (USD)": student["remaining_usd"],
            # A past day for a student already over budget, a coming one for a projection.
            "budget reached on (UTC)": reached.isoformat() if reached else "",
            "environments": student["environments"],
            "running": student["running"],
        })
    return rows


# -- kept figures ---------------------------------------------------------------------------------
def reading_version(cost: ClassCost) -> str:
    """A digest of everything the figures are drawn from: the same digest, the same figures."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((cost.budget_usd, pd.Timestamp(cost.now).isoformat())).encode())
    for frame in (cost.per_day, cost.per_student, cost.burn_down):
        digest.update(repr((list(frame.columns), len(frame))).encode())
        if not frame.empty:
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@st.cache_data(max_entries=FIGURE_CACHE_ENTRIES, ttl=FIGURE_CACHE_TTL_S, show_spinner=False)
def _figure(view: str, version: str, locale: str, owners: tuple[str, ...] | None,
            _cost: ClassCost) -> dict[str, Any]:
    """The view's figure as a dict, kept under the reading's `version` and the language (the
    figure's words are in it). `_cost` is what `version` digests, so it is not hashed again."""
    if view == "per_day":
        figure = per_day_figure(_cost)
    elif view == "per_student":
        figure = per_student_figure(_cost)
    else:
        figure = burn_down_figure(_cost, owners=None if owners is None else list(owners))
    return figure.to_dict()


def _shown(spec: dict[str, Any]) -> go.Figure:
    """A kept figure for `st.plotly_chart`: it was validated when made, and validating its dict
    again would cost more than drawing it."""
    return go.Figure(spec, _validate=False)


def _chart(cost: ClassCost, view: str, *, key: str, alt: str,
           owners: list[str] | None = None) -> None:
    spec = _figure(view, reading_version(cost), current_locale(),
                   None if owners is None else tuple(owners), cost)
    st.plotly_chart(_shown(spec), width="stretch", key=_key(key, view), alt=alt)


# -- rendering ------------------------------------------------------------------------------------
def cost_metrics(cost: ClassCost) -> None:
    """Cost so far, projected, budget used and environments running now, in one row."""
    so_far, projected, budget, running = st.columns(4)
    so_far.metric(_("Cost so far"), money(cost.total_usd), help=_(METERED_NOTE))
    projected.metric(_("Projected"), money(cost.projected_usd),
                     delta=_("+{amount} until leases end").format(
                         amount=money(cost.projected_usd - cost.total_usd)),
                     delta_color="off", help=_(PROJECTION_NOTE))
    over = cost.students_over_budget
    students = ngettext("{count} student", "{count} students", cost.students).format(
        count=cost.students)
    budget.metric(
        _("Budget used"), _percent(cost.budget_used_pct),
        delta=_("{count} over budget").format(count=over) if over else None,
        delta_color="inverse",
        help=_("What the students shown spent, in every template and since their first launch, "
               "against {amount} each ({students}).").format(amount=money(cost.budget_usd),
                                                             students=students))
    running.metric(_("Running now"), cost.running_now,
                   help=_("Environments of this view holding resources now: launching, ready, "
                          "destroying, or failed with resources left."))


def cost_source_note(cost: ClassCost) -> None:
    """What the figures are: metered list prices, and nothing real on the embedded cloud."""
    embedded = cost.on_embedded_cloud
    if embedded == cost.environments and embedded:
        st.caption(":material/science: " + _("Metered from list prices; environments on the "
                                              "embedded cloud cost nothing real."))
    elif embedded:
        st.caption(":material/science: " + _(
            "Metered from list prices; {embedded} of the {environments} environments ran on the "
            "embedded cloud and cost nothing real.").format(embedded=embedded,
                                                            environments=cost.environments))
    else:
        st.caption(_("Metered from list prices, before tax, discounts and data transfer: the bill "
                     "can differ."))


def panel_views(single: bool) -> dict[str, str]:
    """The views of a panel of one student (`single`) or of a class: code and label to show."""
    views = {view: label for view, label in VIEWS.items()
             if not (single and view == "top_spenders")}
    if single:
        views["per_student"] = SINGLE_STUDENT_LABEL
    return views


def cost_panel(cost: ClassCost, *, key: str) -> None:
    """Everything about `cost` below its metrics: one of the charts or tables at a time, picked
    with the view picker (the cost per day first)."""
    cost_source_note(cost)
    if cost.environments == 0:
        st.info(_("No environment ran in this window."), icon=":material/info:")
        return
    if cost.unpriced:
        st.warning(_("{count} environments have no price and count as nothing: {environments}")
                   .format(count=len(cost.unpriced), environments=", ".join(cost.unpriced)),
                   icon=":material/warning:")

    single = cost.students == 1
    views = panel_views(single)
    view = st.segmented_control(
        _("Cost view"), list(views), default=DEFAULT_VIEW, required=True,
        format_func=lambda code: _(views[code]), key=_key(key, "view"),
        label_visibility="collapsed")
    if view not in views:  # a view of the other kind of panel (one student, or a class)
        view = DEFAULT_VIEW

    if view == "per_day":
        _chart(cost, "per_day", key=key, alt=_("Cost per UTC day, stacked by template"))
    elif view == "per_student":
        _chart(cost, "per_student", key=key,
               alt=_("Spend per student against the {amount} budget").format(
                   amount=money(cost.budget_usd)))
    elif view == "burn_down":
        burn_down_section(cost, key=key)
    elif view == "top_spenders":
        top_spenders_table(cost, key=key)
    else:
        per_template_table(cost, key=key)


@st.fragment
def burn_down_section(cost: ClassCost, *, key: str) -> None:
    """The burn-down and, for a larger class, who is on it: a fragment, so that picking students
    redraws this chart only."""
    owners = cost.per_student["owner"].tolist()
    shown = owners
    if len(owners) > BURN_DOWN_LINES:
        likely = cost.per_student.sort_values(["projected_spent_usd", "owner"],
                                              ascending=[False, True])["owner"].tolist()
        # Keyed by the students on offer: a new filter starts from its own top spenders.
        offered = zlib.crc32("\n".join(owners).encode())
        shown = st.multiselect(
            _("Students on the chart"), owners, default=likely[:BURN_DOWN_LINES],
            key=_key(key, f"burn_down.{offered:08x}"),
            help=_("The students projected to spend most are drawn first."))
    _chart(cost, "burn_down", key=key, owners=shown,
           alt=_("Remaining budget per student over time, projected to the leases' end"))
    st.caption(_(PROJECTION_NOTE) + " " + _("Solid: metered; dashed: projected; × where the "
                                            "budget runs out. Budgets count every template and "
                                            "the time before the window."))


def top_spenders_table(cost: ClassCost, *, key: str) -> None:
    # The rows keep their English keys (what the tests and the code read); the labels are shown.
    st.dataframe(
        top_spenders_rows(cost), hide_index=True, width="stretch",
        key=_key(key, "top_spenders"),
        column_config={
            "student": _("student"),
            "cost in view (USD)": _money_column(_("cost in view (USD)")),
            "projected (USD)": _money_column(_("projected (USD)")),
            "budget used": st.column_config.ProgressColumn(
                _("budget used"), format="%.0f%%", min_value=0, max_value=100),
            "budget left (USD)": _money_column(_("budget left (USD)")),
            "budget reached on (UTC)": _("budget reached on (UTC)"),
            "environments": _("environments"),
            "running": _("running"),
        })


def per_template_table(cost: ClassCost, *, key: str) -> None:
    st.dataframe(
        [{"template": row["template_id"], "environments": row["environments"],
          "running now": row["running"], "cost so far (USD)": row["cost_usd"],
          "projected (USD)": row["projected_usd"]}
         for row in cost.per_template.to_dict("records")],
        hide_index=True, width="stretch", key=_key(key, "per_template"),
        column_config={"template": _("template"), "environments": _("environments"),
                       "running now": _("running now"),
                       "cost so far (USD)": _money_column(_("cost so far (USD)")),
                       "projected (USD)": _money_column(_("projected (USD)"))})
