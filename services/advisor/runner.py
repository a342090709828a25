"""Running the rules: build the subject once, run every rule on both sources, keep going when a
rule fails."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from services.advisor.model import (
    SOURCES,
    AdvisorReport,
    AdvisorSubject,
    Finding,
    Rule,
    Severity,
)
from services.advisor.registry import all_rules
from services.engines.base import EngineName
from services.advisor.terraform_model import TFVARS_FILE, TerraformConfig, parse_hcl
from services.catalog_service import TemplateManifest
from services.errors import ValidationError
from services.i18n import _, current_locale
from services.render_service import RenderedTemplate
from services.template_model import ResolvedTemplate, resolve_rendered


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def build_subject(rendered: RenderedTemplate, *, manifest: TemplateManifest,
                  values: Mapping[str, Any], region: str) -> AdvisorSubject:
    cloudformation: ResolvedTemplate | None = None
    cloudformation_error = None
    rejected = False
    try:
        # A template deployed by Terraform alone has no CloudFormation to check.
        if EngineName.CLOUDFORMATION in manifest.engines:
            cloudformation = resolve_rendered(rendered, region=region)
    except ValidationError as exc:
        cloudformation_error = "; ".join(exc.field_errors.values()) or str(exc)
        rejected = True
    except Exception as exc:  # an evaluation the model does not support: not the template's fault
        cloudformation_error = _("the advisor could not evaluate it ({kind}: {error})").format(
            kind=type(exc).__name__, error=exc)
    parsed: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for path, text in sorted(rendered.terraform_files.items()):
        if not path.endswith(".tf"):
            continue
        try:
            parsed[path] = parse_hcl(text)
        except Exception as exc:  # python-hcl2 raises lark's many error types on bad input
            errors[path] = _first_line(exc)
    tfvars: dict[str, Any] = {}
    if TFVARS_FILE in rendered.terraform_files:
        try:
            tfvars = parse_hcl(rendered.terraform_files[TFVARS_FILE])
        except Exception as exc:  # same parser, same error types
            errors[TFVARS_FILE] = _first_line(exc)
    try:
        config = TerraformConfig(parsed, files=rendered.terraform_files, tfvars=tfvars)
    except Exception as exc:  # a shape the model does not know: check the rest, say so
        errors["(modules)"] = _("the advisor could not wire the modules ({kind}: {error})").format(
            kind=type(exc).__name__, error=exc)
        parsed = {}
        config = TerraformConfig({}, files=rendered.terraform_files)
    return AdvisorSubject(manifest=manifest, values=dict(values), region=region,
                          rendered=rendered, cloudformation=cloudformation,
                          cloudformation_error=cloudformation_error,
                          cloudformation_rejected=rejected, terraform=parsed,
                          terraform_errors=errors, terraform_config=config)


def run_rules(subject: AdvisorSubject, rules: Iterable[Rule]) -> AdvisorReport:
    findings: list[Finding] = []
    for rule in rules:
        for source in SOURCES:
            produced: list[Finding] = []
            try:
                for finding in rule.check_source(subject, source):
                    produced.append(finding)
            except Exception as exc:  # a broken rule is reported as its own finding, never fatal
                produced.append(Finding(
                    rule_id=rule.id, severity=Severity.WARNING,
                    message=_("rule {rule_id} crashed: {kind}: {error}").format(
                        rule_id=rule.id, kind=type(exc).__name__, error=exc),
                    fix=_("This is a fault of the advisor, not of the template; the other rules "
                          "ran. Report it with the template and parameters."),
                    resource=None, source=source, crashed=True))
            findings.extend(produced)
    ordered = sorted(findings, key=lambda f: (f.severity.rank, f.rule_id, f.source,
                                              f.resource or ""))
    return AdvisorReport(findings=tuple(ordered))


# Reports by what they were computed from. The Launch page asks again on every rerun, and the
# launch itself asks once more for what the page has just shown. Findings are written in the
# language of the moment (services/i18n.py), so the language is part of the key: a report made
# for a Korean page is never shown to an English one, nor to the CLI.
_REPORTS: OrderedDict[tuple[Any, ...], AdvisorReport] = OrderedDict()
_REPORTS_KEPT = 128
_reports_lock = threading.Lock()


def advise(rendered: RenderedTemplate, *, manifest: TemplateManifest, values: Mapping[str, Any],
           region: str) -> AdvisorReport:
    """Every rule on the rendered CloudFormation and Terraform; the report says what blocks."""
    rules = all_rules()
    key = (current_locale(), manifest, region, tuple(rules), rendered.cloudformation_template,
           tuple((p["ParameterKey"], p["ParameterValue"])
                 for p in rendered.cloudformation_parameters),
           tuple(sorted(rendered.terraform_files.items())),
           tuple(sorted((name, repr(value)) for name, value in values.items())))
    with _reports_lock:
        if key in _REPORTS:
            _REPORTS.move_to_end(key)
            return _REPORTS[key]
    subject = build_subject(rendered, manifest=manifest, values=values, region=region)
    report = run_rules(subject, rules)
    with _reports_lock:
        _REPORTS[key] = report
        while len(_REPORTS) > _REPORTS_KEPT:
            _REPORTS.popitem(last=False)
    return report
