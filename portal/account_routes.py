"""Sign-in in front of the app: the portal's own HTTP routes and the gate that sends anyone not
signed in to them.

Streamlit's script cannot set a cookie, so signing in happens here, as on any web site: a plain
form posts the password to `/account/sign-in`, which sets an HttpOnly cookie holding a random
session token (services/accounts.py keeps only its hash) and redirects to the page asked for.
Every page load without a valid session is redirected to the form first (`SignInGate`), so a deep
link works after signing in; the script checks the same cookie again on every run, since its
websocket outlives the page load (services.accounts.resolve_session: idle timeout, sign-out).

Sign-out goes through `st.logout()`, whose `/auth/logout` request the gate intercepts to end the
session and clear the cookie. Streamlit's own OIDC sign-in (`st.login`) ends with Streamlit's
signed cookie; the gate turns a fresh one whose e-mail is on a roster into a portal session (and
clears Streamlit's), so the same idle timeout, lifetime, sign-out and audit apply to it.

The form pages are in the language of the request: the browser's Accept-Language, or the one
picked with the pages' language link (`?lang=ko`), which a `portal_locale` cookie remembers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal import oidc
from services import accounts, i18n
from services.accounts import MIN_PASSWORD_LENGTH, SignInError, SignInThrottledError
from services.context import PortalContext, get_context
from services.errors import PermissionDeniedError, ValidationError
from services.i18n import _

logger = logging.getLogger(__name__)

SESSION_COOKIE = "sandbox_session"
# The language picked on the form pages (only ever "en" or "ko"), so the next page keeps it.
LOCALE_COOKIE = "portal_locale"
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Streamlit's st.login cookie (streamlit.auth_util); its presence lets a browser through to the
# script, which checks it properly through st.user.
STREAMLIT_AUTH_COOKIE = "_streamlit_user"
# Paths the gate never holds: Streamlit's own endpoints and assets, the sign-in routes
# themselves, and st.login's redirect and callback.
OPEN_PREFIXES = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/",
                 "/account/", "/auth/", "/oauth2callback")

_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"])
# The templates' `_()` and `{% trans %}` read the language of the request being rendered.
_templates.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)


def _context() -> PortalContext:
    return get_context()


def _base(scope: Scope) -> str:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(value: str | None) -> str:
    """A redirect target inside this site: a path, never another origin (`//evil`, `https:`)."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") \
            or "\\" in value:
        return "/"
    return value


def _is_https(scope: Scope, headers: dict[str, str]) -> bool:
    return scope.get("scheme") == "https" or headers.get("x-forwarded-proto", "") == "https"


def _same_origin(request: Request) -> bool:
    """A form post must come from this site's own pages (no cross-site sign-in or setup)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    parts = urlsplit(source)
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return parts.netloc == host


def request_locale(request: Request) -> tuple[str, bool]:
    """The language to answer `request` in, and whether it was picked just now (`?lang=`) and is
    to be remembered: the `lang` query parameter, else the cookie, else Accept-Language."""
    picked = request.query_params.get("lang")
    if i18n.is_supported(picked):
        return str(picked), True
    remembered = request.cookies.get(LOCALE_COOKIE)
    if i18n.is_supported(remembered):
        return str(remembered), False
    return i18n.negotiate(request.headers.get("accept-language")), False


def localized(handler: Callable[[Request], Awaitable[Response]]
              ) -> Callable[[Request], Awaitable[Response]]:
    """Runs a route in the language of its request, and remembers a language picked with
    `?lang=` in a cookie (not HttpOnly: it holds nothing but "en" or "ko")."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        locale, picked = request_locale(request)
        with i18n.use_locale(locale):
            response = await handler(request)
        if picked:
            response.set_cookie(
                LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_MAX_AGE,
                path=_base(request.scope) or "/", samesite="lax",
                secure=_is_https(request.scope,
                                 {k.lower(): v for k, v in request.headers.items()}))
        return response

    return route


def _language_links(mode: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The "English | 한국어" links: this same page (what it was opened for kept) in each
    language, each language named in itself."""
    kept: dict[str, str] = {}
    if values.get("next", "/") != "/":
        kept["next"] = str(values["next"])
    if mode == "setup" and values.get("token"):
        kept["token"] = str(values["token"])
    if mode == "activate" and values.get("login"):
        kept["login"] = str(values["login"])
    current = i18n.current_locale()
    return [{"code": code, "name": i18n.LANGUAGE_NAMES[code], "current": code == current,
             "href": "?" + urlencode({**kept, "lang": code})}
            for code in i18n.SUPPORTED_LOCALES]


def _page(request: Request, mode: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    headings = {
        "sign-in": (_("Sign in"), _("Sandbox Portal: launch, use and destroy cloud environments "
                                    "for your course.")),
        "setup": (_("Set up the portal"), _("No instructor exists yet. Create the first one: it "
                                            "can create courses, accounts and other "
                                            "instructors.")),
        "activate": (_("Set your password"), _("Use the one-time code your instructor gave "
                                               "you.")),
    }
    heading, lead = headings[mode]
    fields = {"next": values.pop("next", "/"), "login": values.pop("login", ""),
              "email": values.pop("email", ""), "token": values.pop("token", "")}
    body = _templates.get_template("account.html").render(
        mode=mode, heading=heading, lead=lead, base=_base(request.scope),
        min_password=MIN_PASSWORD_LENGTH, providers=oidc.configured_providers(),
        lang=i18n.current_locale(), languages=_language_links(mode, fields), **fields,
        **values)
    response = HTMLResponse(body, status_code=status)
    # The form pages hold passwords being typed: never cache them, never frame them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _signed_in(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(safe_next(target), status_code=303)
    settings = _context().settings
    response.set_cookie(
        SESSION_COOKIE, token, max_age=settings.session_max_hours * 3600,
        path=_base(request.scope) or "/", httponly=True, samesite="lax",
        secure=_is_https(request.scope, {k.lower(): v for k, v in request.headers.items()}))
    return response


def _field_message(exc: ValidationError) -> str:
    return "; ".join(f"{name}: {message}" for name, message in exc.field_errors.items())


# -- routes -------------------------------------------------------------------------------------
async def sign_in_form(request: Request) -> Response:
    ctx = _context()
    if await run_in_threadpool(accounts.setup_needed, ctx):
        return _page(request, "sign-in", notice=_(
            "The portal has no instructor yet. Open the setup link printed in the portal's log, "
            "or create one with `sandbox users add NAME --role instructor --admin "
            "--password-stdin`."), next=safe_next(request.query_params.get("next")))
    return _page(request, "sign-in", next=safe_next(request.query_params.get("next")))


async def sign_in(request: Request) -> Response:
    form = await request.form()
    target = safe_next(str(form.get("next") or "/"))
    login = str(form.get("login") or "")[:254]
    if not _same_origin(request):
        return _page(request, "sign-in", status=403, next=target, login=login,
                     error=_("This form must be sent from the portal's own page; reload it."))
    ctx = _context()
    client = _client(request)
    try:
        delay = await run_in_threadpool(accounts.throttle_delay, ctx, login=login, client=client)
        if delay:
            # Slows a guesser down without holding a worker thread.
            await asyncio.sleep(delay)
        actor = await run_in_threadpool(accounts.authenticate, ctx, login=login,
                                        password=str(form.get("password") or ""), client=client)
    except SignInThrottledError as exc:
        return _page(request, "sign-in", status=429, next=target, login=login, error=str(exc))
    except SignInError as exc:
        return _page(request, "sign-in", status=401, next=target, login=login, error=str(exc))
    token = await run_in_threadpool(accounts.start_session, ctx, account_name=actor.name)
    return _signed_in(request, token, target)


async def setup_form(request: Request) -> Response:
    ctx = _context()
    if not await run_in_threadpool(accounts.setup_needed, ctx):
        return RedirectResponse(f"{_base(request.scope)}/account/sign-in", status_code=303)
    return _page(request, "setup", token=request.query_params.get("token", ""))


async def setup(request: Request) -> Response:
    form = await request.form()
    values = {"token": str(form.get("token") or ""), "login": str(form.get("name") or ""),
              "email": str(form.get("email") or "")}
    if not _same_origin(request):
        return _page(request, "setup", status=403, **values,
                     error=_("This form must be sent from the portal's own page; reload it."))
    password = str(form.get("password") or "")
    if password != str(form.get("confirm") or ""):
        return _page(request, "setup", status=400, **values,
                     error=_("The two passwords differ."))
    ctx = _context()
    try:
        actor = await run_in_threadpool(
            lambda: accounts.complete_setup(ctx, token=values["token"], name=values["login"],
                                            password=password, email=values["email"] or None,
                                            client=_client(request)))
    except ValidationError as exc:
        return _page(request, "setup", status=400, **values, error=_field_message(exc))
    except PermissionDeniedError as exc:
        return _page(request, "sign-in", status=409, error=str(exc))
    token = await run_in_threadpool(accounts.start_session, ctx, account_name=actor.name)
    return _signed_in(request, token, "/")


async def activate_form(request: Request) -> Response:
    return _page(request, "activate", login=request.query_params.get("login", "")[:254])


async def activate(request: Request) -> Response:
    form = await request.form()
    login = str(form.get("login") or "")[:254]
    if not _same_origin(request):
        return _page(request, "activate", status=403, login=login,
                     error=_("This form must be sent from the portal's own page; reload it."))
    password = str(form.get("password") or "")
    if password != str(form.get("confirm") or ""):
        return _page(request, "activate", status=400, login=login,
                     error=_("The two passwords differ."))
    ctx = _context()
    client = _client(request)
    try:
        # A wrong code counts like a wrong password: codes are short enough to guess at.
        delay = await run_in_threadpool(accounts.throttle_delay, ctx, login=login, client=client)
        if delay:
            await asyncio.sleep(delay)
        actor = await run_in_threadpool(
            lambda: accounts.activate(ctx, login=login, code=str(form.get("code") or ""),
                                      password=password, client=client))
    except SignInThrottledError as exc:
        return _page(request, "activate", status=429, login=login, error=str(exc))
    except ValidationError as exc:
        if "code" in exc.field_errors:
            await run_in_threadpool(accounts.record_failure, ctx, login=login, client=client)
        return _page(request, "activate", status=400, login=login, error=_field_message(exc))
    token = await run_in_threadpool(accounts.start_session, ctx, account_name=actor.name)
    return _signed_in(request, token, "/")


def account_routes() -> list[Route]:
    return [
        Route("/account/sign-in", localized(sign_in_form), methods=["GET"]),
        Route("/account/sign-in", localized(sign_in), methods=["POST"]),
        Route("/account/setup", localized(setup_form), methods=["GET"]),
        Route("/account/setup", localized(setup), methods=["POST"]),
        Route("/account/activate", localized(activate_form), methods=["GET"]),
        Route("/account/activate", localized(activate), methods=["POST"]),
    ]


# -- the gate -----------------------------------------------------------------------------------
def _cookies(scope: Scope) -> dict[str, str]:
    header = next((v.decode("latin-1") for k, v in scope.get("headers", [])
                   if k == b"cookie"), "")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is as good as none
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class SignInGate:
    """ASGI middleware: a page load without a valid sign-in goes to the sign-in form first, with
    the page asked for as `next`; `/auth/logout` also ends the portal's own session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        base = _base(scope)
        path = scope["path"][len(base):] if base and scope["path"].startswith(base) \
            else scope["path"]
        cookies = _cookies(scope)
        if path == "/auth/logout":
            await self._sign_out(scope, receive, send, cookies.get(SESSION_COOKIE))
            return
        last = path.rsplit("/", 1)[-1]
        if path.startswith(OPEN_PREFIXES) or "." in last:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if path == "/" and query.startswith("sso="):
            await self.app(scope, receive, send)
            return
        token = cookies.get(SESSION_COOKIE)
        if token and await run_in_threadpool(accounts.resolve_session, _context(), token):
            await self.app(scope, receive, send)
            return
        target = path + (f"?{query}" if query else "")
        if STREAMLIT_AUTH_COOKIE in cookies:
            await self._hand_over(scope, receive, send, cookies, target=base + (target or "/"))
            return
        location = f"{base}/account/sign-in" + (
            f"?next={quote(base + target, safe='')}" if target not in ("", "/") else "")
        response = RedirectResponse(location, status_code=303)
        if token:
            response.delete_cookie(SESSION_COOKIE, path=base or "/")
        await response(scope, receive, send)

    async def _hand_over(self, scope: Scope, receive: Receive, send: Send,
                         cookies: dict[str, str], *, target: str) -> None:
        """Turn a fresh OIDC sign-in (Streamlit's cookie, minutes old) into a portal session, so
        the same rules hold for it as for a password: idle timeout, lifetime, sign-out that ends
        it everywhere, the audit log. Streamlit's own cookie, valid for 30 days and not ended by
        a sign-out elsewhere, is cleared. An e-mail on no roster goes on to the script, which
        tells the person they have no access; a stale or forged cookie is cleared."""
        client = (scope.get("client") or ("unknown", 0))[0]
        identity = oidc.handed_over_identity(cookies)
        base = _base(scope)
        if identity is None:
            response: Response = RedirectResponse(f"{base}/account/sign-in", status_code=303)
        else:
            email, verified = identity
            token = await run_in_threadpool(
                accounts.start_oidc_session, _context(), email=email if verified else None,
                client=client)
            if token is None:
                await self.app(scope, receive, send)
                return
            response = RedirectResponse(safe_next(target), status_code=303)
            headers = {k.decode("latin-1"): v.decode("latin-1")
                       for k, v in scope.get("headers", [])}
            response.set_cookie(
                SESSION_COOKIE, token, max_age=_context().settings.session_max_hours * 3600,
                path=base or "/", httponly=True, samesite="lax", secure=_is_https(scope, headers))
        for name in cookies:
            if name.startswith(STREAMLIT_AUTH_COOKIE):
                response.delete_cookie(name, path=base or "/")
        await response(scope, receive, send)

    async def _sign_out(self, scope: Scope, receive: Receive, send: Send,
                        token: str | None) -> None:
        client = (scope.get("client") or ("unknown", 0))[0]
        await run_in_threadpool(accounts.end_session, _context(), token, client=client)
        expired = (f"{SESSION_COOKIE}=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
                   f"Path={_base(scope) or '/'}; HttpOnly; SameSite=lax")

        async def send_clearing_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", expired.encode("latin-1"))]}
            await send(message)

        await self.app(scope, receive, send_clearing_cookie)
