"""Credit predictor: opens on the seed's worked example, follows every widget, names a bad field."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from services.workload.profiles import ProfileKind

from tests.pages.conftest import ALICE, TEACHER, open_page, texts

PAGE = "credit_predictor_page.py"
KEY = "credit_predictor_page"


def hour_by_hour(at: AppTest):  # type: ignore[no-untyped-def]
    """The hour-by-hour table, drawn once its expander is opened."""
    at.session_state[f"{KEY}.hour_by_hour"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at.dataframe[0].value


def more_settings(at: AppTest) -> AppTest:
    """Open the section of the less used settings as a click would."""
    at.session_state[f"{KEY}.more"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_spec(at: AppTest) -> dict:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def test_opens_on_the_worked_example_held_at_the_baseline(app) -> None:
    at = open_page(app(ALICE), PAGE)
    assert not at.exception
    assert texts(at.title) == ["Credit predictor"]
    assert at.selectbox(key=f"{KEY}.instance_type").value == "t3.micro"
    assert at.radio(key=f"{KEY}.mode").value == "standard"
    assert at.radio(key=f"{KEY}.workload").value == ProfileKind.STEADY
    assert at.number_input(key=f"{KEY}.app_cpu").value == 5
    # The less used settings are drawn once their section is opened, which is named with them.
    [more] = [e for e in at.expander if e.key == f"{KEY}.more"]
    assert more.label == "More settings: 24 h, agents 8%, 0 credits at the start"
    assert not [n for n in at.number_input if n.key == f"{KEY}.hours"]
    more_settings(at)
    assert at.number_input(key=f"{KEY}.agents").value == 8
    assert at.number_input(key=f"{KEY}.start_balance").value == 0
    assert at.number_input(key=f"{KEY}.hours").value == 24

    page_text = " ".join(texts(at.markdown))
    assert "Worked example" in page_text and "not always the cheapest choice" in page_text
    assert "starts with 0 credits" in " ".join(texts(at.caption))
    assert metrics(at)["Held at the baseline from"] == "0.0 h"
    assert metrics(at)["Baseline"] == "10% CPU"
    (warning,) = texts(at.warning)
    assert "held at its 10% baseline from the first minute" in warning

    spec = chart_spec(at)
    names = [trace["name"] for trace in spec["data"]]
    assert names == ["Credit balance", "CPU asked for", "CPU it gets", "Throttling starts"]
    assert spec["data"][3]["x"] == [0.0]
    assert not at.dataframe  # the hour-by-hour table, until its expander is opened
    hours = hour_by_hour(at)
    assert len(hours) == 24 and hours["throttled"].all()
    assert list(hours["effective_cpu"].unique()) == [10.0]


def test_a_t3_small_runs_the_same_workload_at_full_speed(app) -> None:
    at = open_page(app(ALICE), PAGE)
    at.selectbox(key=f"{KEY}.instance_type").set_value("t3.small").run()
    assert not at.exception
    assert metrics(at)["Held at the baseline from"] == "never"
    assert metrics(at)["Balance after 24 h"] == "201.6"
    assert not at.warning
    assert "never runs out in 24 hours" in texts(at.success)[0]
    assert "Throttling starts" not in [t["name"] for t in chart_spec(at)["data"]]


def test_unlimited_mode_shows_the_surplus_instead(app) -> None:
    at = open_page(app(TEACHER), PAGE)
    at.radio(key=f"{KEY}.mode").set_value("unlimited").run()
    assert not at.exception
    assert metrics(at)["Held at the baseline from"] == "never"
    assert metrics(at)["Surplus owed at the end"] == "86.4"
    assert "owes 86.4 surplus credits" in texts(at.info)[0]
    assert "Surplus credits owed" in [t["name"] for t in chart_spec(at)["data"]]


def test_class_hours_and_a_longer_window(app) -> None:
    at = open_page(app(ALICE), PAGE)
    at.radio(key=f"{KEY}.workload").set_value(ProfileKind.CLASS_HOURS).run()
    more_settings(at)
    at.number_input(key=f"{KEY}.hours").set_value(168)
    at.number_input(key=f"{KEY}.start_balance").set_value(None).run()
    assert not at.exception
    # A week holds both Tuesday and Thursday sessions: at 60% + 8% agents a new t3.micro in
    # standard mode is held at the baseline during them.
    assert len(hour_by_hour(at)) == 168
    assert metrics(at)["Held at the baseline from"] != "never"
    assert "class hours 60%" in texts(at.warning)[0]


def test_a_start_balance_above_the_types_maximum_names_the_field(app) -> None:
    at = more_settings(open_page(app(ALICE), PAGE))
    at.number_input(key=f"{KEY}.start_balance").set_value(500).run()
    assert not at.exception
    (error,) = texts(at.error)
    assert "start_balance: a t3.micro holds at most 288 credits" in error
    assert not at.get("plotly_chart")
    # The same balance fits a t3.small (576 at most).
    at.selectbox(key=f"{KEY}.instance_type").set_value("t3.small").run()
    assert not at.error
    assert metrics(at)["Balance after 24 h"] == "576.0"


def test_the_worked_example_button_brings_the_example_back(app) -> None:
    at = open_page(app(ALICE), PAGE)
    at.selectbox(key=f"{KEY}.instance_type").set_value("t4g.large")
    at.radio(key=f"{KEY}.workload").set_value(ProfileKind.IDLE).run()
    assert metrics(at)["Held at the baseline from"] == "never"
    at.button(key=f"{KEY}.example").click().run()
    assert not at.exception
    assert at.selectbox(key=f"{KEY}.instance_type").value == "t3.micro"
    assert at.number_input(key=f"{KEY}.app_cpu").value == 5
    assert metrics(at)["Held at the baseline from"] == "0.0 h"


def test_closed_more_settings_keep_their_values(app) -> None:
    at = more_settings(open_page(app(ALICE), PAGE))
    at.number_input(key=f"{KEY}.hours").set_value(72).run()
    at.session_state[f"{KEY}.more"] = False
    at.run()
    assert not at.exception
    assert not [n for n in at.number_input if n.key == f"{KEY}.hours"]
    [more] = [e for e in at.expander if e.key == f"{KEY}.more"]
    assert more.label.startswith("More settings: 72 h,")
    # The prediction still covers the 72 hours set.
    assert len(hour_by_hour(at)) == 72
    assert metrics(at)["Balance after 72 h"]
