"""The Terraform and CloudFormation a template becomes, each in a tab of the caller's, with
downloads.

Reading this code is part of the lesson, so the values the student typed come first
(`terraform.tfvars`, `parameters.json`), then the files that use them.

Only what is open is drawn: in the engine's tab that is open, the one file picked from the list
of file names above it. A module has some twenty files and a CloudFormation template a thousand
lines; drawn whole, hidden or not, they cost the browser seconds, and even a closed expander per
file is an element the browser mounts on every visit. The zips are built when a download is
asked for, not on every run.

Owns the `<key>.<engine>.file` session_state keys (the file picked in each engine's tab) and
`<key>.kept`, where they are kept while the code is not drawn (another tab of the preview is
open), so that coming back finds them as they were left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def code_engines(engines: Sequence[EngineName]) -> list[EngineName]:
    """The engines of `engines` whose code is shown, in the order their tabs come."""
    return [name for name in (EngineName.TERRAFORM, EngineName.CLOUDFORMATION)
            if name in engines]


def file_key(key: str, engine: EngineName) -> str:
    """The session_state key of the file picked in an engine's tab (its path; None: none)."""
    return f"{key}.{engine.value}.file"


def _restore(key: str, widget_key: str) -> None:
    """The state `widget_key` was left in, back under its key: Streamlit forgets a widget's
    state once a run does not draw it."""
    kept = st.session_state.get(f"{key}.kept", {})
    if widget_key not in st.session_state and widget_key in kept:
        st.session_state[widget_key] = kept[widget_key]


def _keep(key: str, widget_key: str, state: object) -> None:
    st.session_state.setdefault(f"{key}.kept", {})[widget_key] = state


def code_view(rendered: RenderedTemplate, *, key: str, engine: EngineName) -> None:
    """The rendered code of one engine, drawn in the caller's tab of it."""
    if engine is EngineName.TERRAFORM:
        _terraform(rendered, template_id=rendered.template_id, key=key)
    else:
        _cloudformation(rendered, template_id=rendered.template_id, key=key)


def _files(files: dict[str, str], *, values_path: str, key: str, engine: EngineName,
           default: str | None = None) -> None:
    """The file names in a picker, and the code of the one picked. `values_path`, the file of
    the student's values, is labelled so and its long lines wrapped.

    One picker rather than a row of pills: a module's twenty-odd pills cost the browser more
    to mount, on every visit, than the rest of the preview."""
    widget_key = file_key(key, engine)
    _restore(key, widget_key)
    if widget_key not in st.session_state:
        st.session_state[widget_key] = default
    picked = st.selectbox(
        _("File ({count})").format(count=len(files)), list(files), key=widget_key,
        placeholder=_("Pick a file to read it"),
        format_func=lambda path: _("{path}  (your values)").format(path=path)
        if path == values_path else path)
    _keep(key, widget_key, picked)
    if picked in files:
        st.code(files[picked], language=language_of(picked), line_numbers=True,
                wrap_lines=picked == values_path)


def _zip_download(label: str, data: Callable[[], bytes], *, file_name: str, key: str) -> None:
    """A download of a zip built only when clicked (`data` is called then)."""
    st.download_button(label, data=data, file_name=file_name, mime="application/zip", key=key,
                       on_click="ignore", icon=":material/download:")


def _terraform(rendered: RenderedTemplate, *, template_id: str, key: str) -> None:
    _zip_download(_("Download Terraform (.zip)"), rendered.terraform_zip,
                  file_name=f"{template_id}-terraform.zip", key=f"{key}.terraform_zip")
    st.caption(_("The module with your values in `terraform.tfvars`. Run it yourself with "
                 "`terraform init` and `terraform apply`."))
    # No file is open at first, your values' neither: the first code shown in a browser tab
    # loads the highlighter (a 1.5 MB script), which would hold up the whole page.
    paths = _ordered(list(rendered.terraform_files))
    _files({path: rendered.terraform_files[path] for path in paths},
           values_path="terraform.tfvars", key=key, engine=EngineName.TERRAFORM)


def _cloudformation(rendered: RenderedTemplate, *, template_id: str, key: str) -> None:
    _zip_download(_("Download CloudFormation (.zip)"), rendered.cloudformation_zip,
                  file_name=f"{template_id}-cloudformation.zip", key=f"{key}.cloudformation_zip")
    st.caption(_("The template and your values in `parameters.json`. Run it yourself with "
                 "`aws cloudformation create-stack --stack-name my-sandbox "
                 "--template-body file://cloudformation.yaml "
                 "--parameters file://parameters.json`."))
    _files({CLOUDFORMATION_PARAMETERS: rendered.cloudformation_parameters_json,
            CLOUDFORMATION_TEMPLATE: rendered.cloudformation_template},
           values_path=CLOUDFORMATION_PARAMETERS, key=key, engine=EngineName.CLOUDFORMATION,
           default=CLOUDFORMATION_PARAMETERS)
