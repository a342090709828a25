"""Shown when this browser session has no valid sign-in: the session ended while the page was
open, an OIDC sign-in is under way, or the identity provider's e-mail is on no roster."""

from __future__ import annotations

import streamlit as st

from portal import identity, oidc
from portal.components.text import md_escape
from services.i18n import _

_left, middle, _right = st.columns([1, 2, 1])
with middle:
    st.title(":material/cloud: Sandbox Portal")
    sso = st.query_params.get("sso")
    provider = oidc.provider(sso) if sso else None
    signed_in_elsewhere = st.session_state.get(identity.OIDC_EMAIL_KEY, False) is not False
    if provider is not None and not signed_in_elsewhere:
        # The sign-in form's "Sign in with ..." link lands here: hand over to the provider.
        st.login(provider.login_name)
    elif signed_in_elsewhere:
        email = st.session_state.get(identity.OIDC_EMAIL_KEY)
        if email:
            # The address is the provider's to choose, not ours: shown literally, never as
            # markdown (a link in it would look like the portal's own).
            st.error(_("{email} is not on the roster of any course here, so it has no access. "
                       "Ask your instructor to add this e-mail to the course roster.").format(
                         email=md_escape(email)),
                     icon=":material/block:")
        else:
            st.error(_("Your identity provider did not confirm an e-mail address for this "
                       "account, and the portal knows its people by e-mail, so it has no access. "
                       "Sign in with your name and password instead, or ask your instructor."),
                     icon=":material/block:")
        st.button(_("Sign out"), on_click=identity.sign_out, icon=":material/logout:")
    else:
        st.info(_("You are not signed in, or your sign-in has ended."), icon=":material/login:")
        base = (st.get_option("server.baseUrlPath") or "").strip("/")
        st.link_button(_("Sign in"), f"{'/' + base if base else ''}/account/sign-in",
                       type="primary", icon=":material/login:")
