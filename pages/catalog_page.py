"""Catalog: the approved environment templates; "Launch this" opens the Launch page on one."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from portal import identity
from portal.components import template_picker
from portal.components.template_card import template_card
from portal.ui_context import portal_context, portal_errors
from services import courses
from services.i18n import _

LAUNCH_PAGE = Path(__file__).with_name("launch_page.py")

actor = identity.require_actor()
ctx = portal_context()

st.title(_("Catalog"))
st.caption(_("Environment templates approved for this course. Each one is a Terraform module "
             "and a CloudFormation template built from the same parameters."))

with portal_errors():
    templates = courses.catalog_templates(ctx, actor=actor)
if not templates:
    st.info(_("No templates found in {folder}.").format(folder=ctx.settings.templates_dir))

for manifest in templates:
    if template_card(manifest):
        template_picker.choose(manifest.id)
        st.switch_page(LAUNCH_PAGE)
