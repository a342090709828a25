"""One catalog entry: what the template builds, what it teaches, what it asks and gives back."""

from __future__ import annotations

from typing import Any

import streamlit as st

from portal.components.text import md_escape
from services.catalog_service import ParameterSpec, TemplateManifest, localized
from services.i18n import _

PREFIX = "template_card"


def launch_button_key(template_id: str) -> str:
    return f"{PREFIX}.{template_id}.launch"


def parameters_key(template_id: str) -> str:
    """The card's "Parameters" expander: True while it is open."""
    return f"{PREFIX}.{template_id}.parameters"


def _accepted(spec: ParameterSpec) -> str:
    if spec.allowed:
        return ", ".join(str(v) for v in spec.allowed)
    if spec.min is not None or spec.max is not None:
        low = "" if spec.min is None else str(spec.min)
        high = "" if spec.max is None else str(spec.max)
        return f"{low}–{high}"
    if spec.within:
        return _("CIDR inside {cidr}").format(cidr=spec.within)
    if spec.type == "cidr":
        return "IPv4 CIDR"
    if spec.pattern:
        return _("matches {pattern}").format(pattern=spec.pattern)
    return ""


def parameter_rows(manifest: TemplateManifest) -> list[dict[str, Any]]:
    """The table of `manifest`'s parameters, for reading: pass it `localized(manifest)`."""
    # Strings throughout: a column mixing text, numbers and booleans does not convert to Arrow.
    return [{_("parameter"): spec.name, _("type"): spec.type,
             _("default"): "" if spec.default is None else str(spec.default),
             _("accepts"): _accepted(spec), _("advanced"): _("yes") if spec.advanced else "",
             _("description"): spec.description} for spec in manifest.parameters]


def template_card(manifest: TemplateManifest) -> bool:
    """Draw the card; True when its "Launch this" button was clicked."""
    # The template's text in the reader's language; its ids and keys are the manifest's own.
    shown = localized(manifest)
    with st.container(border=True, key=f"{PREFIX}.{manifest.id}"):
        about, action = st.columns([4, 1], vertical_alignment="top")
        with about:
            st.subheader(shown.title, anchor=False)
            st.caption(f"`{manifest.id}`")
            st.markdown(md_escape(shown.summary))
        with action:
            clicked = st.button(_("Launch this"), key=launch_button_key(manifest.id),
                                type="primary", icon=":material/rocket_launch:", width="stretch")
        goals, outputs = st.columns([3, 2])
        with goals:
            if shown.learning_goals:
                st.markdown(_("**You will learn to**"))
                st.markdown("\n".join(f"- {md_escape(goal)}" for goal in shown.learning_goals))
        with outputs:
            st.markdown(_("**You get back**"))
            st.markdown("\n".join(f"- {md_escape(o.label)}" for o in shown.outputs))
        # Drawn when opened: every card's table, sent unseen, was most of what the Catalog
        # made the browser mount.
        parameters = st.expander(
            _("Parameters ({count})").format(count=len(manifest.parameters)),
            icon=":material/tune:", key=parameters_key(manifest.id), on_change="rerun")
        if parameters.open:
            # A static table: it wraps the long descriptions a data grid would cut off.
            parameters.table(parameter_rows(shown), hide_index=True, border="horizontal")
    return clicked
