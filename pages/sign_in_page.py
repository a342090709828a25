"""Shown when this browser session has no valid sign-in: the session ended while the page was
open, an OIDC sign-in is under way, or the identity provider's e-mail is on no roster."""

from __future__ import annotations

import streamlit as st

from portal import identity, oidc

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(":material/cloud: Sandbox Portal")
    sso = st.query_params.get("sso")
    provider = oidc.provider(sso) if sso else None
    signed_in_elsewhere = st.session_state.get(identity.OIDC_EMAIL_KEY, False) is not False
    if provider is not None and not signed_in_elsewhere:
        # The sign-in form's "Sign in with ..." link lands here: hand over to the provider.
        st.login(provider.login_name)
    elif signed_in_elsewhere:
        email = st.session_state.get(identity.OIDC_EMAIL_KEY) or "your account"
        st.error(f"{email} is not on the roster of any course here, so it has no access. Ask "
                 "your instructor to add this e-mail to the course roster.",
                 icon=":material/block:")
        st.button("Sign out", on_click=identity.sign_out, icon=":material/logout:")
    else:
        st.info("You are not signed in, or your sign-in has ended.", icon=":material/login:")
        st.link_button("Sign in", "/account/sign-in", type="primary", icon=":material/login:")
