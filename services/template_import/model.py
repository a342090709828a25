"""What an upload is found to declare once it is checked: its launch form, its outputs, and what
the checks noticed without refusing it."""

from __future__ import annotations

from dataclasses import dataclass

from services.catalog_service import OutputSpec, ParameterSpec
from services.errors import ValidationError
from services.i18n import _


@dataclass(frozen=True)
class Derived:
    parameters: tuple[ParameterSpec, ...]
    outputs: tuple[OutputSpec, ...]
    # The template's own description, a summary until the instructor writes one.
    summary: str | None
    # Linter warnings and what the form leaves to the engine (a Terraform validation it cannot
    # read, a variable it cannot fill): shown to the instructor, never a refusal.
    findings: tuple[str, ...]
    # The Terraform variables among region and tags the module declares (the portal sets them).
    portal_variables: tuple[str, ...]


class InvalidTemplateError(ValidationError):
    """An upload the portal refuses, in the words of what refused it (cfn-lint, python-hcl2,
    `terraform fmt`, the checks of the upload itself), by field: source, template, parameters."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__(field_errors)
        summary = "; ".join(f"{name}: {message}" for name, message in self.field_errors.items())
        self.args = (_("template refused: {summary}").format(summary=summary),)
