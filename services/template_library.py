"""Templates instructors bring: import a CloudFormation template or a Terraform module, edit its
details, assign it to courses, replace it with a new version, retire it.

Imported templates live in the history database, every version with its source
(`imported_template`, `imported_template_version`); the catalog serves each version like a
built-in template (services/catalog_service.py), and an environment keeps the version it was
launched from. Students are offered an imported template only in the courses it is assigned to.

Who may do what: instructors import; a template is changed by who imported it, by an instructor
of a course it is assigned to, or by an admin; a course is assigned or unassigned only by an
instructor who teaches it (admins teach every course). Every change is audited, every refusal
too. Versions are added by a compare-and-set on the current version, so of two uploads at once
exactly one becomes the next version and the other is told to look again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import audit, courses
from services.audit import Action, Outcome
from services.catalog_service import TemplateManifest, source_digest
from services.clouds.aws_calls import AWS_ERRORS, cloud_error, paginate
from services.context import PortalContext
from services.engines.base import EngineName
from services.errors import InvalidStateError, PermissionDeniedError, PortalError, ValidationError
from services.history.models import ImportedTemplate as TemplateRow
from services.history.models import ImportedTemplateVersion as VersionRow
from services.history.models import utcnow
from services.i18n import _
from services.identity import NAME_PATTERN, Actor
from services.template_import import Derived, InvalidTemplateError, TemplateSource, check

__all__ = ["ImportedTemplate", "PickerChoice", "TemplateSource", "TemplateVersion",
           "UNCHANGED", "add_version", "assign_courses", "get_template", "import_template",
           "list_templates", "picker_choices", "retire", "update_details", "version_source"]

MAX_TITLE = 200
MAX_SUMMARY = 2000
MAX_GOALS = 12
MAX_GOAL = 300


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()
"""`update_details`' default for a detail that stays as it is."""


# -- views ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TemplateVersion:
    number: int
    uploaded_by: str
    uploaded_at: datetime
    # cfn-lint's warnings and what the form leaves to the engine; none refused the upload.
    findings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"version": self.number, "uploaded_by": self.uploaded_by,
                "uploaded_at": self.uploaded_at.isoformat(), "findings": list(self.findings)}


@dataclass(frozen=True)
class ImportedTemplate:
    id: str
    title: str
    summary: str
    learning_goals: tuple[str, ...]
    engine: EngineName
    courses: tuple[str, ...]
    current_version: int
    versions: tuple[TemplateVersion, ...]
    retired: bool
    created_by: str
    created_at: datetime
    # The current version's manifest: its launch form and outputs, as students get them.
    manifest: TemplateManifest
    retired_at: datetime | None = None

    @property
    def findings(self) -> tuple[str, ...]:
        """What the checks noticed about the current version."""
        return next((v.findings for v in self.versions if v.number == self.current_version), ())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "summary": self.summary,
            "learning_goals": list(self.learning_goals), "engine": self.engine.value,
            "courses": list(self.courses), "current_version": self.current_version,
            "retired": self.retired,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "created_by": self.created_by, "created_at": self.created_at.isoformat(),
            "versions": [v.to_json() for v in self.versions],
            "parameters": [{"name": p.name, "type": p.type, "default": p.default,
                            "description": p.description, "secret": p.secret,
                            **({"aws_type": p.aws_type} if p.aws_type else {}),
                            **({"allowed": list(p.allowed)} if p.allowed else {})}
                           for p in self.manifest.parameters],
            "outputs": [o.name for o in self.manifest.outputs],
        }


@dataclass(frozen=True)
class PickerChoice:
    """One thing of the target cloud a parameter of an AWS type may name."""

    value: str
    label: str


# -- checks ---------------------------------------------------------------------------------------
def _refuse(ctx: PortalContext, actor: Actor, action: Action, template_id: str | None,
            exc: PortalError, course: str | None = None) -> None:
    audit.record_now(ctx, actor=actor.name, action=action, outcome=Outcome.REFUSED,
                     course_id=course, target=template_id, detail=str(exc))


def _require_instructor(actor: Actor) -> None:
    if not actor.is_instructor:
        raise PermissionDeniedError(_("templates: only instructors may import and change "
                                      "templates"))


def _may_change(actor: Actor, row: TemplateRow) -> None:
    _require_instructor(actor)
    if actor.is_admin or actor.courses_taught is None or row.created_by == actor.name:
        return
    if any(actor.teaches(course) for course in row.courses or ()):
        return
    raise PermissionDeniedError(
        _("templates: {template} is changed by who imported it ({importer}), an instructor "
          "of a course it is assigned to, or an admin").format(template=row.id,
                                                               importer=row.created_by))


def _text(value: Any, *, field: str, limit: int, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError({field: _("must not be empty")})
    if len(text) > limit:
        raise ValidationError({field: _("at most {limit} characters").format(limit=limit)})
    return text


def _goals(values: Iterable[str] | None) -> list[str]:
    goals = [str(g).strip() for g in values or () if str(g).strip()]
    if len(goals) > MAX_GOALS:
        raise ValidationError({"learning_goals": _("at most {count} goals").format(
            count=MAX_GOALS)})
    if any(len(g) > MAX_GOAL for g in goals):
        raise ValidationError({"learning_goals": _("each goal at most {limit} characters")
                               .format(limit=MAX_GOAL)})
    return goals


def _courses(ctx: PortalContext, session: Session, values: Iterable[str]) -> list[str]:
    chosen = sorted({str(c).strip() for c in values if str(c).strip()})
    unknown = [c for c in chosen if courses.policy_in(session, ctx, c) is None]
    if unknown:
        raise ValidationError({"courses": _("no course named {course}").format(
            course=", ".join(unknown))})
    return chosen


def _require_taught(actor: Actor, changed: Iterable[str]) -> None:
    foreign = sorted(c for c in changed if not actor.teaches(c))
    if foreign:
        raise PermissionDeniedError(
            _("templates: only an instructor of {courses} (or an admin) may assign templates "
              "to it or take them away").format(courses=", ".join(foreign)))


def _template_id(ctx: PortalContext, template_id: str) -> str:
    if not NAME_PATTERN.match(template_id or ""):
        raise ValidationError({"id": _("use 1-64 letters, digits, dots, dashes or "
                                       "underscores, starting with a letter or digit")})
    if template_id in {t.id for t in ctx.catalog.built_in_templates()}:
        raise ValidationError({"id": _("{template} is a built-in template: choose another id")
                               .format(template=template_id)})
    return template_id


def _manifest_data(derived: Derived, *, template_id: str, engine: EngineName
                   ) -> dict[str, Any]:
    """What a version stores of its manifest: the form, the outputs and the engine. Validated
    here as the catalog will load it, so a stored version always loads."""
    manifest = TemplateManifest.model_validate({
        "id": template_id, "title": template_id, "summary": "",
        "parameters": derived.parameters, "outputs": derived.outputs, "engines": (engine,),
        "portal_variables": derived.portal_variables})
    return manifest.model_dump(mode="json", exclude_defaults=True,
                               include={"parameters", "outputs", "engines", "portal_variables"})


def _checked(ctx: PortalContext, source: TemplateSource, template_id: str
             ) -> tuple[Derived, dict[str, Any]]:
    derived = check(source, settings=ctx.settings)
    try:
        data = _manifest_data(derived, template_id=template_id, engine=source.engine)
    except ValueError as exc:
        raise InvalidTemplateError({"parameters": str(exc).splitlines()[0]}) from None
    return derived, data


def _version_row(*, template_id: str, version: int, source: TemplateSource,
                 derived: Derived, manifest: dict[str, Any], actor: Actor,
                 at: datetime) -> VersionRow:
    stored = source.stored()
    return VersionRow(template_id=template_id, version=version, source=stored,
                      source_sha256=source_digest(stored), manifest=manifest,
                      findings=list(derived.findings), uploaded_by=actor.name, uploaded_at=at)


def _view(ctx: PortalContext, session: Session, row: TemplateRow) -> ImportedTemplate:
    versions = session.execute(
        select(VersionRow.version, VersionRow.uploaded_by, VersionRow.uploaded_at,
               VersionRow.findings)
        .where(VersionRow.template_id == row.id).order_by(VersionRow.version)).all()
    manifest = ctx.catalog.get_template(row.id, row.current_version)
    return ImportedTemplate(
        id=row.id, title=row.title, summary=row.summary or "",
        learning_goals=tuple(row.learning_goals or ()), engine=EngineName(row.engine),
        courses=tuple(row.courses or ()), current_version=row.current_version,
        versions=tuple(TemplateVersion(v.version, v.uploaded_by, v.uploaded_at,
                                       tuple(v.findings or ())) for v in versions),
        retired=row.retired_at is not None, retired_at=row.retired_at,
        created_by=row.created_by, created_at=row.created_at, manifest=manifest)


def _row(session: Session, template_id: str) -> TemplateRow:
    row = session.get(TemplateRow, template_id)
    if row is None:
        raise ValidationError({"id": _("no imported template {template!r}").format(
            template=template_id)})
    return row


def _fresh_view(ctx: PortalContext, template_id: str) -> ImportedTemplate:
    ctx.catalog.invalidate_imported()
    with ctx.sessions() as session:
        return _view(ctx, session, _row(session, template_id))


# -- changes --------------------------------------------------------------------------------------
def import_template(ctx: PortalContext, *, actor: Actor, source: TemplateSource,
                    template_id: str, title: str | None = None, summary: str | None = None,
                    learning_goals: Sequence[str] = (), courses: Sequence[str] = ()
                    ) -> ImportedTemplate:
    """A new imported template at version 1. Its title defaults to its id and its summary to
    the template's own description. Refused (ValidationError) with the linter's, the parser's or
    `terraform fmt`'s message when the source does not pass its checks."""
    try:
        _require_instructor(actor)
        template_id = _template_id(ctx, template_id)
        title_text = _text(title or template_id, field="title", limit=MAX_TITLE, required=True)
        goals = _goals(learning_goals)
        with ctx.sessions() as session:
            chosen = _courses(ctx, session, courses)
            if session.get(TemplateRow, template_id) is not None:
                raise ValidationError({"id": _("{template} exists already: add a version to it "
                                               "instead").format(template=template_id)})
        _require_taught(actor, chosen)
        derived, manifest = _checked(ctx, source, template_id)
        summary_text = _text(summary if summary is not None else derived.summary,
                             field="summary", limit=MAX_SUMMARY)
        now = utcnow()
        try:
            with ctx.sessions() as session, session.begin():
                session.add(TemplateRow(
                    id=template_id, title=title_text, summary=summary_text,
                    learning_goals=goals, engine=source.engine.value, courses=chosen,
                    created_by=actor.name, created_at=now, current_version=1, revision=1))
                session.flush()
                session.add(_version_row(template_id=template_id, version=1, source=source,
                                         derived=derived, manifest=manifest, actor=actor,
                                         at=now))
                audit.record(session, actor=actor.name, action=Action.TEMPLATE_IMPORT,
                             target=template_id, at=now,
                             detail=f"{source.engine.label} from {source.name}"
                                    + (f", for {', '.join(chosen)}" if chosen else ""))
        except IntegrityError:
            raise ValidationError({"id": _("{template} exists already: add a version to it "
                                           "instead").format(template=template_id)}) from None
    except (PermissionDeniedError, ValidationError) as exc:
        _refuse(ctx, actor, Action.TEMPLATE_IMPORT, template_id, exc)
        raise
    return _fresh_view(ctx, template_id)


def add_version(ctx: PortalContext, *, actor: Actor, template_id: str,
                source: TemplateSource) -> ImportedTemplate:
    """Replace the template with a new version. Environments running keep the version they were
    launched from; new launches get this one."""
    try:
        with ctx.sessions() as session:
            row = _row(session, template_id)
            _may_change(actor, row)
            if row.retired_at is not None:
                raise InvalidStateError(_("templates: {template} is retired; import the new "
                                          "source under a new id").format(template=template_id))
            if EngineName(row.engine) is not source.engine:
                raise ValidationError({"source": _(
                    "{template} is deployed with {engine}; a new version must be too, not "
                    "{other}").format(template=template_id, engine=EngineName(row.engine).label,
                                      other=source.engine.label)})
            seen = row.current_version
        derived, manifest = _checked(ctx, source, template_id)
        now = utcnow()
        try:
            with ctx.sessions() as session, session.begin():
                moved = session.execute(
                    update(TemplateRow)
                    .where(TemplateRow.id == template_id, TemplateRow.current_version == seen,
                           TemplateRow.retired_at.is_(None))
                    .values(current_version=seen + 1, revision=TemplateRow.revision + 1)
                    .execution_options(synchronize_session=False)).rowcount
                if moved != 1:
                    raise _moved_on(template_id)
                session.add(_version_row(template_id=template_id, version=seen + 1,
                                         source=source, derived=derived, manifest=manifest,
                                         actor=actor, at=now))
                audit.record(session, actor=actor.name, action=Action.TEMPLATE_VERSION,
                             target=template_id, at=now,
                             detail=f"version {seen + 1} from {source.name}")
        except IntegrityError:
            raise _moved_on(template_id) from None
    except (PermissionDeniedError, ValidationError, InvalidStateError) as exc:
        _refuse(ctx, actor, Action.TEMPLATE_VERSION, template_id, exc)
        raise
    return _fresh_view(ctx, template_id)


def _moved_on(template_id: str) -> InvalidStateError:
    return InvalidStateError(_("templates: {template} changed a moment ago (another version "
                               "was added, or it was retired); look again and retry").format(
        template=template_id))


def update_details(ctx: PortalContext, *, actor: Actor, template_id: str,
                   title: Any = UNCHANGED, summary: Any = UNCHANGED,
                   learning_goals: Any = UNCHANGED) -> ImportedTemplate:
    """Change what students read about the template; a detail left UNCHANGED stays."""
    try:
        changes: dict[str, Any] = {}
        if title is not UNCHANGED:
            changes["title"] = _text(title, field="title", limit=MAX_TITLE, required=True)
        if summary is not UNCHANGED:
            changes["summary"] = _text(summary, field="summary", limit=MAX_SUMMARY)
        if learning_goals is not UNCHANGED:
            changes["learning_goals"] = _goals(learning_goals)
        with ctx.sessions() as session, session.begin():
            row = _row(session, template_id)
            _may_change(actor, row)
            if changes:
                # The details are set whole, so the last of two edits wins as a whole; the
                # revision still moves, for the catalogs of other processes.
                session.execute(update(TemplateRow).where(TemplateRow.id == template_id)
                                .values(**changes, revision=TemplateRow.revision + 1)
                                .execution_options(synchronize_session=False))
                audit.record(session, actor=actor.name, action=Action.TEMPLATE_UPDATE,
                             target=template_id, detail="changed " + ", ".join(sorted(changes)))
    except (PermissionDeniedError, ValidationError) as exc:
        _refuse(ctx, actor, Action.TEMPLATE_UPDATE, template_id, exc)
        raise
    return _fresh_view(ctx, template_id)


def assign_courses(ctx: PortalContext, *, actor: Actor, template_id: str,
                   courses: Sequence[str]) -> ImportedTemplate:
    """The courses whose students are offered the template, from now on exactly `courses`.
    Every course added or taken away must be one the actor teaches."""
    try:
        with ctx.sessions() as session:
            row = _row(session, template_id)
            _require_instructor(actor)
            chosen = _courses(ctx, session, courses)
            before, revision = set(row.courses or ()), row.revision
        changed = before.symmetric_difference(chosen)
        _require_taught(actor, changed)
        if changed:
            with ctx.sessions() as session, session.begin():
                moved = session.execute(
                    update(TemplateRow)
                    .where(TemplateRow.id == template_id, TemplateRow.revision == revision)
                    .values(courses=chosen, revision=revision + 1)
                    .execution_options(synchronize_session=False)).rowcount
                if moved != 1:
                    raise _moved_on(template_id)
                for course in sorted(changed):
                    audit.record(session, actor=actor.name, action=Action.TEMPLATE_ASSIGN,
                                 course_id=course, target=template_id,
                                 detail=("assigned to " if course in chosen else
                                         "taken away from ") + course)
    except (PermissionDeniedError, ValidationError, InvalidStateError) as exc:
        _refuse(ctx, actor, Action.TEMPLATE_ASSIGN, template_id, exc)
        raise
    return _fresh_view(ctx, template_id)


def retire(ctx: PortalContext, *, actor: Actor, template_id: str) -> ImportedTemplate:
    """No new launches of the template; environments launched from it keep running, and their
    version stays readable for their outputs and their destroy."""
    try:
        with ctx.sessions() as session, session.begin():
            row = _row(session, template_id)
            _may_change(actor, row)
            moved = session.execute(
                update(TemplateRow)
                .where(TemplateRow.id == template_id, TemplateRow.retired_at.is_(None))
                .values(retired_at=utcnow(), revision=TemplateRow.revision + 1)
                .execution_options(synchronize_session=False)).rowcount
            if moved != 1:
                raise InvalidStateError(_("templates: {template} is retired already").format(
                    template=template_id))
            audit.record(session, actor=actor.name, action=Action.TEMPLATE_RETIRE,
                         target=template_id)
    except (PermissionDeniedError, ValidationError, InvalidStateError) as exc:
        _refuse(ctx, actor, Action.TEMPLATE_RETIRE, template_id, exc)
        raise
    return _fresh_view(ctx, template_id)


# -- reading --------------------------------------------------------------------------------------
def list_templates(ctx: PortalContext, *, actor: Actor) -> list[ImportedTemplate]:
    """Every imported template, retired ones too, for instructors. What students are offered
    is the catalog's (`Catalog.templates_for_course`)."""
    _require_instructor(actor)
    with ctx.sessions() as session:
        rows = session.scalars(select(TemplateRow).order_by(TemplateRow.id)).all()
        return [_view(ctx, session, row) for row in rows]


def get_template(ctx: PortalContext, *, actor: Actor, template_id: str) -> ImportedTemplate:
    _require_instructor(actor)
    with ctx.sessions() as session:
        return _view(ctx, session, _row(session, template_id))


def version_source(ctx: PortalContext, *, actor: Actor, template_id: str,
                   version: int | None = None) -> TemplateSource:
    """The source of a version (the current one by default), as it was uploaded."""
    _require_instructor(actor)
    with ctx.sessions() as session:
        row = _row(session, template_id)
        number = version or row.current_version
        stored = session.get(VersionRow, (template_id, number))
        if stored is None:
            raise ValidationError({"version": _("{template} has no version {number}").format(
                template=template_id, number=number)})
        engine = EngineName(row.engine)
        if engine is EngineName.CLOUDFORMATION:
            return TemplateSource.cloudformation(stored.source, name=f"{template_id}-v{number}")
        return TemplateSource.terraform(json.loads(stored.source),
                                        name=f"{template_id}-v{number}")


# -- pickers --------------------------------------------------------------------------------------
def _named(tags: Any, fallback: str) -> str:
    name = next((t.get("Value") for t in tags or () if t.get("Key") == "Name"), None)
    return f"{fallback} ({name})" if name else fallback


def picker_choices(ctx: PortalContext, *, actor: Actor, aws_type: str) -> list[PickerChoice]:
    """What the target cloud holds for a parameter of `aws_type` (`AWS::EC2::VPC::Id`,
    `List<AWS::EC2::Subnet::Id>`, `AWS::SSM::Parameter::Value<String>`): the form's choices.
    Empty for a type the portal does not look up; the field then takes typed text. Anyone
    signed in may ask: every student's launch form needs it."""
    inner = aws_type.removeprefix("List<").removesuffix(">")
    client_name, operation, key, make = _PICKERS.get(inner, (None, "", "", None))
    if inner.startswith("AWS::SSM::Parameter::"):
        client_name, operation, key = "ssm", "describe_parameters", "Parameters"
        make = lambda item: PickerChoice(item["Name"], item["Name"])  # noqa: E731
    if client_name is None or make is None:
        return []
    try:
        client = ctx.connection.client(client_name)
        items = list(paginate(client, operation, key) if client.can_paginate(operation)
                     else getattr(client, operation)().get(key, []))
    except AWS_ERRORS as exc:
        raise cloud_error(f"listing {inner} for a form", exc) from exc
    return sorted((make(item) for item in items), key=lambda c: c.label)


_PICKERS: dict[str, tuple[str, str, str, Any]] = {
    "AWS::EC2::VPC::Id": ("ec2", "describe_vpcs", "Vpcs", lambda v: PickerChoice(
        v["VpcId"], _named(v.get("Tags"), f"{v['VpcId']} {v.get('CidrBlock', '')}".strip()))),
    "AWS::EC2::Subnet::Id": ("ec2", "describe_subnets", "Subnets", lambda s: PickerChoice(
        s["SubnetId"], _named(s.get("Tags"), f"{s['SubnetId']} {s.get('CidrBlock', '')} "
                                             f"{s.get('AvailabilityZone', '')}".strip()))),
    "AWS::EC2::SecurityGroup::Id": ("ec2", "describe_security_groups", "SecurityGroups",
                                    lambda g: PickerChoice(g["GroupId"],
                                                           f"{g['GroupId']} {g['GroupName']}")),
    "AWS::EC2::KeyPair::KeyName": ("ec2", "describe_key_pairs", "KeyPairs",
                                   lambda k: PickerChoice(k["KeyName"], k["KeyName"])),
    "AWS::EC2::AvailabilityZone::Name": ("ec2", "describe_availability_zones",
                                         "AvailabilityZones",
                                         lambda z: PickerChoice(z["ZoneName"], z["ZoneName"])),
}
