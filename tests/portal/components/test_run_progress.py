"""A watched run's progress: errors as the viewer may read them, and a bug in it shown to a
student as an incident id only (`portal_errors`), whose detail is in the server's log."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from services.environment_service import EnvironmentView, RunView
from services.identity import Actor, Role

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
ALICE = Actor(name="alice", role=Role.STUDENT)
TEACHER = Actor(name="ms-lee", role=Role.INSTRUCTOR)
RAW = ("portal error: EndpointConnectionError: Could not connect to the endpoint URL: "
       '"https://cloudformation.us-east-1.amazonaws.com/"')
PUBLIC = re.compile(r"Something went wrong on the portal's side \(incident ([0-9a-f]{8})\)\. "
                    r"Your instructor can look it up\.")


def failed_launch() -> EnvironmentView:
    return EnvironmentView(
        env_id="abc123", template_id="web-server", owner="alice", status="failed",
        status_reason=f"{RAW}; clean-up left 1 resources: destroy it to retry", parameters={},
        outputs=[], cloud="embedded", region="us-east-1", engine="cloudformation", deployment_name="sbx-abc123", deployment_id=None,
        created_at=NOW, updated_at=NOW,
        runs=[RunView(run_id=7, kind="launch", status="failed", started_at=NOW,
                      ended_at=NOW.replace(second=9), error=RAW, leftovers=[])])


def progress_app(actor: "Actor", env: "EnvironmentView | None") -> None:  # run as a script
    from unittest import mock

    import streamlit as st

    from portal.components import run_progress
    from portal.identity import ACTOR_KEY
    from services.environment_service import StartedRun

    st.session_state[ACTOR_KEY] = actor
    run_progress.watch("launch", StartedRun(env_id="abc123", run_id=7))
    # None: the service breaks, as a bug in it would.
    found = mock.patch("services.environment_service.get_environment",
                       return_value=env, side_effect=None if env else KeyError("StackId"))
    with found, mock.patch("services.environment_service.run_events", return_value=[]):
        ended = run_progress.run_progress(object(), actor, slot="launch")  # type: ignore[arg-type]
    if ended is not None:
        st.session_state["test.reason"] = ended.status_reason


def texts(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


def test_a_student_reads_the_run_and_its_environment_without_raw_errors() -> None:
    at = AppTest.from_function(progress_app, args=(ALICE, failed_launch())).run()
    assert not at.exception
    assert [s.label for s in at.status] == ["Launch of abc123 failed after 9.0 s"]
    [run_error] = texts(at)
    assert PUBLIC.fullmatch(run_error), run_error
    # What the page shows under it, the environment's status reason, is readable too.
    reason = at.session_state["test.reason"]
    assert reason.startswith("an error on the portal's side; clean-up left 1 resources")
    assert "amazonaws" not in reason and "EndpointConnectionError" not in reason


def test_an_instructor_reads_them_in_full() -> None:
    at = AppTest.from_function(progress_app, args=(TEACHER, failed_launch())).run()
    assert texts(at) == [RAW.replace("\\", "")]
    assert at.session_state["test.reason"] == failed_launch().status_reason


def test_a_bug_shows_a_student_an_incident_id_whose_detail_is_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="services.incidents")
    at = AppTest.from_function(progress_app, args=(ALICE, None)).run()
    assert not at.exception
    [message] = texts(at)
    [incident_id] = PUBLIC.fullmatch(message).groups()  # type: ignore[union-attr]
    assert not at.expander and not at.code
    [record] = caplog.records
    assert record.getMessage().startswith(
        f"incident {incident_id} in a page of alice (student): KeyError: 'StackId'")
    assert "Traceback (most recent call last)" in record.getMessage()


def test_an_instructor_also_sees_the_detail_of_a_bug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="services.incidents")
    at = AppTest.from_function(progress_app, args=(TEACHER, None)).run()
    [message] = texts(at)
    [incident_id] = PUBLIC.fullmatch(message).groups()  # type: ignore[union-attr]
    [details] = at.expander
    assert details.label == f"Details of incident {incident_id} (instructors only)"
    [code] = details.code
    assert code.value.startswith("Traceback (most recent call last)")
    assert code.value.endswith("KeyError: 'StackId'")


def test_streamlits_own_stop_passes_through_portal_errors() -> None:
    def app() -> None:
        import streamlit as st

        from portal.ui_context import portal_errors

        with portal_errors():
            st.session_state["test.before"] = True
            st.stop()
        st.session_state["test.after"] = True

    at = AppTest.from_function(app).run()
    assert not at.error and not at.exception
    assert "test.before" in at.session_state and "test.after" not in at.session_state
