"""OIDC sign-in through Streamlit's `st.login`, when `.streamlit/secrets.toml` configures it.

The providers come from the `[auth]` section Streamlit reads: either one unnamed provider
(`client_id` and `server_metadata_url` directly under `[auth]`) or named ones (`[auth.NAME]`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.i18n import _

# How old Streamlit's sign-in cookie may be when the gate turns it into a portal session: it is
# made by the provider's callback, which redirects to the portal at once. An older one is a copy.
HANDOVER_MAX_AGE_DAYS = 10 / (24 * 60)


@dataclass(frozen=True)
class Provider:
    # What `/?sso=KEY` and st.login() name: "default" for the unnamed provider.
    key: str
    label: str

    @property
    def login_name(self) -> str | None:
        return None if self.key == "default" else self.key


def _auth_section() -> dict[str, Any]:
    try:
        import streamlit as st

        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets file, or one that does not parse: no OIDC
        return {}
    return dict(section) if section else {}


def configured_providers() -> list[Provider]:
    auth = _auth_section()
    if not auth:
        return []
    providers: list[Provider] = []
    if "client_id" in auth and "server_metadata_url" in auth:
        label = auth["label"] if "label" in auth else _("your school account")
        providers.append(Provider("default", str(label)))
    for name, value in auth.items():
        if isinstance(value, dict) or hasattr(value, "keys"):
            section = dict(value)
            if "client_id" in section:
                providers.append(Provider(name, str(section.get("label", name.capitalize()))))
    return providers


def provider(key: str | None) -> Provider | None:
    return next((p for p in configured_providers() if p.key == key), None)


def handed_over_identity(cookies: dict[str, str]) -> tuple[str | None, bool] | None:
    """The e-mail (and whether the provider verified it) in Streamlit's signed sign-in cookie, if
    that cookie is genuine and minutes old; None for a stale, forged or unreadable one.

    A missing `email_verified` claim counts as verified: Microsoft Entra ID never sends it.
    """
    from streamlit.auth_util import get_cookie_with_chunks
    from streamlit.web.server.server_util import AUTH_COOKIE_NAME, get_cookie_secret
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    secret = get_cookie_secret()

    def single(name: str) -> bytes | None:
        raw = cookies.get(name)
        if raw is None:
            return None
        return decode_signed_value(secret, name, raw.encode("latin-1"),
                                   max_age_days=HANDOVER_MAX_AGE_DAYS)

    try:
        decoded = get_cookie_with_chunks(single, AUTH_COOKIE_NAME)
        payload = json.loads(decoded.decode("utf-8")) if decoded else None
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("is_logged_in") is not True:
        return None
    email = payload.get("email")
    return (email if isinstance(email, str) and email else None,
            payload.get("email_verified", True) is not False)
