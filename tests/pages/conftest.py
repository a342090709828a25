"""Pages under `AppTest`, backed by the shared embedded cloud and this test's own database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import identity
from portal.ui_context import portal_context
from services.context import PortalContext, get_context
from services.identity import Actor, Role

APP = Path(__file__).resolve().parents[2] / "portal" / "app.py"
# The first run may start the embedded cloud and migrate a fresh database.
RUN_TIMEOUT_S = 60.0
ALICE = Actor(name="alice", role=Role.STUDENT)
BOB = Actor(name="bob", role=Role.STUDENT)
TEACHER = Actor(name="ms-lee", role=Role.INSTRUCTOR)


@pytest.fixture
def portal(portal_env: dict[str, str]) -> Iterator[PortalContext]:
    """The context the pages will use; `st.cache_resource` would otherwise keep the previous
    test's context (and database) for the whole process."""
    portal_context.clear()
    yield get_context()
    portal_context.clear()


@pytest.fixture
def app(portal: PortalContext) -> Callable[..., AppTest]:
    def make(actor: Actor | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S)
        if actor is not None:
            at.session_state[identity.ACTOR_KEY] = actor
        return at

    return make


def open_page(at: AppTest, page: str) -> AppTest:
    """Run the app once (pages are registered by the run), then switch to `page` and run it."""
    at.run()
    at.switch_page(f"../pages/{page}")
    return at.run()


def plain(markdown: str) -> str:
    """Markdown as a reader sees it: the components backslash-escape punctuation."""
    return markdown.replace("\\", "")


def texts(elements: object) -> list[str]:
    return [plain(str(e.value)) for e in elements]  # type: ignore[attr-defined]


def wait_until(at: AppTest, condition: Callable[[AppTest], bool], *, timeout: float = 60.0,
               what: str = "condition") -> AppTest:
    """Rerun the app (as the page's refreshing fragment would) until `condition` holds."""
    deadline = time.monotonic() + timeout
    while True:
        assert not at.exception, [e.value for e in at.exception]
        if condition(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.3)
        at.run()
