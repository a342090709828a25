"""The runner: every rule on both sources, crashes isolated, unreadable code reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.advisor import (
    AdvisorReport,
    AdvisorSubject,
    Finding,
    Rule,
    Severity,
    get_rule,
    run_rules,
)


class Exploding(Rule):
    id = "ADV900"
    title = "explodes on CloudFormation"
    severity = Severity.ERROR
    fix = "none"

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterator[Finding]:
        yield self.finding("found before the crash", resource="A", source="cloudformation")
        raise KeyError("Properties")

    def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
        yield self.finding("terraform half still runs", resource="b", source="terraform")


SSH_WORLD = """
Resources:
  Sg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: test
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 22, ToPort: 22, CidrIp: 0.0.0.0/0}
"""


def test_a_crashing_rule_is_a_warning_and_the_others_still_run(inline_subject) -> None:
    subject = inline_subject(cloudformation=SSH_WORLD)
    report = run_rules(subject, [Exploding(), get_rule("ADV003")])
    crashed = [f for f in report.findings if f.crashed]
    assert [(f.rule_id, f.severity, f.source) for f in crashed] == \
        [("ADV900", Severity.WARNING, "cloudformation")]
    assert crashed[0].message == "rule ADV900 crashed: KeyError: 'Properties'"
    messages = {f.message for f in report.by_rule("ADV900")}
    assert {"found before the crash", "terraform half still runs"} <= messages
    # The finding yielded before the crash is kept; the crash itself is only a warning.
    assert [(f.rule_id, f.source) for f in report.errors] == \
        [("ADV003", "cloudformation"), ("ADV900", "cloudformation"), ("ADV900", "terraform")]
    assert report.blocks_launch


def test_a_crash_alone_never_blocks_launch(inline_subject) -> None:
    class Broken(Rule):
        id = "ADV901"
        title = "broken"
        severity = Severity.ERROR
        fix = "none"

        def check_terraform(self, subject: AdvisorSubject) -> Iterator[Finding]:
            raise RuntimeError("boom")

    report = run_rules(inline_subject(), [Broken()])
    assert [f.to_json() for f in report.findings] == [{
        "id": "ADV901", "severity": "warning", "message": "rule ADV901 crashed: RuntimeError: boom",
        "fix": report.findings[0].fix, "resource": None, "source": "terraform", "crashed": True}]
    assert not report.blocks_launch
    assert report.summary() == "1 warning, no errors"


def test_unparseable_terraform_is_reported_and_the_rest_is_checked(advise_inline) -> None:
    report = advise_inline(cloudformation=SSH_WORLD, readable=False, terraform={
        "broken.tf": 'resource "aws_instance" "x" {\n  ami = \n}\n',
        "ok.tf": 'resource "aws_instance" "y" {\n  ami = "ami-0abcdef1234567890"\n}\n'})
    unreadable = report.by_rule("ADV009")
    assert [(f.severity.value, f.resource, f.source) for f in unreadable] == \
        [("warning", "broken.tf", "terraform")]
    assert unreadable[0].message.startswith(
        "broken.tf does not parse as HCL, so no rule checked it")
    assert [f.resource for f in report.by_rule("ADV006")] == ["aws_instance.y"]
    assert [f.resource for f in report.by_rule("ADV003")] == ["Sg"]


def test_unreadable_cloudformation_blocks_launch(advise_inline) -> None:
    report = advise_inline(cloudformation="Resources: [not, a, mapping]\n", readable=False)
    assert [(f.severity.value, f.source) for f in report.by_rule("ADV009")] == \
        [("error", "cloudformation")]
    assert "no Resources section" in report.by_rule("ADV009")[0].message
    assert report.blocks_launch


def finding(severity: Severity, rule_id: str = "ADV003", crashed: bool = False) -> Finding:
    return Finding(rule_id=rule_id, severity=severity, message="m", fix="f", resource=None,
                   source="cloudformation", crashed=crashed)


@pytest.mark.parametrize(("severities", "text", "blocks"), [
    ([], "no findings", False),
    ([Severity.WARNING, Severity.WARNING], "2 warnings, no errors", False),
    ([Severity.ERROR], "1 error blocks launch", True),
    ([Severity.ERROR, Severity.ERROR, Severity.WARNING, Severity.INFO],
     "2 errors block launch (1 warning, 1 note)", True),
    ([Severity.INFO], "1 note, no errors", False),
])
def test_summary_and_blocking(severities: list[Severity], text: str, blocks: bool) -> None:
    report = AdvisorReport(findings=tuple(finding(s) for s in severities))
    assert report.summary() == text
    assert report.blocks_launch is blocks
    assert len(report.errors) + len(report.warnings) + len(report.infos) == len(severities)
    assert [f["severity"] for f in report.to_json()] == [s.value for s in severities]


def test_findings_are_ordered_errors_first(advise_inline) -> None:
    report = advise_inline(cloudformation=SSH_WORLD + """
  Server:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: ami-0abcdef1234567890
      InstanceType: m6i.large
      UserData: !Base64 "#!/bin/bash"
""")
    assert [(f.severity.value, f.rule_id) for f in report.findings] == [
        ("error", "ADV003"), ("warning", "ADV006"), ("info", "ADV005")]
    assert set(report.to_json()[0]) == {"id", "severity", "message", "fix", "resource", "source",
                                        "crashed"}


def test_a_condition_that_does_not_exist_blocks_launch(advise_inline) -> None:
    # Fn::If naming a condition that does not exist: invalid, CloudFormation refuses it.
    report = advise_inline(readable=False, cloudformation="""
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !If [Missing, a, b]
""")
    assert [(f.severity.value, f.source) for f in report.by_rule("ADV009")] == \
        [("error", "cloudformation")]
    assert "unknown condition 'Missing'" in report.by_rule("ADV009")[0].message


def test_a_template_the_model_cannot_evaluate_is_only_a_warning(advise_inline) -> None:
    report = advise_inline(readable=False, cloudformation="""
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub [only-the-text]
""", terraform={"main.tf": 'resource "aws_instance" "y" {\n  ami = "ami-0abcdef1234567890"\n}\n'})
    (unreadable,) = report.by_rule("ADV009")
    assert (unreadable.severity.value, unreadable.source) == ("warning", "cloudformation")
    assert "the advisor could not evaluate it (IndexError" in unreadable.message
    assert not report.blocks_launch
    assert [f.resource for f in report.by_rule("ADV006")] == ["aws_instance.y"]


def test_a_report_is_reused_for_the_same_input_and_redone_for_another() -> None:
    from services.advisor import advise
    from services.render_service import portal_tags, render, validate_parameters
    from tests.templates_support import catalog

    manifest = catalog().get_template("web-server")

    def report_for(ssh_cidr: str):  # type: ignore[no-untyped-def]
        values = validate_parameters(manifest, {"ssh_cidr": ssh_cidr})
        rendered = render(manifest, values, region="us-east-1",
                          cloudformation_text=manifest.cloudformation_path.read_text(),
                          tags=portal_tags(env_id="e", owner="o", template_id=manifest.id))
        return advise(rendered, manifest=manifest, values=values, region="us-east-1")

    closed = report_for("203.0.113.10/32")
    assert report_for("203.0.113.10/32") is closed
    opened = report_for("0.0.0.0/0")
    assert opened is not closed and opened.blocks_launch and not closed.blocks_launch
