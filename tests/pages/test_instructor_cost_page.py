"""Class cost: an instructor sees what the meter says for the class, filters it, and is told the
embedded cloud costs nothing real; a student is turned away."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import identity
from portal.components.cost_charts import money
from services import cost_meter, environment_service
from services.context import PortalContext
from services.history.models import Environment, Run, utcnow
from services.monitoring.filters import DashboardFilter

from tests.pages.conftest import ALICE, BOB, RUN_TIMEOUT_S, TEACHER, open_page, texts

pytestmark = pytest.mark.xdist_group("embedded-cloud")

PAGE = Path(__file__).resolve().parents[2] / "pages" / "instructor_cost_page.py"
VIEW_KEY = "cost_charts.cost.view"


def ran(env_id: str, *, owner: str, start: datetime, hours: float, price: float,
        template_id: str = "three-tier") -> Environment:
    """A destroyed environment of the past few days, as the history records it."""
    end = start + timedelta(hours=hours)
    env = Environment(id=env_id, template_id=template_id, owner=owner, status="destroyed",
                      parameters={}, outputs={}, cloud="embedded", region="us-east-1",
                      deployment_name=f"sbx-{env_id}", created_at=start, updated_at=end,
                      lease_hours=8, expires_at=start + timedelta(hours=8),
                      hourly_cost_usd=price)
    env.runs = [
        Run(kind="launch", status="succeeded", started_at=start,
            ended_at=start + timedelta(minutes=2), deadline_at=start + timedelta(minutes=30)),
        Run(kind="destroy", status="succeeded", started_at=end - timedelta(minutes=2),
            ended_at=end, deadline_at=end + timedelta(minutes=30)),
    ]
    return env


@pytest.fixture
def class_history(portal: PortalContext) -> str:
    """alice's web server launched on the embedded cloud and still running, and two days of
    three-tier hours of alice and bob; returns the running environment's id."""
    running = environment_service.launch(portal, actor=ALICE, template_id="web-server",
                                         parameters={})
    assert running.status == "ready", running.status_reason
    two_days_ago = utcnow() - timedelta(days=2)
    with portal.sessions() as session, session.begin():
        session.add_all([
            ran("past-a", owner="alice", start=two_days_ago, hours=1.5, price=0.10),
            ran("past-b", owner="bob", start=two_days_ago, hours=3, price=1.0),
        ])
    return running.env_id


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected(portal: PortalContext, **choices: tuple[str, ...]) -> cost_meter.ClassCost:
    return cost_meter.class_cost(portal, actor=TEACHER, filter=DashboardFilter.last(7, **choices))


def test_the_instructor_sees_the_meters_totals(app, portal, class_history) -> None:
    at = open_page(app(TEACHER), "instructor_cost_page.py")
    assert not at.exception, [e.value for e in at.exception]
    assert texts(at.title) == ["Class cost"]
    service = expected(portal)
    # $0.15 + $3 of the past, and a few seconds of the running web server: under a tenth of a
    # cent, so the cents are those of the service whenever it is asked.
    assert service.total_usd == pytest.approx(3.15, abs=0.001)
    assert metrics(at) == {
        "Cost so far": money(service.total_usd),
        "Projected": money(service.projected_usd),
        "Budget used": f"{service.budget_used_pct:.0f}%",
        "Running now": "1",
    }
    # The running web server's whole lease is in the projection: its price from the price table
    # (it was launched without one stored) for the 4 hours of the default lease.
    price = cost_meter.hourly_cost_usd(portal, template_id="web-server", parameters={},
                                       region="us-east-1")
    assert service.projected_usd == pytest.approx(3.15 + 4 * price, abs=0.001)
    captions = " ".join(texts(at.caption))
    assert "Metered from list prices; environments on the embedded cloud cost nothing real" \
        in captions
    # One view at a time, the cost per day first; the others a pick away.
    assert len(at.get("plotly_chart")) == 1 and not at.dataframe
    charts = 1
    for view in ("per_student", "burn_down"):
        at.segmented_control(key=VIEW_KEY).set_value(view).run()
        assert not at.exception, [e.value for e in at.exception]
        charts += len(at.get("plotly_chart"))
    at.segmented_control(key=VIEW_KEY).set_value("top_spenders").run()
    top = at.dataframe[0].value
    assert list(top["student"]) == ["bob", "alice"]
    assert charts == 3


def test_the_filters_narrow_the_totals(app, portal, class_history) -> None:
    at = open_page(app(TEACHER), "instructor_cost_page.py")
    at.multiselect(key="dashboard_filters.cost.templates").set_value(["three-tier"]).run()
    assert not at.exception
    assert metrics(at)["Cost so far"] == money(3.15) == money(
        expected(portal, templates=("three-tier",)).total_usd)
    assert metrics(at)["Running now"] == "0"
    at.multiselect(key="dashboard_filters.cost.owners").set_value(["bob"]).run()
    assert metrics(at)["Cost so far"] == "$3.00"
    # Only bob's bar and line remain; one student leaves no top spenders table.
    assert at.segmented_control(key=VIEW_KEY).options == ["Cost per day", "Against the budget",
                                                          "Budget burn-down", "Per template"]


def test_an_empty_class(app) -> None:
    at = open_page(app(TEACHER), "instructor_cost_page.py")
    assert not at.exception
    assert metrics(at)["Cost so far"] == "$0.00"
    assert any("No environment ran in this window" in i for i in texts(at.info))


def test_a_student_is_turned_away(portal) -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=RUN_TIMEOUT_S)
    at.session_state[identity.ACTOR_KEY] = BOB
    at.run()
    assert not at.exception
    assert any("for instructors" in w for w in texts(at.warning))
    assert not at.title and not at.metric and not at.get("plotly_chart")
