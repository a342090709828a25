"""Class health (instructors): CPU credits and throttling per instance, Auto Scaling activity,
launch, destroy and deployment timings, for the course, students, templates and window chosen."""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.dashboard_filters import dashboard_filters
from portal.components.health_charts import forget_cached, health_panel
from portal.components.text import md_escape
from portal.ui_context import portal_context, portal_errors

COLLECT_KEY = "instructor_health.collect"

actor = identity.require_actor()
if not actor.is_instructor:
    st.warning("Class health is for instructors. The health of your own environments is on "
               "My environments.", icon=":material/lock:")
    st.stop()
ctx = portal_context()

st.title("Class health")
with portal_errors():
    chosen = dashboard_filters(ctx, actor, key="health")

if st.button("Collect now", key=COLLECT_KEY, icon=":material/refresh:",
             help="Read what is new from CloudWatch, Auto Scaling and CodeDeploy for every "
                  "running environment, without waiting for the next scheduled pass."):
    # Imported here: only this button needs the collector and the cloud clients it builds.
    from services.monitoring.passes import collect_now

    with portal_errors(), st.spinner("Collecting..."):
        # On the embedded cloud the simulated workload is brought up to now first.
        report = collect_now(ctx)
    forget_cached()
    counts = (f"{report.environments} environments, {report.series} series, "
              f"{report.metric_calls} GetMetricData calls, {report.points_stored} new points, "
              f"{report.activities_stored} scaling activities, "
              f"{report.deployments_stored} deployments")
    if report.ok:
        st.success(f"Collected: {counts}.", icon=":material/check_circle:")
    else:
        st.warning(f"Collected with errors: {counts}. {md_escape(report.summary_error() or '')}",
                   icon=":material/warning:")

with portal_errors():
    shown = health_panel(ctx, actor, chosen, key="health")
if not shown:
    st.info("No metrics yet: launch environments (or run `sandbox demo` for a simulated class), "
            "then press Collect now.", icon=":material/info:")
