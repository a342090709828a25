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
from services.catalog_service import ParameterSpec, TemplateManifest
from services.render_service import SECRET_MASK
from services.template_library import ImportedTemplate


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def state_of(view: ImportedTemplate) -> str:
    return f"retired {utc(view.retired_at)}" if view.retired and view.retired_at else (
        "retired" if view.retired else "offered")


def templates_table(views: Sequence[ImportedTemplate]) -> None:
    """One row per imported template, retired ones too."""
    if not views:
        st.info("No template imported yet: import a CloudFormation template or a Terraform "
                "module below.", icon=":material/upload_file:")
        return
    rows = []
    for view in views:
        current = next((v for v in view.versions if v.number == view.current_version), None)
        rows.append({
            "template": view.id, "title": view.title, "engine": view.engine.label,
            "version": str(view.current_version),
            "uploaded by": current.uploaded_by if current else "",
            "uploaded": utc(current.uploaded_at) if current else "",
            "courses": ", ".join(view.courses) or "none",
            "parameters": str(len(view.manifest.parameters)), "state": state_of(view),
        })
    st.dataframe(rows, hide_index=True, width="stretch")


def versions_table(view: ImportedTemplate) -> None:
    """Every version, newest first, with who uploaded it and when."""
    rows = [{"version": str(v.number) + (" (current)" if v.number == view.current_version
                                         else ""),
             "uploaded by": v.uploaded_by, "uploaded": utc(v.uploaded_at),
             "notes from the checks": str(len(v.findings))}
            for v in sorted(view.versions, key=lambda v: v.number, reverse=True)]
    st.dataframe(rows, hide_index=True, width="stretch")


def _kind(spec: ParameterSpec) -> str:
    if spec.type == "list":
        return f"list of {spec.item_type}s"
    return spec.type


def _bounds(low: float | None, high: float | None, unit: str) -> str:
    if low is not None and high is not None:
        return f"{low}–{high}{unit}"
    if low is not None:
        return f"at least {low}{unit}"
    if high is not None:
        return f"at most {high}{unit}"
    return ""


def _allowed(spec: ParameterSpec) -> str:
    if spec.allowed:
        return ", ".join(str(v) for v in spec.allowed)
    parts = [_bounds(spec.min, spec.max, ""),
             _bounds(spec.min_length, spec.max_length, " characters"),
             (spec.pattern_message or f"matches {spec.pattern}") if spec.pattern else ""]
    return "; ".join(part for part in parts if part)


def _default(spec: ParameterSpec) -> str:
    if spec.default is None:
        return "(required)"
    return SECRET_MASK if spec.secret else _value(spec.default)


def parameter_rows(manifest: TemplateManifest) -> list[dict[str, str]]:
    """The launch form derived from the template: what each field takes. A secret's default is
    masked, as the rendered code masks its value."""
    return [{
        "name": spec.name, "type": _kind(spec),
        "AWS type (picked from the cloud)": spec.aws_type or "",
        "allowed values": _allowed(spec),
        "default": _default(spec),
        "secret": "yes" if spec.secret else "", "description": spec.description,
    } for spec in manifest.parameters]


def parameters_table(manifest: TemplateManifest) -> None:
    if not manifest.parameters:
        st.caption("The template has no parameters: students launch it as it is.")
        return
    # A static table: it wraps the long descriptions a data grid would cut off.
    st.table(parameter_rows(manifest), hide_index=True, border="horizontal")
    if manifest.outputs:
        st.caption("Students get back: " + md_escape(", ".join(o.label for o in
                                                                manifest.outputs)))


def findings_notice(findings: Sequence[str]) -> None:
    """cfn-lint's warnings and what the form leaves to the engine: none refused the upload."""
    if not findings:
        return
    with st.expander(f"Notes from the checks ({len(findings)})", icon=":material/info:"):
        st.markdown("\n".join(f"- {md_escape(finding)}" for finding in findings))


def import_result(view: ImportedTemplate, *, what: str) -> None:
    """What an upload became: the version stored, and the form students will fill in."""
    st.success(f"**{md_escape(view.id)}** {what}: version {view.current_version}, "
               f"{view.engine.label}, {len(view.manifest.parameters)} parameters.",
               icon=":material/check_circle:")
    st.markdown("**The launch form derived from it**")
    parameters_table(view.manifest)
    findings_notice(view.findings)
