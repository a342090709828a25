"""The language of this browser session, and the sidebar switch that picks it.

This module owns the `i18n.*` keys of `st.session_state`. The language is, first to last: the
one picked in the sidebar (and remembered for the account), the one the account picked before,
the one the portal's sign-in pages were read in (their `portal_locale` cookie), the browser's
own (`st.context.locale`), English. services/i18n.py reads it through the provider registered
here, on whichever thread Streamlit runs the script or a fragment.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from portal.ui_context import portal_context
from services import accounts, i18n
from services.i18n import _
from services.identity import Actor

LOCALE_KEY = "i18n.locale"
# Whose choice LOCALE_KEY holds: another account signing in on this browser decides anew.
LOCALE_OWNER_KEY = "i18n.locale_owner"
SWITCH_KEY = "i18n.switch"
# Written by the sign-in pages (portal/account_routes.py) when a language is picked there.
LOCALE_COOKIE = "portal_locale"


def _session_locale() -> str | None:
    """The locale of the browser session whose script runs on this thread; None on any other
    thread (the background scheduler, in-process workers)."""
    run = get_script_run_ctx(suppress_warning=True)
    if run is None:
        return None
    return run.session_state[LOCALE_KEY] if LOCALE_KEY in run.session_state else None


i18n.set_locale_provider(_session_locale)


def _browser_locale() -> str:
    cookie = st.context.cookies.get(LOCALE_COOKIE)
    if isinstance(cookie, str) and i18n.is_supported(cookie):
        return cookie
    try:
        requested = st.context.locale
    except Exception:  # noqa: BLE001 - outside a browser (AppTest) there is no locale
        requested = None
    return i18n.negotiate(requested if isinstance(requested, str) else None)


def apply_locale(actor: Actor | None) -> str:
    """Decides this session's language for the run that starts, once per person: the account's
    stored choice is read when someone signs in, not on every click."""
    owner = actor.name if actor is not None else None
    if LOCALE_KEY not in st.session_state or st.session_state.get(LOCALE_OWNER_KEY) != owner:
        stored = accounts.preferred_locale(portal_context(), owner) if owner else None
        st.session_state[LOCALE_KEY] = stored or _browser_locale()
        st.session_state[LOCALE_OWNER_KEY] = owner
    return st.session_state[LOCALE_KEY]


def _switched(actor: Actor) -> None:
    chosen = st.session_state.get(SWITCH_KEY)
    if not i18n.is_supported(chosen):
        return
    st.session_state[LOCALE_KEY] = chosen
    accounts.set_locale(portal_context(), actor=actor, locale=chosen)


def language_switch(actor: Actor) -> None:
    """English | 한국어 in the sidebar; the choice is kept for the account."""
    st.session_state[SWITCH_KEY] = st.session_state[LOCALE_KEY]
    st.sidebar.segmented_control(
        _("Language"), options=list(i18n.SUPPORTED_LOCALES), format_func=i18n.LANGUAGE_NAMES.get,
        key=SWITCH_KEY, on_change=_switched, args=(actor,), selection_mode="single",
        label_visibility="collapsed")
