"""Imported templates as instructors read them: the list, a template's versions, the launch form
derived from its file, and what the checks noticed without refusing it.

Stateless: no session_state keys. Cells are strings throughout, as in the catalog's parameter
table: a column mixing text, numbers and booleans does not convert to Arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from portal.components.text import md_escape, utc
from services.catalog_service import ParameterSpec, TemplateManifest, localized
from services.i18n import N_, _
from services.render_service import SECRET_MASK
from services.template_library import ImportedTemplate


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def state_of(view: ImportedTemplate) -> str:
    if view.retired and view.retired_at:
        return _("retired {moment}").format(moment=utc(view.retired_at))
    return _("retired") if view.retired else _("offered")


def templates_table(views: Sequence[ImportedTemplate]) -> None:
    """One row per imported template, retired ones too."""
    if not views:
        st.info(_("No template imported yet: import a CloudFormation template or a Terraform "
                  "module below."), icon=":material/upload_file:")
        return
    rows = []
    for view in views:
        current = next((v for v in view.versions if v.number == view.current_version), None)
        rows.append({
            _("template"): view.id, _("title"): view.title, _("engine"): view.engine.label,
            _("version"): str(view.current_version),
            _("uploaded by"): current.uploaded_by if current else "",
            _("uploaded"): utc(current.uploaded_at) if current else "",
            _("courses"): ", ".join(view.courses) or _("none"),
            _("parameters"): str(len(view.manifest.parameters)), _("state"): state_of(view),
        })
    st.dataframe(rows, hide_index=True, width="stretch")


def versions_table(view: ImportedTemplate) -> None:
    """Every version, newest first, with who uploaded it and when."""
    rows = [{_("version"): _("{version} (current)").format(version=v.number)
             if v.number == view.current_version else str(v.number),
             _("uploaded by"): v.uploaded_by, _("uploaded"): utc(v.uploaded_at),
             _("notes from the checks"): str(len(v.findings))}
            for v in sorted(view.versions, key=lambda v: v.number, reverse=True)]
    st.dataframe(rows, hide_index=True, width="stretch")


def _kind(spec: ParameterSpec) -> str:
    if spec.type == "list":
        return _("list of {item_type}s").format(item_type=spec.item_type)
    return spec.type


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low}–{high}"
    if low is not None:
        return _("at least {low}").format(low=low)
    if high is not None:
        return _("at most {high}").format(high=high)
    return ""


def _length(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return _("{low}–{high} characters").format(low=low, high=high)
    if low is not None:
        return _("at least {low} characters").format(low=low)
    if high is not None:
        return _("at most {high} characters").format(high=high)
    return ""


def _allowed(spec: ParameterSpec) -> str:
    if spec.allowed:
        return ", ".join(str(v) for v in spec.allowed)
    parts = [_bounds(spec.min, spec.max), _length(spec.min_length, spec.max_length),
             (spec.pattern_message or _("matches {pattern}").format(pattern=spec.pattern))
             if spec.pattern else ""]
    return "; ".join(part for part in parts if part)


def _default(spec: ParameterSpec) -> str:
    if spec.default is None:
        return _("(required)")
    return SECRET_MASK if spec.secret else _value(spec.default)


def parameter_rows(manifest: TemplateManifest) -> list[dict[str, str]]:
    """The launch form derived from the template: what each field takes. A secret's default is
    masked, as the rendered code masks its value. For reading: pass it `localized(manifest)`."""
    return [{
        _("name"): spec.name, _("type"): _kind(spec),
        _("AWS type (picked from the cloud)"): spec.aws_type or "",
        _("allowed values"): _allowed(spec),
        _("default"): _default(spec),
        _("secret"): _("yes") if spec.secret else "", _("description"): spec.description,
    } for spec in manifest.parameters]


def parameters_table(manifest: TemplateManifest) -> None:
    if not manifest.parameters:
        st.caption(_("The template has no parameters: students launch it as it is."))
        return
    shown = localized(manifest)
    # A static table: it wraps the long descriptions a data grid would cut off.
    st.table(parameter_rows(shown), hide_index=True, border="horizontal")
    if shown.outputs:
        st.caption(_("Students get back: {outputs}").format(
            outputs=md_escape(", ".join(o.label for o in shown.outputs))))


def findings_notice(findings: Sequence[str]) -> None:
    """cfn-lint's warnings and what the form leaves to the engine: none refused the upload."""
    if not findings:
        return
    with st.expander(_("Notes from the checks ({count})").format(count=len(findings)),
                     icon=":material/info:"):
        st.markdown("\n".join(f"- {md_escape(finding)}" for finding in findings))


# What `import_result` says of each upload, by the `what` the Templates page passes.
_IMPORT_RESULTS = {
    "imported": N_("**{template}** imported: version {version}, {engine}, {count} parameters."),
    "has a new version": N_("**{template}** has a new version: version {version}, {engine}, "
                            "{count} parameters."),
}


def import_result(view: ImportedTemplate, *, what: str) -> None:
    """What an upload became: the version stored, and the form students will fill in. `what`
    is "imported" or "has a new version" (in English or already translated)."""
    known = dict(_IMPORT_RESULTS)
    known.update({_(key): text for key, text in _IMPORT_RESULTS.items()})
    fields = {"template": md_escape(view.id), "version": view.current_version,
              "engine": view.engine.label, "count": len(view.manifest.parameters)}
    if what in known:
        message = _(known[what]).format(**fields)
    else:
        message = _("**{template}** {what}: version {version}, {engine}, {count} parameters."
                    ).format(what=what, **fields)
    st.success(message, icon=":material/check_circle:")
    st.markdown(_("**The launch form derived from it**"))
    parameters_table(view.manifest)
    findings_notice(view.findings)
