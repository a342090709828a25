"""Templates instructors bring: an upload read safely (`source`), checked (cfn-lint for
CloudFormation; python-hcl2 and `terraform fmt -check` for Terraform) and its launch form and
outputs derived (`cloudformation`, `terraform`). services/template_library.py stores the result;
the catalog serves it like a built-in template.
"""

from __future__ import annotations

from services.engines.base import EngineName
from services.settings import Settings
from services.template_import import cloudformation, terraform
from services.template_import.model import Derived, InvalidTemplateError
from services.template_import.source import TemplateSource

__all__ = ["Derived", "InvalidTemplateError", "TemplateSource", "check"]


def check(source: TemplateSource, *, settings: Settings) -> Derived:
    """What `source` declares, once it passed its checks; raises ValidationError with the
    linter's, the parser's or `terraform fmt`'s own words otherwise."""
    if source.engine is EngineName.CLOUDFORMATION:
        warnings = cloudformation.lint(source.text, region=settings.region)
        derived = cloudformation.derive(source.text)
        return Derived(parameters=derived.parameters, outputs=derived.outputs,
                       summary=derived.summary,
                       findings=tuple(warnings) + derived.findings, portal_variables=())
    derived = terraform.derive(source.files)
    terraform.check_formatted(source.files, settings=settings)
    return derived
