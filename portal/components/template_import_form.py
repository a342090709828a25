"""Uploading templates: the form that imports a new one (its file, id, details and courses) and
the one that adds a version to an imported one.

Owns the `template_import_form.{key}.*` session_state keys. Like the course form, these forms only
collect what was typed and the file's bytes, and show the messages the services return:
services/template_library.py checks the upload (cfn-lint, python-hcl2, `terraform fmt`) and the
details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from portal.components.text import md_escape
from services.i18n import N_, _

PREFIX = "template_import_form"
UPLOAD_TYPES = ["yaml", "yml", "json", "template", "zip"]
# A zipped module is accepted up to 4 MB (services/template_import/source.py, which also holds
# a CloudFormation template to the 51,200 bytes CloudFormation takes inline and says so).
MAX_UPLOAD_MB = 4
# The service names the file's problems by what refused it: the upload itself (source), the
# linter or parser (template), or the form derived from it (parameters). All three are the
# file's, shown under it.
FILE_FIELDS = ("source", "template", "parameters")
# Field labels, translated where shown (`label`).
LABELS = {"source": N_("Template file"), "template": N_("Template file"),
          "parameters": N_("Template file"), "id": N_("Template id"), "title": N_("Title"),
          "summary": N_("Summary"), "learning_goals": N_("Learning goals"),
          "courses": N_("Offered in courses")}
FILE_HELP = N_("A CloudFormation template (.yaml, .yml, .json, .template), or a Terraform "
               "module as a .zip of its folder. Its parameters become the students' launch form.")


def label(name: str) -> str:
    """The label of field `name` in the reader's language (the name itself for no field)."""
    return _(LABELS[name]) if name in LABELS else name


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def _generation(key: str) -> int:
    return int(st.session_state.get(_key(key, "generation"), 0))


def goals_from_text(text: str) -> list[str]:
    """Learning goals typed one per line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass
class _Messages:
    """Where a form shows the services' messages: under each field, and all under the form."""

    field_slots: dict[str, DeltaGenerator] = field(repr=False)
    summary_slot: DeltaGenerator = field(repr=False)
    # What the summary says happened, e.g. "Nothing was imported" (translated).
    outcome: str

    def show(self, field_errors: Mapping[str, str]) -> None:
        shown_under: set[str] = set()
        for name, message in field_errors.items():
            slot_name = "source" if name in FILE_FIELDS else name
            slot = self.field_slots.get(slot_name)
            # One slot holds one element: a second message for the file goes to the summary.
            if slot is not None and slot_name not in shown_under:
                slot.error(md_escape(message), icon=":material/error:")
                shown_under.add(slot_name)
        lines = "\n".join(f"- **{md_escape(label(name))}**: {md_escape(message)}"
                          for name, message in field_errors.items())
        self.summary_slot.error(f"{self.outcome}:\n{lines}", icon=":material/rule:")


@dataclass
class TemplateImportForm:
    key: str
    # True only with a file chosen; without one the form says so itself.
    submitted: bool
    upload: Upload | None
    template_id: str
    # The keyword arguments of template_library.import_template besides actor, source and id.
    values: dict[str, Any]
    _messages: _Messages = field(repr=False)

    def show_errors(self, field_errors: Mapping[str, str]) -> None:
        if field_errors:
            self._messages.show(field_errors)

    def clear(self) -> None:
        """Start the next run with an empty form (new widget keys get their defaults)."""
        st.session_state[_key(self.key, "generation")] = _generation(self.key) + 1


def _uploaded(uploaded: Any) -> Upload | None:
    return None if uploaded is None else Upload(uploaded.name, uploaded.getvalue())


def template_import_form(course_options: Sequence[str], *, key: str) -> TemplateImportForm:
    """A new template: its file, id and what students read about it, and the courses to offer
    it in (`course_options`: those the instructor may assign)."""
    base = f"{key}.{_generation(key)}"
    slots: dict[str, DeltaGenerator] = {}
    with st.form(_key(key, "form"), enter_to_submit=False):
        uploaded = st.file_uploader(label("source"), type=UPLOAD_TYPES,
                                    key=_key(base, "file"), max_upload_size=MAX_UPLOAD_MB,
                                    help=_(FILE_HELP))
        slots["source"] = st.empty()
        id_col, title_col = st.columns(2)
        with id_col:
            template_id = st.text_input(
                label("id"), key=_key(base, "id"), max_chars=64, placeholder=_("e.g. vpc-lab"),
                help=_("What students, the CLI and the audit log call it: letters, digits, dots, "
                       "dashes or underscores. It cannot change later."))
            slots["id"] = st.empty()
        with title_col:
            title = st.text_input(label("title"), key=_key(base, "title"), max_chars=200,
                                  placeholder=_("Empty: the id"))
            slots["title"] = st.empty()
        summary = st.text_area(label("summary"), key=_key(base, "summary"), max_chars=2000,
                               placeholder=_("Empty: the template's own Description"))
        slots["summary"] = st.empty()
        goals = st.text_area(label("learning_goals"), key=_key(base, "learning_goals"),
                             placeholder=_("One per line, e.g. Read a VPC's route tables."))
        slots["learning_goals"] = st.empty()
        chosen = st.multiselect(label("courses"), list(course_options), key=_key(base, "courses"),
                                placeholder=_("None yet: students are not offered it"),
                                help=_("Students of these courses see it on the Launch page."))
        slots["courses"] = st.empty()
        submitted = st.form_submit_button(_("Import template"), type="primary",
                                          icon=":material/upload_file:")
    messages = _Messages(slots, st.empty(), _("Nothing was imported"))
    upload = _uploaded(uploaded)
    if submitted and upload is None:
        messages.show({"source": _("choose a file to import first")})
        submitted = False
    values = {"title": (title or "").strip() or None,
              # None keeps the template's own Description as the summary.
              "summary": (summary or "").strip() or None,
              "learning_goals": goals_from_text(goals), "courses": list(chosen)}
    return TemplateImportForm(key=key, submitted=submitted, upload=upload,
                              template_id=(template_id or "").strip(), values=values,
                              _messages=messages)


@dataclass
class VersionUpload:
    submitted: bool
    upload: Upload | None
    _messages: _Messages = field(repr=False)

    def show_errors(self, field_errors: Mapping[str, str]) -> None:
        if field_errors:
            self._messages.show(field_errors)


def version_upload_form(*, key: str, engine_label: str) -> VersionUpload:
    """A new version's file; students launching after it get the new version, environments
    running keep theirs."""
    slots: dict[str, DeltaGenerator] = {}
    with st.form(_key(key, "version"), clear_on_submit=True, enter_to_submit=False):
        uploaded = st.file_uploader(
            _("New version ({engine})").format(engine=engine_label), type=UPLOAD_TYPES,
            key=_key(key, "version_file"), max_upload_size=MAX_UPLOAD_MB,
            help=_("Environments running now keep the version they were launched from; launches "
                   "from now on get this one."))
        slots["source"] = st.empty()
        submitted = st.form_submit_button(_("Upload version"), icon=":material/upload:")
    messages = _Messages(slots, st.empty(), _("No version was added"))
    upload = _uploaded(uploaded)
    if submitted and upload is None:
        messages.show({"source": _("choose a file to upload first")})
        submitted = False
    return VersionUpload(submitted=submitted, upload=upload, _messages=messages)
