"""The Terraform and CloudFormation a template becomes, one tab each, with downloads.

Reading this code is part of the lesson, so the values the student typed come first
(`terraform.tfvars`, `parameters.json`), then the files that use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import streamlit as st

from services.engines.base import EngineName
from services.i18n import _
from services.render_service import RenderedTemplate

# Files a reader should meet first: the inputs, then what uses them, then what comes out.
_TERRAFORM_ORDER = ["terraform.tfvars", "variables.tf", "main.tf", "outputs.tf", "versions.tf"]


def language_of(path: str) -> str | None:
    suffixes = PurePosixPath(path).suffixes
    if ".tf" in suffixes or ".tfvars" in suffixes or ".hcl" in suffixes:
        return "hcl"
    if ".sh" in suffixes:
        return "bash"
    if suffixes and suffixes[-1] in (".yaml", ".yml"):
        return "yaml"
    if suffixes and suffixes[-1] == ".json":
        return "json"
    return None


def _ordered(paths: list[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(_TERRAFORM_ORDER)}
    return sorted(paths, key=lambda p: (rank.get(p, len(rank)), p))


def code_view(rendered: RenderedTemplate, *, key: str,
              engines: Sequence[EngineName] = tuple(EngineName)) -> None:
    """The rendered code of each engine the template has (an imported template may have one)."""
    template_id = rendered.template_id
    shown = [name for name in (EngineName.TERRAFORM, EngineName.CLOUDFORMATION)
             if name in engines]
    tabs = dict(zip(shown, st.tabs([name.label for name in shown])))
    if EngineName.TERRAFORM in tabs:
        _terraform(rendered, template_id=template_id, key=key, tab=tabs[EngineName.TERRAFORM])
    if EngineName.CLOUDFORMATION in tabs:
        _cloudformation(rendered, template_id=template_id, key=key,
                       tab=tabs[EngineName.CLOUDFORMATION])


def _terraform(rendered: RenderedTemplate, *, template_id: str, key: str, tab: Any) -> None:
    with tab:
        st.download_button(
            _("Download Terraform (.zip)"), data=rendered.terraform_zip(),
            file_name=f"{template_id}-terraform.zip", mime="application/zip",
            key=f"{key}.terraform_zip", on_click="ignore", icon=":material/download:")
        st.caption(_("The module with your values in `terraform.tfvars`. Run it yourself with "
                     "`terraform init` and `terraform apply`."))
        for path in _ordered(list(rendered.terraform_files)):
            label = _("{path}  (your values)").format(path=path) if path == "terraform.tfvars" \
                else path
            with st.expander(label, expanded=path == "terraform.tfvars",
                             icon=":material/description:"):
                st.code(rendered.terraform_files[path], language=language_of(path),
                        line_numbers=True, wrap_lines=path == "terraform.tfvars")


def _cloudformation(rendered: RenderedTemplate, *, template_id: str, key: str, tab: Any) -> None:
    with tab:
        st.download_button(
            _("Download CloudFormation (.zip)"), data=rendered.cloudformation_zip(),
            file_name=f"{template_id}-cloudformation.zip", mime="application/zip",
            key=f"{key}.cloudformation_zip", on_click="ignore", icon=":material/download:")
        st.caption(_("The template and your values in `parameters.json`. Run it yourself with "
                     "`aws cloudformation create-stack --stack-name my-sandbox "
                     "--template-body file://cloudformation.yaml "
                     "--parameters file://parameters.json`."))
        with st.expander(_("{path}  (your values)").format(path="parameters.json"), expanded=True,
                         icon=":material/description:"):
            st.code(rendered.cloudformation_parameters_json, language="json", line_numbers=True,
                    wrap_lines=True)
        with st.expander("cloudformation.yaml", icon=":material/description:"):
            st.code(rendered.cloudformation_template, language="yaml", line_numbers=True)
