"""Who is using this browser session: the signed-in actor, resolved on every run, and sign-out.

This module owns the `identity.*` keys of `st.session_state`. Signing in happens before the app
runs (portal/account_routes.py sets the session cookie); here the cookie is checked again on each
run, because a websocket outlives the page load that opened it: a session that ended (signed out
in another tab, idle too long, account disabled) stops the page at its next click. A browser
signed in through `st.login` (OIDC) has a portal session too (the gate hands it over); one whose
e-mail is on no roster reaches the script without one and gets no access.
"""

from __future__ import annotations

import streamlit as st

from portal.account_routes import SESSION_COOKIE
from portal.components.text import md_escape
from portal.locale import apply_locale, language_switch
from services import accounts
from services.i18n import N_, _
from services.identity import Actor, Role

ACTOR_KEY = "identity.actor"
SIGN_OUT_KEY = "identity.sign_out"
OIDC_EMAIL_KEY = "identity.oidc_email"

ROLE_LABELS = {Role.STUDENT.value: N_("Student"), Role.INSTRUCTOR.value: N_("Instructor")}


def _oidc_user() -> tuple[bool, str | None]:
    """Whether Streamlit's OIDC cookie is present, and the e-mail it vouches for."""
    try:
        user = st.user
        # `is True`: outside a browser (AppTest) st.user is not a real identity.
        if user.is_logged_in is not True:
            return False, None
    except Exception:  # noqa: BLE001 - st.login not configured: no OIDC identity
        return False, None
    email = user.get("email")
    verified = user.get("email_verified", True)
    return True, email if isinstance(email, str) and email and verified is not False else None


def current_actor() -> Actor | None:
    """The actor of this browser session, or None when nobody (valid) is signed in; the
    session's language is settled for them (portal/locale.py) before anything is drawn."""
    actor = _resolve_actor()
    apply_locale(actor)
    return actor


def _resolve_actor() -> Actor | None:
    # Imported here: ui_context shows errors differently to instructors, so it imports this module.
    from portal.ui_context import portal_context

    token = st.context.cookies.get(SESSION_COOKIE)
    # Outside a browser (AppTest) there are no real cookies: only a string is a token.
    if isinstance(token, str) and token:
        actor = accounts.resolve_session(portal_context(), token)
        if actor is None:
            st.session_state.pop(ACTOR_KEY, None)
        else:
            st.session_state[ACTOR_KEY] = actor
        return actor
    signed_in, email = _oidc_user()
    if signed_in:
        # A provider's sign-in reaches the script only when the gate could not turn it into a
        # portal session (portal/account_routes.py): an e-mail on no roster. It grants nothing;
        # the sign-in page says why.
        st.session_state[OIDC_EMAIL_KEY] = email
        st.session_state.pop(ACTOR_KEY, None)
        return None
    # No cookie of either kind: only the server itself can have put an actor here (the page
    # tests do); a browser cannot write session_state.
    return st.session_state.get(ACTOR_KEY)


def require_actor() -> Actor:
    """The signed-in actor; a page reached without one shows a notice and stops."""
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        st.warning(_("Your sign-in has ended. [Sign in again](/account/sign-in)."),
                   icon=":material/login:")
        st.stop()
    return actor


def sign_out() -> None:
    from portal.ui_context import portal_context

    token = st.context.cookies.get(SESSION_COOKIE)
    if isinstance(token, str) and token:
        # Ended here already, so the run that follows this click finds nobody signed in.
        accounts.end_session(portal_context(), token)
    # Everything this browser session holds (chosen template, typed parameters, runs being
    # watched) belongs to the person signing out, so all of it goes, not only identity's keys.
    st.session_state.clear()
    # st.logout sends the browser to /auth/logout, where the sign-in gate ends the portal's own
    # session and clears its cookie, and Streamlit clears its OIDC cookie.
    st.logout()


def account_panel(actor: Actor) -> None:
    """Who is signed in, and the sign-out control; drawn in the sidebar by the app shell."""
    role = _(ROLE_LABELS[actor.role.value]) + (_(" · admin") if actor.is_admin else "")
    with st.sidebar:
        st.markdown(f":material/account_circle: **{md_escape(actor.name)}**  \n{role}")
        language_switch(actor)
        # A callback: the run that follows already draws the signed-out page, while the
        # browser follows st.logout's redirect.
        st.button(_("Sign out"), key=SIGN_OUT_KEY, on_click=sign_out, icon=":material/logout:",
                  width="stretch")
