"""The template catalog: each folder of `infra_templates/` with a `template.yaml` manifest."""

from __future__ import annotations

import ipaddress
import re
import threading
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.engines.base import EngineName
from services.errors import UnknownTemplateError

ParameterType = Literal["string", "integer", "boolean", "cidr"]

# Parameter and output names are Terraform identifiers; the CloudFormation name is their PascalCase.
SNAKE_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def pascal_case(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


class ParameterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: ParameterType
    default: Any
    description: str
    allowed: tuple[Any, ...] | None = None
    pattern: str | None = None
    max_length: int | None = Field(default=None, gt=0)
    min: int | None = None
    max: int | None = None
    within: str | None = None
    # Integer parameters this one must not exceed (at_most) or fall below (at_least), e.g. an
    # Auto Scaling group's min_size <= desired_capacity <= max_size. A name or a list of names;
    # AWS refuses the launch otherwise, minutes in, so validation refuses it before.
    at_most: tuple[str, ...] = ()
    at_least: tuple[str, ...] = ()
    advanced: bool = False

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        if not SNAKE_NAME.match(value):
            raise ValueError(f"parameter name {value!r} is not snake_case")
        return value

    @field_validator("at_most", "at_least", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # `at_most: max_size` reads better in a manifest than a one-item list.
        return (value,) if isinstance(value, str) else value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @property
    def cfn_name(self) -> str:
        return pascal_case(self.name)


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    kind: Literal["url", "text"] = "text"

    @property
    def cfn_name(self) -> str:
        return pascal_case(self.name)


class TemplateManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    summary: str
    learning_goals: tuple[str, ...] = ()
    parameters: tuple[ParameterSpec, ...]
    outputs: tuple[OutputSpec, ...]
    # The engines that can deploy it, first the default; its folder holds each one's code
    # (cloudformation.yaml, terraform/).
    engines: tuple[EngineName, ...] = (EngineName.CLOUDFORMATION, EngineName.TERRAFORM)
    # Set by the loader, not the manifest author.
    folder: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _references(self) -> TemplateManifest:
        names = {p.name for p in self.parameters}
        if len(names) != len(self.parameters):
            raise ValueError("duplicate parameter names")
        for parameter in self.parameters:
            if parameter.within and parameter.within not in names:
                raise ValueError(f"{parameter.name}: 'within' names unknown {parameter.within!r}")
            if parameter.type == "cidr" and parameter.default is not None:
                ipaddress.ip_network(parameter.default, strict=True)
            for key, others in (("at_most", parameter.at_most), ("at_least", parameter.at_least)):
                for other in others:
                    if other not in names:
                        raise ValueError(f"{parameter.name}: {key!r} names unknown {other!r}")
                    if other == parameter.name:
                        raise ValueError(f"{parameter.name}: {key!r} names the parameter itself")
                    if parameter.type != "integer" or self.parameter(other).type != "integer":
                        raise ValueError(f"{parameter.name}: {key!r} {other!r} compares "
                                         f"integer parameters only")
        if not self.engines or len(set(self.engines)) != len(self.engines):
            raise ValueError("engines: list each engine once, at least one")
        return self

    @property
    def orderings(self) -> list[tuple[str, str]]:
        """(lower, upper) pairs of parameters where lower <= upper must hold, each once,
        whichever side declared it (`at_most` on the lower or `at_least` on the upper)."""
        pairs: list[tuple[str, str]] = []
        for parameter in self.parameters:
            declared = [(parameter.name, other) for other in parameter.at_most] + \
                [(other, parameter.name) for other in parameter.at_least]
            pairs.extend(pair for pair in declared if pair not in pairs)
        return pairs

    def parameter(self, name: str) -> ParameterSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def cloudformation_path(self) -> Path:
        return self.folder / "cloudformation.yaml"

    @property
    def terraform_dir(self) -> Path:
        return self.folder / "terraform"

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}


class Catalog:
    """The templates of one folder, loaded once; files are read again only through `reload`."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._lock = threading.Lock()
        self._manifests: dict[str, TemplateManifest] | None = None
        self._cloudformation_text: dict[str, str] = {}

    def _load(self) -> dict[str, TemplateManifest]:
        manifests: dict[str, TemplateManifest] = {}
        for manifest_path in sorted(self.templates_dir.glob("*/template.yaml")):
            raw = yaml.safe_load(manifest_path.read_text())
            manifest = TemplateManifest.model_validate({**raw, "folder": manifest_path.parent})
            if manifest.id != manifest_path.parent.name:
                raise ValueError(f"{manifest_path}: id {manifest.id!r} differs from its folder")
            manifests[manifest.id] = manifest
        return manifests

    def all_templates(self) -> list[TemplateManifest]:
        with self._lock:
            if self._manifests is None:
                self._manifests = self._load()
            return list(self._manifests.values())

    def get_template(self, template_id: str) -> TemplateManifest:
        templates = {t.id: t for t in self.all_templates()}
        try:
            return templates[template_id]
        except KeyError:
            raise UnknownTemplateError(template_id, sorted(templates)) from None

    def cloudformation_text(self, template_id: str) -> str:
        """The template's CloudFormation; empty for a template deployed by Terraform only."""
        text = self._cloudformation_text.get(template_id)
        if text is None:
            manifest = self.get_template(template_id)
            text = (manifest.cloudformation_path.read_text()
                    if EngineName.CLOUDFORMATION in manifest.engines else "")
            self._cloudformation_text[template_id] = text
        return text

    def reload(self) -> None:
        with self._lock:
            self._manifests = None
            self._cloudformation_text.clear()
