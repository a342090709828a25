"""The overview of a class's environments: every one in the table, their cards a page at a time
or only for the rows picked in the table."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

from services.environment_service import EnvironmentView

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def views(count: int) -> list[EnvironmentView]:
    return [EnvironmentView(
        env_id=f"env{n:03d}", template_id="web-server", owner=f"student-{n}", status="ready",
        status_reason=None, parameters={}, outputs=[], cloud="embedded", region="us-east-1",
        engine="cloudformation", deployment_name=f"sbx-env{n:03d}", deployment_id=None,
        created_at=NOW, updated_at=NOW) for n in range(count)]


def table_app(envs: list) -> None:
    import streamlit as st

    from portal.components.environments_table import environments_table, paged

    picked = environments_table(envs, show_owner=True, key="demo")
    shown = [e for e in envs if e.env_id in picked] if picked else envs
    st.session_state["test.shown"] = [e.env_id for e in paged(shown, key="demo")]


def test_a_few_environments_all_show_with_no_picker_and_no_selection() -> None:
    envs = views(3)
    at = AppTest.from_function(table_app, args=(envs,)).run()
    assert not at.exception
    assert list(at.dataframe[0].value["environment"]) == ["env000", "env001", "env002"]
    assert at.session_state["test.shown"] == ["env000", "env001", "env002"]
    assert not at.dataframe[0].key  # no row selection: nothing to pick
    assert not at.get("button_group") and not at.selectbox
    assert "3 ready" in [c.value for c in at.caption]


def test_a_class_shows_a_page_of_cards_at_a_time_and_the_table_of_all() -> None:
    envs = views(45)
    at = AppTest.from_function(table_app, args=(envs,)).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 45
    assert "45 ready" in [c.value for c in at.caption]
    assert at.session_state["test.shown"] == [f"env{n:03d}" for n in range(10)]
    [picker] = at.get("button_group")
    assert picker.label == "Page (45 environments in all)"
    at.session_state["environments_table.demo.page"] = 4
    at.run()
    assert at.session_state["test.shown"] == [f"env{n:03d}" for n in range(40, 45)]


def test_many_pages_are_picked_from_a_drop_down() -> None:
    at = AppTest.from_function(table_app, args=(views(203),)).run()
    assert not at.exception
    [picker] = at.selectbox
    assert picker.options[:2] == ["1–10", "11–20"] and picker.options[-1] == "201–203"
    picker.select_index(20).run()
    assert at.session_state["test.shown"] == ["env200", "env201", "env202"]


def test_rows_picked_in_the_table_show_only_their_cards() -> None:
    envs = views(30)
    at = AppTest.from_function(table_app, args=(envs,)).run()
    assert at.session_state["test.shown"] == [f"env{n:03d}" for n in range(10)]
    key = at.dataframe[0].key
    assert key and key.startswith("environments_table.demo.rows.")
    at.session_state[key] = {"selection": {"rows": [3, 25], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.session_state["test.shown"] == ["env003", "env025"]


def growing_app() -> None:
    import streamlit as st

    from tests.portal.components.test_environments_table import table_app, views

    table_app(views(st.session_state.get("test.count", 30)))


def test_a_pick_is_cleared_when_the_list_changes() -> None:
    """Rows are picked by position: once an environment is added, the same positions would be
    other environments, so the table starts with nothing picked again."""
    at = AppTest.from_function(growing_app).run()
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [3], "columns": [],
                                                           "cells": []}}
    at.run()
    assert at.session_state["test.shown"] == ["env003"]
    at.session_state["test.count"] = 31
    at.run()
    assert not at.exception
    assert at.session_state["test.shown"] == [f"env{n:03d}" for n in range(10)]
