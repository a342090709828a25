"""How long an environment may run: the lease a student asks for at launch.

Owns the `<key>` session_state key; the value stays for the session like the parameters do.
"""

from __future__ import annotations

import streamlit as st

from services.i18n import _


def lease_input(*, default: int, maximum: int, key: str) -> int:
    # A lease typed for a course with a longer limit must not outlast this one's.
    if isinstance(st.session_state.get(key), int) and st.session_state[key] > maximum:
        st.session_state[key] = maximum
    return int(st.number_input(
        _("Lease (hours)"), min_value=1, max_value=maximum, value=min(default, maximum), step=1,
        key=key, persist_state="session", icon=":material/timer:",
        help=_("How long the environment may run, at most {maximum} hours. When the lease ends "
               "the portal destroys it, so nothing keeps costing money after the lab. The cost "
               "estimate is for this many hours.").format(maximum=maximum)))
