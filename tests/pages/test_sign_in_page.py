"""Signing in and out: who you are decides which pages exist."""

from __future__ import annotations

from portal import identity
from services.identity import Role

from tests.pages.conftest import texts


def test_signed_out_only_the_sign_in_page_exists(app) -> None:
    at = app().run()
    assert not at.exception
    assert texts(at.title) == [":material/cloud: Sandbox Portal"]
    assert at.text_input(key=identity.NAME_KEY).label == "Name"
    assert at.radio(key=identity.ROLE_KEY).options == ["Student", "Instructor"]
    # No sign-out control, and no way onto another page without an actor.
    assert not [b for b in at.sidebar.button if b.key == identity.SIGN_OUT_KEY]


def test_a_bad_name_is_refused_with_the_field_named(app) -> None:
    at = app().run()
    at.text_input(key=identity.NAME_KEY).input("alice smith!")
    at.button(key=identity.SUBMIT_KEY).click().run()
    assert any(message.startswith("name:") for message in texts(at.error))
    assert identity.ACTOR_KEY not in at.session_state


def test_sign_in_as_student_then_sign_out(app) -> None:
    at = app().run()
    at.text_input(key=identity.NAME_KEY).input("alice")
    at.button(key=identity.SUBMIT_KEY).click().run()
    assert not at.exception
    actor = at.session_state[identity.ACTOR_KEY]
    assert (actor.name, actor.role) == ("alice", Role.STUDENT)
    assert texts(at.title) == ["Catalog"]
    sidebar = " ".join(texts(at.sidebar.markdown))
    assert "alice" in sidebar and "Student" in sidebar

    at.button(key=identity.SIGN_OUT_KEY).click().run()
    assert identity.ACTOR_KEY not in at.session_state
    assert texts(at.title) == [":material/cloud: Sandbox Portal"]
    assert at.text_input(key=identity.NAME_KEY).value == ""


def test_sign_in_as_instructor(app) -> None:
    at = app().run()
    at.text_input(key=identity.NAME_KEY).input("ms-lee")
    at.radio(key=identity.ROLE_KEY).set_value("instructor")
    at.button(key=identity.SUBMIT_KEY).click().run()
    assert at.session_state[identity.ACTOR_KEY].role is Role.INSTRUCTOR
    assert "Instructor" in " ".join(texts(at.sidebar.markdown))
