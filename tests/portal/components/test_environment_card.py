"""An environment card destroys only after an explicit confirmation."""

from __future__ import annotations

import re
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
        cloud="embedded", region="us-east-1", engine="cloudformation", deployment_name="sbx-abc123", deployment_id=None, created_at=NOW,
        updated_at=NOW,
        runs=[RunView(run_id=1, kind="launch", status="succeeded", started_at=NOW,
                      ended_at=NOW.replace(second=3), error=None, leftovers=[])])


def card_app(env: "EnvironmentView",  # run as a script: no postponed annotations
             show_detail: bool = False) -> None:
    import streamlit as st

    from portal.components.environment_card import environment_card

    if environment_card(env, title="Single web server", show_owner=True,
                        load_events=lambda run_id: [], show_detail=show_detail):
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


RAW = ("portal error: ClientError: An error occurred (AccessDenied) when calling the DeleteStack "
       "operation: User: arn:aws:iam::123456789012:user/portal is not authorized")


def failed_view() -> EnvironmentView:
    from dataclasses import replace

    env = view("failed")
    run = replace(env.runs[0], status="failed", error=RAW)
    return replace(env, status_reason=f"{RAW}; clean-up left 1 resources: destroy it to retry",
                   runs=[run])


def shown_errors(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


def with_the_run_open(at: AppTest) -> AppTest:
    """A run's error is drawn only in its opened expander."""
    at.session_state["environment_card.abc123.run.1"] = True
    return at.run()


def test_a_student_sees_an_incident_id_in_place_of_raw_errors() -> None:
    at = with_the_run_open(AppTest.from_function(card_app, args=(failed_view(),)).run())
    assert not at.exception
    reason, run_error = shown_errors(at)
    assert re.fullmatch(r"an error on the portal's side; clean-up left 1 resources: destroy it "
                        r"to retry \(incident [0-9a-f]{8}: your instructor can look it up\)",
                        reason), reason
    assert re.fullmatch(r"Something went wrong on the portal's side \(incident [0-9a-f]{8}\)\. "
                        r"Your instructor can look it up\.", run_error), run_error
    assert not any("arn:aws" in text or "ClientError" in text for text in shown_errors(at))


def test_an_instructor_sees_the_full_text() -> None:
    at = with_the_run_open(AppTest.from_function(card_app, args=(failed_view(),),
                                                 kwargs={"show_detail": True}).run())
    reason, run_error = shown_errors(at)
    assert reason == f"{RAW}; clean-up left 1 resources: destroy it to retry"
    assert run_error == RAW


def events_app(events: list, show_detail: bool) -> None:
    from portal.components.environment_card import events_table

    events_table(events, context="run 1", show_detail=show_detail)


def test_raw_event_reasons_are_replaced_for_students_only() -> None:
    from services.environment_service import EventView

    events = [EventView(occurred_at=NOW, logical_id="sweep", resource_type="AWS::EC2::VPC",
                        physical_id="vpc-1", status="DELETE_FAILED",
                        reason="ClientError: An error occurred (DependencyViolation) when "
                               "calling the DeleteVpc operation: has dependencies"),
              EventView(occurred_at=NOW, logical_id="Web", resource_type="AWS::EC2::Instance",
                        physical_id="i-1", status="CREATE_FAILED", reason="t3.nano unsupported")]
    for show_detail in (False, True):
        at = AppTest.from_function(events_app, args=(events, show_detail)).run()
        raw, readable = list(at.dataframe[0].value["reason"])
        assert readable == "t3.nano unsupported"
        assert ("DependencyViolation" in raw) is show_detail, raw
        assert show_detail or re.search(r"incident [0-9a-f]{8}", raw)
