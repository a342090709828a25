"""A live section keeps refreshing only while its body reports something in progress."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def live_app() -> None:
    import streamlit as st

    from portal.components.live import live_section

    def body() -> bool:
        st.session_state["test.draws"] = st.session_state.get("test.draws", 0) + 1
        return bool(st.session_state.get("test.moving"))

    live_section(body, key="demo")


def test_the_refresh_switches_on_and_off_with_the_body() -> None:
    at = AppTest.from_function(live_app).run()
    assert "live.demo" not in at.session_state
    draws = at.session_state["test.draws"]
    assert draws == 1  # nothing moving: drawn once, no extra rerun

    at.session_state["test.moving"] = True
    at.run()
    # The body said "moving": the app reran once to declare the fragment with a timer.
    assert at.session_state["live.demo"] is True
    assert at.session_state["test.draws"] == draws + 2

    at.session_state["test.moving"] = False
    at.run()
    assert at.session_state["live.demo"] is False
