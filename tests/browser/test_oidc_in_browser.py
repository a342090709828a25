"""Signing in through an identity provider (OpenID Connect, Streamlit's `st.login`) in Chromium,
against a real provider run locally: oidc-provider-mock, a Flask OpenID provider for tests.

The provider runs on a thread of this process; the portal reaches it over HTTP for its discovery
document, keys and tokens, the browser for its authorization page. The portal's client is
registered with the provider as a deployment registers it with the school's (client id, secret,
the one redirect URI allowed), and Streamlit reads the [auth] section from a secrets file of the
test's own (`--secrets.files`).
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from services import audit
from services.identity import Actor, Role
from tests.browser.conftest import (
    Portal,
    chromium_browser,
    free_port,
    make_account,
    new_page,
    sidebar,
    sign_in_form,
    signed_in_as,
    start_portal,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PROVIDER_LABEL = "School ID"

OPERATOR = Actor("operator", Role.INSTRUCTOR, is_admin=True)


@dataclass(frozen=True)
class IdentityProvider:
    url: str

    def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"},
                                         method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else {}

    def set_user(self, subject: str, **claims: Any) -> None:
        """What the provider's directory says about `subject`: its ID token carries these."""
        self.call("PUT", f"/users/{subject}", claims)


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[IdentityProvider]:
    import oidc_provider_mock

    # As a real provider: only registered clients, each with its redirect URIs, and a nonce in
    # every authorization request (Authlib sends one; this checks it does).
    with oidc_provider_mock.run_server_in_thread(require_client_registration=True,
                                                 require_nonce=True) as server:
        yield IdentityProvider(f"http://localhost:{server.server_port}")


def auth_secrets(*, provider: IdentityProvider, portal_url: str, client: dict[str, Any]) -> str:
    """The [auth] section an operator writes into .streamlit/secrets.toml (see the README)."""
    return "\n".join([
        "[auth]",
        f'redirect_uri = "{portal_url}/oauth2callback"',
        f'cookie_secret = "{secrets.token_hex(32)}"',
        f'client_id = "{client["client_id"]}"',
        f'client_secret = "{client["client_secret"]}"',
        f'server_metadata_url = "{provider.url}/.well-known/openid-configuration"',
        # The portal's own key: the name on the sign-in form's button.
        f'label = "{PROVIDER_LABEL}"',
        "",
    ])


@pytest.fixture(scope="module")
def portal(identity_provider: IdentityProvider, cloud_data_dir: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    workdir = tmp_path_factory.mktemp("oidc-portal")
    # The port comes first: the provider registers the redirect URI before the portal starts.
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = identity_provider.call("POST", "/oauth2/clients",
                                    {"redirect_uris": [f"{url}/oauth2callback"]})
    secrets_file = workdir / "secrets.toml"
    secrets_file.write_text(auth_secrets(provider=identity_provider, portal_url=url,
                                         client=client))
    with start_portal(workdir, data_dir=cloud_data_dir, secrets_file=secrets_file,
                      port=port) as running:
        yield running


def idp_page(browser: Browser) -> Page:
    page = new_page(browser)
    # The provider's pages link a stylesheet on a CDN; the test needs no network beyond here.
    page.context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    return page


def sign_in_with_provider(page: Page, portal: Portal, provider: IdentityProvider,
                          subject: str) -> None:
    """From the portal's sign-in form through the provider's authorization page and back."""
    from playwright.sync_api import expect

    page.goto(portal.url)
    expect(sign_in_form(page)).to_be_visible()
    page.get_by_role("link", name=f"Sign in with {PROVIDER_LABEL}").click()
    page.wait_for_url(f"{provider.url}/oauth2/authorize?**")
    page.locator("input[name=sub]").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{portal.url}/**")


def test_an_email_on_a_roster_signs_in_as_its_account(chromium: Path, portal: Portal,
                                                      identity_provider: IdentityProvider,
                                                      tmp_path: Path) -> None:
    from playwright.sync_api import expect

    make_account(portal.ctx, "kim", email="kim@school.example")
    # Providers keep the case people typed; the roster matches e-mails case-blind.
    identity_provider.set_user("kim-7731", email="Kim@School.example", email_verified=True,
                               name="Kim Park")
    with chromium_browser(chromium, tmp_path) as browser:
        page = idp_page(browser)
        sign_in_with_provider(page, portal, identity_provider, "kim-7731")

        expect(signed_in_as(page, "kim")).to_be_visible(timeout=60_000)
        expect(sidebar(page)).to_contain_text("Student")
        expect(page.get_by_role("heading", name="Catalog")).to_be_visible()
        nav = sidebar(page).get_by_test_id("stSidebarNav")
        expect(nav.get_by_role("link", name="My environments")).to_be_visible()
        expect(nav.get_by_role("link", name="Class cost")).to_have_count(0)
        page.reload()
        expect(signed_in_as(page, "kim")).to_be_visible(timeout=60_000)

        # The provider's sign-in became a portal session (Streamlit's own cookie is gone), so
        # signing out ends it as it ends a password's: the portal, not the school account.
        assert not [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
        sidebar(page).get_by_role("button", name="Sign out").click()
        expect(sign_in_form(page)).to_be_visible()
        page.goto(portal.url)
        expect(sign_in_form(page)).to_be_visible()
        entries = audit.entries(portal.ctx, actor=OPERATOR, actors=["kim"])
        assert [(e.action, e.outcome) for e in entries] == [("sign_out", "succeeded"),
                                                            ("sign_in", "succeeded")]
        assert "identity provider" in (entries[-1].detail or "")


def test_an_email_on_no_roster_gets_no_access(chromium: Path, portal: Portal,
                                              identity_provider: IdentityProvider,
                                              tmp_path: Path) -> None:
    from playwright.sync_api import expect

    make_account(portal.ctx, "lou", email="lou@school.example")
    identity_provider.set_user("stranger", email="stranger@elsewhere.example",
                               email_verified=True)
    # On the roster, but the provider does not vouch for the address: as good as unknown.
    identity_provider.set_user("lou-unverified", email="lou@school.example",
                               email_verified=False)
    with chromium_browser(chromium, tmp_path) as browser:
        for subject, message in (
                ("stranger", "stranger@elsewhere.example is not on the roster of any course"),
                ("lou-unverified", "did not confirm an e-mail address")):
            page = idp_page(browser)
            sign_in_with_provider(page, portal, identity_provider, subject)
            expect(page.get_by_text(message)).to_be_visible(timeout=60_000)
            expect(sidebar(page).get_by_test_id("stSidebarNav")).to_have_count(0)
            expect(page.get_by_role("heading", name="Catalog")).to_have_count(0)
            expect(signed_in_as(page, "lou")).to_have_count(0)

        # Whoever has no access can still sign out, to try another account.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{identity_provider.url}/oauth2/end_session?**")
        page.get_by_role("button", name="End session").click()
        expect(sign_in_form(page)).to_be_visible()


def test_signing_out_ends_a_provider_sign_in_everywhere(chromium: Path, portal: Portal,
                                                       identity_provider: IdentityProvider,
                                                       tmp_path: Path) -> None:
    from playwright.sync_api import expect

    make_account(portal.ctx, "max", email="max@school.example")
    identity_provider.set_user("max-1", email="max@school.example", email_verified=True)
    with chromium_browser(chromium, tmp_path) as browser:
        page = idp_page(browser)
        sign_in_with_provider(page, portal, identity_provider, "max-1")
        expect(signed_in_as(page, "max")).to_be_visible(timeout=60_000)
        copied = page.context.cookies()
        sidebar(page).get_by_role("button", name="Sign out").click()
        expect(sign_in_form(page)).to_be_visible()

        other = idp_page(browser)
        other.context.add_cookies(copied)
        other.goto(portal.url)
        replayed = signed_in_as(other, "max")
        expect(sign_in_form(other).or_(replayed)).to_be_visible(timeout=60_000)
        assert replayed.count() == 0, "the copied cookie signed in after sign-out"
