"""A part of a page that refreshes itself while something it shows is still moving."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

REFRESH_EVERY_S = 1.0


def live_section(body: Callable[[], bool], *, key: str, every: float = REFRESH_EVERY_S) -> None:
    """Draw `body` inside a fragment that reruns every `every` seconds while `body` returns True.

    `body` returns whether anything it showed is still in progress. A fragment's `run_every` is
    fixed when the fragment is declared, so when that answer changes the whole app reruns once to
    declare it again with or without a timer: a finished page stops polling the database.
    Owns the `live.<key>` session_state key.
    """
    state_key = f"live.{key}"
    was_live = bool(st.session_state.get(state_key, False))

    @st.fragment(run_every=every if was_live else None)
    def _section() -> None:
        is_live = body()
        if is_live != bool(st.session_state.get(state_key, False)):
            st.session_state[state_key] = is_live
            st.rerun()

    _section()
