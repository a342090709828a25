"""Launch: pick a template, set its parameters and lease, read the code they become, its
architecture, cost and the advisor's findings, then launch and watch.

The form is drawn first: the engines and the cloud target are asked after it (the first time,
that takes seconds), the preview after them. Of the preview only the open tab is drawn, in a
fragment: switching tabs or opening a file reruns the preview alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from portal import identity
from portal.components import run_progress
from portal.components.advisor_findings import advisor_findings
from portal.components.architecture_diagram import architecture_diagram
from portal.components.code_view import code_engines, code_view
from portal.components.cost_estimate import cost_estimates_by_region
from portal.components.engine_picker import engine_picker
from portal.components.target_state import target_state
from portal.components.environment_card import outputs_view
from portal.components.lease_input import lease_input
from portal.components.parameter_form import parameter_form
from portal.components.template_picker import template_picker
from portal.components.text import md_escape
from portal.ui_context import portal_context, portal_errors
from services import (
    budget_service,
    courses,
    dispatch,
    environment_service,
    preview_service,
    template_library,
)
from services.errors import (
    EngineUnavailableError,
    LaunchBlockedError,
    TargetUnavailableError,
    ValidationError,
)
from services.catalog_service import TemplateManifest
from services.history.models import EnvironmentStatus
from services.i18n import _, current_locale, format_money
from services.limits import LimitExceededError

ENVIRONMENTS_PAGE = Path(__file__).with_name("my_environments_page.py")
LAUNCH_KEY = "launch_page.launch"
LEASE_KEY = "launch_page.lease_hours"
COURSE_KEY = "launch_page.course"
ENGINE_KEY = "launch_page.engine"
PREVIEW_TAB_KEY = "launch_page.preview"
PREVIEW_TAB_KEPT_KEY = "launch_page.preview_tab_kept"
PREVIEW_KEPT_KEY = "launch_page.preview_kept"

actor = identity.require_actor()
ctx = portal_context()

st.title(_("Launch"))
with portal_errors():
    offered = courses.launch_courses(ctx, actor=actor)
if not offered:
    st.info(_("None of your courses is running now, so there is nothing to launch."),
            icon=":material/event_busy:")
    st.stop()
by_course = {c.id: c for c in offered}


def course_title(course: str) -> str:
    return by_course[course].title if by_course[course].title != course else course


# One course is named below rather than offered in a picker with nothing else to pick: a widget
# costs the browser as much to mount as a dozen lines of text.
course_id = next(iter(by_course)) if len(by_course) == 1 else st.selectbox(
    _("Course"), list(by_course), key=COURSE_KEY, format_func=course_title,
    help=_("The course this environment is for: its limits and budget apply."))
policy = by_course[course_id]
with portal_errors():
    templates = courses.offered_templates(ctx, actor=actor, policy=policy)
    budgets = {b.course: b for b in budget_service.budget_status(ctx, actor=actor)}
if not templates:
    st.info(_("Course {course} offers no template of this portal.").format(course=course_id))
    st.stop()
budget = budgets.get(course_id)
if not actor.is_instructor:
    spent = budget.spent_usd if budget else 0.0
    st.caption(_("Course **{course}**: up to {envs} environments at once, leases up to "
                 "{hours} h, budget {budget} (spent so far {spent}).").format(
        course=md_escape(course_id), envs=policy.max_running_envs,
        hours=policy.max_lease_hours, budget=format_money(policy.budget_usd),
        spent=format_money(spent)))
    if budget is not None and budget.warning:
        st.warning(md_escape(budget.warning), icon=":material/savings:")
elif len(by_course) == 1:
    st.caption(_("Course **{course}**.").format(course=md_escape(course_title(course_id))))

manifest = template_picker(templates)
st.caption(md_escape(manifest.summary))
# Where launches go: filled in once the form is drawn.
target_slot = st.empty()


def kept_preview(manifest: TemplateManifest, values: dict[str, Any],
                 lease_hours: Any) -> preview_service.LaunchPreview:
    """The preview of these values, kept in this session for the last ones previewed: coming
    back to the page, or a rerun that changed nothing it reads, draws it without computing it
    again. Kept under what it depends on: the language, the template and its version, the
    course, the cloud, the student and the values; never with a secret among the values."""
    secret = any(spec.secret and spec.name in values for spec in manifest.parameters)
    key = None if secret else (
        current_locale(), actor.name, manifest.id, manifest.version, course_id,
        ctx.settings.cloud.value, ctx.settings.region, repr(lease_hours),
        tuple(sorted((name, repr(value)) for name, value in values.items())))
    kept = st.session_state.get(PREVIEW_KEPT_KEY)
    if key is not None and kept is not None and kept[0] == key:
        return kept[1]
    st.session_state.pop(PREVIEW_KEPT_KEY, None)
    made = preview_service.preview(ctx, template_id=manifest.id, parameters=values,
                                   owner=actor.name, lease_hours=lease_hours)
    if key is not None:
        st.session_state[PREVIEW_KEPT_KEY] = (key, made)
    return made


form_col, preview_col = st.columns([2, 3], gap="large")
with form_col:
    form = parameter_form(manifest, aws_choices=lambda aws_type: template_library.picker_choices(
        ctx, actor=actor, aws_type=aws_type))
    lease_hours = lease_input(default=ctx.settings.default_lease_hours,
                              maximum=min(ctx.settings.max_lease_hours, policy.max_lease_hours),
                              key=LEASE_KEY)
    engines = {}
    target_usable = False
    with target_slot.container(), portal_errors():
        engines = {name: environment_service.engine_availability(ctx, manifest, name)
                   for name in manifest.engines}
        target_usable = target_state(environment_service.target_state(ctx),
                                     show_identity=actor.is_instructor)
    if not engines:
        st.stop()
    engine, engine_state = engine_picker(engines, key=ENGINE_KEY)
    preview = None
    field_errors: dict[str, str] = {}
    with portal_errors():
        try:
            preview = kept_preview(manifest, form.values, lease_hours)
        except ValidationError as exc:
            field_errors = exc.field_errors
    if preview is not None:
        advisor_findings(preview.advice, key="launch_page.advisor")
    launch_clicked = st.button(
        _("Launch"), type="primary", key=LAUNCH_KEY, icon=":material/rocket_launch:",
        width="stretch", disabled=bool(field_errors) or preview is None or preview.blocks_launch
        or not engine_state.available or not target_usable,
        help=_("Fix the advisor's errors first.") if preview and preview.blocks_launch else None)
    if launch_clicked:
        with portal_errors():
            try:
                with st.spinner(_("Recording the launch…")):
                    started = environment_service.start_launch(
                        ctx, actor=actor, template_id=manifest.id, parameters=form.values,
                        lease_hours=lease_hours, course=course_id, engine=engine.value)
            except ValidationError as exc:
                field_errors = exc.field_errors
            except (LaunchBlockedError, LimitExceededError, EngineUnavailableError,
                    TargetUnavailableError) as exc:
                st.error(md_escape(str(exc)), icon=":material/block:")
            else:
                dispatch.submit_launch(ctx, started.run_id)
                run_progress.watch("launch", started)
    form.show_errors(field_errors)


@st.fragment
def preview_tabs(preview: preview_service.LaunchPreview, manifest: TemplateManifest) -> None:
    """The open tab of the preview (the code of each engine, the architecture, the cost); the
    others are drawn when picked. One row of tabs: a second row, of the engines inside a Code
    tab, was one more group of tabs for the browser to mount on every visit. The tab picked is
    kept while the preview is not shown (parameters to fix), so that it comes back as it was."""
    engines = {name.label: name for name in code_engines(manifest.engines)}
    architecture, cost = _("Architecture"), _("Cost estimate")
    labels = [*engines, architecture, cost]
    if PREVIEW_TAB_KEY not in st.session_state and PREVIEW_TAB_KEPT_KEY in st.session_state:
        st.session_state[PREVIEW_TAB_KEY] = st.session_state[PREVIEW_TAB_KEPT_KEY]
    if st.session_state.get(PREVIEW_TAB_KEY, labels[0]) not in labels:
        # A tab this template or language has not (another engine, another language's label).
        del st.session_state[PREVIEW_TAB_KEY]
    tabs = st.tabs(labels, key=PREVIEW_TAB_KEY, on_change="rerun")
    st.session_state[PREVIEW_TAB_KEPT_KEY] = st.session_state[PREVIEW_TAB_KEY]
    for label, tab in zip(labels, tabs, strict=True):
        if not tab.open:
            continue
        with tab:
            if label in engines:
                code_view(preview.rendered, key="launch_page.code", engine=engines[label])
            elif label == architecture:
                architecture_diagram(preview.diagram, key=f"launch_page.diagram.{manifest.id}")
            else:
                cost_estimates_by_region(preview.estimates, key="launch_page.cost")


with preview_col:
    if preview is None:
        st.info(_("Fix the parameters marked in red to see the code they become, the "
                  "architecture and the cost."), icon=":material/code_off:")
    else:
        preview_tabs(preview, manifest)

env = run_progress.run_progress(ctx, actor, slot="launch")
if env is not None:
    if env.status == EnvironmentStatus.READY.value:
        st.success(_("Environment **{env_id}** is ready.").format(env_id=env.env_id),
                   icon=":material/check_circle:")
        outputs_view(env.outputs)
    elif env.status_reason:
        st.error(md_escape(env.status_reason), icon=":material/error:")
    st.page_link(ENVIRONMENTS_PAGE, icon=":material/dns:",
                 label=_("Go to All environments") if actor.is_instructor else
                 _("Go to My environments"))
