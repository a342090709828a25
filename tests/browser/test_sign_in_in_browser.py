"""Signing in, as a browser does it: the portal's HTML form behind the sign-in gate, its session
cookie, the first start's setup link, one-time codes, the idle timeout and signing out.

Most tests share one server (module-scoped), each with accounts of its own; the first start and
the idle timeout need a server set up differently and start their own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from portal.account_routes import SESSION_COOKIE
from services import accounts, audit
from services.audit import Action, Outcome
from services.history.models import WebSession
from services.identity import Role
from tests.browser.conftest import (
    OPERATOR,
    Portal,
    browser_page,
    chromium_browser,
    make_account,
    new_page,
    new_password,
    sidebar,
    sign_in,
    sign_in_form,
    signed_in_as,
    start_portal,
    submit_sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

# url_path -> title of every page only instructors have.
INSTRUCTOR_PAGES = {"cost": "Class cost", "health": "Class health", "courses": "Courses",
                    "audit": "Audit log"}
WRONG_PASSWORD_MESSAGE = "sign-in: wrong name or password"


@pytest.fixture(scope="module")
def portal(cloud_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    with start_portal(tmp_path_factory.mktemp("sign-in-portal"),
                      data_dir=cloud_data_dir) as running:
        yield running


def assert_never_written(portal: Portal, *typed: str) -> None:
    """None of `typed` (passwords, codes) is in the server's log or its database: the database
    holds only their hashes, the log only names."""
    for path in portal.written_files():
        content = path.read_bytes()
        for secret in typed:
            assert secret.encode() not in content, f"{path.name} holds a typed secret"


def nav_links(page: Page, title: str) -> Locator:
    return sidebar(page).get_by_test_id("stSidebarNav").get_by_role("link", name=title,
                                                                    exact=True)


def test_a_wrong_password_is_refused_slowed_down_and_audited(chromium: Path, portal: Portal,
                                                            tmp_path: Path) -> None:
    from playwright.sync_api import expect

    password = make_account(portal.ctx, "wanda")
    wrong = [f"{password}-{attempt}" for attempt in range(5)]
    with browser_page(chromium, tmp_path) as page:
        page.goto(portal.url)
        took: list[float] = []
        for guess in wrong:
            started = time.monotonic()
            with page.expect_response(lambda r: r.request.method == "POST"
                                      and r.url.endswith("/account/sign-in")) as answer:
                submit_sign_in(page, "wanda", guess)
            took.append(time.monotonic() - started)
            assert answer.value.status == 401
            expect(page.get_by_role("alert")).to_have_text(WRONG_PASSWORD_MESSAGE)
            # Still the form, the name kept, the password not.
            expect(sign_in_form(page).locator("#login")).to_have_value("wanda")
            expect(sign_in_form(page).locator("#password")).to_have_value("")
        # Three failures are free, then each attempt waits longer: the fifth at least 1 s (a
        # lower bound only: a busy machine makes any attempt slower, never faster).
        assert took[4] >= 1.0, took

        submit_sign_in(page, "wanda", password)
        expect(signed_in_as(page, "wanda")).to_be_visible(timeout=60_000)

    entries = audit.entries(portal.ctx, actor=OPERATOR, actions=[Action.SIGN_IN.value],
                            actors=["wanda"])
    assert [e.outcome for e in reversed(entries)] == \
        [Outcome.REFUSED.value] * 5 + [Outcome.SUCCEEDED.value]
    assert {e.client for e in entries} == {"127.0.0.1"}
    assert_never_written(portal, password, *wrong)


def test_a_student_sees_no_instructor_page_and_cannot_open_one_by_url(
        chromium: Path, portal: Portal, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    password = make_account(portal.ctx, "sam")
    with browser_page(chromium, tmp_path) as page:
        sign_in(page, portal.url, "sam", password)
        expect(nav_links(page, "Catalog")).to_be_visible()
        for title in INSTRUCTOR_PAGES.values():
            expect(nav_links(page, title)).to_have_count(0)
        # For a student these pages do not exist: Streamlit shows the first page instead.
        for path, title in INSTRUCTOR_PAGES.items():
            page.goto(f"{portal.url}/{path}")
            expect(page.get_by_role("heading", name="Catalog")).to_be_visible(timeout=60_000)
            expect(page.get_by_role("heading", name=title)).to_have_count(0)
            expect(signed_in_as(page, "sam")).to_be_visible()


def test_a_reload_keeps_the_sign_in_and_signing_out_ends_it(chromium: Path, portal: Portal,
                                                           tmp_path: Path) -> None:
    from playwright.sync_api import expect

    password = make_account(portal.ctx, "rita")
    with chromium_browser(chromium, tmp_path) as browser:
        page = new_page(browser)
        sign_in(page, portal.url, "rita", password)
        page.reload()
        expect(signed_in_as(page, "rita")).to_be_visible(timeout=60_000)
        [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]

        sidebar(page).get_by_role("button", name="Sign out").click()
        expect(sign_in_form(page)).to_be_visible()
        assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
        page.goto(portal.url)
        expect(sign_in_form(page)).to_be_visible()

        # The old cookie, copied into another browser, is refused: the session ended on the
        # server, not only in the browser that signed out.
        other = new_page(browser)
        other.context.add_cookies([cookie])
        other.goto(portal.url)
        expect(sign_in_form(other)).to_be_visible()
        expect(signed_in_as(other, "rita")).to_have_count(0)

    signed_out = audit.entries(portal.ctx, actor=OPERATOR, actions=[Action.SIGN_OUT.value],
                               actors=["rita"])
    assert len(signed_out) == 1


def test_a_deep_link_leads_through_the_sign_in_form_to_its_page(chromium: Path, portal: Portal,
                                                                tmp_path: Path) -> None:
    from playwright.sync_api import expect

    password = make_account(portal.ctx, "dora")
    with chromium_browser(chromium, tmp_path) as browser:
        for path, heading in (("credits", "Credit predictor"),
                              ("environments", "My environments")):
            page = new_page(browser)
            page.goto(f"{portal.url}/{path}")
            expect(page).to_have_url(re.compile(rf"/account/sign-in\?next=%2F{path}$"))
            submit_sign_in(page, "dora", password)
            expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=60_000)
            expect(page).to_have_url(f"{portal.url}/{path}")
            expect(signed_in_as(page, "dora")).to_be_visible()


def test_a_one_time_code_sets_the_password_and_signs_in(chromium: Path, portal: Portal,
                                                       tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _, code = accounts.create_account_with_code(portal.ctx, actor=OPERATOR, name="olga",
                                                role=Role.STUDENT)
    password = new_password()
    with browser_page(chromium, tmp_path) as page:
        page.goto(f"{portal.url}/account/activate?login=olga")
        form = page.locator("form[action$='/account/activate']")
        expect(form.locator("#login")).to_have_value("olga")
        form.locator("#code").fill(code)
        form.locator("#password").fill(password)
        form.locator("#confirm").fill(password)
        form.locator("button[type=submit]").click()
        expect(signed_in_as(page, "olga")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("heading", name="Catalog")).to_be_visible()

    assert accounts.get_account(portal.ctx, "olga").has_password
    assert_never_written(portal, password, code)


def test_the_first_start_setup_link_creates_the_first_instructor(chromium: Path,
                                                                tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # A data dir of its own: the setup token file lives there, and no instructor may exist.
    data_dir = tmp_path / "data"
    with start_portal(tmp_path / "portal", data_dir=data_dir) as portal:
        token = accounts.setup_token(portal.ctx)
        assert token is not None
        # Whoever can read the server's log finds the link there.
        assert f"/account/setup?token={token}" in portal.log_path.read_text()
        password = new_password()
        with browser_page(chromium, tmp_path) as page:
            page.goto(portal.url)
            expect(sign_in_form(page)).to_be_visible()
            expect(page.get_by_role("status")).to_contain_text("no instructor yet")

            page.goto(f"{portal.url}/account/setup?token={token}")
            form = page.locator("form[action$='/account/setup']")
            form.locator("#name").fill("ada")
            form.locator("#email").fill("ada@school.example")
            form.locator("#password").fill(password)
            form.locator("#confirm").fill(password)
            form.locator("button[type=submit]").click()

            expect(signed_in_as(page, "ada")).to_be_visible(timeout=60_000)
            expect(sidebar(page).get_by_text("Instructor · admin")).to_be_visible()
            for title in INSTRUCTOR_PAGES.values():
                expect(nav_links(page, title)).to_be_visible()

            # The link is spent: it now leads to the sign-in form.
            page.goto(f"{portal.url}/account/setup?token={token}")
            expect(sign_in_form(page)).to_be_visible()

        assert accounts.setup_token(portal.ctx) is None
        assert not (data_dir / accounts.SETUP_TOKEN_FILE).exists()
        assert_never_written(portal, password)


def test_an_idle_session_ends_at_the_next_click(chromium: Path, cloud_data_dir: Path,
                                               tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with start_portal(tmp_path / "portal", data_dir=cloud_data_dir,
                      session_idle_minutes="1") as portal:
        password = make_account(portal.ctx, "ida")
        with browser_page(chromium, tmp_path) as page:
            sign_in(page, portal.url, "ida", password)

            # Two minutes without use, as far as the server can tell.
            with portal.ctx.sessions() as session, session.begin():
                for web in session.scalars(select(WebSession).where(
                        WebSession.account_name == "ida")):
                    web.last_seen_at -= timedelta(minutes=2)

            # A click reruns the script over the open websocket, without a page load through
            # the gate: the script's own check of the cookie ends the session.
            nav_links(page, "Credit predictor").click()
            expect(page.get_by_text("You are not signed in, or your sign-in has ended.")
                   ).to_be_visible()
            expect(signed_in_as(page, "ida")).to_have_count(0)
            page.reload()
            expect(sign_in_form(page)).to_be_visible()

        with portal.ctx.sessions() as session:
            ended = session.scalars(select(WebSession.ended_at).where(
                WebSession.account_name == "ida")).all()
        assert ended and all(at is not None for at in ended)
