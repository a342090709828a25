"""Rendered code the advisor cannot read: nothing else can be checked in it."""

from __future__ import annotations

from collections.abc import Iterator

from services.advisor.model import AdvisorSubject, Finding, Rule, Severity, Source
from services.i18n import N_, _


class UnreadableTemplate(Rule):
    """A CloudFormation template that does not load is an error: CloudFormation refuses it too,
    so launching it can only fail (a valid template the advisor fails to evaluate is only a
    warning: the launch may well work). A `.tf` file python-hcl2 cannot parse is a warning: the
    launch goes through CloudFormation, Terraform's own parser may still accept newer syntax,
    and the other rules simply could not look inside that file."""

    id = "ADV009"
    title = N_("Template that cannot be read")
    severity = Severity.WARNING
    fix = N_("Fix the syntax the message points at (run `terraform validate` or `cfn-lint` on "
             "the rendered files), then check again.")

    def check_source(self, subject: AdvisorSubject, source: Source) -> Iterator[Finding]:
        if source == "cloudformation":
            if subject.cloudformation_error is not None:
                yield self.finding(
                    _("The CloudFormation template cannot be read: {error}").format(
                        error=subject.cloudformation_error),
                    resource=None, source=source,
                    severity=Severity.ERROR if subject.cloudformation_rejected
                    else Severity.WARNING)
            return
        for path, error in sorted(subject.terraform_errors.items()):
            yield self.finding(
                _("{path} does not parse as HCL, so no rule checked it: {error}").format(
                    path=path, error=error),
                resource=path, source=source)
