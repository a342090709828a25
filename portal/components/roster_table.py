"""The people of a course: the roster with a one-time code button per student, enrolling existing
accounts, importing a roster CSV, and (for admins) creating an instructor account.

Owns the `roster_table.{key}.*` session_state keys. One-time codes are shown in the run that made
them and nowhere else: they live in local variables and in what is drawn, never in session_state,
so the next rerun (any click) no longer has them. The importing form clears its file on submit so
that no rerun imports the same file twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

from portal.components.text import md_escape
from services.accounts import AccountView
from services.courses import Member, RosterEntry
from services.i18n import N_, _
from services.identity import Role

PREFIX = "roster_table"
# A roster CSV is a few kilobytes per hundred people; the service stops at 2000 rows anyway.
MAX_UPLOAD_MB = 2
CODES_NOTE = N_("Hand each code to its person privately (not in a shared channel): with it they "
                "set their own password on the sign-in page. The codes are shown only now; a "
                "lost one is replaced with **New one-time code** on the roster.")
# A role as shown; the members keep the stored value.
ROLE_LABELS = {Role.STUDENT.value: N_("student"), Role.INSTRUCTOR.value: N_("instructor")}
IMPORT_COLUMNS = {"name": N_("name"), "e-mail": N_("e-mail"), "role": N_("role"),
                  "one-time code": N_("one-time code"), "new account": N_("new account"),
                  "newly enrolled": N_("newly enrolled")}


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def _role(role: str) -> str:
    return _(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def show_field_errors(field_errors: Mapping[str, str], *, what: str) -> None:
    """A service's field errors as one list, under the form that caused them."""
    if not field_errors:
        return
    lines = "\n".join(f"- **{md_escape(name)}**: {md_escape(message)}"
                      for name, message in field_errors.items())
    st.error(f"{what}:\n{lines}", icon=":material/rule:")


def roster_table(members: Sequence[Member], *, key: str) -> str | None:
    """The course's people, instructors first; returns the student whose "New one-time code"
    button was clicked in this run."""
    if not members:
        st.info(_("Nobody is enrolled yet: enrol existing accounts or import a roster below."),
                icon=":material/group_off:")
        return None
    students = sum(1 for m in members if m.role == Role.STUDENT.value)
    waiting = sum(1 for m in members if not m.has_password)
    st.caption(_("{students} students, {instructors} instructors; {waiting} without a password "
                 "yet.").format(students=students, instructors=len(members) - students,
                                waiting=waiting))
    widths = [3, 4, 2, 2, 3]
    clicked: str | None = None
    # A long roster scrolls inside its box instead of pushing the forms below off the page.
    with st.container(height=420 if len(members) > 10 else "content", border=True):
        titles = [_("Name"), _("E-mail"), _("Role"), _("Password"), ""]
        for column, title in zip(st.columns(widths), titles, strict=True):
            column.markdown(f"**{title}**" if title else "")
        for member in sorted(members, key=lambda m: (m.role != Role.INSTRUCTOR.value, m.name)):
            name_col, email_col, role_col, password_col, action_col = st.columns(
                widths, vertical_alignment="center")
            shown = member.name + (f" ({member.display_name})" if member.display_name else "")
            name_col.markdown(md_escape(shown))
            email_col.markdown(md_escape(member.email or "-"))
            role_col.markdown(_role(member.role))
            password_col.markdown(":green[" + _("set") + "]" if member.has_password
                                  else ":orange[" + _("not set") + "]")
            if member.role == Role.STUDENT.value and action_col.button(
                    _("New one-time code"), key=_key(key, f"code.{member.name}"),
                    icon=":material/key:", type="tertiary",
                    help=_("For a student who lost their code or password: the old code stops "
                           "working.")):
                clicked = member.name
    return clicked


def one_time_code_notice(name: str, code: str) -> None:
    """A code just issued: shown in this run only, with how to hand it over."""
    st.success(_("One-time code for **{name}**: hand it to them privately; with it they set "
                 "their own password on the sign-in page. It is shown only now.").format(
                     name=md_escape(name)), icon=":material/key:")
    st.code(code, language=None)


@dataclass(frozen=True)
class EnrolRequest:
    names: list[str]
    role: str


def enrol_form(candidates: Sequence[AccountView], *, key: str,
               may_enrol_instructors: bool) -> EnrolRequest | None:
    """Accounts that exist and are not in the course yet; the request when submitted."""
    with st.form(_key(key, "enrol"), clear_on_submit=True, enter_to_submit=False):
        role = Role.STUDENT.value
        if may_enrol_instructors:
            role = st.radio(_("Enrol as"), [Role.STUDENT.value, Role.INSTRUCTOR.value],
                            format_func=_role, horizontal=True, key=_key(key, "enrol_role"))
        options = [a.name for a in candidates if may_enrol_instructors or
                   a.role == Role.STUDENT.value]
        labels = {a.name: f"{a.name} ({a.email})" if a.email else a.name for a in candidates}
        names = st.multiselect(_("Accounts"), options, format_func=labels.__getitem__,
                               key=_key(key, "enrol_names"),
                               placeholder=_("Pick accounts by name"))
        submitted = st.form_submit_button(_("Enrol"), icon=":material/person_add:")
    if not submitted:
        return None
    if not names:
        st.warning(_("Pick at least one account."), icon=":material/person_search:")
        return None
    return EnrolRequest(names=list(names), role=role)


def roster_upload(*, key: str) -> str | None:
    """The text of the roster CSV submitted in this run; None otherwise (or when the file is
    not text, which is said under the form)."""
    with st.form(_key(key, "import"), clear_on_submit=True, enter_to_submit=False):
        uploaded = st.file_uploader(
            _("Roster CSV"), type=["csv"], key=_key(key, "roster_file"),
            max_upload_size=MAX_UPLOAD_MB,
            help=_("A header line naming the columns name, email and role (role may be left out: "
                   "student). People without an account get one; everyone is enrolled."))
        submitted = st.form_submit_button(_("Import"), icon=":material/upload_file:")
    if not submitted:
        return None
    if uploaded is None:
        st.warning(_("Choose a CSV file first."), icon=":material/upload_file:")
        return None
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        return uploaded.getvalue().decode("utf-8-sig")
    except UnicodeDecodeError:
        st.error(_("That file is not UTF-8 text: save the roster as “CSV UTF-8” and try again."),
                 icon=":material/error:")
        return None


def roster_result(entries: Sequence[RosterEntry]) -> None:
    """What an import did, with each new person's one-time code: shown once, in this run."""
    created = sum(e.created for e in entries)
    enrolled = sum(e.enrolled for e in entries)
    st.success(_("Imported {people} people: {created} new accounts, {enrolled} newly "
                 "enrolled.").format(people=len(entries), created=created, enrolled=enrolled),
               icon=":material/check_circle:")
    rows = [{"name": e.name, "e-mail": e.email or "", "role": _role(e.role),
             "one-time code": e.one_time_code or _("(has a password)"),
             "new account": e.created, "newly enrolled": e.enrolled} for e in entries]
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={column: _(label) for column, label in IMPORT_COLUMNS.items()})
    if any(e.one_time_code for e in entries):
        st.warning(_(CODES_NOTE), icon=":material/key:")


@dataclass(frozen=True)
class InstructorRequest:
    name: str
    email: str | None
    display_name: str | None


def instructor_account_form(*, key: str) -> InstructorRequest | None:
    """Name, e-mail and display name of a new instructor; the request when submitted."""
    with st.form(_key(key, "instructor"), enter_to_submit=False):
        name_col, email_col, display_col = st.columns(3)
        name = name_col.text_input(_("Name"), max_chars=64, key=_key(key, "instructor_name"),
                                   placeholder=_("e.g. ms-lee"),
                                   help=_("What they sign in with: letters, digits, dots, dashes "
                                          "or underscores."))
        email = email_col.text_input(_("E-mail (optional)"), max_chars=254,
                                     key=_key(key, "instructor_email"))
        display = display_col.text_input(_("Display name (optional)"), max_chars=128,
                                         key=_key(key, "instructor_display"))
        submitted = st.form_submit_button(_("Create instructor"), icon=":material/person_add:")
    if not submitted:
        return None
    return InstructorRequest(name=(name or "").strip(), email=(email or "").strip() or None,
                             display_name=(display or "").strip() or None)
