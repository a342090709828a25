"""Browser tests' shared pieces: Chromium, the portal served as in production (`streamlit run
portal/server.py`, the sign-in gate in front of the app), accounts made through the services in
the server's own database, and signing in through the portal's HTML form.

The server and the test share one database: the server gets it through PORTAL_DATABASE_URL, the
test through a `PortalContext` of the same settings, so an account made here can sign in there
and what the server records (sessions, the audit log) can be read back here.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from services.settings import Settings
from services import accounts
from services.context import PortalContext
from services.identity import Actor, Role

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 60.0
# Who makes the tests' accounts: an admin, as `sandbox users add` run by the operator is.
OPERATOR = Actor(name="operator", role=Role.INSTRUCTOR, is_admin=True)


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = ("Chromium not installed: browser tests skipped (`make browser-deps` installs "
                   f"Debian's chromium at {CHROMIUM})")
        if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
            pytest.fail(message.replace("skipped", "required by PORTAL_REQUIRE_BROWSER=1"))
        pytest.skip(message)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


# -- the server ---------------------------------------------------------------------------------
@contextmanager
def serve_portal(env: Mapping[str, str], *, log_path: Path, secrets_file: Path | None = None,
                 port: int | None = None) -> Iterator[str]:
    """`streamlit run portal/server.py` with `env` on `port` (a free one unless given: an
    identity provider must know the redirect URI first); yields its URL.

    Streamlit reads the test's own secrets file, never the checkout's `.streamlit/secrets.toml`:
    a developer's [auth] section would otherwise put an identity provider's button on every
    test's sign-in form. Without `secrets_file` that is an empty one beside the log.
    """
    if secrets_file is None:
        secrets_file = log_path.with_name(f"{log_path.stem}.secrets.toml")
        secrets_file.touch()
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "portal/server.py",
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--secrets.files", str(secrets_file)],
            cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
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


@pytest.fixture
def portal_url(portal_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The portal with this test's portal environment (`portal_env`: its own database, the
    shared embedded cloud); `get_context()` in the test reaches the same database."""
    with serve_portal(os.environ.copy(), log_path=tmp_path / "streamlit.log") as url:
        yield url


@dataclass(frozen=True)
class Portal:
    """A running portal and, for the test, a context on the same data dir and database."""

    url: str
    ctx: PortalContext
    log_path: Path
    database_path: Path

    def written_files(self) -> list[Path]:
        """Every file the server writes what it is told: its log, the SQLite database with its
        write-ahead log, and the logs in the data dir."""
        base = self.database_path
        candidates = [self.log_path, base, base.with_name(base.name + "-wal"),
                      base.with_name(base.name + "-shm"),
                      *self.ctx.settings.data_dir.glob("*.log")]
        return [path for path in candidates if path.exists()]


def portal_settings_env(*, data_dir: Path, database_path: Path,
                        **settings: str) -> dict[str, str]:
    """This process's environment without any PORTAL_* variable, then the given settings (as
    `session_idle_minutes="1"`): a module-scoped server cannot use the function-scoped
    `portal_env`, so it builds the same clean environment itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({
        "PORTAL_DATA_DIR": str(data_dir),
        "PORTAL_DATABASE_URL": f"sqlite:///{database_path}",
        "PORTAL_CLOUD": "embedded",
        "PORTAL_REGION": "us-east-1",
        # No background monitoring pass: nothing here looks at metrics.
        "PORTAL_COLLECT_INTERVAL_S": "0",
    })
    env.update({f"PORTAL_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def start_portal(workdir: Path, *, data_dir: Path, secrets_file: Path | None = None,
                 port: int | None = None, **settings: str) -> Iterator[Portal]:
    """A portal with a database of its own in `workdir` and the data dir given (the shared
    embedded cloud's, unless the test needs one of its own: the setup token lives there)."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_path = workdir / "portal.db"
    env = portal_settings_env(data_dir=data_dir, database_path=database_path, **settings)
    # The same settings as the server's, given explicitly: this process's environment may hold
    # another test's PORTAL_* variables.
    ctx = PortalContext(Settings(
        data_dir=data_dir, database_url=env["PORTAL_DATABASE_URL"], cloud="embedded",
        region="us-east-1", collect_interval_s=0, **settings))
    with serve_portal(env, log_path=workdir / "streamlit.log", secrets_file=secrets_file,
                      port=port) as url:
        yield Portal(url=url, ctx=ctx, log_path=workdir / "streamlit.log",
                     database_path=database_path)


# -- accounts -----------------------------------------------------------------------------------
def new_password() -> str:
    # Unique per call, so a search of the server's files for it finds only this test's typing.
    return f"pw-{secrets.token_urlsafe(12)}"


def make_account(ctx: PortalContext, name: str, *, role: Role = Role.STUDENT,
                 email: str | None = None, is_admin: bool = False) -> str:
    """An account made through the services, as `sandbox users add` makes it; returns its
    password."""
    password = new_password()
    accounts.create_account(ctx, actor=OPERATOR, name=name, role=role, email=email,
                            is_admin=is_admin, password=password)
    return password


# -- the browser --------------------------------------------------------------------------------
@contextmanager
def chromium_browser(chromium: Path, tmp_path: Path) -> Iterator[Browser]:
    """A Chromium; on any failure a screenshot of each of its pages is saved under `tmp_path`."""
    from playwright.sync_api import expect, sync_playwright

    # Two test workers, each with a portal and a Chromium, share two cores: a rerun can take
    # longer than expect's default 5 s there. A check that holds passes as soon as it holds.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield browser
        except BaseException:
            pages = [page for context in browser.contexts for page in context.pages]
            for number, page in enumerate(pages):
                shot = tmp_path / f"failure-{number}.png"
                try:
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"screenshot of the failure: {shot} ({page.url})")
                except Exception as exc:  # noqa: BLE001 - the test's own error matters more
                    print(f"no screenshot of {page.url}: {exc}")
            raise
        finally:
            browser.close()


def new_page(browser: Browser) -> Page:
    """A page in a fresh browser context: cookies of its own, as another browser would have."""
    page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    page.set_default_timeout(30_000)
    return page


@contextmanager
def browser_page(chromium: Path, tmp_path: Path) -> Iterator[Page]:
    with chromium_browser(chromium, tmp_path) as browser:
        yield new_page(browser)


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def signed_in_as(page: Page, name: str) -> Locator:
    """The account panel's name in the sidebar: the app draws it only for a signed-in actor."""
    return sidebar(page).locator("strong").get_by_text(name, exact=True)


def sign_in_form(page: Page) -> Locator:
    return page.locator("form[action$='/account/sign-in']")


def submit_sign_in(page: Page, login: str, password: str) -> None:
    """Type into the portal's sign-in form (already open) and send it."""
    form = sign_in_form(page)
    form.locator("#login").fill(login)
    form.locator("#password").fill(password)
    form.locator("button[type=submit]").click()


def sign_in(page: Page, url: str, name: str, password: str) -> None:
    """Open `url` signed out (the gate shows the form first and keeps `url` as where to go
    next), sign in through the form, and wait until the app shows who is signed in."""
    from playwright.sync_api import expect

    page.goto(url)
    submit_sign_in(page, name, password)
    # The first run of a fresh server imports every page's modules.
    expect(signed_in_as(page, name)).to_be_visible(timeout=60_000)
