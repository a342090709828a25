"""The sign-in routes and the gate over HTTP (Starlette's TestClient), against a real SQLite
history: cookies, redirects, cross-site posts, throttling and the first start's setup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.account_routes import SESSION_COOKIE, SignInGate, account_routes, safe_next
from services import accounts, audit
from services.context import PortalContext
from tests.services.conftest import OPERATOR

PASSWORD = "a long enough passphrase"
ORIGIN = {"origin": "http://testserver"}


async def _app_page(request: Request) -> PlainTextResponse:
    # Stands in for Streamlit's index page, which every page path serves.
    return PlainTextResponse(f"app page {request.url.path}")


async def _logout(request: Request) -> PlainTextResponse:
    return PlainTextResponse("streamlit logout")


@pytest.fixture
def client(ctx: PortalContext) -> Iterator[TestClient]:
    app = Starlette(routes=[*account_routes(), Route("/auth/logout", _logout),
                            Route("/{path:path}", _app_page)],
                    middleware=[Middleware(SignInGate)])
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def alice(ctx: PortalContext) -> str:
    accounts.create_account(ctx, actor=OPERATOR, name="alice", role="student", password=PASSWORD)
    return "alice"


def _sign_in(client: TestClient, login: str, password: str, next_page: str = "/"):
    return client.post("/account/sign-in", headers=ORIGIN,
                       data={"login": login, "password": password, "next": next_page})


def test_a_page_without_a_sign_in_goes_to_the_form_and_back_after(client: TestClient,
                                                                  alice: str) -> None:
    response = client.get("/environments")
    assert response.status_code == 303
    assert response.headers["location"] == "/account/sign-in?next=%2Fenvironments"
    assert client.get("/_stcore/health").status_code == 200, "Streamlit's endpoints stay open"
    form = client.get("/account/sign-in?next=/environments")
    assert 'name="next" value="/environments"' in form.text
    signed_in = _sign_in(client, "alice", PASSWORD, "/environments")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/environments"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie
    assert client.get("/environments").text == "app page /environments"


def test_a_wrong_password_stays_on_the_form_with_a_message(client: TestClient,
                                                           alice: str) -> None:
    response = _sign_in(client, "alice", "not the password")
    assert response.status_code == 401
    assert "wrong name or password" in response.text
    assert "not the password" not in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303


def test_a_cross_site_post_is_refused(client: TestClient, alice: str) -> None:
    response = client.post("/account/sign-in", headers={"origin": "https://evil.example"},
                           data={"login": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_sign_out_ends_the_session_and_clears_the_cookie(client: TestClient, ctx: PortalContext,
                                                         alice: str) -> None:
    token = _sign_in(client, "alice", PASSWORD).cookies[SESSION_COOKIE]
    response = client.get("/auth/logout")
    assert response.text == "streamlit logout"
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    assert accounts.resolve_session(ctx, token) is None
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/").status_code == 303, "the old cookie no longer signs in"
    assert [e.action for e in audit.entries(ctx, actor=OPERATOR, actors=["alice"])] == \
        ["sign_out", "sign_in"]


def test_many_failed_passwords_end_in_a_lockout(client: TestClient, alice: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "MAX_DELAY_S", 0.0)  # the delays are tested in the service
    statuses = [_sign_in(client, "alice", f"guess {i}").status_code
                for i in range(accounts.LOCK_FAILURES)]
    assert set(statuses) == {401}
    locked = _sign_in(client, "alice", PASSWORD)
    assert locked.status_code == 429 and "too many failed attempts" in locked.text


def test_the_setup_link_creates_the_first_instructor_once(client: TestClient,
                                                          ctx: PortalContext) -> None:
    token = accounts.setup_token(ctx)
    assert "No instructor exists yet" in client.get(f"/account/setup?token={token}").text
    wrong = client.post("/account/setup", headers=ORIGIN, data={
        "token": "nope", "name": "boss", "password": PASSWORD, "confirm": PASSWORD})
    assert wrong.status_code == 400 and "wrong setup token" in wrong.text
    done = client.post("/account/setup", headers=ORIGIN, data={
        "token": token, "name": "boss", "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 303 and SESSION_COOKIE in done.headers["set-cookie"]
    assert accounts.get_account(ctx, "boss").is_admin
    assert client.get(f"/account/setup?token={token}").status_code == 303


def test_a_one_time_code_sets_a_password_and_signs_in(client: TestClient,
                                                      ctx: PortalContext) -> None:
    _, code = accounts.create_account_with_code(ctx, actor=OPERATOR, name="bob", role="student")
    differ = client.post("/account/activate", headers=ORIGIN, data={
        "login": "bob", "code": code, "password": PASSWORD, "confirm": PASSWORD + "!"})
    assert differ.status_code == 400 and "differ" in differ.text
    done = client.post("/account/activate", headers=ORIGIN, data={
        "login": "bob", "code": code, "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 303
    assert client.get("/credits").text == "app page /credits"


@pytest.mark.parametrize(
    ("given", "kept"),
    [("/launch", "/launch"), ("/environments?x=1", "/environments?x=1"), ("//evil.example", "/"),
     ("https://evil.example/", "/"), ("/\\evil", "/"), ("", "/"), ("launch", "/")],
)
def test_only_pages_of_this_site_are_redirect_targets(given: str, kept: str) -> None:
    assert safe_next(given) == kept
