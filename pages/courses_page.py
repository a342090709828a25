"""Courses (instructors): each course's limits, creating and editing courses, their rosters and
one-time codes; admins also create instructor accounts.

The overview and the roster are drawn into places reserved at the top and filled last, so that
what a form just changed (a new course, new limits, people enrolled) shows in the same run.
"""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.course_form import course_form, course_limits_table
from portal.components.roster_table import (
    enrol_form,
    instructor_account_form,
    one_time_code_notice,
    roster_result,
    roster_table,
    roster_upload,
    show_field_errors,
)
from portal.components.text import md_escape
from portal.ui_context import portal_context, portal_errors
from services import accounts, courses
from services.errors import ValidationError
from services.i18n import _, format_number
from services.identity import Role

COURSE_KEY = "courses_page.course"

actor = identity.require_actor()
if not actor.is_instructor:
    st.warning(_("This page is for instructors."), icon=":material/lock:")
    st.stop()
ctx = portal_context()
with portal_errors():
    templates = ctx.catalog.all_templates()
max_lease_hours = ctx.settings.max_lease_hours

st.title(_("Courses"))
overview = st.container()

with st.expander(_("Create a course"), icon=":material/add:"):
    new = course_form(templates, key="create", max_lease_hours=max_lease_hours,
                      defaults=courses.default_policy(ctx))
    if new.submitted:
        with portal_errors():
            try:
                created = courses.create_course(ctx, actor=actor, course_id=new.course_id,
                                                **new.values)
            except ValidationError as exc:
                new.show_errors(exc.field_errors)
            else:
                st.success(_("Course **{course}** created.").format(course=md_escape(created.id)),
                           icon=":material/check_circle:")
                new.clear()

with portal_errors():
    views = courses.visible_courses(ctx, actor=actor)
# The default course without a row of its own has nothing to edit: it follows the settings.
editable = {v.id: v for v in views if not v.policy.open_to_all}
changed = False
roster_slot = None

st.subheader(_("Manage a course"))
if not editable:
    st.info(_("Create a course above to set its limits and enrol its students."),
            icon=":material/school:")
else:
    course_id = st.selectbox(_("Course"), list(editable), key=COURSE_KEY,
                             format_func=lambda c: f"{editable[c].policy.title} ({c})")
    view = editable[course_id]
    limits_tab, roster_tab = st.tabs([_("Limits"), _("Roster")])
    with limits_tab:
        edit = course_form(templates, key=f"edit.{course_id}", max_lease_hours=max_lease_hours,
                           course=view.policy)
        if edit.submitted:
            with portal_errors():
                try:
                    courses.update_course(ctx, actor=actor, course_id=course_id, **edit.values)
                except ValidationError as exc:
                    edit.show_errors(exc.field_errors)
                else:
                    changed = True
                    st.success(_("Limits saved."), icon=":material/check_circle:")
    with roster_tab:
        roster_slot = st.container()
        st.markdown(_("**Enrol existing accounts**"))
        with portal_errors():
            members = {m.name for m in view.members}
            candidates = [a for a in accounts.list_accounts(ctx, actor=actor)
                          if a.name not in members and not a.disabled]
        request = enrol_form(candidates, key=course_id, may_enrol_instructors=actor.is_admin)
        if request is not None:
            with portal_errors():
                try:
                    added = courses.enrol(ctx, actor=actor, course_id=course_id,
                                          names=request.names, role=request.role)
                except ValidationError as exc:
                    show_field_errors(exc.field_errors, what=_("Nobody was enrolled"))
                else:
                    changed = True
                    st.success(_("Enrolled {count}.").format(count=format_number(len(added))),
                               icon=":material/check_circle:")
        st.markdown(_("**Import a roster**"))
        roster_text = roster_upload(key=course_id)
        if roster_text is not None:
            with portal_errors():
                try:
                    entries = courses.import_roster(ctx, actor=actor, course_id=course_id,
                                                    text=roster_text)
                except ValidationError as exc:
                    show_field_errors(exc.field_errors, what=_("Nothing of the file was imported"))
                else:
                    changed = True
                    roster_result(entries)

if changed:
    with portal_errors():
        views = courses.visible_courses(ctx, actor=actor)
with overview:
    course_limits_table(views)
if roster_slot is not None:
    current = next((v for v in views if v.id == course_id), view)
    with roster_slot:
        asked = roster_table(current.members, key=course_id)
        if asked is not None:
            with portal_errors():
                code = accounts.new_setup_code(ctx, actor=actor, name=asked)
            one_time_code_notice(asked, code)

if actor.is_admin:
    with st.expander(_("Create an instructor account"), icon=":material/person_add:"):
        instructor = instructor_account_form(key="instructor")
        if instructor is not None:
            with portal_errors():
                try:
                    account, code = accounts.create_account_with_code(
                        ctx, actor=actor, name=instructor.name, role=Role.INSTRUCTOR,
                        email=instructor.email, display_name=instructor.display_name)
                except ValidationError as exc:
                    show_field_errors(exc.field_errors, what=_("No account was created"))
                else:
                    one_time_code_notice(account.name, code)
