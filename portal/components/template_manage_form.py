"""Changing an imported template: what students read about it, the courses it is offered in, and
retiring it behind a confirmation.

Owns the `template_manage_form.{key}.*` session_state keys (the pending retire confirmation among
them). The forms collect values; services/template_library.py checks them and who may change what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from portal.components.template_import_form import goals_from_text, label
from portal.components.text import md_escape
from services.i18n import _
from services.template_library import ImportedTemplate

PREFIX = "template_manage_form"


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


@dataclass
class DetailsForm:
    submitted: bool
    # The keyword arguments of template_library.update_details besides actor and id.
    values: dict[str, Any]
    _field_slots: dict[str, DeltaGenerator] = field(repr=False)
    _summary_slot: DeltaGenerator = field(repr=False)

    def show_errors(self, field_errors: Mapping[str, str]) -> None:
        if not field_errors:
            return
        for name, message in field_errors.items():
            slot = self._field_slots.get(name)
            if slot is not None:
                slot.error(md_escape(message), icon=":material/error:")
        lines = "\n".join(f"- **{md_escape(label(name))}**: {md_escape(message)}"
                          for name, message in field_errors.items())
        self._summary_slot.error(_("Nothing was saved:\n{lines}").format(lines=lines),
                                 icon=":material/rule:")


def details_form(view: ImportedTemplate, *, key: str) -> DetailsForm:
    """Title, summary and learning goals as students read them in the catalog."""
    slots: dict[str, DeltaGenerator] = {}
    with st.form(_key(key, "details"), enter_to_submit=False):
        title = st.text_input(label("title"), value=view.title, max_chars=200,
                              key=_key(key, "title"))
        slots["title"] = st.empty()
        summary = st.text_area(label("summary"), value=view.summary, max_chars=2000,
                               key=_key(key, "summary"))
        slots["summary"] = st.empty()
        goals = st.text_area(label("learning_goals"), value="\n".join(view.learning_goals),
                             key=_key(key, "learning_goals"), help=_("One per line."))
        slots["learning_goals"] = st.empty()
        submitted = st.form_submit_button(_("Save details"), type="primary",
                                          icon=":material/save:")
    return DetailsForm(submitted=submitted,
                       values={"title": title, "summary": summary,
                               "learning_goals": goals_from_text(goals)},
                       _field_slots=slots, _summary_slot=st.empty())


def courses_form(view: ImportedTemplate, course_options: Sequence[str], *,
                 key: str) -> list[str] | None:
    """The courses whose students are offered the template; the new list when submitted.

    Courses it is assigned to that this instructor does not teach stay listed (their teachers
    assigned them); taking one away is refused by the service, with the reason.
    """
    options = list(dict.fromkeys([*course_options, *view.courses]))
    with st.form(_key(key, "courses"), enter_to_submit=False):
        chosen = st.multiselect(label("courses"), options, default=list(view.courses),
                                key=_key(key, "course_list"),
                                placeholder=_("None: students are not offered it"),
                                help=_("Students of these courses see it on the Launch page. A "
                                       "course's own list of allowed templates still applies."))
        submitted = st.form_submit_button(_("Save courses"), type="primary",
                                          icon=":material/school:")
    return list(chosen) if submitted else None


def _confirm_key(key: str) -> str:
    return _key(key, "confirming_retire")


def _set_confirming(key: str, value: bool) -> None:
    st.session_state[_confirm_key(key)] = value


def retire_control(view: ImportedTemplate, *, key: str) -> bool:
    """The Retire button, then a second explicit confirmation; True once confirmed."""
    if not st.session_state.get(_confirm_key(key)):
        st.button(_("Retire"), key=_key(key, "retire"), icon=":material/archive:",
                  on_click=_set_confirming, args=(key, True))
        return False
    st.warning(_("Retire **{template}**? Students can no longer launch it; environments launched "
                 "from it keep running until their lease ends. It cannot be brought back: to "
                 "offer it again, import its file under a new id.").format(
                     template=md_escape(view.id)),
               icon=":material/warning:")
    confirm_col, cancel_col = st.columns(2)
    confirmed = confirm_col.button(_("Confirm retire {template}").format(template=view.id),
                                   type="primary", key=_key(key, "confirm_retire"),
                                   icon=":material/archive:", width="stretch")
    cancel_col.button(_("Cancel"), key=_key(key, "cancel_retire"), width="stretch",
                      on_click=_set_confirming, args=(key, False))
    if confirmed:
        st.session_state.pop(_confirm_key(key), None)
    return confirmed
