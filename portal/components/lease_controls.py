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


# More environments ending soon than this (a whole class at the end of a lesson) and they share
# one warning rather than filling the page with one each.
_BANNERS = 3
# The environments a shared warning names.
_NAMED = 10


def lease_banner(envs: Sequence[EnvironmentView], *, now: datetime | None = None) -> None:
    """A warning for each environment whose lease ends within the next 30 minutes (one for them
    all when there are many)."""
    now = now or utcnow()
    ending = [(env, env.expires_at) for env in envs
              if lease_ends_soon(env, now=now) and env.expires_at is not None]
    if len(ending) > _BANNERS:
        soonest = sorted(ending, key=lambda pair: pair[1])
        named = ", ".join(f"**{md_escape(env.env_id)}**" for env, _ends in soonest[:_NAMED])
        if len(soonest) > _NAMED:
            named = _("{env_ids} and {count} more").format(env_ids=named,
                                                           count=len(soonest) - _NAMED)
        st.warning(_("The leases of {count} environments end within 30 minutes, the first in "
                     "{left}: {env_ids}. They are destroyed then; extend the leases below that "
                     "are still needed.").format(count=len(soonest),
                                                 left=_left(soonest[0][1], now), env_ids=named),
                   icon=":material/timer:")
        return
    for env, ends in ending:
        st.warning(_("The lease of **{env_id}** ({template}) ends in {left}: it will be "
                     "destroyed then. Extend the lease below if you still need it.").format(
                         env_id=md_escape(env.env_id), template=md_escape(env.template_id),
                         left=_left(ends, now)), icon=":material/timer:")


def lease_controls(env: EnvironmentView, *, can_end: bool, max_hours: int) -> tuple[int, bool]:
    """Hours to extend by (0: none asked) and whether ending the lease now was confirmed.

    The popover's open state is the `lease_controls.<env_id>.open` key."""
    key = f"{PREFIX}.{env.env_id}"
    extend_by, end_now = 0, False
    # Lazy: the form is drawn only while the popover is open (a page of a whole class would
    # otherwise mount, and Streamlit track, a form for every environment on every run).
    with st.popover(_("Lease"), icon=":material/timer:", key=f"{key}.open",
                    on_change="rerun") as lease:
        if not lease.open:
            return extend_by, end_now
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
