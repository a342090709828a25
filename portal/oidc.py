"""OIDC sign-in through Streamlit's `st.login`, when `.streamlit/secrets.toml` configures it.

The providers come from the `[auth]` section Streamlit reads: either one unnamed provider
(`client_id` and `server_metadata_url` directly under `[auth]`) or named ones (`[auth.NAME]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
        providers.append(Provider("default", str(auth.get("label", "your school account"))))
    for name, value in auth.items():
        if isinstance(value, dict) or hasattr(value, "keys"):
            section = dict(value)
            if "client_id" in section:
                providers.append(Provider(name, str(section.get("label", name.capitalize()))))
    return providers


def provider(key: str | None) -> Provider | None:
    return next((p for p in configured_providers() if p.key == key), None)
