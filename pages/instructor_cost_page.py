"""Class cost (instructors): cost so far and projected, per student, template and day, and each
student's budget burning down."""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.cost_charts import cost_metrics, cost_panel
from portal.components.dashboard_filters import dashboard_filters
from portal.ui_context import portal_context, portal_errors
from services import cost_meter
from services.i18n import _

actor = identity.require_actor()
if not actor.is_instructor:
    st.warning(_("Class cost is for instructors. What your own environments cost is on My "
                 "environments."), icon=":material/lock:")
    st.stop()
ctx = portal_context()

st.title(_("Class cost"))
with portal_errors():
    chosen = dashboard_filters(ctx, actor, key="cost")
    cost = cost_meter.class_cost(ctx, actor=actor, filter=chosen)
cost_metrics(cost)
cost_panel(cost, key="cost")
