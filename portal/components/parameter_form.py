"""A parameter form built from a template manifest: one widget per parameter, chosen by its type.

Owns the `parameter_form.<template id>.*` session_state keys. Values are kept per template for the
whole session, so a student can switch templates or pages and come back to what they typed.
Validation is the services' job: the form only collects raw values and shows the messages the
services return, under each field and as a summary under the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from portal.components.text import md_escape
from services.catalog_service import ParameterSpec, TemplateManifest

PREFIX = "parameter_form"


def field_key(template_id: str, name: str) -> str:
    return f"{PREFIX}.{template_id}.{name}"


@dataclass
class ParameterForm:
    template_id: str
    values: dict[str, Any]
    _field_slots: dict[str, DeltaGenerator] = field(repr=False)
    _summary_slot: DeltaGenerator = field(repr=False)

    def show_errors(self, field_errors: Mapping[str, str]) -> None:
        """Each message under its field, and all of them under the form.

        The summary matters: a field in the collapsed "Advanced" section would otherwise hide
        its error.
        """
        if not field_errors:
            return
        for name, message in field_errors.items():
            slot = self._field_slots.get(name)
            if slot is not None:
                slot.error(md_escape(message), icon=":material/error:")
        lines = "\n".join(f"- **{md_escape(name)}**: {md_escape(message)}"
                          for name, message in field_errors.items())
        self._summary_slot.error(f"Fix these parameters first:\n{lines}",
                                 icon=":material/rule:")


def _reset(manifest: TemplateManifest) -> None:
    # A callback runs before the script, so the widgets below are drawn fresh from the defaults.
    for spec in manifest.parameters:
        st.session_state.pop(field_key(manifest.id, spec.name), None)


def _widget(spec: ParameterSpec, key: str) -> Any:
    common: dict[str, Any] = {"key": key, "help": spec.description, "persist_state": "session"}
    if spec.type == "boolean":
        return st.checkbox(spec.name, value=bool(spec.default), **common)
    if spec.allowed:
        options = list(spec.allowed)
        # A size picked under another course may not be offered by this one.
        if key in st.session_state and st.session_state[key] not in options:
            del st.session_state[key]
        index = options.index(spec.default) if spec.default in options else 0
        return st.selectbox(spec.name, options, index=index, **common)
    if spec.type == "integer":
        return st.number_input(spec.name, min_value=spec.min, max_value=spec.max,
                               value=None if spec.default is None else int(spec.default), step=1,
                               **common)
    placeholder = "e.g. 10.0.1.0/24" if spec.type == "cidr" else None
    return st.text_input(spec.name, value="" if spec.default is None else str(spec.default),
                         max_chars=spec.max_length, placeholder=placeholder, **common)


def parameter_form(manifest: TemplateManifest) -> ParameterForm:
    values: dict[str, Any] = {}
    slots: dict[str, DeltaGenerator] = {}

    def draw(spec: ParameterSpec) -> None:
        values[spec.name] = _widget(spec, field_key(manifest.id, spec.name))
        slots[spec.name] = st.empty()

    with st.container(border=True, key=f"{PREFIX}.{manifest.id}.container"):
        st.markdown("**Parameters**")
        for spec in manifest.parameters:
            if not spec.advanced:
                draw(spec)
        advanced = [spec for spec in manifest.parameters if spec.advanced]
        if advanced:
            with st.expander(f"Advanced ({len(advanced)})", icon=":material/tune:"):
                for spec in advanced:
                    draw(spec)
        st.button("Reset to defaults", key=f"{PREFIX}.{manifest.id}.reset", on_click=_reset,
                  args=(manifest,), type="tertiary", icon=":material/restart_alt:")
    summary = st.empty()
    return ParameterForm(template_id=manifest.id, values=values, _field_slots=slots,
                         _summary_slot=summary)
