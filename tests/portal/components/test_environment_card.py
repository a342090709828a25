"""An environment card destroys only after an explicit confirmation."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from services.environment_service import EnvironmentView, OutputView, RunView

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def view(status: str = "ready") -> EnvironmentView:
    return EnvironmentView(
        env_id="abc123", template_id="web-server", owner="alice", status=status,
        status_reason=None, parameters={"vpc_cidr": "10.0.0.0/16"},
        outputs=[OutputView("web_url", "Web URL", "http://203.0.113.5", "url"),
                 OutputView("instance_id", "Instance ID", "i-0123", "text")],
        cloud="embedded", region="us-east-1", stack_name="sbx-abc123", created_at=NOW,
        updated_at=NOW,
        runs=[RunView(run_id=1, kind="launch", status="succeeded", started_at=NOW,
                      ended_at=NOW.replace(second=3), error=None, leftovers=[])])


def card_app(env: "EnvironmentView") -> None:  # run as a script: no postponed annotations
    import streamlit as st

    from portal.components.environment_card import environment_card

    if environment_card(env, title="Single web server", show_owner=True,
                        load_events=lambda run_id: []):
        st.session_state["test.confirmed"] = st.session_state.get("test.confirmed", 0) + 1


def test_destroy_needs_a_second_click_on_a_named_confirmation() -> None:
    at = AppTest.from_function(card_app, args=(view(),)).run()
    assert not at.exception
    assert ":green-badge[:material/check_circle: ready]" in [m.value for m in at.markdown]
    link = r"[http\:\/\/203\.0\.113\.5](<http://203.0.113.5>)"
    assert link in [m.value for m in at.markdown]
    assert "i-0123" in [c.value for c in at.code]
    assert [e.label for e in at.expander][-1].startswith("launch · succeeded · 3.0 s")

    at.button(key="environment_card.abc123.destroy").click().run()
    assert "test.confirmed" not in at.session_state
    at.button(key="environment_card.abc123.confirm_destroy").click().run()
    assert at.session_state["test.confirmed"] == 1
    # The confirmation is used up: the next destroy asks again.
    at.run()
    assert at.session_state["test.confirmed"] == 1
    assert at.button(key="environment_card.abc123.destroy")


def test_no_destroy_while_a_run_is_in_progress_or_after_destroy() -> None:
    for status in ("launching", "destroying", "destroyed"):
        at = AppTest.from_function(card_app, args=(view(status),)).run()
        assert not [b for b in at.button if b.key and b.key.endswith(".destroy")], status


def test_a_url_output_that_is_not_a_web_address_is_not_a_link() -> None:
    env = view()
    env.outputs[0] = OutputView("web_url", "Web URL", "javascript:alert(1)", "url")
    at = AppTest.from_function(card_app, args=(env,)).run()
    assert "javascript:alert(1)" in [c.value for c in at.code]
    assert not any("](" in m.value for m in at.markdown)


def test_a_ready_environment_says_when_its_lease_ends() -> None:
    from dataclasses import replace
    from datetime import timedelta

    ends = datetime.now(UTC) + timedelta(hours=3, minutes=30)
    at = AppTest.from_function(card_app, args=(replace(view(), lease_hours=4,
                                                       expires_at=ends),)).run()
    [lease] = [c.value for c in at.caption if "lease" in c.value]
    assert "lease of 4 h ends in 3 h" in lease and "destroys" in lease
    at = AppTest.from_function(card_app, args=(view(),)).run()
    assert not [c.value for c in at.caption if "lease" in c.value]
