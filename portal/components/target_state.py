"""Where a launch goes: the cloud target, whether it can be used now, and who the portal is
there. A target that cannot be used says why and how to fix it, before anyone clicks Launch."""

from __future__ import annotations

import streamlit as st

from portal.components.text import md_escape
from services.clouds.status import TargetStatus

LABELS = {"embedded": "the embedded cloud", "localstack": "LocalStack", "aws": "AWS"}


def target_state(state: TargetStatus, *, show_identity: bool) -> bool:
    """Shows the target's state; returns whether it can be used. `show_identity` adds the
    account and identity (for instructors: students need not read ARNs)."""
    where = f"{LABELS.get(state.target, state.target)} ({md_escape(state.region)})"
    if not state.usable:
        st.error(f"Launches go to {where}, which cannot be used now: "
                 f"{md_escape(state.reason or 'unknown')}"
                 + (f". Fix: {md_escape(state.fix)}" if state.fix else ""),
                 icon=":material/cloud_off:")
        return False
    who = ""
    if show_identity and state.account_id:
        who = f" · account {md_escape(state.account_id)}"
        if state.identity_arn:
            who += f" as `{md_escape(state.identity_arn)}`"
    running = "" if state.running is not False else " · starts on the first launch"
    st.caption(f":material/cloud_done: Launches go to {where}{who}{running}")
    return True
