"""A Korean student's whole path in Chromium set to Korean: the sign-in form, the Catalog, the
Launch page with the template's own text, a launch that becomes ready, and its destroy, every
step read in Korean. What the test looks for is the catalogs' Korean of the English texts, so a
missing or changed translation fails it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from services import environment_service, i18n
from services.catalog_service import localized
from services.context import get_context
from services.identity import Actor, Role
from tests.browser.conftest import chromium_browser, make_account, sidebar, signed_in_as

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

MINSU = Actor(name="minsu", role=Role.STUDENT)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def ko(message: str) -> str:
    with i18n.use_locale(i18n.KOREAN):
        return i18n._(message)


def ko_pattern(message: str) -> re.Pattern[str]:
    """The Korean of `message` as shown: its {fields} any word, its markdown stars gone."""
    shown = re.escape(ko(message).replace("**", ""))
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", r"\\S+", shown))


def korean_page(browser: object) -> Page:
    context = browser.new_context(locale="ko-KR",  # type: ignore[attr-defined]
                                  viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def test_a_korean_student_launches_and_destroys_in_korean(chromium: Path, portal_url: str,
                                                          tmp_path: Path) -> None:
    from playwright.sync_api import expect

    ctx = get_context()
    password = make_account(ctx, MINSU.name)
    manifest = ctx.catalog.get_template("web-server")
    with i18n.use_locale(i18n.KOREAN):
        korean_title = localized(manifest).title
    assert HANGUL.search(korean_title)

    with chromium_browser(chromium, tmp_path) as browser:
        page = korean_page(browser)
        page.goto(portal_url)
        # The sign-in form is in the browser's language before anyone is known.
        expect(page.locator("html")).to_have_attribute("lang", "ko")
        form = page.locator("form[action$='/account/sign-in']")
        expect(form.locator("button[type=submit]")).to_have_text(re.compile(HANGUL.pattern))
        form.locator("#login").fill(MINSU.name)
        form.locator("#password").fill(password)
        form.locator("button[type=submit]").click()
        expect(signed_in_as(page, MINSU.name)).to_be_visible(timeout=60_000)

        expect(page.get_by_role("heading", name=ko("Catalog"))).to_be_visible()
        expect(sidebar(page).get_by_role("button", name=ko("Sign out"))).to_be_visible()
        expect(page.get_by_text(korean_title).first).to_be_visible()

        sidebar(page).get_by_role("link", name=ko("Launch"), exact=True).click()
        expect(page.get_by_role("heading", name=ko("Launch"))).to_be_visible()
        page.get_by_test_id("stSelectbox").filter(has_text=ko("Template")).click()
        page.get_by_role("option", name=f"{korean_title} (web-server)").click()
        expect(page.get_by_role("textbox", name="site_title")).to_be_visible()
        # The form's help and the preview's tabs are Korean; the code stays code.
        expect(page.get_by_role("tab", name=ko("Architecture"))).to_be_visible(timeout=30_000)
        expect(page.get_by_role("tab", name="CloudFormation")).to_be_visible()

        page.get_by_role("button", name=ko("Launch"), exact=True).click()
        expect(page.get_by_text(ko_pattern("Environment **{env_id}** is ready."))).to_be_visible(
            timeout=90_000)
        [env] = environment_service.list_environments(ctx, actor=MINSU)

        page.get_by_role("link", name=ko("Go to My environments")).click()
        expect(page.get_by_role("heading", name=ko("My environments"))).to_be_visible()
        expect(page.get_by_text(ko("{count} ready").format(count=1))).to_be_visible()
        page.get_by_role("button", name=ko("Destroy"), exact=True).click()
        page.get_by_role("button", name=ko("Confirm destroy {env_id}").format(
            env_id=env.env_id)).click()
        expect(page.get_by_text(ko("{count} destroyed").format(count=1))).to_be_visible(
            timeout=90_000)
        expect(page.get_by_text(ko("Destroyed ({count})").format(count=1))).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)

        # Switched back to English in the sidebar, the same page reads in English, and the
        # account keeps the choice for its next session.
        sidebar(page).get_by_text("English", exact=True).click()
        expect(page.get_by_role("heading", name="My environments")).to_be_visible()

    final = environment_service.get_environment(ctx, actor=MINSU, env_id=env.env_id)
    assert final.status == "destroyed"
    from services import accounts
    assert accounts.preferred_locale(ctx, MINSU.name) == "en"
