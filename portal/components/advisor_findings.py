"""The advisor's report before launch: errors, warnings, notes, each with its fix.

Owns the `<key>.notes` session_state key (the notes' expander open or not); `key` also keeps
two reports on one page apart. The notes are drawn only while their expander is open, and opening
it reruns the notes alone.
"""

from __future__ import annotations

import streamlit as st

from portal.components.text import md_escape
from services.advisor import AdvisorReport, Finding, Severity
from services.i18n import _, ngettext

SOURCE_LABELS = {"cloudformation": "CloudFormation", "terraform": "Terraform"}


def _where(finding: Finding) -> str:
    where = SOURCE_LABELS.get(finding.source, finding.source)
    return f"{where} · {finding.resource}" if finding.resource else where


def _body(group: tuple[Finding, ...]) -> str:
    """One rule's findings: the messages of one source (CloudFormation's when it has any: its
    logical ids are the ones the diagram shows), then everywhere it was found, then the fix."""
    first = group[0]
    shown = [f for f in group if f.source == first.source]
    messages = "\n\n".join(md_escape(f.message) for f in shown)
    text = f"**{md_escape(first.rule_id)}** · {md_escape(_where(first))}\n\n{messages}\n\n"
    if len(group) > 1:
        text += _("Found in: {places}").format(
            places="; ".join(md_escape(_where(f)) for f in group)) + "\n\n"
    return text + _("**Fix:** {fix}").format(fix=md_escape(first.fix))


def notes_key(key: str) -> str:
    """The session_state key of the notes' expander: True while it is open."""
    return f"{key}.notes"


@st.fragment
def _notes(infos: list[tuple[Finding, ...]], key: str) -> None:
    notes = st.expander(ngettext("{count} note", "{count} notes",
                                 len(infos)).format(count=len(infos)),
                        icon=":material/info:", key=notes_key(key), on_change="rerun")
    if notes.open:
        with notes:
            for group in infos:
                st.info(_body(group))


def advisor_findings(report: AdvisorReport, *, key: str) -> None:
    """The report as callouts; the caller disables Launch when `report.blocks_launch`."""
    groups = report.by_rule_and_severity()
    errors = [g for g in groups if g[0].severity is Severity.ERROR]
    warnings = [g for g in groups if g[0].severity is Severity.WARNING]
    infos = [g for g in groups if g[0].severity is Severity.INFO]
    heading = _("Advisor: {summary}").format(summary=md_escape(report.grouped_summary()))
    with st.container(key=f"{key}.advisor"):
        if report.blocks_launch:
            st.markdown(f":red[**{heading}**]")
        elif report.warnings:
            st.markdown(f":orange[**{heading}**]")
        else:
            st.markdown(f"**{heading}**")
        for group in errors:
            st.error(_body(group), icon=":material/block:")
        for group in warnings:
            st.warning(_body(group), icon=":material/warning:")
        if infos:
            _notes(infos, key)
