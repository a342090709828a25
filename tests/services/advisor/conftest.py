"""Running the advisor on inline templates and on the built-in ones, rendered as a launch would."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from services.advisor import AdvisorReport, AdvisorSubject, advise, build_subject
from services.catalog_service import ParameterSpec, TemplateManifest
from services.render_service import (
    RenderedTemplate,
    portal_tags,
    render,
    tfvars_text,
    validate_parameters,
)
from tests.templates_support import catalog

REGION = "us-east-1"
# Something harmless for the source a case does not exercise.
EMPTY_CLOUDFORMATION = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
PORTAL_PROVIDER = """
provider "aws" {
  region = var.region
  default_tags {
    tags = var.tags
  }
}
variable "region" {
  type = string
}
variable "tags" {
  type = map(string)
}
"""


def inline_manifest(values: Mapping[str, Any]) -> TemplateManifest:
    parameters = tuple(
        ParameterSpec(name=name, type="boolean" if isinstance(value, bool) else
                      "integer" if isinstance(value, int) else "string",
                      default=value, description=name)
        for name, value in values.items())
    return TemplateManifest(id="inline", title="Inline", summary="A test template.",
                            parameters=parameters, outputs=())


def inline_rendered(*, cloudformation: str | None, terraform: Mapping[str, str] | None,
                    values: Mapping[str, Any], cfn_parameters: Mapping[str, str] | None = None
                    ) -> tuple[RenderedTemplate, TemplateManifest]:
    manifest = inline_manifest(values)
    files = {path: textwrap.dedent(text) for path, text in (terraform or {}).items()}
    if terraform is not None:
        files["terraform.tfvars"] = tfvars_text(
            manifest, values, region=REGION,
            tags=portal_tags(env_id="e1", owner="alice", template_id="inline"))
    rendered = RenderedTemplate(
        template_id="inline", terraform_files=files,
        cloudformation_template=textwrap.dedent(cloudformation or EMPTY_CLOUDFORMATION),
        cloudformation_parameters=[{"ParameterKey": k, "ParameterValue": v}
                                   for k, v in (cfn_parameters or {}).items()])
    return rendered, manifest


AdviseInline = Callable[..., AdvisorReport]


@pytest.fixture
def advise_inline() -> AdviseInline:
    """`advise_inline(cloudformation=..., terraform={path: text}, values={...})`."""

    def run(*, cloudformation: str | None = None, terraform: Mapping[str, str] | None = None,
            values: Mapping[str, Any] | None = None,
            cfn_parameters: Mapping[str, str] | None = None,
            readable: bool = True) -> AdvisorReport:
        rendered, manifest = inline_rendered(cloudformation=cloudformation, terraform=terraform,
                                             values=values or {}, cfn_parameters=cfn_parameters)
        report = advise(rendered, manifest=manifest, values=values or {}, region=REGION)
        # A case that passes because its template did not even load would prove nothing.
        assert not [f for f in report.findings if f.crashed], report.to_json()
        if readable:
            assert not report.by_rule("ADV009"), report.to_json()
        return report

    return run


@pytest.fixture
def inline_subject() -> Callable[..., AdvisorSubject]:
    def build(*, cloudformation: str | None = None, terraform: Mapping[str, str] | None = None,
              values: Mapping[str, Any] | None = None) -> AdvisorSubject:
        rendered, manifest = inline_rendered(cloudformation=cloudformation, terraform=terraform,
                                             values=values or {})
        return build_subject(rendered, manifest=manifest, values=values or {}, region=REGION)

    return build


def advise_builtin(template_id: str, **parameters: Any) -> AdvisorReport:
    """A built-in template rendered the way the Launch page renders it."""
    manifest = catalog().get_template(template_id)
    values = validate_parameters(manifest, parameters)
    rendered = render(manifest, values,
                      cloudformation_text=catalog().cloudformation_text(template_id),
                      region=REGION,
                      tags=portal_tags(env_id="e1", owner="alice", template_id=template_id))
    return advise(rendered, manifest=manifest, values=values, region=REGION)


@pytest.fixture
def builtin() -> Callable[..., AdvisorReport]:
    return advise_builtin


def rule_findings(report: AdvisorReport, rule_id: str) -> list[tuple[str, str, str | None]]:
    """(source, severity, resource) of one rule's findings, sorted."""
    return sorted((f.source, f.severity.value, f.resource) for f in report.by_rule(rule_id))


@pytest.fixture
def of_rule() -> Callable[[AdvisorReport, str], list[tuple[str, str, str | None]]]:
    return rule_findings
