"""A class's health as charts: CPU credit balance per instance (one instance in detail, with its
baseline and the moments it was throttled), Auto Scaling activity with its causes, launch,
destroy and deployment durations, and the waterfall of one run; the figures themselves are drawn
by `health_figures`.

Owns the `health_charts.{key}.*` session_state keys. The same panel serves the instructor's Class
health page and a student's own environments.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

# The throttling marks' legend name and colour are re-exported: whoever reads the panel's figures
# finds the throttled hours by them (the name as `_(THROTTLED_TRACE)`, in the reader's language).
from portal.components.health_figures import (
    THROTTLE_CELL_COLOR as THROTTLE_CELL_COLOR,
    THROTTLED_TRACE as THROTTLED_TRACE,
    credit_balance_figure,
    deployment_durations_figure,
    instance_detail_figure,
    run_durations_figure,
    run_waterfall_figure,
    scaling_timeline_figure,
)
from portal.components.text import duration, md_escape
from services.context import PortalContext
from services.i18n import N_, _, current_locale, ngettext, use_locale
from services.identity import Actor
from services.monitoring import health_view
from services.history.models import utcnow
from services.monitoring.filters import MAX_WINDOW, DashboardFilter
from services.monitoring.health_view import (
    ClassHealth,
    DeployTimings,
    InstanceDetail,
    RunWaterfall,
    ScalingTimeline,
)

PREFIX = "health_charts"
# health_view's label of simulated data, marked here too so that this catalog has what the panel
# shows.
N_("Simulated by the embedded cloud's workload simulator")
RUN_KINDS = {"launch": N_("launch"), "destroy": N_("destroy")}
RUN_STATUSES = {"running": N_("running"), "succeeded": N_("succeeded"), "failed": N_("failed")}


def throttle_rule() -> str:
    return _("Throttled: the credit balance touched empty (at most {credits} credits) while the "
             "busiest five minutes sat at the baseline (within {points} points): the instance "
             "wanted more CPU and was held at its cap.").format(
        credits=f"{health_view.EMPTY_BALANCE:g}",
        points=f"{health_view.THROTTLE_TOLERANCE_PERCENT:g}")


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


# The views change when the collector writes (every few minutes) or a run ends: a minute of reuse
# lets a page be redrawn, a filter tried and put back, or an instance picked, without reading the
# class's history again. Keyed by the database too, so two portals in one process never mix, and
# by the language, whose words the figures carry.
# Each loader keeps its figures with its view, as plain dicts: making a class's figure again on
# every rerun cost more than the rest of the page's script together.
# A window ending now ("the last 7 days") is keyed by its shape, not by its moments, which move
# with the clock: its entry is refreshed in the background once a minute old (and served, a
# minute old, meanwhile), so no visit waits for the class to be read again; only an entry nobody
# asked for in two minutes is read afresh while its visitor waits.
CACHE_TTL_S = 60
# A window ending within this of now ends "now": it moves with the clock.
LIVE_SLACK = timedelta(minutes=2)
Figure = dict[str, Any]


@dataclass(frozen=True)
class LiveWindow:
    """A dashboard window that ends now, as the views are kept under it: by its length (the last
    N days) or from its start (a custom range up to today), with the filter's choices."""

    length: timedelta | None
    start: datetime | None
    courses: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()

    def until_now(self) -> DashboardFilter:
        """The window as of now, to whole minutes (see `_to_the_minute`)."""
        end = _up(utcnow())
        start = end - self.length if self.length is not None else self.start
        assert start is not None
        start = _up(max(min(start, end - timedelta(minutes=1)), end - MAX_WINDOW))
        return DashboardFilter(start=start, end=end, courses=self.courses, owners=self.owners,
                               templates=self.templates)


Window = DashboardFilter | LiveWindow


def cache_window(filter: DashboardFilter, *, now: datetime | None = None) -> Window:
    """How the views of `filter` are kept: a window ending now by its shape, which stays the same
    from one minute to the next; any other as itself, to the minute."""
    now = now or utcnow()
    if now - filter.end >= LIVE_SLACK:
        return _to_the_minute(filter)
    choices = {"courses": filter.courses, "owners": filter.owners, "templates": filter.templates}
    start = filter.start.astimezone(UTC)
    if start == start.replace(hour=0, minute=0, second=0, microsecond=0):
        # A custom range of whole days, up to today: it starts where it starts.
        return LiveWindow(length=None, start=start, **choices)
    return LiveWindow(length=filter.end - filter.start, start=None, **choices)


def window_filter(window: Window) -> DashboardFilter:
    """The filter `window` stands for, now."""
    return window.until_now() if isinstance(window, LiveWindow) else window


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False, refresh_mode="background")
def _credits(_ctx: PortalContext, database: str, locale: str, actor: Actor,
             window: Window) -> tuple[ClassHealth, Figure | None]:
    health = health_view.class_health(_ctx, actor=actor, filter=window_filter(window))
    with use_locale(locale):
        return health, None if health.is_empty else credit_balance_figure(health).to_dict()


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False, refresh_mode="background")
def _detail(_ctx: PortalContext, database: str, locale: str, actor: Actor, instance_id: str,
            window: Window) -> tuple[InstanceDetail, Figure]:
    detail = health_view.instance_detail(_ctx, actor=actor, instance_id=instance_id,
                                         filter=window_filter(window))
    with use_locale(locale):
        return detail, instance_detail_figure(detail).to_dict()


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False, refresh_mode="background")
def _scaling(_ctx: PortalContext, database: str, locale: str, actor: Actor,
             window: Window) -> tuple[ScalingTimeline, Figure | None]:
    filter = window_filter(window)
    timeline = health_view.scaling_timeline(_ctx, actor=actor, filter=filter)
    if timeline.activities.empty:
        return timeline, None
    with use_locale(locale):
        return timeline, scaling_timeline_figure(timeline, until=filter.end).to_dict()


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False, refresh_mode="background")
def _timings(_ctx: PortalContext, database: str, locale: str, actor: Actor,
             window: Window) -> tuple[DeployTimings, Figure | None, Figure | None]:
    timings = health_view.deploy_timings(_ctx, actor=actor, filter=window_filter(window))
    with use_locale(locale):
        runs = None if timings.runs.empty else run_durations_figure(timings).to_dict()
        deployments = (None if timings.deployments.empty
                       else deployment_durations_figure(timings).to_dict())
    return timings, runs, deployments


@st.cache_data(ttl=CACHE_TTL_S, max_entries=32, show_spinner=False, refresh_mode="background")
def _waterfall(_ctx: PortalContext, database: str, locale: str, actor: Actor, run_id: int,
               window: Window) -> tuple[RunWaterfall, Figure | None]:
    waterfall = health_view.run_waterfall(_ctx, actor=actor, run_id=run_id)
    if waterfall.resources.empty:
        return waterfall, None
    with use_locale(locale):
        return waterfall, run_waterfall_figure(waterfall,
                                               until=window_filter(window).end).to_dict()


def forget_cached() -> None:
    """Drop the views read so far, e.g. after a collector pass wrote new data."""
    for loader in (_credits, _detail, _scaling, _timings, _waterfall):
        loader.clear()


def _database(ctx: PortalContext) -> str:
    return ctx.settings.effective_database_url


def _shown(spec: Figure) -> go.Figure:
    """A kept figure for `st.plotly_chart`: it was validated when made, and validating its dict
    again (as `st.plotly_chart` does with a dict) took longer than the rest of the page's run."""
    return go.Figure(spec, _validate=False)


def _up(moment: datetime) -> datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def _to_the_minute(filter: DashboardFilter) -> DashboardFilter:
    """The window moved forward to whole minutes: the same window asked again within the same
    minute is the same key, and its views come from the cache. Up, not down, so that nothing up
    to its end is left out."""
    return replace(filter, start=_up(filter.start), end=_up(filter.end))


def simulated_label(count: int) -> None:
    if count:
        st.caption(f":material/science: {_(health_view.SIMULATED_LABEL)}.")


def _credits_section(ctx: PortalContext, actor: Actor, window: Window, *, key: str) -> bool:
    st.subheader(_("CPU credits"))
    health, figure = _credits(ctx, _database(ctx), current_locale(), actor, window)
    if figure is None:
        st.info(_("No CPU credit metrics in this window. Burstable instances (t2, t3, t3a, t4g) "
                  "report them once the collector has run: launch environments and press "
                  "Collect now, or run `sandbox demo` for a simulated class."),
                icon=":material/info:")
        return False
    simulated_label(health.simulated)
    throttled = health.instances[health.instances["hours_throttled"] > 0]
    cols = st.columns(3)
    cols[0].metric(_("Instances"), len(health.instances))
    cols[1].metric(_("Throttled at some point"), len(throttled))
    cols[2].metric(_("Hours throttled"), int(health.instances["hours_throttled"].sum()))
    st.plotly_chart(_shown(figure), key=_key(key, "balances"))
    st.caption(throttle_rule())
    # Drawn when opened: a class's table is hundreds of rows the browser would mount unseen.
    every = st.expander(_("Every instance ({count}), the most throttled first").format(
                            count=len(health.instances)), icon=":material/table:",
                        key=_key(key, "instances"), on_change="rerun")
    if every.open:
        every.dataframe(
            health.instances.assign(min_balance=health.instances["min_balance"].round(1)),
            hide_index=True, width="stretch",
            column_order=["instance_id", "owner", "template_id", "env_id", "instance_type",
                          "baseline_percent", "min_balance", "hours_throttled", "first_throttled",
                          "replaced"],
            column_config={"instance_id": _("instance"), "owner": _("owner"),
                           "template_id": _("template"), "env_id": _("environment"),
                           "instance_type": _("type"),
                           "baseline_percent": st.column_config.NumberColumn(_("baseline"),
                                                                             format="%g%%"),
                           "min_balance": _("lowest balance"),
                           "hours_throttled": _("hours throttled"),
                           "first_throttled": st.column_config.DatetimeColumn(
                               _("first throttled (UTC)"), format="YYYY-MM-DD HH:mm"),
                           "replaced": st.column_config.CheckboxColumn(
                               _("replaced by Auto Scaling"))})
    # Drawn when opened, as the table is: the picker is a widget the browser would mount on
    # every visit, and the class view is what the page opens on.
    detail = st.expander(_("One instance in detail"), icon=":material/monitoring:",
                         key=detail_key(key), on_change="rerun")
    if detail.open:
        with detail:
            _detail_fragment(ctx, actor, window, health.instances["instance_id"].tolist(),
                             key=key)
    return True


def detail_key(key: str) -> str:
    """The session_state key of the section of one instance in detail: True while open."""
    return _key(key, "one_instance")


@st.fragment
def _detail_fragment(ctx: PortalContext, actor: Actor, window: Window,
                     instance_ids: list[str], *, key: str) -> None:
    # A fragment: picking another instance redraws this chart only, not the class view.
    # Nothing picked at first: one instance's five-minute points are drawn when asked for.
    instance_id = st.selectbox(_("Instance in detail"), instance_ids, index=None,
                               key=_key(key, "instance"),
                               placeholder=_("Pick an instance (the most throttled are first)"),
                               help=_("Its five-minute credit balance and CPU, its baseline, and "
                                      "its throttled stretches shaded."))
    if instance_id is None:
        return
    detail, figure = _detail(ctx, _database(ctx), current_locale(), actor, instance_id, window)
    if detail.points.empty:
        st.info(_("No five-minute points for this instance in the window."),
                icon=":material/info:")
        return
    st.plotly_chart(_shown(figure), key=_key(key, "detail"))
    baseline = (_("baseline {percent}% CPU").format(percent=f"{detail.baseline_percent:g}")
                if detail.baseline_percent is not None else _("not burstable"))
    spans = len(detail.throttled_spans)
    st.caption(ngettext("{type}, {baseline}; {count} throttled stretch shaded.",
                        "{type}, {baseline}; {count} throttled stretches shaded.", spans).format(
        type=md_escape(detail.instance_type or _("unknown type")), baseline=baseline,
        count=spans))


def _scaling_section(ctx: PortalContext, actor: Actor, window: Window, *, key: str) -> bool:
    st.subheader(_("Auto Scaling activity"))
    timeline, figure = _scaling(ctx, _database(ctx), current_locale(), actor, window)
    if figure is None:
        st.info(_("No Auto Scaling activity in this window (only ha-web environments have an "
                  "Auto Scaling group)."), icon=":material/info:")
        return False
    simulated_label(timeline.simulated)
    st.plotly_chart(_shown(figure), key=_key(key, "scaling"))
    replaced = timeline.activities["cause"].fillna("").str.contains("health check").sum()
    st.caption(_("{count} activities; {replaced} of them after a failed health check. Hover a "
                 "bar for AWS's cause.").format(count=len(timeline.activities),
                                                replaced=replaced))
    return True


def _timings_section(ctx: PortalContext, actor: Actor, window: Window, *, key: str) -> bool:
    st.subheader(_("Deploy timings"))
    timings, runs_figure, deployments_figure = _timings(ctx, _database(ctx), current_locale(),
                                                        actor, window)
    if timings.runs.empty and timings.deployments.empty:
        st.info(_("No launches, destroys or deployments in this window."),
                icon=":material/info:")
        return False
    simulated_label(timings.simulated)
    if runs_figure is not None:
        st.plotly_chart(_shown(runs_figure), key=_key(key, "runs"))
    if deployments_figure is not None:
        st.markdown(_("**CodeDeploy deployments**"))
        st.plotly_chart(_shown(deployments_figure), key=_key(key, "deployments"))
    if not timings.runs.empty:
        _waterfall_fragment(ctx, actor, timings.runs, window=window, key=key)
    return True


def _run_labels(runs: pd.DataFrame) -> dict[int, str]:
    labels = {}
    for run in runs.to_dict("records"):
        kind, status, seconds = run["kind"], run["status"], run["duration_s"]
        labels[int(run["run_id"])] = _(
            "{kind} of {environment} ({template}, {student}), {status}, {took}").format(
            kind=_(RUN_KINDS[kind]) if kind in RUN_KINDS else kind,
            environment=run["env_id"], template=run["template_id"], student=run["owner"],
            status=_(RUN_STATUSES[status]) if status in RUN_STATUSES else status,
            took=duration(seconds) if pd.notna(seconds) else _("still running"))
    return labels


@st.fragment
def _waterfall_fragment(ctx: PortalContext, actor: Actor, runs: pd.DataFrame, *,
                        window: Window, key: str) -> None:
    labels = _run_labels(runs.sort_values("started_at", ascending=False).head(200))
    run_id = st.selectbox(_("Run, resource by resource"), list(labels), format_func=labels.get,
                          key=_key(key, "run"), help=_("The newest first."))
    if run_id is None:
        return
    waterfall, figure = _waterfall(ctx, _database(ctx), current_locale(), actor, run_id, window)
    if figure is None:
        st.info(_("No per-resource events were recorded for this run."), icon=":material/info:")
        return
    st.plotly_chart(_shown(figure), key=_key(key, "waterfall"))


def health_panel(ctx: PortalContext, actor: Actor, filter: DashboardFilter, *,
                 key: str) -> bool:
    """Every section of the Health view for the filter's environments; False when none of them
    had anything to show."""
    window = cache_window(filter)
    shown = [_credits_section(ctx, actor, window, key=key),
             _scaling_section(ctx, actor, window, key=key),
             _timings_section(ctx, actor, window, key=key)]
    return any(shown)
