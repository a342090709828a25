"""Who is using this browser session: the sign-in form, the signed-in actor and signing out.

This module owns the `identity.*` keys of `st.session_state`. There is no password yet: a name and a
role are enough for a classroom on a trusted network, and every service call already takes the
`Actor` this module hands out, so real authentication can replace `sign_in_form` alone.
"""

from __future__ import annotations

import streamlit as st

from portal.components.text import md_escape
from services.errors import PortalError
from services.identity import Actor, Role, sign_in

ACTOR_KEY = "identity.actor"
NAME_KEY = "identity.name"
ROLE_KEY = "identity.role"
FORM_KEY = "identity.sign_in"
SUBMIT_KEY = "identity.submit"
SIGN_OUT_KEY = "identity.sign_out"

ROLE_LABELS = {Role.STUDENT.value: "Student", Role.INSTRUCTOR.value: "Instructor"}


def current_actor() -> Actor | None:
    return st.session_state.get(ACTOR_KEY)


def require_actor() -> Actor:
    """The signed-in actor; a page reached without one shows a notice and stops."""
    actor = current_actor()
    if actor is None:
        st.warning("Sign in first.", icon=":material/login:")
        st.stop()
    return actor


def sign_in_form() -> None:
    """Name and role; on a valid submit the actor is stored and the app reruns signed in."""
    with st.form(FORM_KEY, enter_to_submit=True):
        name = st.text_input("Name", key=NAME_KEY, max_chars=64, placeholder="e.g. alice",
                             help="Letters, digits, dots, dashes or underscores. Your environments "
                                  "are recorded under this name.")
        role = st.radio("Role", list(ROLE_LABELS), format_func=ROLE_LABELS.__getitem__,
                        key=ROLE_KEY, horizontal=True)
        submitted = st.form_submit_button("Sign in", type="primary", key=SUBMIT_KEY,
                                          icon=":material/login:")
    if not submitted:
        return
    try:
        actor = sign_in(name or "", role or Role.STUDENT.value)
    except PortalError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        return
    st.session_state[ACTOR_KEY] = actor
    st.rerun()


def sign_out() -> None:
    # Everything this browser session holds (chosen template, typed parameters, runs being
    # watched) belongs to the person signing out, so all of it goes, not only identity's keys.
    st.session_state.clear()


def account_panel(actor: Actor) -> None:
    """Who is signed in, and the sign-out control; drawn in the sidebar by the app shell."""
    with st.sidebar:
        st.markdown(f":material/account_circle: **{md_escape(actor.name)}**  \n"
                    f"{ROLE_LABELS[actor.role.value]}")
        st.button("Sign out", key=SIGN_OUT_KEY, on_click=sign_out, icon=":material/logout:",
                  width="stretch")
