"""A student's whole path through the real app in Chromium: sign in, launch, use, destroy."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from services import environment_service
from services.context import get_context
from services.identity import Actor, Role

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 60.0
ALICE = Actor(name="alice", role=Role.STUDENT)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = ("Chromium not installed: browser tests skipped (`make browser-deps` installs "
                   f"Debian's chromium at {CHROMIUM})")
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(message.replace("skipped", "required by PORTAL_REQUIRE_BROWSER=1"))
        pytest.skip(message)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def portal_url(portal_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`streamlit run portal/app.py` on a free port, with this test's portal environment."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "streamlit.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "portal/app.py",
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start; its log:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def browser_page(chromium: Path, tmp_path: Path) -> Iterator[Page]:
    """A Chromium page; on any failure a screenshot of it is saved under `tmp_path`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.set_default_timeout(30_000)
        try:
            yield page
        except BaseException:
            shot = tmp_path / "failure.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}")
            raise
        finally:
            browser.close()


def sign_in(page: Page, url: str, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Catalog")).to_be_visible()


def test_student_launches_uses_and_destroys_web_server(chromium: Path, portal_url: str,
                                                      tmp_path: Path) -> None:
    from playwright.sync_api import expect

    web_server_title = get_context().catalog.get_template("web-server").title
    with browser_page(chromium, tmp_path) as page:
        sign_in(page, portal_url, "alice")
        page.get_by_role("link", name="Launch", exact=True).click()
        expect(page.get_by_role("heading", name="Launch")).to_be_visible()
        page.get_by_test_id("stSelectbox").first.click()
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
        sign_in(page, portal_url, "alice")
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
        sign_in(page, portal_url, "alice")
        page.get_by_role("link", name="Launch", exact=True).click()
        page.get_by_test_id("stSelectbox").first.click()
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
