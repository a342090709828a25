"""The template catalog: each folder of `infra_templates/` with a `template.yaml` manifest, and
the templates instructors imported (services/template_library.py), read from the history
database and written out once per version under `<data_dir>/templates/`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.data_dir import ensure_private_dir, private_opener
from services.engines.base import EngineName
from services.errors import UnknownTemplateError
from services.i18n import DEFAULT_LOCALE, _, current_locale

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

# number: any decimal (CloudFormation's Number, Terraform's number); list: several strings or
# numbers (CommaDelimitedList, List<Number>, list(string)); aws: the id of something that exists
# in the target cloud (a VPC, a subnet, a key pair, an SSM parameter), picked from it.
ParameterType = Literal["string", "integer", "boolean", "cidr", "number", "list", "aws"]

# Parameter and output names are Terraform identifiers; the CloudFormation name is their PascalCase.
SNAKE_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# A name that keeps its template's own spelling (an imported template's `InstanceType` or
# `db-password`): a CloudFormation parameter key or a Terraform variable name.
NATIVE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")


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
    # What a value that does not match `pattern` is told (CloudFormation's
    # ConstraintDescription, a Terraform validation's error_message); None: the pattern itself.
    pattern_message: str | None = None
    max_length: int | None = Field(default=None, gt=0)
    min_length: int | None = Field(default=None, ge=0)
    min: int | float | None = None
    max: int | float | None = None
    within: str | None = None
    # Integer parameters this one must not exceed (at_most) or fall below (at_least), e.g. an
    # Auto Scaling group's min_size <= desired_capacity <= max_size. A name or a list of names;
    # AWS refuses the launch otherwise, minutes in, so validation refuses it before.
    at_most: tuple[str, ...] = ()
    at_least: tuple[str, ...] = ()
    advanced: bool = False
    # The CloudFormation parameter key when it is not the PascalCase of `name` (an imported
    # template's parameters keep their own names on every side).
    cfn_key: str | None = None
    # type aws: the CloudFormation type it stands for (`AWS::EC2::VPC::Id`,
    # `List<AWS::EC2::Subnet::Id>`, `AWS::SSM::Parameter::Value<String>`).
    aws_type: str | None = None
    # type list: what each item is.
    item_type: Literal["string", "number"] | None = None
    # A password or key (CloudFormation's NoEcho, Terraform's `sensitive`): never stored in the
    # history database, never shown in rendered code (services/render_service.py).
    secret: bool = False

    @model_validator(mode="after")
    def _name(self) -> ParameterSpec:
        # The CloudFormation key is derived from a name without one of its own, so that name
        # must be snake_case; a name that brings its key keeps its template's spelling.
        if self.cfn_key is None and not SNAKE_NAME.match(self.name):
            raise ValueError(f"parameter name {self.name!r} is not snake_case")
        if self.cfn_key is not None and not (NATIVE_NAME.match(self.name)
                                             and NATIVE_NAME.match(self.cfn_key)):
            raise ValueError(f"parameter name {self.name!r} is not an identifier")
        if (self.type == "aws") != (self.aws_type is not None):
            raise ValueError(f"{self.name}: aws_type goes with type aws, and only with it")
        if (self.type == "list") != (self.item_type is not None):
            raise ValueError(f"{self.name}: item_type goes with type list, and only with it")
        return self

    @field_validator("default", mode="after")
    @classmethod
    def _hashable(cls, value: Any) -> Any:
        # Manifests are hashed (the advisor keys its reports by them): a list default is kept
        # as a tuple.
        return tuple(value) if isinstance(value, list) else value

    @property
    def is_list(self) -> bool:
        """Whether a value is several items (type list, or an AWS `List<...>` type)."""
        return self.type == "list" or (self.aws_type or "").startswith("List<")

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
        return self.cfn_key or pascal_case(self.name)


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    kind: Literal["url", "text"] = "text"
    cfn_key: str | None = None

    @property
    def cfn_name(self) -> str:
        return self.cfn_key or pascal_case(self.name)


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
    # The Terraform variables the portal sets itself in terraform.tfvars (render_service): the
    # built-in modules declare both; an imported module only those it declares.
    portal_variables: tuple[Literal["region", "tags"], ...] = ("region", "tags")
    # Set by the loader, not the manifest author.
    folder: Path = Field(default=Path("."), exclude=True)
    # An imported template's version (None: a built-in), the courses it is assigned to (None:
    # every course, as built-ins are), and whether it is retired (no new launches).
    version: int | None = Field(default=None, exclude=True)
    courses: tuple[str, ...] | None = Field(default=None, exclude=True)
    retired: bool = Field(default=False, exclude=True)

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

    @property
    def imported(self) -> bool:
        return self.version is not None

    def offered_in(self, course_id: str) -> bool:
        """Whether students of `course_id` are offered it (the course's own template list is
        checked on top, by services/limits.py)."""
        return not self.retired and (self.courses is None or course_id in self.courses)


def localized(manifest: TemplateManifest) -> TemplateManifest:
    """`manifest` with the text a student reads (title, summary, learning goals, parameter
    descriptions and messages, output labels) in the current language (services/i18n.py).

    Built-in templates are translated through the `templates` catalog; an imported template's
    text is its instructor's and is shown as written. Rendering and validation keep using the
    manifest itself, so the code a student reads does not change with the language."""
    if manifest.imported or current_locale() == DEFAULT_LOCALE:
        return manifest
    parameters = tuple(
        p.model_copy(update={
            "description": _(p.description) if p.description else p.description,
            "pattern_message": _(p.pattern_message) if p.pattern_message else None})
        for p in manifest.parameters)
    outputs = tuple(o.model_copy(update={"label": _(o.label)}) for o in manifest.outputs)
    return manifest.model_copy(update={
        "title": _(manifest.title), "summary": _(manifest.summary),
        "learning_goals": tuple(_(goal) for goal in manifest.learning_goals),
        "parameters": parameters, "outputs": outputs})


# -- imported templates ---------------------------------------------------------------------------
CLOUDFORMATION_FILE = "cloudformation.yaml"
TERRAFORM_FOLDER = "terraform"


def source_files(engine: EngineName, source: str) -> dict[str, str]:
    """A stored source as the files of a template folder: `cloudformation.yaml`, or the module
    under `terraform/`."""
    if engine is EngineName.CLOUDFORMATION:
        return {CLOUDFORMATION_FILE: source}
    return {f"{TERRAFORM_FOLDER}/{path}": text for path, text in json.loads(source).items()}


def source_digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def materialise(root: Path, *, template_id: str, version: int, digest: str, engine: EngineName,
                source: Callable[[], str]) -> Path:
    """The folder holding version `version` of `template_id`, written once (private, as
    everything in the data directory) from `source()`, which is only called when it is missing.

    Written beside it and renamed into place, so a process that finds the folder finds it
    whole; two processes writing it at once both succeed and one copy stays.
    """
    parent = ensure_private_dir(ensure_private_dir(root) / template_id)
    folder = parent / f"v{version}-{digest[:12]}"
    if folder.is_dir():
        return folder
    scratch = ensure_private_dir(parent / f".v{version}-{uuid.uuid4().hex[:8]}")
    try:
        for relative, text in source_files(engine, source()).items():
            target = scratch / relative
            ensure_private_dir(target.parent)
            with open(target, "w", encoding="utf-8", opener=private_opener) as handle:
                handle.write(text)
        try:
            os.rename(scratch, folder)
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


@dataclass(frozen=True)
class _Imported:
    """One imported template as the catalog keeps it: its current version's manifest."""

    manifest: TemplateManifest
    revision: int


class ImportedTemplates:
    """The imported templates of the history database, as manifests whose folder is their
    version's source written out under `root` (`<data_dir>/templates/<id>/v<N>-<digest>/`).

    The Launch page asks for the templates on every rerun, so they are kept in memory. A change
    made through this process (services/template_library.py) drops them at once; one made by
    another process (the CLI, another portal) is noticed by a one-row query at most every
    `recheck_s` seconds, which compares the rows' count and revisions.
    """

    def __init__(self, *, sessions: Callable[[], sessionmaker[Session]], root: Path,
                 recheck_s: float = 2.0) -> None:
        self._sessions = sessions
        self.root = root
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._current: dict[str, _Imported] | None = None
        self._generation: tuple[int, int] | None = None
        self._checked_at = 0.0
        # Versions are never changed once stored: each is built once per process.
        self._versions: dict[tuple[str, int], TemplateManifest] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._current = None
            self._checked_at = 0.0

    def _generation_now(self, session: Session) -> tuple[int, int]:
        from sqlalchemy import func, select

        from services.history.models import ImportedTemplate

        count, revisions = session.execute(
            select(func.count(), func.coalesce(func.sum(ImportedTemplate.revision), 0))
            .select_from(ImportedTemplate)).one()
        return int(count), int(revisions)

    def current(self) -> dict[str, TemplateManifest]:
        """Every imported template's current version, retired ones included, by id."""
        with self._lock:
            now = time.monotonic()
            if self._current is not None and now - self._checked_at < self.recheck_s:
                return {k: v.manifest for k, v in self._current.items()}
            with self._sessions()() as session:
                generation = self._generation_now(session)
                if self._current is None or generation != self._generation:
                    self._current = self._load(session)
                    self._generation = generation
            self._checked_at = now
            return {k: v.manifest for k, v in self._current.items()}

    def _load(self, session: Session) -> dict[str, _Imported]:
        from sqlalchemy import select

        from services.history.models import ImportedTemplate

        loaded: dict[str, _Imported] = {}
        for row in session.scalars(select(ImportedTemplate).order_by(ImportedTemplate.id)):
            manifest = self._manifest(session, row, row.current_version)
            loaded[row.id] = _Imported(manifest=manifest, revision=row.revision)
        return loaded

    def version(self, template_id: str, version: int) -> TemplateManifest | None:
        """Version `version` of `template_id` (any version, the current one too), with the
        template's details as they are now; None when there is no such version."""
        from services.history.models import ImportedTemplate

        with self._lock:
            with self._sessions()() as session:
                row = session.get(ImportedTemplate, template_id)
                if row is None:
                    return None
                return self._manifest(session, row, version)

    def _manifest(self, session: Session, row: Any, version: int) -> TemplateManifest | None:
        from sqlalchemy import select
        from sqlalchemy.orm import defer

        from services.history.models import ImportedTemplateVersion

        key = (row.id, version)
        base = self._versions.get(key)
        if base is None:
            stored = session.scalars(
                select(ImportedTemplateVersion)
                .where(ImportedTemplateVersion.template_id == row.id,
                       ImportedTemplateVersion.version == version)
                .options(defer(ImportedTemplateVersion.source))).one_or_none()
            if stored is None:
                return None
            engine = EngineName(row.engine)
            folder = materialise(self.root, template_id=row.id, version=version,
                                 digest=stored.source_sha256, engine=engine,
                                 source=lambda: stored.source)
            base = TemplateManifest.model_validate(
                {**stored.manifest, "id": row.id, "title": row.title,
                 "summary": row.summary or "", "folder": folder, "version": version})
            self._versions[key] = base
        # Details (title, summary, goals, courses, retired) are the template's, not a
        # version's: they are applied to whichever version is asked for.
        return base.model_copy(update={
            "title": row.title, "summary": row.summary,
            "learning_goals": tuple(row.learning_goals or ()),
            "courses": tuple(row.courses or ()), "retired": row.retired_at is not None})


class Catalog:
    """The built-in templates of one folder, loaded once (files are read again only through
    `reload`), and with `imported` the templates instructors imported.

    `all_templates` is what may be launched now: built-ins and imported templates that are not
    retired. `get_template` also finds a retired template, and any version of an imported one,
    for the environments launched from it.
    """

    def __init__(self, templates_dir: Path, *, imported: ImportedTemplates | None = None) -> None:
        self.templates_dir = templates_dir
        self.imported = imported
        self._lock = threading.Lock()
        self._manifests: dict[str, TemplateManifest] | None = None
        self._cloudformation_text: dict[tuple[str, int | None], str] = {}

    def _load(self) -> dict[str, TemplateManifest]:
        manifests: dict[str, TemplateManifest] = {}
        for manifest_path in sorted(self.templates_dir.glob("*/template.yaml")):
            raw = yaml.safe_load(manifest_path.read_text())
            manifest = TemplateManifest.model_validate({**raw, "folder": manifest_path.parent})
            if manifest.id != manifest_path.parent.name:
                raise ValueError(f"{manifest_path}: id {manifest.id!r} differs from its folder")
            manifests[manifest.id] = manifest
        return manifests

    def built_in_templates(self) -> list[TemplateManifest]:
        with self._lock:
            if self._manifests is None:
                self._manifests = self._load()
            return list(self._manifests.values())

    def _imported_current(self) -> dict[str, TemplateManifest]:
        if self.imported is None:
            return {}
        built_in = {t.id for t in self.built_in_templates()}
        # A built-in template added later under an imported one's id wins: the folder is what
        # the operator deployed.
        return {k: v for k, v in self.imported.current().items() if k not in built_in}

    def all_templates(self) -> list[TemplateManifest]:
        """The templates that may be launched: built-ins first, then imported ones by id."""
        return self.built_in_templates() + [
            t for t in self._imported_current().values() if not t.retired]

    def templates_for_course(self, course_id: str) -> list[TemplateManifest]:
        """What students of `course_id` are offered: every built-in, and the imported templates
        assigned to it (the course's own template list narrows this further)."""
        return [t for t in self.all_templates() if t.offered_in(course_id)]

    def get_template(self, template_id: str, version: int | None = None) -> TemplateManifest:
        """A template by id, retired ones too; `version` picks an imported template's version
        (None: its current one; a built-in has none)."""
        for manifest in self.built_in_templates():
            if manifest.id == template_id:
                return manifest
        imported = self._imported_current()
        found = imported.get(template_id)
        if found is not None and version is not None and version != found.version:
            found = self.imported.version(template_id, version) if self.imported else None
        if found is None:
            known = sorted({t.id for t in self.all_templates()})
            raise UnknownTemplateError(
                template_id if version is None else f"{template_id} version {version}", known)
        return found

    def cloudformation_text(self, template_id: str, version: int | None = None) -> str:
        """The template's CloudFormation; empty for a template deployed by Terraform only."""
        manifest = self.get_template(template_id, version)
        key = (template_id, manifest.version)
        text = self._cloudformation_text.get(key)
        if text is None:
            text = (manifest.cloudformation_path.read_text()
                    if EngineName.CLOUDFORMATION in manifest.engines else "")
            self._cloudformation_text[key] = text
        return text

    def invalidate_imported(self) -> None:
        """Forget the imported templates: one was imported, changed or retired just now."""
        if self.imported is not None:
            self.imported.invalidate()

    def reload(self) -> None:
        with self._lock:
            self._manifests = None
            self._cloudformation_text.clear()
        self.invalidate_imported()
