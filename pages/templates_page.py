"""Templates (instructors): import a CloudFormation template or a Terraform module and read the
launch form derived from it; per imported template, its versions (and a new one), what students
read about it, the courses it is offered in, and retiring it.

The overview and each template's parameters and versions are drawn into places reserved first and
filled last, so that what a form just changed (a new template, a new version, new courses) shows
in the same run, as on the Courses page.
"""

from __future__ import annotations

import streamlit as st

from portal import identity
from portal.components.template_import_form import template_import_form, version_upload_form
from portal.components.template_manage_form import courses_form, details_form, retire_control
from portal.components.template_tables import (
    findings_notice,
    import_result,
    parameters_table,
    state_of,
    templates_table,
    versions_table,
)
from portal.components.text import md_escape
from portal.ui_context import portal_context, portal_errors
from services import courses, template_library
from services.errors import ValidationError
from services.i18n import _

TEMPLATE_KEY = "templates_page.template"

actor = identity.require_actor()
if not actor.is_instructor:
    st.warning(_("This page is for instructors."), icon=":material/lock:")
    st.stop()
ctx = portal_context()
with portal_errors():
    # Only a course's teachers (or an admin) may offer it a template.
    taught = [v.id for v in courses.visible_courses(ctx, actor=actor) if actor.teaches(v.id)]

st.title(_("Templates"))
st.caption(_("Templates you bring: students of the courses you offer one in find it on the "
             "Launch page beside the built-in ones, with a form made from its parameters."))
overview = st.container()

with st.expander(_("Import a template"), icon=":material/upload_file:"):
    new = template_import_form(taught, key="import")
    if new.submitted and new.upload is not None:
        with portal_errors():
            try:
                source = template_library.TemplateSource.from_upload(new.upload.filename,
                                                                     new.upload.data)
                imported = template_library.import_template(
                    ctx, actor=actor, source=source, template_id=new.template_id, **new.values)
            except ValidationError as exc:
                new.show_errors(exc.field_errors)
            else:
                import_result(imported, what=_("imported"))
                new.clear()
                # Drawn below in this same run: the template just imported is the one managed.
                st.session_state[TEMPLATE_KEY] = imported.id

with portal_errors():
    views = template_library.list_templates(ctx, actor=actor)
changed = False

st.subheader(_("Manage a template"))
if not views:
    st.info(_("Import a template above to offer it to a course."), icon=":material/upload_file:")
else:
    by_id = {v.id: v for v in views}
    template_id = st.selectbox(
        _("Template"), list(by_id), key=TEMPLATE_KEY,
        format_func=lambda t: (_("{title} ({template_id}) - retired") if by_id[t].retired
                               else "{title} ({template_id})").format(title=by_id[t].title,
                                                                      template_id=t))
    view = by_id[template_id]
    st.caption(_("{engine}, version {version}, imported by **{author}**; {state}.").format(
        engine=view.engine.label, version=view.current_version,
        author=md_escape(view.created_by), state=md_escape(state_of(view))))
    tab_labels = {"Parameters": _("Parameters"), "Versions": _("Versions"),
                  "Details": _("Details"), "Courses": _("Courses"), "Retire": _("Retire")}
    names = ["Parameters", "Versions"] + ([] if view.retired else
                                          ["Details", "Courses", "Retire"])
    tabs = dict(zip(names, st.tabs([tab_labels[n] for n in names]), strict=True))
    with tabs["Parameters"]:
        parameters_slot = st.container()
    with tabs["Versions"]:
        versions_slot = st.container()
        if not view.retired:
            upload = version_upload_form(key=template_id, engine_label=view.engine.label)
            if upload.submitted and upload.upload is not None:
                with portal_errors():
                    try:
                        source = template_library.TemplateSource.from_upload(
                            upload.upload.filename, upload.upload.data)
                        view = template_library.add_version(ctx, actor=actor,
                                                            template_id=template_id,
                                                            source=source)
                    except ValidationError as exc:
                        upload.show_errors(exc.field_errors)
                    else:
                        changed = True
                        import_result(view, what=_("has a new version"))
    if not view.retired:
        with tabs["Details"]:
            details = details_form(view, key=template_id)
            if details.submitted:
                with portal_errors():
                    try:
                        view = template_library.update_details(
                            ctx, actor=actor, template_id=template_id, **details.values)
                    except ValidationError as exc:
                        details.show_errors(exc.field_errors)
                    else:
                        changed = True
                        st.success(_("Details saved."), icon=":material/check_circle:")
        with tabs["Courses"]:
            chosen = courses_form(view, taught, key=template_id)
            if chosen is not None:
                with portal_errors():
                    view = template_library.assign_courses(ctx, actor=actor,
                                                           template_id=template_id,
                                                           courses=chosen)
                changed = True
                st.success(_("Offered in {courses}.").format(
                    courses=md_escape(", ".join(view.courses))) if view.courses
                    else _("Offered in no course."), icon=":material/check_circle:")
        with tabs["Retire"]:
            if retire_control(view, key=template_id):
                with portal_errors():
                    view = template_library.retire(ctx, actor=actor, template_id=template_id)
                changed = True
                st.success(_("**{template_id}** is retired: it takes no new launches.").format(
                    template_id=md_escape(template_id)),
                           icon=":material/archive:")
    with parameters_slot:
        parameters_table(view.manifest)
        findings_notice(view.findings)
    with versions_slot:
        versions_table(view)

if changed:
    with portal_errors():
        views = template_library.list_templates(ctx, actor=actor)
with overview:
    templates_table(views)
