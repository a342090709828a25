"""An instructor opens Class health of a demo class in Chromium: the charts are drawn by plotly in
the page and the simulated data says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services import courses
from services.context import get_context
from services.demo import build_demo_class
from services.history.models import EnrolmentRole
from services.identity import Actor, Role
from services.monitoring.filters import DashboardFilter
from services.monitoring.health_view import SIMULATED_LABEL, class_health
from tests.browser.conftest import OPERATOR, browser_page, make_account, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("embedded-cloud")]

TEACHER = Actor("ms-lee", Role.INSTRUCTOR)


@pytest.fixture
def demo_class(portal_env: dict[str, str]) -> str:
    """A small demo class built through the real paths (launches on the embedded cloud, two days
    of simulated metrics, one collector pass); returns its course."""
    report = build_demo_class(get_context(), students=4, days=2, seed=3)
    assert report.launched and not report.errors, report.to_json()
    return report.course


def test_the_instructor_sees_the_health_of_the_demo_class(chromium: Path, demo_class: str,
                                                         portal_url: str,
                                                         tmp_path: Path) -> None:
    from playwright.sync_api import expect

    health = class_health(get_context(), actor=TEACHER, filter=DashboardFilter.last(7))
    assert not health.is_empty and health.simulated == len(health.instances)
    # Ms Lee teaches the demo course, so the dashboards show her its students.
    password = make_account(get_context(), TEACHER.name, role=Role.INSTRUCTOR)
    courses.enrol(get_context(), actor=OPERATOR, course_id=demo_class, names=[TEACHER.name],
                  role=EnrolmentRole.INSTRUCTOR.value)
    with browser_page(chromium, tmp_path) as page:
        sign_in(page, portal_url, TEACHER.name, password)
        page.get_by_role("link", name="Class health", exact=True).click()
        expect(page.get_by_role("heading", name="Class health")).to_be_visible(timeout=60_000)

        expect(page.get_by_role("heading", name="CPU credits")).to_be_visible(timeout=60_000)
        # The class's balances, the launch and destroy durations and a run's waterfall at least,
        # each drawn by plotly into its own SVG.
        plots = page.locator(".js-plotly-plot")
        expect(plots.nth(2)).to_be_visible(timeout=60_000)
        expect(plots.first.locator(".main-svg").first).to_be_attached()
        # The class chart has a row per instance, named on its axis with its student.
        rows = plots.first.locator(".ytick text")
        expect(rows.filter(has_text=re.compile(r"^i-[0-9a-f]+ \(student-")).first
               ).to_be_attached()
        drawn = plots.count()

        # One instance in detail once its section is opened and one is picked: its balance and
        # CPU lines.
        page.get_by_test_id("stExpander").filter(has_text="One instance in detail").click()
        picker = page.get_by_test_id("stSelectbox").filter(has_text="Instance in detail")
        expect(picker).to_be_visible(timeout=60_000)
        # Opening the section reruns the page, and a list opened while that run is drawn is
        # closed by it: open it again until its options show.
        options = page.get_by_role("option")
        for _attempt in range(5):
            picker.click()
            try:
                expect(options.first).to_be_visible(timeout=5_000)
                break
            except AssertionError:
                page.keyboard.press("Escape")
        options.first.click()
        expect(plots).to_have_count(drawn + 1, timeout=60_000)
        legend = page.locator(".js-plotly-plot .legendtext")
        expect(legend.filter(has_text="credit balance").first).to_be_attached()
        expect(legend.filter(has_text="CPU").first).to_be_attached()
        expect(page.get_by_text(SIMULATED_LABEL).first).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
