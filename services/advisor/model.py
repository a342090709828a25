"""What the advisor reads (the subject), what it says (findings, the report), and the rule shape."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal

from services.advisor.terraform_model import TerraformConfig
from services.catalog_service import TemplateManifest
from services.errors import PortalError
from services.i18n import _, ngettext
from services.render_service import RenderedTemplate
from services.template_model import ResolvedTemplate

Source = Literal["cloudformation", "terraform"]
SOURCES: tuple[Source, ...] = ("cloudformation", "terraform")


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"  # blocks the launch

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


class UnknownRuleError(PortalError):
    def __init__(self, rule_id: str, known: list[str]) -> None:
        self.rule_id = rule_id
        super().__init__(f"advisor: unknown rule {rule_id!r} (known: {', '.join(known)})")


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message: str
    fix: str
    resource: str | None
    """CloudFormation logical id or Terraform address; None for the template as a whole."""
    source: Source
    crashed: bool = False
    """The rule itself failed; the finding says so and never blocks a launch."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.rule_id, "severity": self.severity.value, "message": self.message,
                "fix": self.fix, "resource": self.resource, "source": self.source,
                "crashed": self.crashed}


@dataclass(frozen=True)
class AdvisorReport:
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def infos(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.INFO]

    @property
    def blocks_launch(self) -> bool:
        return any(not f.crashed for f in self.errors)

    def by_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id == rule_id]

    def summary(self) -> str:
        """One line: "1 error blocks launch", "2 warnings, no errors", "no findings"."""
        return _summary(len(self.errors), len(self.warnings), len(self.infos))

    def by_rule_and_severity(self) -> list[tuple[Finding, ...]]:
        """The findings of one rule and severity together, in report order: a lesson found in
        the CloudFormation and again in the Terraform is one lesson for a reader."""
        groups: dict[tuple[str, Severity], list[Finding]] = {}
        for finding in self.findings:
            groups.setdefault((finding.rule_id, finding.severity), []).append(finding)
        return [tuple(group) for group in groups.values()]

    def grouped_summary(self) -> str:
        """`summary` counting each rule once per severity."""
        groups = self.by_rule_and_severity()
        return _summary(*(sum(1 for g in groups if g[0].severity is severity)
                          for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)))

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.findings]


def _counts(warnings: int, infos: int) -> list[str]:
    """"2 warnings", "1 note": the counts that are not 0, in the current language."""
    parts = []
    if warnings:
        parts.append(ngettext("{n} warning", "{n} warnings", warnings).format(n=warnings))
    if infos:
        parts.append(ngettext("{n} note", "{n} notes", infos).format(n=infos))
    return parts


def _summary(errors: int, warnings: int, infos: int) -> str:
    if errors:
        text = ngettext("{n} error blocks launch", "{n} errors block launch",
                        errors).format(n=errors)
        extra = _counts(warnings, infos)
        # Translators: {errors} is "2 errors block launch", {details} "1 warning, 3 notes".
        return _("{errors} ({details})").format(errors=text, details=", ".join(extra)) \
            if extra else text
    if warnings or infos:
        # Translators: {details} is "2 warnings, 1 note".
        return _("{details}, no errors").format(details=", ".join(_counts(warnings, infos)))
    return _("no findings")


@dataclass
class AdvisorSubject:
    """One rendered template with the values it will be launched with, read both ways."""

    manifest: TemplateManifest
    values: Mapping[str, Any]
    """Validated parameter values by manifest name."""
    region: str
    rendered: RenderedTemplate
    """The raw rendered texts."""
    cloudformation: ResolvedTemplate | None
    cloudformation_error: str | None
    """Why `cloudformation` is None."""
    cloudformation_rejected: bool
    """The template itself is invalid (CloudFormation would refuse it too), as opposed to the
    advisor failing to evaluate a valid one."""
    terraform: dict[str, dict[str, Any]]
    """Each rendered `.tf` file parsed with python-hcl2, by relative path."""
    terraform_errors: dict[str, str]
    """`.tf` files that did not parse, with the parser's message."""
    terraform_config: TerraformConfig = field(repr=False)

    def raw_resource(self, logical_id: str) -> dict[str, Any]:
        """The template's own text of a resource (UpdatePolicy, unresolved properties)."""
        if self.cloudformation is None:
            return {}
        body = (self.cloudformation.document.get("Resources") or {}).get(logical_id)
        return body if isinstance(body, dict) else {}


class Rule:
    """A check with its metadata as class attributes. `check` runs it on both sources; the
    runner calls `check_cloudformation` and `check_terraform` one by one, so a crash in one
    does not hide the other's findings."""

    id: ClassVar[str]
    # `title` and `fix` are English, marked with N_ (rules are made at import): `_()` where shown.
    # `finding()` translates the fix and each rule its message, in the language of the moment.
    title: ClassVar[str]
    severity: ClassVar[Severity]
    fix: ClassVar[str]

    def check(self, subject: AdvisorSubject) -> Iterable[Finding]:
        for source in SOURCES:
            yield from self.check_source(subject, source)

    def check_source(self, subject: AdvisorSubject, source: Source) -> Iterator[Finding]:
        if source == "cloudformation":
            if subject.cloudformation is not None:
                yield from self.check_cloudformation(subject)
        else:
            yield from self.check_terraform(subject)

    def check_cloudformation(self, subject: AdvisorSubject) -> Iterable[Finding]:
        return ()

    def check_terraform(self, subject: AdvisorSubject) -> Iterable[Finding]:
        return ()

    def finding(self, message: str, *, resource: str | None, source: Source,
                severity: Severity | None = None, fix: str | None = None) -> Finding:
        return Finding(rule_id=self.id, severity=severity or self.severity, message=message,
                       fix=fix or _(self.fix), resource=resource, source=source)
