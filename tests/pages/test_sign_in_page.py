"""Who is signed in decides which pages exist; signing in itself happens on the portal's own
form (tests/portal/test_account_routes.py and the browser tests)."""

from __future__ import annotations

import pytest

from portal import identity
from services.identity import Actor, Role
from tests.pages.conftest import ALICE, TEACHER, texts




def test_signed_out_only_the_sign_in_page_exists(app) -> None:
    at = app().run()
    assert not at.exception
    assert texts(at.title) == [":material/cloud: Sandbox Portal"]
    assert "not signed in" in " ".join(texts(at.info))
    # No sign-out control, and no way onto another page without an actor.
    assert not [b for b in at.sidebar.button if b.key == identity.SIGN_OUT_KEY]
    with pytest.raises(Exception):
        at.switch_page("../pages/launch_page.py").run()


def test_a_student_sees_no_instructor_page_and_cannot_switch_to_one(app) -> None:
    at = app(ALICE).run()
    assert not at.exception
    assert texts(at.title) == ["Catalog"]
    sidebar = " ".join(texts(at.sidebar.markdown))
    assert "alice" in sidebar and "Student" in sidebar
    for page in ("instructor_cost_page.py", "courses_page.py", "audit_page.py"):
        try:
            at.switch_page(f"../pages/{page}").run()
        except Exception:  # noqa: BLE001 - not a page of this session: refused outright
            continue
        assert texts(at.title) != ["Class cost"], page
        assert "This page is for instructors." in " ".join(texts(at.warning) + texts(at.info)
                                                           + texts(at.error)) or \
            texts(at.title) == ["Catalog"], page


def test_an_instructor_gets_the_instructor_pages(app) -> None:
    at = app(TEACHER).run()
    assert "Instructor" in " ".join(texts(at.sidebar.markdown))
    at.switch_page("../pages/courses_page.py").run()
    assert not at.exception
    assert texts(at.title) == ["Courses"]


def test_sign_out_clears_the_session(app) -> None:
    at = app(Actor("bob", Role.STUDENT)).run()
    at.button(key=identity.SIGN_OUT_KEY).click().run()
    assert identity.ACTOR_KEY not in at.session_state
    assert texts(at.title) == [":material/cloud: Sandbox Portal"]
