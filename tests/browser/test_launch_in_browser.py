"""A student's whole path through the real app in Chromium: sign in, launch, use, destroy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from services import environment_service
from services.context import get_context
from services.identity import Actor, Role
from tests.browser.conftest import browser_page, make_account, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

ALICE = Actor(name="alice", role=Role.STUDENT)


def sign_in_as_alice(page: Page, url: str) -> None:
    """Alice's account in the server's database, and her sign-in through the portal's form."""
    from playwright.sync_api import expect

    sign_in(page, url, ALICE.name, make_account(get_context(), ALICE.name))
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()


def template_picker(page: Page) -> Locator:
    return page.get_by_test_id("stSelectbox").filter(has_text="Template")


def test_student_launches_uses_and_destroys_web_server(chromium: Path, portal_url: str,
                                                      tmp_path: Path) -> None:
    from playwright.sync_api import expect

    web_server_title = get_context().catalog.get_template("web-server").title
    with browser_page(chromium, tmp_path) as page:
        sign_in_as_alice(page, portal_url)
        page.get_by_role("link", name="Launch", exact=True).click()
        expect(page.get_by_role("heading", name="Launch")).to_be_visible()
        # The course picker comes first; the template is the one to choose.
        template_picker(page).click()
        page.get_by_role("option", name=f"{web_server_title} (web-server)").click()
        expect(page.get_by_role("textbox", name="site_title")).to_be_visible()
        # The page's first previews (cfn-lint's import, each template's first parse and diagram)
        # take seconds of CPU; with the other test worker busy on the same two cores, more than
        # playwright's default 5 s.
        expect(page.get_by_role("tab", name="CloudFormation")).to_be_visible(timeout=30_000)

        page.get_by_role("button", name="Launch", exact=True).click()
        expect(page.get_by_text(re.compile(r"Environment \w+ is ready"))).to_be_visible(
            timeout=90_000)
        [env] = environment_service.list_environments(get_context(), actor=ALICE)
        web_url = env.outputs_by_name["web_url"]
        expect(page.get_by_role("link", name=web_url)).to_have_attribute("href", web_url)

        page.get_by_role("link", name="Go to My environments").click()
        expect(page.get_by_role("heading", name="My environments")).to_be_visible()
        expect(page.get_by_text("1 ready")).to_be_visible()
        page.get_by_role("button", name="Destroy", exact=True).click()
        page.get_by_role("button", name=f"Confirm destroy {env.env_id}").click()
        expect(page.get_by_text("1 destroyed")).to_be_visible(timeout=90_000)
        expect(page.get_by_text("Destroyed (1)")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)

    final = environment_service.get_environment(get_context(), actor=ALICE, env_id=env.env_id)
    assert final.status == "destroyed"


def test_my_environments_follows_a_run_without_any_click(chromium: Path, portal_url: str,
                                                         tmp_path: Path) -> None:
    """The page's fragment refreshes by itself while a run is in progress."""
    from playwright.sync_api import expect

    ctx = get_context()  # the same database as the server's
    env = environment_service.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    # Destroying, with no worker yet: the page must show it and keep looking.
    started = environment_service.start_destroy(ctx, actor=ALICE, env_id=env.env_id)
    with browser_page(chromium, tmp_path) as page:
        sign_in_as_alice(page, portal_url)
        page.get_by_role("link", name="My environments").click()
        expect(page.get_by_text("1 destroying")).to_be_visible()
        environment_service.run_destroy(ctx, run_id=started.run_id)
        expect(page.get_by_text("1 destroyed")).to_be_visible(timeout=15_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)


def test_before_launch_a_student_sees_the_architecture_the_cost_and_the_advice(
        chromium: Path, portal_url: str, tmp_path: Path) -> None:
    """The diagram is drawn by the browser itself (Graphviz in the page), so a DOT text it could
    not lay out would show here as a missing picture."""
    from playwright.sync_api import expect

    ha_web = get_context().catalog.get_template("ha-web")
    with browser_page(chromium, tmp_path) as page:
        sign_in_as_alice(page, portal_url)
        page.get_by_role("link", name="Launch", exact=True).click()
        template_picker(page).click()
        page.get_by_role("option", name=f"{ha_web.title} (ha-web)").click()
        expect(page.get_by_text("ADV001").first).to_be_visible()

        page.get_by_role("tab", name="Architecture").click()
        chart = page.get_by_test_id("stGraphVizChart").first
        expect(chart.locator("svg g.node").first).to_be_visible(timeout=30_000)
        drawn = set(chart.locator("svg g.node title").all_text_contents())
        assert {"LoadBalancer", "WebAcl", "AutoScalingGroup", "Database",
                "CacheReplicationGroup"} <= drawn
        expect(chart.locator("svg g.cluster")).to_have_count(5)

        page.get_by_role("tab", name="Cost estimate").click()
        expect(page.get_by_test_id("stMetric").filter(has_text="For the lease (4 hours)")
               ).to_be_visible()
        page.get_by_role("spinbutton", name="Lease (hours)").fill("10")
        page.get_by_role("spinbutton", name="Lease (hours)").press("Enter")
        expect(page.get_by_test_id("stMetric").filter(has_text="For the lease (10 hours)")
               ).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
