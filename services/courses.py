"""Courses: what their students may launch, for how long and for how much, and who is in them.

An instructor creates a course and becomes one of its teachers; only its teachers (or an admin)
may change it or its roster. Students join by hand or through a roster CSV (name, e-mail, role);
imported people without a password get a one-time code to set their own.

The portal's default course (`PORTAL_DEFAULT_COURSE`) needs no row: every student may launch in
it under the portal-wide settings (budget, running environments, longest lease), so that `make
run` works before anyone sets up a course. An instructor may create it as a row to set its limits.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import audit
from services.accounts import add_account, issue_setup_code
from services.audit import Action
from services.catalog_service import TemplateManifest
from services.context import PortalContext
from services.errors import PermissionDeniedError, UnknownTemplateError, ValidationError
from services.history.models import (
    Account,
    BudgetAction,
    Course,
    Enrolment,
    EnrolmentRole,
    utcnow,
)
from services.i18n import _
from services.identity import NAME_PATTERN, Actor, Role

# An EC2 instance type (t3.micro, m6i.large) and an RDS instance class (db.t3.micro): how a
# parameter's allowed list is recognised as the template's own list of sizes.
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
DB_CLASS = re.compile(r"^db\.[a-z][a-z0-9-]*\.[a-z0-9]+$")
MAX_ROSTER_ROWS = 2000


@dataclass(frozen=True)
class CoursePolicy:
    """A course's limits as a launch checks them."""

    id: str
    title: str
    templates: tuple[str, ...] | None
    instance_types: tuple[str, ...] | None
    db_classes: tuple[str, ...] | None
    max_running_envs: int
    budget_usd: float
    budget_action: str
    max_lease_hours: int
    starts_on: date | None = None
    ends_on: date | None = None
    # The portal's default course without a row of its own: open to every student.
    open_to_all: bool = False

    @property
    def stops_at_budget(self) -> bool:
        return self.budget_action == BudgetAction.STOP.value

    def allows_template(self, template_id: str) -> bool:
        return self.templates is None or template_id in self.templates

    def narrowed(self, parameter_allowed: Sequence[Any]) -> list[Any]:
        """A parameter's allowed values as this course narrows them (sizes only)."""
        values = list(parameter_allowed)
        if self.db_classes is not None and values and all(DB_CLASS.match(str(v))
                                                          for v in values):
            return [v for v in values if v in self.db_classes]
        if self.instance_types is not None and values and all(
                INSTANCE_TYPE.match(str(v)) and not DB_CLASS.match(str(v)) for v in values):
            return [v for v in values if v in self.instance_types]
        return values

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title,
                "templates": list(self.templates) if self.templates is not None else None,
                "instance_types": (list(self.instance_types)
                                   if self.instance_types is not None else None),
                "db_classes": list(self.db_classes) if self.db_classes is not None else None,
                "max_running_envs": self.max_running_envs, "budget_usd": self.budget_usd,
                "budget_action": self.budget_action, "max_lease_hours": self.max_lease_hours,
                "starts_on": self.starts_on.isoformat() if self.starts_on else None,
                "ends_on": self.ends_on.isoformat() if self.ends_on else None}


def _policy(course: Course) -> CoursePolicy:
    def tup(values: list[str] | None) -> tuple[str, ...] | None:
        return tuple(values) if values is not None else None

    return CoursePolicy(
        id=course.id, title=course.title, templates=tup(course.templates),
        instance_types=tup(course.instance_types), db_classes=tup(course.db_classes),
        max_running_envs=course.max_running_envs, budget_usd=course.budget_usd,
        budget_action=course.budget_action, max_lease_hours=course.max_lease_hours,
        starts_on=course.starts_on, ends_on=course.ends_on)


def default_policy(ctx: PortalContext) -> CoursePolicy:
    s = ctx.settings
    return CoursePolicy(id=s.default_course, title="Default course", templates=None,
                        instance_types=None, db_classes=None,
                        max_running_envs=s.max_running_envs, budget_usd=s.student_budget_usd,
                        budget_action=BudgetAction.STOP.value, max_lease_hours=s.max_lease_hours,
                        open_to_all=True)


def policy_in(session: Session, ctx: PortalContext, course_id: str) -> CoursePolicy | None:
    course = session.get(Course, course_id)
    if course is not None:
        return _policy(course)
    if course_id == ctx.settings.default_course:
        return default_policy(ctx)
    return None


def get_policy(ctx: PortalContext, course_id: str) -> CoursePolicy | None:
    with ctx.sessions() as session:
        return policy_in(session, ctx, course_id)


def is_enrolled(session: Session, *, course_id: str, name: str,
                role: EnrolmentRole = EnrolmentRole.STUDENT) -> bool:
    return session.scalar(select(Enrolment.account_name).where(
        Enrolment.course_id == course_id, Enrolment.account_name == name,
        Enrolment.role == role.value)) is not None


def shares_a_taught_course(session: Session, actor: Actor, name: str) -> bool:
    taught = sorted(actor.courses_taught or ())
    return bool(taught) and session.scalar(select(Enrolment.account_name).where(
        Enrolment.account_name == name, Enrolment.course_id.in_(taught)).limit(1)) is not None


# -- views --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    name: str
    email: str | None
    display_name: str | None
    role: str
    has_password: bool


@dataclass(frozen=True)
class CourseView:
    policy: CoursePolicy
    students: int = 0
    instructors: tuple[str, ...] = ()
    members: tuple[Member, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.policy.id

    def to_json(self) -> dict[str, Any]:
        return {**self.policy.to_json(), "students": self.students,
                "instructors": list(self.instructors),
                "members": [m.__dict__ for m in self.members]}


def _members(session: Session, course_id: str) -> list[Member]:
    rows = session.execute(select(Enrolment.role, Account).join(
        Account, Account.name == Enrolment.account_name).where(
        Enrolment.course_id == course_id).order_by(Enrolment.role, Account.name))
    return [Member(a.name, a.email, a.display_name, role, a.password_hash is not None)
            for role, a in rows]


def _course_view(session: Session, ctx: PortalContext, policy: CoursePolicy,
                 with_members: bool) -> CourseView:
    members = _members(session, policy.id)
    return CourseView(
        policy=policy,
        students=sum(1 for m in members if m.role == EnrolmentRole.STUDENT.value),
        instructors=tuple(m.name for m in members if m.role == EnrolmentRole.INSTRUCTOR.value),
        members=tuple(members) if with_members else ())


def visible_courses(ctx: PortalContext, *, actor: Actor) -> list[CourseView]:
    """Courses an actor may look at: an admin every one, an instructor those they teach, a
    student those they are enrolled in. The default course is listed for everyone."""
    with ctx.sessions() as session:
        query = select(Course).order_by(Course.id)
        if not actor.sees_every_course:
            mine = select(Enrolment.course_id).where(Enrolment.account_name == actor.name)
            if actor.is_instructor:
                mine = mine.where(Enrolment.role == EnrolmentRole.INSTRUCTOR.value)
            query = query.where(Course.id.in_(mine))
        views = [_course_view(session, ctx, _policy(c), with_members=actor.is_instructor)
                 for c in session.scalars(query)]
        if not any(v.id == ctx.settings.default_course for v in views) and (
                session.get(Course, ctx.settings.default_course) is None):
            views.insert(0, CourseView(policy=default_policy(ctx)))
        return views


def launch_courses(ctx: PortalContext, *, actor: Actor) -> list[CoursePolicy]:
    """Courses an actor may launch in now: a student's own courses that have started and not
    ended, and the open default course; an instructor's taught courses and the default."""
    today = utcnow().date()
    return [v.policy for v in visible_courses(ctx, actor=actor)
            if (v.policy.starts_on is None or v.policy.starts_on <= today)
            and (v.policy.ends_on is None or today <= v.policy.ends_on)]


def offers(policy: CoursePolicy, manifest: TemplateManifest) -> bool:
    """Whether `policy`'s course offers the template: a built-in when the course's template list
    allows it; an imported template when it is assigned to the course (its instructor chose the
    course for it, so the course's list of built-ins does not hide it)."""
    if manifest.imported:
        return manifest.offered_in(policy.id)
    return policy.allows_template(manifest.id)


def offered_templates(ctx: PortalContext, *, actor: Actor,
                      policy: CoursePolicy) -> list[TemplateManifest]:
    """The templates a launch in `policy`'s course may use, as the course narrows them. An
    instructor may also try any imported template there before assigning it."""
    return [narrowed_manifest(t, policy) for t in ctx.catalog.all_templates()
            if offers(policy, t) or (actor.is_instructor and t.imported)]


def catalog_templates(ctx: PortalContext, *, actor: Actor) -> list[TemplateManifest]:
    """What the Catalog shows an actor: for an instructor every template; for a student those
    offered in a course they may launch in now."""
    templates = ctx.catalog.all_templates()
    if actor.is_instructor:
        return templates
    policies = launch_courses(ctx, actor=actor)
    return [t for t in templates if any(offers(p, t) for p in policies)]


# -- changes ------------------------------------------------------------------------------------
def _names(values: Iterable[str] | None, *, what: str, pattern: re.Pattern[str] | None = None
           ) -> list[str] | None:
    if values is None:
        return None
    cleaned = sorted({v.strip() for v in values if v and v.strip()})
    if pattern is not None:
        bad = [v for v in cleaned if not pattern.match(v)]
        if bad:
            raise ValidationError({what: _("not valid: {values}").format(values=", ".join(bad))})
    return cleaned


def catalog_sizes(manifests: Sequence[TemplateManifest]) -> tuple[set[str], set[str]]:
    """The EC2 instance types and RDS classes the templates offer: a parameter whose whole
    allowed list is sizes is a size choice. Courses may narrow to these and only these."""
    instance_types: set[str] = set()
    db_classes: set[str] = set()
    for manifest in manifests:
        for parameter in manifest.parameters:
            values = [str(v) for v in parameter.allowed or ()]
            if values and all(DB_CLASS.match(v) for v in values):
                db_classes.update(values)
            elif values and all(INSTANCE_TYPE.match(v) for v in values):
                instance_types.update(values)
    return instance_types, db_classes


def _validated(ctx: PortalContext, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if "title" in values and values["title"] is not None:
        title = str(values["title"]).strip()
        if not 1 <= len(title) <= 200:
            errors["title"] = _("1 to 200 characters")
        out["title"] = title
    for name, low, high in (("max_running_envs", 1, 100), ("max_lease_hours", 1,
                                                           ctx.settings.max_lease_hours)):
        if values.get(name) is not None:
            try:
                number = int(values[name])
            except (TypeError, ValueError):
                errors[name] = _("a whole number, got {value!r}").format(value=values[name])
                continue
            if not low <= number <= high:
                errors[name] = _("between {low} and {high}, got {number}").format(
                    low=low, high=high, number=number)
            out[name] = number
    if values.get("budget_usd") is not None:
        try:
            budget = float(values["budget_usd"])
        except (TypeError, ValueError):
            errors["budget_usd"] = _("an amount in USD, got {value!r}").format(
                value=values["budget_usd"])
        else:
            if not 0 < budget <= 100_000:
                errors["budget_usd"] = _("more than 0 and at most 100000 USD, got {budget:g}"
                                         ).format(budget=budget)
            out["budget_usd"] = budget
    if values.get("budget_action") is not None:
        try:
            out["budget_action"] = BudgetAction(values["budget_action"]).value
        except ValueError:
            errors["budget_action"] = _("stop or notify")
    manifests = ctx.catalog.all_templates()
    known = [m.id for m in manifests]
    if "templates" in values:
        templates = _names(values["templates"], what="templates")
        if templates is not None:
            unknown = [t for t in templates if t not in known]
            if unknown:
                errors["templates"] = _("unknown: {unknown} (known: {known})").format(
                    unknown=", ".join(unknown), known=", ".join(known))
            elif not templates:
                errors["templates"] = _("allow at least one template")
        out["templates"] = templates
    sizes, classes = catalog_sizes(manifests)
    for name, offered in (("instance_types", sizes), ("db_classes", classes)):
        if name in values:
            chosen = _names(values[name], what=name)
            if chosen is not None:
                unknown = [c for c in chosen if c not in offered]
                if unknown:
                    errors[name] = _("no template offers {unknown} (offered: {offered})").format(
                        unknown=", ".join(unknown), offered=", ".join(sorted(offered)))
                elif not chosen:
                    errors[name] = _("allow at least one")
            out[name] = chosen
    for name in ("starts_on", "ends_on"):
        if name in values:
            raw = values[name]
            if raw in (None, ""):
                out[name] = None
            elif isinstance(raw, date):
                out[name] = raw
            else:
                try:
                    out[name] = date.fromisoformat(str(raw))
                except ValueError:
                    errors[name] = _("a date as YYYY-MM-DD, got {value!r}").format(value=raw)
    starts, ends = out.get("starts_on"), out.get("ends_on")
    if starts and ends and ends < starts:
        errors["ends_on"] = _("the course ends ({ends}) before it starts ({starts})").format(
            ends=ends, starts=starts)
    if errors:
        raise ValidationError(errors)
    return out


def _describe(changes: dict[str, Any]) -> str:
    return "; ".join(f"{k}={','.join(v) if isinstance(v, list) else v}"
                     for k, v in sorted(changes.items()))


def create_course(ctx: PortalContext, *, actor: Actor, course_id: str, title: str | None = None,
                  **limits: Any) -> CourseView:
    """A new course taught by `actor`; limits not given take the portal's defaults."""
    if not actor.is_instructor:
        raise PermissionDeniedError(_("courses: only instructors may create courses"))
    if not NAME_PATTERN.match(course_id or ""):
        raise ValidationError({"course": _("use 1-64 letters, digits, dots, dashes or "
                                           "underscores, starting with a letter or digit")})
    values = _validated(ctx, {"title": title or course_id, **limits})
    s = ctx.settings
    with ctx.sessions() as session, session.begin():
        if session.get(Course, course_id) is not None:
            raise ValidationError({"course": _("a course named {course} already exists").format(
                course=course_id)})
        course = Course(
            id=course_id, title=values["title"], templates=values.get("templates"),
            instance_types=values.get("instance_types"), db_classes=values.get("db_classes"),
            max_running_envs=values.get("max_running_envs", s.max_running_envs),
            budget_usd=values.get("budget_usd", s.student_budget_usd),
            budget_action=values.get("budget_action", BudgetAction.STOP.value),
            max_lease_hours=values.get("max_lease_hours", s.max_lease_hours),
            starts_on=values.get("starts_on"), ends_on=values.get("ends_on"),
            created_at=utcnow(), created_by=actor.name)
        session.add(course)
        session.flush()
        if session.get(Account, actor.name) is not None:
            session.add(Enrolment(course_id=course_id, account_name=actor.name,
                                  role=EnrolmentRole.INSTRUCTOR.value, enrolled_at=utcnow()))
        audit.record(session, actor=actor.name, action=Action.COURSE_CREATE, course_id=course_id,
                     target=course_id, detail=_describe(values))
        session.flush()
        return _course_view(session, ctx, _policy(course), with_members=True)


def _require_teacher(session: Session, actor: Actor, course_id: str) -> Course:
    course = session.get(Course, course_id)
    if course is None:
        raise ValidationError({"course": _("no course named {course}").format(course=course_id)})
    if not (actor.is_instructor and (actor.sees_every_course or is_enrolled(
            session, course_id=course_id, name=actor.name, role=EnrolmentRole.INSTRUCTOR))):
        raise PermissionDeniedError(
            _("courses: only an instructor of {course} (or an admin) may change it").format(
                course=course_id))
    return course


def update_course(ctx: PortalContext, *, actor: Actor, course_id: str,
                  **changes: Any) -> CourseView:
    values = _validated(ctx, changes)
    with ctx.sessions() as session, session.begin():
        course = _require_teacher(session, actor, course_id)
        merged_start = values.get("starts_on", course.starts_on)
        merged_end = values.get("ends_on", course.ends_on)
        if merged_start and merged_end and merged_end < merged_start:
            raise ValidationError({"ends_on": _("the course ends ({ends}) before it starts "
                                                "({starts})").format(ends=merged_end,
                                                                     starts=merged_start)})
        for name, value in values.items():
            setattr(course, name, value)
        audit.record(session, actor=actor.name, action=Action.COURSE_UPDATE, course_id=course_id,
                     target=course_id, detail=_describe(values))
        session.flush()
        return _course_view(session, ctx, _policy(course), with_members=True)


def enrol(ctx: PortalContext, *, actor: Actor, course_id: str, names: Sequence[str],
          role: str = EnrolmentRole.STUDENT.value) -> list[str]:
    """Enrol existing accounts; returns the names newly enrolled (already enrolled ones are
    left as they are). Only an admin may add a teacher."""
    try:
        parsed = EnrolmentRole(role)
    except ValueError:
        raise ValidationError({"role": _("student or instructor")}) from None
    if parsed is EnrolmentRole.INSTRUCTOR and not actor.is_admin:
        raise PermissionDeniedError(
            _("courses: only an admin may add an instructor to a course"))
    added: list[str] = []
    with ctx.sessions() as session, session.begin():
        _require_teacher(session, actor, course_id)
        missing = [n for n in names if session.get(Account, n) is None]
        if missing:
            raise ValidationError({"names": _("no account named {names}; create them first "
                                              "(sandbox users add) or import a roster").format(
                names=", ".join(missing))})
        for name in dict.fromkeys(names):
            account = session.get(Account, name)
            if parsed is EnrolmentRole.INSTRUCTOR and account.role != Role.INSTRUCTOR.value:
                raise ValidationError({"names": _("{name} is a student account").format(
                    name=name)})
            if session.get(Enrolment, (course_id, name)) is not None:
                continue
            session.add(Enrolment(course_id=course_id, account_name=name, role=parsed.value,
                                  enrolled_at=utcnow()))
            audit.record(session, actor=actor.name, action=Action.ENROL, course_id=course_id,
                         target=name, detail=f"as {parsed.value}")
            added.append(name)
    return added


def unenrol(ctx: PortalContext, *, actor: Actor, course_id: str, name: str) -> bool:
    with ctx.sessions() as session, session.begin():
        _require_teacher(session, actor, course_id)
        enrolment = session.get(Enrolment, (course_id, name))
        if enrolment is None:
            return False
        session.delete(enrolment)
        audit.record(session, actor=actor.name, action=Action.UNENROL, course_id=course_id,
                     target=name)
        return True


# -- roster import ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RosterEntry:
    name: str
    email: str | None
    role: str
    # Set for people who must set their own password; shown once to the instructor.
    one_time_code: str | None
    created: bool
    enrolled: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_roster(text: str) -> list[dict[str, str]]:
    """Rows of a roster CSV with a header naming `name`, `email` and (optional) `role`."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "name" not in header:
        raise ValidationError({"roster": _("the first line must name the columns: name, "
                                           "email, role")})
    unknown = [h for h in header if h not in ("name", "email", "role")]
    if unknown:
        raise ValidationError({"roster": _("unknown columns: {columns} (expected name, email, "
                                           "role)").format(columns=", ".join(unknown))})
    rows: list[dict[str, str]] = []
    for raw in reader:
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        rows.append(row)
        if len(rows) > MAX_ROSTER_ROWS:
            raise ValidationError({"roster": _("at most {count} people per import").format(
                count=MAX_ROSTER_ROWS)})
    return rows


def import_roster(ctx: PortalContext, *, actor: Actor, course_id: str,
                  text: str) -> list[RosterEntry]:
    """Create the accounts a roster names (students; instructors only by an admin), enrol
    everyone, and hand back a one-time code for each person without a password. All or nothing:
    one bad row refuses the whole file, naming its line."""
    rows = parse_roster(text)
    entries: list[RosterEntry] = []
    errors: dict[str, str] = {}
    with ctx.sessions() as session, session.begin():
        _require_teacher(session, actor, course_id)
        seen: set[str] = set()
        for line, row in enumerate(rows, start=2):
            name, email = row.get("name", ""), row.get("email") or None
            role = (row.get("role") or Role.STUDENT.value).lower()
            where = _("line {line}").format(line=line)
            if name in seen:
                errors[where] = _("{name} is listed twice").format(name=name)
                continue
            seen.add(name)
            try:
                existing = session.get(Account, name)
                created = existing is None
                if existing is None:
                    account = add_account(session, actor=actor, name=name, role=role,
                                          email=email)
                else:
                    account = existing
                    if role != account.role:
                        raise ValidationError({"role": _("{name} already exists as {role}")
                                               .format(name=name, role=account.role)})
                    if email and account.email and account.email != email.lower():
                        raise ValidationError({"email": _("{name} already has e-mail {email}")
                                               .format(name=name, email=account.email)})
                code = (issue_setup_code(session, account)
                        if account.password_hash is None else None)
                enrolled = session.get(Enrolment, (course_id, name)) is None
                if enrolled:
                    session.add(Enrolment(course_id=course_id, account_name=name,
                                          role=account.role, enrolled_at=utcnow()))
                entries.append(RosterEntry(name, account.email, account.role, code, created,
                                           enrolled))
            except (ValidationError, PermissionDeniedError) as exc:
                detail = ("; ".join(f"{k}: {v}" for k, v in exc.field_errors.items())
                          if isinstance(exc, ValidationError) else str(exc))
                errors[where] = detail
        if errors:
            # Raised inside the unit of work: nothing of the file is kept.
            raise ValidationError(errors)
        audit.record(session, actor=actor.name, action=Action.ROSTER_IMPORT, course_id=course_id,
                     target=course_id,
                     detail=f"{len(entries)} people, {sum(e.created for e in entries)} new "
                            f"accounts, {sum(e.enrolled for e in entries)} newly enrolled")
    return entries


def course_count(ctx: PortalContext) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(Course)) or 0


def require_known_template(ctx: PortalContext, template_id: str) -> None:
    known = [m.id for m in ctx.catalog.all_templates()]
    if template_id not in known:
        raise UnknownTemplateError(template_id, known)


def narrowed_manifest(manifest: TemplateManifest, policy: CoursePolicy) -> TemplateManifest:
    """The template as a course offers it: each size parameter lists only the sizes the course
    allows, its default the first of them when the template's own is not allowed. The Launch
    page draws its form from this; the launch itself checks the same rule (services/limits.py)."""
    parameters = []
    for parameter in manifest.parameters:
        if parameter.allowed:
            allowed = tuple(policy.narrowed(parameter.allowed))
            if allowed != tuple(parameter.allowed):
                default = parameter.default if parameter.default in allowed else (
                    allowed[0] if allowed else parameter.default)
                parameter = parameter.model_copy(update={"allowed": allowed or parameter.allowed,
                                                         "default": default})
        parameters.append(parameter)
    return manifest.model_copy(update={"parameters": parameters})
