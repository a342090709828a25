"""Where a launch goes: the cloud target, whether it can be used now, and who the portal is
there. A target that cannot be used says why and how to fix it, before anyone clicks Launch."""

from __future__ import annotations

import streamlit as st

from portal.components.text import md_code, md_escape
from services.clouds.status import TargetStatus
from services.i18n import N_, _

# Translated where shown; LocalStack and AWS are names.
LABELS = {"embedded": N_("the embedded cloud"), "localstack": "LocalStack", "aws": "AWS"}


def target_state(state: TargetStatus, *, show_identity: bool) -> bool:
    """Shows the target's state; returns whether it can be used. `show_identity` adds the
    account and identity (for instructors: students need not read ARNs)."""
    name = _(LABELS[state.target]) if state.target in LABELS else state.target
    where = f"{name} ({md_escape(state.region)})"
    if not state.usable:
        reason = md_escape(state.reason or _("unknown"))
        if state.fix:
            text = _("Launches go to {where}, which cannot be used now: {reason}. Fix: {fix}"
                     ).format(where=where, reason=reason, fix=md_escape(state.fix))
        else:
            text = _("Launches go to {where}, which cannot be used now: {reason}").format(
                where=where, reason=reason)
        st.error(text, icon=":material/cloud_off:")
        return False
    parts = [_("Launches go to {where}").format(where=where)]
    if show_identity and state.account_id:
        account = md_escape(state.account_id)
        parts.append(_("account {account} as {identity}").format(
            account=account, identity=md_code(state.identity_arn)) if state.identity_arn
            else _("account {account}").format(account=account))
    if state.running is False:
        parts.append(_("starts on the first launch"))
    st.caption(":material/cloud_done: " + " · ".join(parts))
    return True
