"""A course's limits: the form that creates or edits them, and the table that lists them.

Owns the `course_form.{key}.*` session_state keys. Like the parameter form, the form only collects
raw values and shows the messages the services return; `services.courses` validates them. An
empty multiselect means "everything the catalog offers" (the service's `None`), which is also
what a course with no narrowing shows when edited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from portal.components.text import md_escape
from services.catalog_service import TemplateManifest, localized
from services.courses import CoursePolicy, CourseView, catalog_sizes
from services.history.models import BudgetAction
from services.i18n import N_, _

PREFIX = "course_form"
# Field labels, translated where shown (`label`).
LABELS = {"course": N_("Course id"), "title": N_("Title"),
          "budget_usd": N_("Budget per student (USD)"),
          "max_running_envs": N_("Environments running at once, per student"),
          "max_lease_hours": N_("Longest lease (hours)"), "templates": N_("Allowed templates"),
          "instance_types": N_("Allowed instance types"), "db_classes": N_("Allowed DB classes"),
          "starts_on": N_("Starts on"), "ends_on": N_("Ends on"),
          "budget_action": N_("Only notify at the budget")}


def label(name: str) -> str:
    """The label of field `name` in the reader's language (the name itself for no field)."""
    return _(LABELS[name]) if name in LABELS else name


@dataclass(frozen=True)
class SizeOptions:
    instance_types: list[str]
    db_classes: list[str]


def size_options(templates: Sequence[TemplateManifest]) -> SizeOptions:
    """The sizes the catalog's templates offer, by the course service's own rule, so every option
    offered is one the service accepts."""
    instance_types, db_classes = catalog_sizes(templates)
    return SizeOptions(sorted(instance_types), sorted(db_classes))


def _key(key: str, name: str) -> str:
    return f"{PREFIX}.{key}.{name}"


def _generation(key: str) -> int:
    return int(st.session_state.get(_key(key, "generation"), 0))


@dataclass
class CourseForm:
    key: str
    submitted: bool
    course_id: str | None
    # The keyword arguments of create_course / update_course (without course_id).
    values: dict[str, Any]
    _field_slots: dict[str, DeltaGenerator] = field(repr=False)
    _summary_slot: DeltaGenerator = field(repr=False)

    def show_errors(self, field_errors: Mapping[str, str]) -> None:
        """Each message under its field, and all of them under the form (a message about no
        field of this form, or one scrolled out of view, is not lost)."""
        if not field_errors:
            return
        for name, message in field_errors.items():
            slot = self._field_slots.get(name)
            if slot is not None:
                slot.error(md_escape(message), icon=":material/error:")
        lines = "\n".join(f"- **{md_escape(label(name))}**: {md_escape(message)}"
                          for name, message in field_errors.items())
        self._summary_slot.error(_("Fix these first:\n{lines}").format(lines=lines),
                                 icon=":material/rule:")

    def clear(self) -> None:
        """Start the next run with an empty form: new widget keys get their defaults, and
        Streamlit drops the old keys' state once no widget uses them."""
        st.session_state[_key(self.key, "generation")] = _generation(self.key) + 1


def _kept(chosen: Sequence[str] | None, options: Sequence[str]) -> list[str]:
    # A multiselect refuses a default that is not an option (a template since removed).
    return [c for c in chosen or () if c in options]


def course_form(templates: Sequence[TemplateManifest], *, key: str, max_lease_hours: int,
                course: CoursePolicy | None = None, defaults: CoursePolicy | None = None
                ) -> CourseForm:
    """Create a course (`course` None: the id is asked for) or edit `course`'s limits.

    `defaults` fills a new course's limits (the portal-wide ones); `max_lease_hours` is the
    portal's ceiling on any lease.
    """
    initial = course or defaults
    sizes = size_options(templates)
    template_ids = [m.id for m in templates]
    names = {m.id: localized(m).title for m in templates}
    base = f"{key}.{_generation(key)}"
    slots: dict[str, DeltaGenerator] = {}
    values: dict[str, Any] = {}
    course_id: str | None = course.id if course else None

    def slot(name: str) -> None:
        slots[name] = st.empty()

    with st.form(_key(key, "form"), enter_to_submit=False):
        if course is None:
            left, right = st.columns(2)
            with left:
                course_id = st.text_input(
                    label("course"), key=_key(base, "course"), max_chars=64,
                    placeholder=_("e.g. cloud-101"),
                    help=_("Letters, digits, dots, dashes or underscores; it cannot change "
                           "later."))
                slot("course")
            with right:
                values["title"] = st.text_input(label("title"), key=_key(base, "title"),
                                                max_chars=200, placeholder=_("e.g. Cloud 101"))
                slot("title")
        else:
            values["title"] = st.text_input(label("title"), value=course.title,
                                            key=_key(base, "title"), max_chars=200)
            slot("title")
        budget, running, lease = st.columns(3)
        with budget:
            values["budget_usd"] = st.number_input(
                label("budget_usd"), min_value=0.0, step=5.0, format="%.2f",
                value=float(initial.budget_usd) if initial else 50.0,
                key=_key(base, "budget_usd"))
            slot("budget_usd")
        with running:
            values["max_running_envs"] = st.number_input(
                label("max_running_envs"), min_value=1, step=1,
                value=int(initial.max_running_envs) if initial else 3,
                key=_key(base, "max_running_envs"))
            slot("max_running_envs")
        with lease:
            values["max_lease_hours"] = st.number_input(
                label("max_lease_hours"), min_value=1, max_value=max_lease_hours, step=1,
                value=min(int(initial.max_lease_hours), max_lease_hours) if initial
                else max_lease_hours,
                key=_key(base, "max_lease_hours"))
            slot("max_lease_hours")
        chosen = st.multiselect(
            label("templates"), template_ids,
            default=_kept(initial.templates if course else None, template_ids),
            placeholder=_("All templates"),
            help="  \n".join(f"**{t}**: {md_escape(names[t])}" for t in template_ids),
            key=_key(base, "templates"))
        slot("templates")
        types, classes = st.columns(2)
        with types:
            picked_types = st.multiselect(
                label("instance_types"), sizes.instance_types,
                default=_kept(initial.instance_types if course else None, sizes.instance_types),
                placeholder=_("Every size a template offers"), key=_key(base, "instance_types"))
            slot("instance_types")
        with classes:
            picked_classes = st.multiselect(
                label("db_classes"), sizes.db_classes,
                default=_kept(initial.db_classes if course else None, sizes.db_classes),
                placeholder=_("Every class a template offers"), key=_key(base, "db_classes"))
            slot("db_classes")
        starts, ends = st.columns(2)
        with starts:
            values["starts_on"] = st.date_input(
                label("starts_on"), value=course.starts_on if course else None,
                key=_key(base, "starts_on"), format="YYYY-MM-DD",
                help=_("Empty: students may launch from now on."))
            slot("starts_on")
        with ends:
            values["ends_on"] = st.date_input(
                label("ends_on"), value=course.ends_on if course else None,
                key=_key(base, "ends_on"), format="YYYY-MM-DD",
                help=_("Empty: no end. After it students can no longer launch in the course."))
            slot("ends_on")
        notify = st.toggle(
            label("budget_action"),
            value=bool(course and course.budget_action == BudgetAction.NOTIFY.value),
            key=_key(base, "notify_only"),
            help=_("Off: when a student's spend reaches the budget the portal destroys their "
                   "running environments. On: it only tells them and you."))
        slot("budget_action")
        submitted = st.form_submit_button(
            _("Create course") if course is None else _("Save limits"), type="primary",
            icon=":material/add:" if course is None else ":material/save:")
    summary = st.empty()
    # Nothing chosen means no narrowing: the service's None, not an empty (refused) list.
    values["templates"] = list(chosen) or None
    values["instance_types"] = list(picked_types) or None
    values["db_classes"] = list(picked_classes) or None
    values["budget_action"] = (BudgetAction.NOTIFY if notify else BudgetAction.STOP).value
    return CourseForm(key=key, submitted=submitted, course_id=(course_id or "").strip(),
                      values=values, _field_slots=slots, _summary_slot=summary)


def _listed(values: tuple[str, ...] | None, everything: str) -> str:
    return everything if values is None else ", ".join(values)


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def course_limits_table(courses: Sequence[CourseView]) -> None:
    """One row per course with its limits, as launches check them."""
    if not courses:
        st.info(_("No courses yet."), icon=":material/school:")
        return
    rows = []
    budget_column = _("budget (USD)")
    for view in courses:
        policy = view.policy
        rows.append({
            _("course"): policy.id, _("title"): policy.title,
            # The open default course has no roster: None, so the column stays numeric.
            _("students"): None if policy.open_to_all else view.students,
            _("instructors"): ", ".join(view.instructors),
            budget_column: policy.budget_usd,
            _("at the budget"): _("notify") if not policy.stops_at_budget else _("stop"),
            _("running at once"): policy.max_running_envs,
            _("longest lease (h)"): policy.max_lease_hours,
            _("templates"): _listed(policy.templates, _("all")),
            _("instance types"): _listed(policy.instance_types, _("all offered")),
            _("DB classes"): _listed(policy.db_classes, _("all offered")),
            _("starts"): _day(policy.starts_on), _("ends"): _day(policy.ends_on),
        })
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={budget_column: st.column_config.NumberColumn(format="$%.2f")})
    open_ones = [v.id for v in courses if v.policy.open_to_all]
    if open_ones:
        st.caption(_("{courses} needs no roster: every student may launch in it under the "
                     "portal-wide limits until an instructor creates it as a course.").format(
                         courses=md_escape(", ".join(open_ones))))
