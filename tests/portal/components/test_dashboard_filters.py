"""The dashboard filter row: choices come from the history, students get no student choice and
their own environments only, windows end now or cover whole UTC days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from streamlit.testing.v1 import AppTest

from services.context import PortalContext
from services.monitoring.filters import DashboardFilter
from tests.services.monitoring.health_history import ALICE, TEACHER, build_class

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
RESULT = "test.filter"


def filters_app(actor: "Actor", now: "datetime") -> None:  # run as a script
    import streamlit as st

    from portal.components.dashboard_filters import dashboard_filters
    from services.context import get_context

    st.session_state["test.filter"] = dashboard_filters(get_context(), actor, key="t", now=now)


def run(actor) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_function(filters_app, args=(actor, NOW), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_instructors_choose_course_student_and_template_from_the_history(
        ctx: PortalContext) -> None:
    build_class(ctx)
    at = run(TEACHER)
    assert [m.label for m in at.multiselect] == ["Course", "Student", "Template"]
    assert at.multiselect(key="dashboard_filters.t.owners").options == ["alice", "bob", "carol"]
    assert at.multiselect(key="dashboard_filters.t.templates").options == ["ha-web",
                                                                           "web-server"]
    assert at.session_state[RESULT] == DashboardFilter(start=NOW - timedelta(days=7), end=NOW)

    # The choices are behind one button, which tells what they hold.
    [choices] = at.get("popover")
    assert choices.proto.popover.label == "all courses · all students · all templates"

    at.multiselect(key="dashboard_filters.t.owners").select("bob").select("carol")
    at.multiselect(key="dashboard_filters.t.templates").select("web-server")
    at.selectbox(key="dashboard_filters.t.window").select("Last 24 hours").run()
    assert at.session_state[RESULT] == DashboardFilter(
        start=NOW - timedelta(days=1), end=NOW, owners=("bob", "carol"),
        templates=("web-server",))
    [choices] = at.get("popover")
    # Markdown, names escaped: as a reader sees it.
    assert choices.proto.popover.label.replace("\\", "") == (
        "all courses · 2 students · template web-server")


def test_students_get_no_student_choice_and_only_their_own(ctx: PortalContext) -> None:
    build_class(ctx)
    at = run(ALICE)
    assert [m.label for m in at.multiselect] == ["Course", "Template"]
    [choices] = at.get("popover")
    assert choices.proto.popover.label == "all courses · all templates"
    assert at.multiselect(key="dashboard_filters.t.templates").options == ["web-server"]
    assert at.session_state[RESULT].owners == ("alice",)


def test_a_custom_range_covers_whole_utc_days_up_to_now(ctx: PortalContext) -> None:
    at = run(TEACHER)
    at.selectbox(key="dashboard_filters.t.window").select("Custom range").run()
    # By default the last seven days, today included up to now.
    assert at.session_state[RESULT] == DashboardFilter(
        start=datetime(2026, 11, 14, tzinfo=UTC), end=NOW)
    at.date_input(key="dashboard_filters.t.dates").set_value(
        (date(2026, 11, 2), date(2026, 11, 3))).run()
    assert at.session_state[RESULT] == DashboardFilter(
        start=datetime(2026, 11, 2, tzinfo=UTC), end=datetime(2026, 11, 4, tzinfo=UTC))
    # Half-picked: the one day chosen so far.
    at.date_input(key="dashboard_filters.t.dates").set_value((date(2026, 11, 5),)).run()
    assert at.session_state[RESULT] == DashboardFilter(
        start=datetime(2026, 11, 5, tzinfo=UTC), end=datetime(2026, 11, 6, tzinfo=UTC))


def test_a_range_longer_than_allowed_keeps_its_last_days(ctx: PortalContext) -> None:
    at = run(TEACHER)
    at.selectbox(key="dashboard_filters.t.window").select("Custom range").run()
    at.date_input(key="dashboard_filters.t.dates").set_value(
        (date(2026, 6, 1), date(2026, 11, 10))).run()
    chosen = at.session_state[RESULT]
    assert chosen.end == datetime(2026, 11, 11, tzinfo=UTC)
    assert chosen.end - chosen.start == timedelta(days=62)
    assert any("At most 62 days" in c.value for c in at.caption)


def test_a_chosen_name_is_written_as_it_is_in_the_button() -> None:
    from portal.components.dashboard_filters import _choice_label

    label = _choice_label(["student_01_a"], everything="all", one="student {name}",
                          many="{count} students")
    assert label == r"student student\_01\_a"
