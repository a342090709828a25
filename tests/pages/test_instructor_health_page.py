"""Class health: an instructor sees credits, scaling activity and timings of the class, with
simulated data labelled, filters them and collects on demand; a student is turned away."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import identity
from portal.components.health_charts import detail_key
from services.context import PortalContext
from services.history.models import utcnow
from services.monitoring.health_view import SIMULATED_LABEL
from tests.pages.conftest import ALICE, RUN_TIMEOUT_S, TEACHER, open_page, texts
from tests.services.monitoring.health_history import build_class

PAGE = Path(__file__).resolve().parents[2] / "pages" / "instructor_health_page.py"


@pytest.fixture
def class_history(portal: PortalContext) -> dict[str, int]:
    """The small class of the Health view tests, its day ending an hour ago."""
    t0 = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=25)
    return build_class(portal, t0=t0)


def test_the_instructor_sees_every_section_with_simulated_data_labelled(
        app, class_history) -> None:
    at = open_page(app(TEACHER), "instructor_health_page.py")
    assert not at.exception, [e.value for e in at.exception]
    assert texts(at.title) == ["Class health"]
    assert [s.value for s in at.subheader] == ["CPU credits", "Auto Scaling activity",
                                               "Deploy timings"]
    # The last 7 days by default: carol's environment of two days earlier too.
    assert {m.label: m.value for m in at.metric}["Instances"] == "4"
    # The class's balances, the scaling timeline, the run durations and one run's waterfall; an
    # instance's detail once one is picked.
    drawn = len(at.get("plotly_chart"))
    assert drawn >= 4
    # The section of one instance in detail draws its picker once opened.
    assert not [s for s in at.selectbox if s.key == "health_charts.health.instance"]
    at.session_state[detail_key("health")] = True
    at.run()
    at.selectbox(key="health_charts.health.instance").select_index(0).run()
    assert not at.exception and len(at.get("plotly_chart")) == drawn + 1
    labels = [c for c in texts(at.caption) if SIMULATED_LABEL in c]
    assert len(labels) == 2  # alice's and carol's embedded environments: credits and timings
    assert [m.label for m in at.multiselect] == ["Course", "Student", "Template"]

    # Only bob's ha-web: his instances, nothing simulated left.
    at.multiselect(key="dashboard_filters.health.owners").select("bob").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Instances"] == "2"
    assert not [c for c in texts(at.caption) if SIMULATED_LABEL in c]
    assert at.selectbox(key="health_charts.health.instance").options == ["i-bob-1", "i-bob-2"]


def test_an_empty_history_says_what_to_do(app, portal) -> None:
    at = open_page(app(TEACHER), "instructor_health_page.py")
    assert not at.exception
    assert not at.get("plotly_chart")
    assert any("No metrics yet" in i and "sandbox demo" in i for i in texts(at.info))


@pytest.mark.xdist_group("embedded-cloud")
def test_collect_now_runs_a_pass_and_shows_its_counts(app, portal) -> None:
    at = open_page(app(TEACHER), "instructor_health_page.py")
    at.button(key="instructor_health.collect").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [done] = texts(at.success)
    assert done.startswith("Collected: 0 environments") and "GetMetricData calls" in done


def test_a_student_is_turned_away(portal) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=RUN_TIMEOUT_S)
    at.session_state[identity.ACTOR_KEY] = ALICE
    at.run()
    assert not at.exception
    assert any("for instructors" in w for w in texts(at.warning))
    assert not at.title and not at.metric and not at.get("plotly_chart")
    assert not at.button
