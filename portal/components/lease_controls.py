"""A lease's end, the banner before it, and the controls to extend it or (instructors) end it.

Owns the `lease_controls.*` session_state keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st

from portal.components.text import md_escape, when
from services.environment_service import EnvironmentView, lease_ends_soon
from services.history.models import utcnow
from services.i18n import _

PREFIX = "lease_controls"


def _left(expires_at: datetime, now: datetime) -> str:
    minutes = max(0, int((expires_at - now).total_seconds() // 60))
    if minutes >= 60:
        return _("{hours} h {minutes} min").format(hours=minutes // 60, minutes=minutes % 60)
    return _("{minutes} min").format(minutes=minutes)


def lease_banner(envs: Sequence[EnvironmentView], *, now: datetime | None = None) -> None:
    """A warning for each environment whose lease ends within the next 30 minutes."""
    now = now or utcnow()
    for env in envs:
        if lease_ends_soon(env, now=now) and env.expires_at is not None:
            st.warning(_("The lease of **{env_id}** ({template}) ends in {left}: it will be "
                         "destroyed then. Extend the lease below if you still need it.").format(
                             env_id=md_escape(env.env_id), template=md_escape(env.template_id),
                             left=_left(env.expires_at, now)), icon=":material/timer:")


def lease_controls(env: EnvironmentView, *, can_end: bool, max_hours: int) -> tuple[int, bool]:
    """Hours to extend by (0: none asked) and whether ending the lease now was confirmed."""
    key = f"{PREFIX}.{env.env_id}"
    extend_by, end_now = 0, False
    with st.popover(_("Lease"), icon=":material/timer:"):
        if env.expires_at is not None:
            st.caption(_("Ends {moment} (in {left}).").format(
                moment=when(env.expires_at, seconds=False),
                left=_left(env.expires_at, utcnow())))
        with st.form(f"{key}.extend", border=False):
            hours = st.number_input(_("Extend by (hours)"), min_value=1, max_value=max_hours,
                                    value=1, step=1, key=f"{key}.hours")
            if st.form_submit_button(_("Extend"), icon=":material/more_time:"):
                extend_by = int(hours)
        if can_end:
            sure = st.checkbox(_("End the lease now and destroy the environment"),
                               key=f"{key}.sure")
            end_now = st.button(_("End lease"), key=f"{key}.end", disabled=not sure,
                                icon=":material/timer_off:", type="primary") and sure
    return extend_by, end_now
