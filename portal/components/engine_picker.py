"""How an environment is deployed: CloudFormation or Terraform, where a template offers both.

Owns the `<key>` session_state key. An engine that cannot deploy here (a Terraform provider not
installed) stays in the list, so students see that it exists, with the reason beside it; the
caller disables Launch while it is picked.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from portal.components.text import md_escape
from services.engines.base import Availability, EngineName
from services.i18n import _


def engine_picker(availability: Mapping[EngineName, Availability], *,
                  key: str) -> tuple[EngineName, Availability]:
    """The engine picked and whether it can deploy; `availability` in the template's order."""
    engines = list(availability)
    if st.session_state.get(key) not in engines:
        usable = [name for name in engines if availability[name].available]
        st.session_state[key] = (usable or engines)[0]

    def label(name: EngineName) -> str:
        if availability[name].available:
            return name.label
        return _("{engine} (unavailable)").format(engine=name.label)

    picked: EngineName = st.radio(
        _("Deploy with"), engines, key=key, horizontal=True, format_func=label,
        disabled=len(engines) == 1,
        help=_("The same environment, made by CloudFormation (a stack) or by Terraform (a state "
               "in the portal). The preview has the code of both, a tab each."))
    chosen = availability[picked]
    if not chosen.available:
        st.warning(_("{engine} cannot deploy this template here: {reason}").format(
            engine=picked.label, reason=md_escape(chosen.reason or _("unavailable"))),
            icon=":material/block:")
    return picked, chosen
