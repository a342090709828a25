"""The sign-in, setup and activation pages in the language of the request (Starlette's
TestClient): the browser's Accept-Language, a language picked with `?lang=`, and the cookie that
remembers the pick."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.account_routes import LOCALE_COOKIE, SignInGate, account_routes
from services import accounts, i18n
from services.context import PortalContext
from tests.services.conftest import OPERATOR

KOREAN_BROWSER = {"accept-language": "ko-KR,ko;q=0.9"}
ENGLISH_BROWSER = {"accept-language": "en-US,en;q=0.9"}
ORIGIN = {"origin": "http://testserver"}
PASSWORD = "a long enough passphrase"


async def _app_page(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"app page {request.url.path}")


@pytest.fixture
def client(ctx: PortalContext) -> Iterator[TestClient]:
    # An instructor exists: the sign-in form shows no setup notice.
    accounts.create_account(ctx, actor=OPERATOR, name="ms-lee", role="instructor",
                            password=PASSWORD)
    app = Starlette(routes=[*account_routes(), Route("/{path:path}", _app_page)],
                    middleware=[Middleware(SignInGate)])
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def korean(message: str) -> str:
    i18n.translations.cache_clear()
    with i18n.use_locale(i18n.KOREAN):
        translated = i18n._(message)
    assert translated != message, f"no Korean for {message!r}: run `make translations-compile`"
    return translated


def is_korean(html: str) -> bool:
    return ('<html lang="ko">' in html and korean("Name or e-mail") in html
            and "Name or e-mail" not in html)


def is_english(html: str) -> bool:
    return '<html lang="en">' in html and "Name or e-mail" in html


def test_the_sign_in_page_is_english_by_default(client: TestClient) -> None:
    page = client.get("/account/sign-in")
    assert page.status_code == 200 and is_english(page.text)
    assert "<h1>Sign in</h1>" in page.text
    assert LOCALE_COOKIE not in page.headers.get("set-cookie", "")
    assert is_english(client.get("/account/sign-in", headers=ENGLISH_BROWSER).text)
    assert is_english(client.get("/account/sign-in",
                                 headers={"accept-language": "fr-FR,fr;q=0.9"}).text)


def test_a_korean_browser_gets_the_sign_in_page_in_korean(client: TestClient) -> None:
    page = client.get("/account/sign-in", headers=KOREAN_BROWSER)
    assert page.status_code == 200 and is_korean(page.text)
    assert f"<h1>{korean('Sign in')}</h1>" in page.text
    assert korean("Password") in page.text
    # Only a language picked on the page is remembered, not the browser's.
    assert LOCALE_COOKIE not in page.headers.get("set-cookie", "")


def test_the_language_link_switches_and_the_cookie_remembers_it(client: TestClient) -> None:
    page = client.get("/account/sign-in?next=/environments", headers=ENGLISH_BROWSER)
    # Each language named in itself, linking to this same page with what it was opened for.
    assert 'href="?next=%2Fenvironments&amp;lang=ko"' in page.text and "한국어" in page.text
    assert 'href="?next=%2Fenvironments&amp;lang=en"' in page.text and "English" in page.text

    picked = client.get("/account/sign-in?next=/environments&lang=ko", headers=ENGLISH_BROWSER)
    assert is_korean(picked.text)
    assert 'name="next" value="/environments"' in picked.text
    cookie = picked.headers["set-cookie"]
    assert cookie.startswith(f"{LOCALE_COOKIE}=ko;") and "samesite=lax" in cookie.lower()
    assert "HttpOnly" not in cookie

    # The next page keeps it, whatever the browser asks for; an error shown is Korean too.
    assert is_korean(client.get("/account/activate", headers=ENGLISH_BROWSER).text)
    differ = client.post("/account/activate", headers={**ENGLISH_BROWSER, **ORIGIN}, data={
        "login": "bob", "code": "123456", "password": PASSWORD, "confirm": PASSWORD + "!"})
    assert differ.status_code == 400 and is_korean(differ.text)
    assert korean("The two passwords differ.") in differ.text

    back = client.get("/account/sign-in?lang=en", headers=KOREAN_BROWSER)
    assert is_english(back.text) and back.headers["set-cookie"].startswith(f"{LOCALE_COOKIE}=en;")
    assert is_english(client.get("/account/sign-in", headers=KOREAN_BROWSER).text)


def test_an_unsupported_language_is_ignored(client: TestClient) -> None:
    page = client.get("/account/sign-in?lang=fr", headers=KOREAN_BROWSER)
    assert is_korean(page.text)
    assert LOCALE_COOKIE not in page.headers.get("set-cookie", "")
    client.cookies.set(LOCALE_COOKIE, "xx")
    assert is_english(client.get("/account/sign-in").text)


def test_the_activation_page_keeps_its_login_across_the_switch(client: TestClient) -> None:
    page = client.get("/account/activate?login=bob&lang=ko")
    assert is_korean(page.text) and korean("Set my password and sign in") in page.text
    assert 'href="?login=bob&amp;lang=en"' in page.text
