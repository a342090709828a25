"""Audit log (instructors): who signed in, changed accounts and courses, launched, destroyed or
was refused, filtered, with the shown entries as a CSV."""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.audit_table import audit_filters, audit_table
from portal.ui_context import portal_context, portal_errors
from services import audit
from services.i18n import _

actor = identity.require_actor()
if not actor.is_instructor:
    st.warning(_("This page is for instructors."), icon=":material/lock:")
    st.stop()
ctx = portal_context()

st.title(_("Audit log"))
with portal_errors():
    chosen = audit_filters(ctx, actor, key="audit")
    views = audit.entries(ctx, actor=actor, **chosen.query())
audit_table(views, key="audit", chosen=chosen)
