"""The language switch in the sidebar: the pages follow it, the account keeps it, and a session
of another account on the same browser decides anew."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from streamlit.testing.v1 import AppTest

from portal import locale as portal_locale
from services import accounts, i18n
from services.context import PortalContext
from services.errors import PermissionDeniedError, ValidationError
from services.identity import Actor, Role
from tests.pages.conftest import ALICE, TEACHER, texts

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def switch(at: AppTest) -> object:
    [control] = [b for b in at.sidebar.button_group if b.key == portal_locale.SWITCH_KEY]
    return control


def test_a_student_switches_to_korean_and_the_account_keeps_it(
        portal: PortalContext, app: Callable[..., AppTest]) -> None:
    accounts.create_account(portal, actor=None, name=ALICE.name, role=Role.STUDENT,
                            password="correct horse battery staple")
    at = app(ALICE)
    at.run()
    assert switch(at).value == "en"
    assert "Sign out" in [b.label for b in at.sidebar.button]

    switch(at).set_value("ko").run()
    assert not at.exception
    assert switch(at).value == "ko"
    [sign_out] = [b for b in at.sidebar.button if b.key == "identity.sign_out"]
    assert HANGUL.search(sign_out.label)
    assert accounts.preferred_locale(portal, ALICE.name) == "ko"

    # A new browser session of the same account opens in Korean.
    again = app(ALICE)
    again.run()
    assert switch(again).value == "ko"
    assert any(HANGUL.search(text) for text in texts(again.markdown) + texts(again.title))


def test_another_account_on_the_same_session_decides_anew(
        portal: PortalContext, app: Callable[..., AppTest]) -> None:
    accounts.create_account(portal, actor=None, name=ALICE.name, role=Role.STUDENT,
                            password="correct horse battery staple")
    accounts.create_account(portal, actor=None, name=TEACHER.name, role=Role.INSTRUCTOR,
                            password="correct horse battery staple")
    accounts.set_locale(portal, actor=ALICE, locale="ko")
    at = app(ALICE)
    at.run()
    assert switch(at).value == "ko"
    at.session_state["identity.actor"] = TEACHER
    at.run()
    assert switch(at).value == "en"


def test_only_supported_languages_and_only_ones_own_account(portal: PortalContext) -> None:
    accounts.create_account(portal, actor=None, name=ALICE.name, role=Role.STUDENT,
                            password="correct horse battery staple")
    with pytest.raises(ValidationError):
        accounts.set_locale(portal, actor=ALICE, locale="fr")
    with pytest.raises(PermissionDeniedError):
        accounts.set_locale(portal, actor=Actor(name="nobody", role=Role.STUDENT), locale="ko")
    assert accounts.preferred_locale(portal, ALICE.name) is None


def test_two_switches_at_once_leave_one_of_them(portal: PortalContext) -> None:
    accounts.create_account(portal, actor=None, name=ALICE.name, role=Role.STUDENT,
                            password="correct horse battery staple")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(
            lambda chosen: accounts.set_locale(portal, actor=ALICE, locale=chosen),
            ["ko", "en"] * 4))
    assert results == ["ko", "en"] * 4
    assert accounts.preferred_locale(portal, ALICE.name) in i18n.SUPPORTED_LOCALES


def test_the_browser_language_decides_until_someone_picks() -> None:
    assert i18n.negotiate("ko-KR,ko;q=0.9,en-US;q=0.8") == "ko"
    assert i18n.negotiate("en-GB") == "en"
    assert i18n.negotiate("fr-FR") == "en"
    assert i18n.negotiate(None) == "en"
    assert i18n.negotiate("not a locale!") == "en"
