"""Class health (instructors): CPU credits and throttling per instance, Auto Scaling activity,
launch, destroy and deployment timings, for the course, students, templates and window chosen."""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.dashboard_filters import dashboard_filters
from portal.components.health_charts import forget_cached, health_panel
from portal.components.text import md_escape
from portal.ui_context import portal_context, portal_errors
from services.i18n import _, format_number

COLLECT_KEY = "instructor_health.collect"

actor = identity.require_actor()
if not actor.is_instructor:
    st.warning(_("Class health is for instructors. The health of your own environments is "
                 "on My environments."), icon=":material/lock:")
    st.stop()
ctx = portal_context()

st.title(_("Class health"))
with portal_errors():
    chosen = dashboard_filters(ctx, actor, key="health")

if st.button(_("Collect now"), key=COLLECT_KEY, icon=":material/refresh:",
             help=_("Read what is new from CloudWatch, Auto Scaling and CodeDeploy for every "
                    "running environment, without waiting for the next scheduled pass.")):
    # Imported here: only this button needs the collector and the cloud clients it builds.
    from services.monitoring.passes import collect_now

    with portal_errors(), st.spinner(_("Collecting...")):
        # On the embedded cloud the simulated workload is brought up to now first.
        report = collect_now(ctx)
    forget_cached()
    counts = {"environments": format_number(report.environments),
              "series": format_number(report.series),
              "calls": format_number(report.metric_calls),
              "points": format_number(report.points_stored),
              "activities": format_number(report.activities_stored),
              "deployments": format_number(report.deployments_stored)}
    if report.ok:
        st.success(_("Collected: {environments} environments, {series} series, {calls} "
                     "GetMetricData calls, {points} new points, {activities} scaling activities, "
                     "{deployments} deployments.").format(**counts),
                   icon=":material/check_circle:")
    else:
        st.warning(_("Collected with errors: {environments} environments, {series} series, "
                     "{calls} GetMetricData calls, {points} new points, {activities} scaling "
                     "activities, {deployments} deployments. {error}").format(
                         **counts, error=md_escape(report.summary_error() or "")),
                   icon=":material/warning:")

with portal_errors():
    shown = health_panel(ctx, actor, chosen, key="health")
if not shown:
    st.info(_("No metrics yet: launch environments (or run `sandbox demo` for a simulated "
              "class), then press Collect now."), icon=":material/info:")
