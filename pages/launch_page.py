"""Launch: pick a template, set its parameters, read the code they become, launch and watch."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from portal import identity
from portal.components import run_progress
from portal.components.code_view import code_view
from portal.components.environment_card import outputs_view
from portal.components.parameter_form import parameter_form
from portal.components.template_picker import template_picker
from portal.components.text import md_escape
from portal.ui_context import portal_context, portal_errors
from services import environment_service, jobs
from services.errors import ValidationError
from services.history.models import EnvironmentStatus

ENVIRONMENTS_PAGE = Path(__file__).with_name("my_environments_page.py")
LAUNCH_KEY = "launch_page.launch"

actor = identity.require_actor()
ctx = portal_context()

st.title("Launch")
with portal_errors():
    templates = ctx.catalog.all_templates()
if not templates:
    st.info(f"No templates found in {ctx.settings.templates_dir}.")
    st.stop()

manifest = template_picker(templates)
st.caption(md_escape(manifest.summary))

form_col, code_col = st.columns([2, 3], gap="large")
with form_col:
    form = parameter_form(manifest)
    rendered = None
    field_errors: dict[str, str] = {}
    with portal_errors():
        try:
            # Rendered as this student would launch it, so the preview's tags name them.
            rendered = environment_service.render_template(ctx, template_id=manifest.id,
                                                           parameters=form.values,
                                                           owner=actor.name)
        except ValidationError as exc:
            field_errors = exc.field_errors
    launch_clicked = st.button("Launch", type="primary", key=LAUNCH_KEY,
                               disabled=bool(field_errors), icon=":material/rocket_launch:",
                               width="stretch")
    if launch_clicked:
        with portal_errors():
            try:
                with st.spinner("Recording the launch…"):
                    started = environment_service.start_launch(
                        ctx, actor=actor, template_id=manifest.id, parameters=form.values)
            except ValidationError as exc:
                field_errors = exc.field_errors
            else:
                jobs.submit(environment_service.run_launch, ctx, run_id=started.run_id)
                run_progress.watch("launch", started)
    form.show_errors(field_errors)

with code_col:
    if rendered is not None:
        code_view(rendered, key="launch_page.code")
    else:
        st.info("Fix the parameters marked in red to see the Terraform and CloudFormation "
                "they become.",
                icon=":material/code_off:")

env = run_progress.run_progress(ctx, actor, slot="launch")
if env is not None:
    if env.status == EnvironmentStatus.READY.value:
        st.success(f"Environment **{env.env_id}** is ready.", icon=":material/check_circle:")
        outputs_view(env.outputs)
    elif env.status_reason:
        st.error(md_escape(env.status_reason), icon=":material/error:")
    st.page_link(ENVIRONMENTS_PAGE, icon=":material/dns:",
                 label="Go to All environments" if actor.is_instructor else
                 "Go to My environments")
