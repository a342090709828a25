"""The template chooser of the Launch page; the Catalog preselects it through `choose`.

Owns the `template_picker.*` session_state keys.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from services.catalog_service import TemplateManifest, localized
from services.i18n import _

PICKER_KEY = "template_picker.template_id"
_REQUESTED_KEY = "template_picker.requested"


def choose(template_id: str) -> None:
    """Preselect `template_id` the next time the picker is drawn (e.g. after `st.switch_page`)."""
    st.session_state[_REQUESTED_KEY] = template_id


def template_picker(templates: Sequence[TemplateManifest]) -> TemplateManifest:
    by_id = {t.id: t for t in templates}
    requested = st.session_state.pop(_REQUESTED_KEY, None)
    if requested in by_id:
        st.session_state[PICKER_KEY] = requested
    elif st.session_state.get(PICKER_KEY) not in by_id:
        # A template removed from the catalog since it was picked.
        st.session_state.pop(PICKER_KEY, None)
    # The titles in the reader's language; the options (and the manifest returned) stay the
    # templates themselves.
    titles = {t.id: localized(t).title for t in templates}
    chosen = st.selectbox(_("Template"), list(by_id), key=PICKER_KEY,
                          format_func=lambda template_id: f"{titles[template_id]} "
                                                          f"({template_id})",
                          persist_state="session")
    return by_id[chosen]
