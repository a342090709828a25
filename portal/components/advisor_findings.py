"""The advisor's report before launch: errors, warnings, notes, each with its fix.

Owns no session_state of its own: `key` only keeps the widgets of two reports on one page apart.
"""

from __future__ import annotations

import streamlit as st

from portal.components.text import md_escape
from services.advisor import AdvisorReport, Finding

SOURCE_LABELS = {"cloudformation": "CloudFormation", "terraform": "Terraform"}


def _body(finding: Finding) -> str:
    where = SOURCE_LABELS.get(finding.source, finding.source)
    if finding.resource:
        where += f" · {finding.resource}"
    return (f"**{md_escape(finding.rule_id)}** · {md_escape(where)}\n\n"
            f"{md_escape(finding.message)}\n\n"
            f"**Fix:** {md_escape(finding.fix)}")


def advisor_findings(report: AdvisorReport, *, key: str) -> None:
    """The report as callouts; the caller disables Launch when `report.blocks_launch`."""
    with st.container(key=f"{key}.advisor"):
        if report.blocks_launch:
            st.markdown(f":red[**Advisor: {md_escape(report.summary())}**]")
        elif report.warnings:
            st.markdown(f":orange[**Advisor: {md_escape(report.summary())}**]")
        else:
            st.markdown(f"**Advisor: {md_escape(report.summary())}**")
        for finding in report.errors:
            st.error(_body(finding), icon=":material/block:")
        for finding in report.warnings:
            st.warning(_body(finding), icon=":material/warning:")
        if report.infos:
            with st.expander(f"{len(report.infos)} note{'s' if len(report.infos) != 1 else ''}",
                             icon=":material/info:"):
                for finding in report.infos:
                    st.info(_body(finding))
