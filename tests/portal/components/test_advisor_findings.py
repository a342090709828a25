"""The advisor's report on the page: errors, warnings, notes in an expander, a summary line."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from portal.components.advisor_findings import notes_key
from portal.components.text import md_escape
from services.advisor import AdvisorReport, Finding, Severity
from services.render_service import portal_tags, render, validate_parameters
from tests.templates_support import catalog


def finding(rule_id: str, severity: Severity, resource: str | None, source: str = "terraform",
            message: str = "message", fix: str = "fix it") -> Finding:
    return Finding(rule_id=rule_id, severity=severity, message=message, fix=fix,
                   resource=resource, source=source)  # type: ignore[arg-type]


def findings_app(report: "AdvisorReport") -> None:  # run as a script: no postponed annotations
    from portal.components.advisor_findings import advisor_findings

    advisor_findings(report, key="test")


def run(report: AdvisorReport) -> AppTest:
    at = AppTest.from_function(findings_app, args=(report,)).run()
    assert not at.exception
    return at


def test_errors_warnings_and_notes_each_with_their_fix() -> None:
    report = AdvisorReport(findings=(
        finding("ADV003", Severity.ERROR, "WebSecurityGroup", "cloudformation",
                "WebSecurityGroup admits SSH (TCP port 22) from 0.0.0.0/0", "Use your /32."),
        finding("ADV004", Severity.WARNING, "module.db.aws_db_instance.this"),
        finding("ADV005", Severity.INFO, "WebServer", "cloudformation", "UserData note"),
    ))
    at = run(report)
    assert [m.value for m in at.markdown][0] == \
        f":red[**Advisor: {md_escape('1 error blocks launch (1 warning, 1 note)')}**]"
    (error,) = at.error
    assert "**ADV003** · CloudFormation · WebSecurityGroup" in error.value
    assert md_escape("WebSecurityGroup admits SSH (TCP port 22) from 0.0.0.0/0") in error.value
    assert f"**Fix:** {md_escape('Use your /32.')}" in error.value
    (warning,) = at.warning
    assert md_escape("module.db.aws_db_instance.this") in warning.value
    assert [e.label for e in at.expander] == ["1 note"]
    # The notes are drawn once their expander is opened.
    assert not at.info
    at.session_state[notes_key("test")] = True
    at.run()
    assert not at.exception
    (note,) = at.info
    assert "**ADV005** · CloudFormation · WebServer" in note.value


def test_warnings_only_do_not_read_as_blocking() -> None:
    at = run(AdvisorReport(findings=(finding("ADV001", Severity.WARNING, "a"),
                                     finding("ADV004", Severity.WARNING, None))))
    assert at.markdown[0].value == f":orange[**Advisor: {md_escape('2 warnings, no errors')}**]"
    assert not at.error and len(at.warning) == 2 and not at.expander
    # A finding about the template as a whole names no resource.
    assert at.warning[1].value.startswith("**ADV004** · Terraform\n\n")


def test_no_findings() -> None:
    at = run(AdvisorReport(findings=()))
    assert at.markdown[0].value == "**Advisor: no findings**"
    assert not at.error and not at.warning and not at.info


def test_a_real_report_of_the_ha_web_template() -> None:
    from services.advisor import advise

    manifest = catalog().get_template("ha-web")
    values = validate_parameters(manifest, {})
    rendered = render(manifest, values, cloudformation_text=catalog().cloudformation_text("ha-web"),
                      region="us-east-1",
                      tags=portal_tags(env_id="e1", owner="alice", template_id="ha-web"))
    report = advise(rendered, manifest=manifest, values=values, region="us-east-1")
    at = run(report)
    # Each lesson is found in the CloudFormation and again in the Terraform: shown once.
    assert len(report.warnings) == 4
    assert len(at.warning) == 2 and not at.error
    assert at.markdown[0].value == f":orange[**Advisor: {md_escape('2 warnings, no errors')}**]"
    credits = next(w.value for w in at.warning if "ADV001" in w.value)
    assert md_escape("−48 credits/h") in credits
    assert "Found in: CloudFormation · AutoScalingGroup; Terraform · " in credits


def test_one_rule_found_twice_in_one_source_keeps_both_messages() -> None:
    at = run(AdvisorReport(findings=(
        finding("ADV003", Severity.ERROR, "Web", "cloudformation", "Web admits SSH"),
        finding("ADV003", Severity.ERROR, "Admin", "cloudformation", "Admin admits SSH"),
        finding("ADV003", Severity.ERROR, "aws_security_group.web", "terraform", "tf message"),
    )))
    (error,) = at.error
    assert "Web admits SSH" in error.value and "Admin admits SSH" in error.value
    assert "tf message" not in error.value
    assert md_escape("Terraform · aws_security_group.web") in error.value
    assert at.markdown[0].value == f":red[**Advisor: {md_escape('1 error blocks launch')}**]"
