"""The Terraform and CloudFormation a template becomes, one tab each, with downloads.

Reading this code is part of the lesson, so the values the student typed come first
(`terraform.tfvars`, `parameters.json`), then the files that use them.

Only what is open is drawn: the engine's tab that is picked and, in it, each file whose expander
is open (the others are a title the reader can open). A module has some twenty files and a
CloudFormation template a thousand lines; drawn whole, hidden or not, they cost the browser
seconds. The zips are built when a download is asked for, not on every run.

Owns the `<key>.engine` and `<key>.<engine>.<path>` session_state keys (the tab picked, each
file's expander open or not) and `<key>.kept`, where they are kept while the code is not drawn
(another tab of the preview is open), so that coming back finds them as they were left.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

import streamlit as st

from services.engines.base import EngineName
from services.i18n import _
from services.render_service import RenderedTemplate

# Files a reader should meet first: the inputs, then what uses them, then what comes out.
_TERRAFORM_ORDER = ["terraform.tfvars", "variables.tf", "main.tf", "outputs.tf", "versions.tf"]
CLOUDFORMATION_TEMPLATE = "cloudformation.yaml"
CLOUDFORMATION_PARAMETERS = "parameters.json"


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


def engine_key(key: str) -> str:
    """The session_state key of the engine tab picked (its label: `EngineName.label`)."""
    return f"{key}.engine"


def file_key(key: str, engine: EngineName, path: str) -> str:
    """The session_state key of one file's expander: True while it is open."""
    return f"{key}.{engine.value}.{path}"


def _restore(key: str, widget_key: str) -> None:
    """The state `widget_key` was left in, back under its key: Streamlit forgets a widget's
    state once a run does not draw it."""
    kept = st.session_state.get(f"{key}.kept", {})
    if widget_key not in st.session_state and widget_key in kept:
        st.session_state[widget_key] = kept[widget_key]


def _keep(key: str, widget_key: str, state: object) -> None:
    st.session_state.setdefault(f"{key}.kept", {})[widget_key] = state


def code_view(rendered: RenderedTemplate, *, key: str,
              engines: Sequence[EngineName] = tuple(EngineName)) -> None:
    """The rendered code of each engine the template has (an imported template may have one)."""
    template_id = rendered.template_id
    shown = [name for name in (EngineName.TERRAFORM, EngineName.CLOUDFORMATION)
             if name in engines]
    _restore(key, engine_key(key))
    tabs = st.tabs([name.label for name in shown], key=engine_key(key), on_change="rerun")
    _keep(key, engine_key(key), st.session_state[engine_key(key)])
    for name, tab in zip(shown, tabs):
        if not tab.open:
            continue
        with tab:
            if name is EngineName.TERRAFORM:
                _terraform(rendered, template_id=template_id, key=key)
            else:
                _cloudformation(rendered, template_id=template_id, key=key)


def _file(text: str, *, label: str, path: str, key: str, engine: EngineName,
          expanded: bool = False, wrap: bool = False) -> None:
    """One file in an expander, its code drawn only while the expander is open."""
    widget_key = file_key(key, engine, path)
    _restore(key, widget_key)
    files = st.expander(label, expanded=expanded, icon=":material/description:",
                        key=widget_key, on_change="rerun")
    _keep(key, widget_key, files.open)
    if files.open:
        with files:
            st.code(text, language=language_of(path), line_numbers=True, wrap_lines=wrap)


def _terraform(rendered: RenderedTemplate, *, template_id: str, key: str) -> None:
    st.download_button(
        _("Download Terraform (.zip)"), data=rendered.terraform_zip,
        file_name=f"{template_id}-terraform.zip", mime="application/zip",
        key=f"{key}.terraform_zip", on_click="ignore", icon=":material/download:")
    st.caption(_("The module with your values in `terraform.tfvars`. Run it yourself with "
                 "`terraform init` and `terraform apply`."))
    # Every file starts closed, your values' too: the first code shown in a browser tab loads
    # the highlighter (a 1.5 MB script), which would hold up the whole page.
    for path in _ordered(list(rendered.terraform_files)):
        inputs = path == "terraform.tfvars"
        label = _("{path}  (your values)").format(path=path) if inputs else path
        _file(rendered.terraform_files[path], label=label, path=path, key=key,
              engine=EngineName.TERRAFORM, wrap=inputs)


def _cloudformation(rendered: RenderedTemplate, *, template_id: str, key: str) -> None:
    st.download_button(
        _("Download CloudFormation (.zip)"), data=rendered.cloudformation_zip,
        file_name=f"{template_id}-cloudformation.zip", mime="application/zip",
        key=f"{key}.cloudformation_zip", on_click="ignore", icon=":material/download:")
    st.caption(_("The template and your values in `parameters.json`. Run it yourself with "
                 "`aws cloudformation create-stack --stack-name my-sandbox "
                 "--template-body file://cloudformation.yaml "
                 "--parameters file://parameters.json`."))
    _file(rendered.cloudformation_parameters_json,
          label=_("{path}  (your values)").format(path=CLOUDFORMATION_PARAMETERS),
          path=CLOUDFORMATION_PARAMETERS, key=key, engine=EngineName.CLOUDFORMATION,
          expanded=True, wrap=True)
    _file(rendered.cloudformation_template, label=CLOUDFORMATION_TEMPLATE,
          path=CLOUDFORMATION_TEMPLATE, key=key, engine=EngineName.CLOUDFORMATION)
