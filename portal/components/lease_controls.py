"""A lease's end, the banner before it, and the controls to extend it or (instructors) end it.

Owns the `lease_controls.*` session_state keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from portal.components.text import md_escape
from services.environment_service import EnvironmentView, lease_ends_soon
from services.history.models import utcnow

PREFIX = "lease_controls"


def _left(expires_at: datetime, now: datetime) -> str:
    minutes = max(0, int((expires_at - now).total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def lease_banner(envs: Sequence[EnvironmentView], *, now: datetime | None = None) -> None:
    """A warning for each environment whose lease ends within the next 30 minutes."""
    now = now or utcnow()
    for env in envs:
        if lease_ends_soon(env, now=now) and env.expires_at is not None:
            st.warning(f"The lease of **{md_escape(env.env_id)}** ({md_escape(env.template_id)}) "
                       f"ends in {_left(env.expires_at, now)}: it will be destroyed then. "
                       "Extend the lease below if you still need it.", icon=":material/timer:")


def lease_controls(env: EnvironmentView, *, can_end: bool, max_hours: int) -> tuple[int, bool]:
    """Hours to extend by (0: none asked) and whether ending the lease now was confirmed."""
    key = f"{PREFIX}.{env.env_id}"
    extend_by, end_now = 0, False
    with st.popover("Lease", icon=":material/timer:"):
        if env.expires_at is not None:
            st.caption(f"Ends {env.expires_at:%Y-%m-%d %H:%M} UTC "
                       f"(in {_left(env.expires_at, utcnow())}).")
        with st.form(f"{key}.extend", border=False):
            hours = st.number_input("Extend by (hours)", min_value=1, max_value=max_hours,
                                    value=1, step=1, key=f"{key}.hours")
            if st.form_submit_button("Extend", icon=":material/more_time:"):
                extend_by = int(hours)
        if can_end:
            sure = st.checkbox("End the lease now and destroy the environment",
                               key=f"{key}.sure")
            end_now = st.button("End lease", key=f"{key}.end", disabled=not sure,
                                icon=":material/timer_off:", type="primary") and sure
    return extend_by, end_now
