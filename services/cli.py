"""`sandbox`: the portal's services on the command line.

Bad input exits non-zero with a one-line error that names the field; so does anything the
portal refuses (a course's limit, the advisor), exit status 2. The CLI acts as the operator, an
admin; the audit log names it for everything it does, a launch for a student included.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Sequence

from services.settings import WorkerMode, get_settings
from services import (
    accounts,
    audit,
    courses,
    dispatch,
    environment_service,
    preview_service,
    template_library,
)
from services.audit import Outcome
from services.context import PortalContext
from services.clouds.aws_calls import as_utc
from services.engines.base import EngineName
from services.errors import PortalError, ValidationError
from services.history.models import BudgetAction, EnrolmentRole
from services.identity import Actor, Role
from services.reconcile_service import reconcile_and_clean_up

# The CLI is an operator's tool, run by whoever holds the portal's machine and its database: an
# admin who sees and may change every course. Everything it does is audited under this name.
OPERATOR = Actor(name="operator", role=Role.INSTRUCTOR, is_admin=True, courses_taught=None)


class CliUsageError(PortalError):
    pass


def _params(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliUsageError(f"param: expected NAME=VALUE, got {pair!r}")
        if name in values:
            raise CliUsageError(f"param: {name} given twice")
        values[name] = value
    return values


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else text)


def _context() -> PortalContext:
    return PortalContext(get_settings())


def _reconciled(ctx: PortalContext, *, verify_deployments: bool = False) -> None:
    """Bring the history in line first; interrupted launches are cleaned up before going on
    (inline in the threads mode, by the workers in the Celery mode)."""
    reconcile_and_clean_up(
        ctx, verify_deployments=verify_deployments,
        execute=lambda run_id: _run(ctx, "destroy", run_id, wait=True))


def cmd_cloud(args: argparse.Namespace) -> int:
    from services.clouds import embedded, localstack, status
    from services.settings import CloudTarget

    settings = get_settings()
    if args.action == "status":
        # Without --target every target is reported; with one, its being unusable fails the call.
        targets = [CloudTarget(args.target)] if args.target else list(CloudTarget)
        found = [status.target_status(settings, target) for target in targets]
        lines = []
        for report in found:
            where = f" at {report.endpoint_url}" if report.endpoint_url else ""
            who = f" as {report.identity_arn}" if report.identity_arn else ""
            if report.usable:
                now = "" if report.running is None else (
                    " (running)" if report.running else " (not running; starts on first use)")
                lines.append(f"{report.target}: usable{where}, region {report.region}{who}{now}")
            else:
                lines.append(f"{report.target}: not usable: {report.reason}\n"
                             f"  fix: {report.fix}")
        _print({report.target: report.to_json() for report in found}, args.json,
               "\n".join(lines))
        return 1 if args.target and not found[0].usable else 0
    target = CloudTarget(args.target or settings.cloud)
    if target is CloudTarget.AWS:
        raise CliUsageError(f"cloud: the portal does not {args.action} AWS; "
                            "`sandbox cloud status --target aws` checks its credentials")
    if target is CloudTarget.LOCALSTACK:
        if args.action == "start":
            started = localstack.ensure_running(settings)
            _print(started.to_json(), args.json,
                   f"LocalStack running at {started.endpoint_url}, pid {started.pid}")
        else:
            stopped = localstack.stop(settings)
            _print({"stopped": stopped}, args.json,
                   "LocalStack stopped" if stopped else "LocalStack was not running")
    elif args.action == "start":
        state = embedded.ensure_running(settings)
        _print(state.to_json(), args.json, f"embedded cloud running at {state.endpoint_url}")
    else:
        stopped = embedded.stop(settings)
        _print({"stopped": stopped}, args.json,
               "embedded cloud stopped" if stopped else "embedded cloud was not running")
    return 0


def cmd_templates(args: argparse.Namespace) -> int:
    ctx = _context()
    data = [{
        "id": t.id, "title": t.title, "summary": t.summary,
        "parameters": [{"name": p.name, "type": p.type, "default": p.default,
                        "description": p.description,
                        **({"allowed": list(p.allowed)} if p.allowed else {})}
                       for p in t.parameters],
        "outputs": [o.name for o in t.outputs],
    } for t in ctx.catalog.all_templates()]
    _print(data, args.json, "\n".join(f"{t['id']}: {t['title']}" for t in data))
    return 0


def _imported_text(view: template_library.ImportedTemplate) -> str:
    state = "retired" if view.retired else (
        "offered in " + ", ".join(view.courses) if view.courses else "assigned to no course")
    lines = [f"{view.id}: {view.title} ({view.engine.label}, version {view.current_version}, "
             f"{state})"]
    lines += [f"  --param {p.name}=...  {p.type}"
              + (f" {p.aws_type}" if p.aws_type else "")
              + (" (secret)" if p.secret else "")
              + ("" if p.default is None else f", default {p.default}")
              for p in view.manifest.parameters]
    lines += [f"  note: {finding}" for finding in view.findings]
    return "\n".join(lines)


def cmd_templates_import(args: argparse.Namespace) -> int:
    ctx = _context()
    source = template_library.TemplateSource.from_path(Path(args.path))
    view = template_library.import_template(
        ctx, actor=OPERATOR, source=source, template_id=args.id, title=args.title,
        summary=args.summary, courses=args.course or [])
    _print(view.to_json(), args.json, _imported_text(view))
    return 0


def cmd_templates_add_version(args: argparse.Namespace) -> int:
    ctx = _context()
    source = template_library.TemplateSource.from_path(Path(args.path))
    view = template_library.add_version(ctx, actor=OPERATOR, template_id=args.id, source=source)
    _print(view.to_json(), args.json, _imported_text(view))
    return 0


def cmd_templates_versions(args: argparse.Namespace) -> int:
    view = template_library.get_template(_context(), actor=OPERATOR, template_id=args.id)
    data = [v.to_json() for v in view.versions]
    _print(data, args.json, "\n".join(
        f"{'*' if v.number == view.current_version else ' '} version {v.number}: "
        f"{v.uploaded_at.isoformat(timespec='minutes')} by {v.uploaded_by}"
        for v in view.versions))
    return 0


def cmd_templates_retire(args: argparse.Namespace) -> int:
    view = template_library.retire(_context(), actor=OPERATOR, template_id=args.id)
    _print(view.to_json(), args.json, _imported_text(view))
    return 0


def cmd_templates_assign(args: argparse.Namespace) -> int:
    view = template_library.assign_courses(_context(), actor=OPERATOR, template_id=args.id,
                                           courses=args.course or [])
    _print(view.to_json(), args.json, _imported_text(view))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    ctx = _context()
    rendered = environment_service.render_template(ctx, template_id=args.template,
                                                   parameters=_params(args.param))
    out = Path(args.out)
    written = rendered.write(out, fmt=args.format)
    _print({"files": [str(p) for p in written]}, args.json,
           "\n".join(str(p) for p in written))
    return 0


def _owner(ctx: PortalContext, name: str) -> Actor:
    """Who an environment launched with --owner belongs to. An account launches as what it is
    (a student with the course's limits, an instructor with the courses they teach), as it would
    from the portal; a name without an account is a student, as before accounts existed, so
    scripts that launch into the open default course keep working."""
    name = name.strip()
    return accounts.actor_named(ctx, name) or Actor(name=name, role=Role.STUDENT)


def _run(ctx: PortalContext, kind: str, run_id: int, *, wait: bool) -> None:
    """Run a recorded launch or destroy: inline in the threads mode (this process is the worker),
    enqueued in the Celery mode, then (unless --no-wait) wait for its end in the database."""
    if ctx.settings.workers is WorkerMode.CELERY or not wait:
        dispatch.executor(ctx, kind)(run_id)
        if wait:
            dispatch.wait_for_run(ctx, run_id)
        return
    (environment_service.run_launch if kind == "launch"
     else environment_service.run_destroy)(ctx, run_id=run_id)


def cmd_launch(args: argparse.Namespace) -> int:
    ctx = _context()
    actor = _owner(ctx, args.owner)
    # A refusal (the course's limits, the advisor) raises: main() prints its one line, exit 2.
    started = environment_service.start_launch(
        ctx, actor=actor, template_id=args.template, parameters=_params(args.param),
        lease_hours=args.lease_hours, course=args.course, performed_by=OPERATOR.name,
        engine=args.engine)
    _run(ctx, "launch", started.run_id, wait=not args.no_wait)
    env = environment_service.get_environment(ctx, actor=OPERATOR, env_id=started.env_id)
    if args.no_wait:
        _print({"env_id": env.env_id, "status": env.status, "run_id": started.run_id},
               args.json, f"{env.env_id}: {env.status} (run {started.run_id})")
        return 0
    data = {"env_id": env.env_id, "status": env.status, "owner": env.owner,
            "course": env.course, "outputs": env.outputs_by_name, "error": env.status_reason}
    text = f"{env.env_id}: {env.status}" + "".join(
        f"\n  {o.label}: {o.value}" for o in env.outputs)
    if env.status_reason:
        text += f"\n  reason: {env.status_reason}"
    _print(data, args.json, text)
    return 0 if env.status == "ready" else 1


def cmd_engines(args: argparse.Namespace) -> int:
    reports = environment_service.engines_report(_context())
    lines = []
    for report in reports:
        state = "available" if report.availability.available else \
            f"unavailable: {report.availability.reason}"
        lines.append(f"{report.engine.value}: {state}")
        lines += [f"  {template}: " + ("available" if a.available else f"unavailable: {a.reason}")
                  for template, a in report.templates.items()]
    _print([r.to_json() for r in reports], args.json, "\n".join(lines))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    ctx = _context()
    _reconciled(ctx, verify_deployments=True)
    env = environment_service.get_environment(ctx, actor=OPERATOR, env_id=args.env,
                                              with_resources=True)
    text = f"{env.env_id} ({env.template_id}, {env.owner}): {env.status}"
    if env.status_reason:
        text += f"\n  reason: {env.status_reason}"
    text += "".join(f"\n  {r['logical_id']} {r['type']} {r['physical_id']} {r['status']}"
                    for r in env.resources or [])
    _print(env.to_json(), args.json, text)
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    ctx = _context()
    _reconciled(ctx)
    started = environment_service.start_destroy(ctx, actor=OPERATOR, env_id=args.env,
                                                performed_by=OPERATOR.name)
    _run(ctx, "destroy", started.run_id, wait=not args.no_wait)
    env = environment_service.get_environment(ctx, actor=OPERATOR, env_id=args.env)
    if args.no_wait:
        _print({"env_id": env.env_id, "status": env.status, "run_id": started.run_id},
               args.json, f"{env.env_id}: {env.status} (run {started.run_id})")
        return 0
    return _print_destroyed(env, args.json)


def _print_destroyed(env: environment_service.EnvironmentView, as_json: bool) -> int:
    run = env.latest_run
    leftovers = run.leftovers if run else []
    data = {"env_id": env.env_id, "status": env.status, "leftovers": leftovers,
            "error": run.error if run else None}
    text = f"{env.env_id}: {env.status}" + "".join(f"\n  left: {x}" for x in leftovers)
    _print(data, as_json, text)
    return 0 if env.status == "destroyed" else 1


def cmd_envs(args: argparse.Namespace) -> int:
    ctx = _context()
    _reconciled(ctx)
    envs = environment_service.list_environments(ctx, actor=OPERATOR)
    data = [{"env_id": e.env_id, "status": e.status, "template": e.template_id,
             "owner": e.owner, "course": e.course, "created_at": e.created_at.isoformat()}
            for e in envs]
    _print(data, args.json, "\n".join(
        f"{e['env_id']}  {e['status']:<10} {e['template']:<12} {e['owner']}" for e in data))
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    ctx = _context()
    estimate = preview_service.estimate(ctx, template_id=args.template,
                                        parameters=_params(args.param),
                                        region=args.region or ctx.settings.region,
                                        hours=args.hours)
    data = estimate.to_json()
    lines = [f"{args.template} in {data['region']} for {data['hours']:g} h: "
             f"${data['total_usd']:.2f} (${data['total_hourly_usd']:.4f}/h, "
             f"${data['total_monthly_usd']:.2f} per 730-hour month)"]
    lines += [f"  {line['resource']:<24} ${line['cost_usd']:<9.4f} {line['description']}"
              for line in data["lines"] if not line.get("no_charge")]
    lines += [f"  not priced: {item['resource']} ({item['type']}): {item['reason']}"
              for item in data["not_priced"]]
    _print(data, args.json, "\n".join(lines))
    return 0


def cmd_advise(args: argparse.Namespace) -> int:
    ctx = _context()
    report = preview_service.advice_for(ctx, template_id=args.template,
                                        parameters=_params(args.param))
    text = "\n".join(f"{f.severity.value:<7} {f.rule_id} {f.resource or '-'}: {f.message}\n"
                     f"        fix: {f.fix}" for f in report.findings)
    _print(report.to_json(), args.json, f"{text}\n{report.summary()}".lstrip())
    return 1 if report.blocks_launch else 0


def cmd_diagram(args: argparse.Namespace) -> int:
    ctx = _context()
    diagram = preview_service.diagram(ctx, template_id=args.template)
    data = {"nodes": [{"id": n.logical_id, "type": n.resource_type, "service": n.service,
                       "tier": n.tier, "condition": n.condition} for n in diagram.nodes],
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind}
                      for e in diagram.edges]}
    _print(data, args.json, diagram.to_dot())
    return 0


def cmd_predict_credits(args: argparse.Namespace) -> int:
    from services.credit_predictor import predict_credits

    prediction = predict_credits(instance_type=args.instance_type, cpu_percent=args.cpu,
                                 hours=args.hours, start_balance=args.start_balance,
                                 unlimited=args.unlimited)
    data = prediction.to_json()
    lines = [data["summary"], "",
             f"{'hour':>4}  {'asked %':>7}  {'got %':>6}  {'balance':>8}  {'surplus':>8}"]
    lines += [f"{h['hour']:>4}  {h['demanded_cpu']:>7.1f}  {h['effective_cpu']:>6.1f}  "
              f"{h['balance']:>8.1f}  {h['surplus_balance']:>8.1f}"
              f"{'  held at the baseline' if h['throttled'] else ''}" for h in data["hours"]]
    throttled = data["throttled_at_hour"]
    lines.append("throttled at hour: " + ("never" if throttled is None else f"{throttled:g}"))
    _print(data, args.json, "\n".join(lines))
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from services.monitoring.passes import collect_now

    ctx = _context()
    report = collect_now(ctx)
    data = report.to_json()
    text = (f"{data['environments']} environments, {data['series']} series: "
            f"{data['points_stored']} new points in {data['metric_calls']} GetMetricData calls "
            f"({data['metric_queries']} queries), {data['activities_stored']} scaling activities, "
            f"{data['deployments_stored']} deployments")
    text += "".join(f"\n  {env_id}: {reason}" for env_id, reason in data["errors"].items())
    if data["error"]:
        text += f"\n  error: {data['error']}"
    _print(data, args.json, text)
    return 0 if report.ok else 1


# -- leases -------------------------------------------------------------------------------------
def cmd_lease(args: argparse.Namespace) -> int:
    ctx = _context()
    # An environment whose lease has already ended is destroyed first, not extended or ended again.
    _reconciled(ctx)
    if args.action == "extend":
        env = environment_service.extend_lease(ctx, actor=OPERATOR, env_id=args.env,
                                               hours=args.hours, performed_by=OPERATOR.name)
        expires = env.expires_at
        _print({"env_id": env.env_id, "status": env.status, "lease_hours": env.lease_hours,
                "expires_at": expires.isoformat() if expires else None}, args.json,
               f"{env.env_id}: {env.status}, lease now ends "
               f"{expires.isoformat(timespec='minutes') if expires else '-'}")
        return 0
    started = environment_service.end_lease(ctx, actor=OPERATOR, env_id=args.env,
                                            performed_by=OPERATOR.name)
    _run(ctx, "destroy", started.run_id, wait=True)
    env = environment_service.get_environment(ctx, actor=OPERATOR, env_id=args.env)
    return _print_destroyed(env, args.json)


# -- accounts -----------------------------------------------------------------------------------
def _read_password() -> str:
    """One line of stdin, so a password never sits in argv (ps, shell history). At a terminal it
    is asked for without echo."""
    if sys.stdin.isatty():
        return getpass.getpass("password: ", stream=sys.stderr)
    line = sys.stdin.readline()
    # Only the line's end is dropped: spaces may belong to the password.
    return line.rstrip("\r\n")


def _account_json(view: accounts.AccountView) -> dict[str, Any]:
    return {"name": view.name, "role": view.role, "email": view.email,
            "display_name": view.display_name, "is_admin": view.is_admin,
            "has_password": view.has_password, "disabled": view.disabled,
            "created_at": view.created_at.isoformat()}


def _code_note(name: str) -> str:
    days = accounts.SETUP_CODE_LIFETIME.days
    return (f"shown once: give it to {name}, who sets their own password with it within "
            f"{days} days")


def cmd_users_add(args: argparse.Namespace) -> int:
    ctx = _context()
    code: str | None = None
    if args.password_stdin:
        # Checked here as well: an empty line must not quietly make an account without one.
        password = accounts.check_password(_read_password())
        view = accounts.create_account(ctx, actor=OPERATOR, name=args.name, role=args.role,
                                       email=args.email, is_admin=args.admin, password=password)
    else:
        view, code = accounts.create_account_with_code(ctx, actor=OPERATOR, name=args.name,
                                                       role=args.role, email=args.email,
                                                       is_admin=args.admin)
    data = {"name": view.name, "role": view.role, "email": view.email,
            "is_admin": view.is_admin, "one_time_code": code}
    text = (f"account {view.name} created ({view.role}{', admin' if view.is_admin else ''}"
            f"{', ' + view.email if view.email else ''})")
    text += (f"\n  one-time code: {code} ({_code_note(view.name)})" if code
             else "; password set")
    _print(data, args.json, text)
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    ctx = _context()
    views = accounts.list_accounts(ctx, actor=OPERATOR)
    data = [_account_json(v) for v in views]
    _print(data, args.json, "\n".join(
        f"{v.name:<20} {v.role:<10} {'admin' if v.is_admin else '-':<5} "
        f"{'password' if v.has_password else 'no password yet':<15} "
        f"{'disabled ' if v.disabled else ''}{v.email or ''}".rstrip() for v in views))
    return 0


def cmd_users_code(args: argparse.Namespace) -> int:
    ctx = _context()
    code = accounts.new_setup_code(ctx, actor=OPERATOR, name=args.name)
    _print({"name": args.name, "one_time_code": code}, args.json,
           f"{args.name}: one-time code {code} ({_code_note(args.name)})")
    return 0


def _read_text(source: str, *, field: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError({field: f"cannot read {source}: {exc}"}) from None


def cmd_users_import(args: argparse.Namespace) -> int:
    ctx = _context()
    entries = courses.import_roster(ctx, actor=OPERATOR, course_id=args.course,
                                    text=_read_text(args.file, field="file"))
    data = [e.to_json() for e in entries]
    lines = [f"{len(entries)} people in course {args.course}: "
             f"{sum(e.created for e in entries)} new accounts, "
             f"{sum(e.enrolled for e in entries)} newly enrolled"]
    lines += [f"  {e.name:<20} {e.role:<10} {e.email or '-':<30} "
              f"{e.one_time_code or '(has a password)'}" for e in entries]
    if any(e.one_time_code for e in entries):
        lines.append("one-time codes are shown once: hand each person theirs")
    _print(data, args.json, "\n".join(lines))
    return 0


# -- courses ------------------------------------------------------------------------------------
def _names_option(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",")] if value is not None else None


def _course_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The limits given on the command line, as courses.create_course/update_course take them;
    an option not given is left out, so an update changes only what it names. Values go to the
    service as typed: its messages name the field, whatever the mistake."""
    changes: dict[str, Any] = {}
    for option, name in (("title", "title"), ("budget_usd", "budget_usd"),
                         ("max_envs", "max_running_envs"), ("max_lease_hours", "max_lease_hours"),
                         ("starts", "starts_on"), ("ends", "ends_on")):
        if getattr(args, option) is not None:
            changes[name] = getattr(args, option)
    for option in ("templates", "instance_types", "db_classes"):
        value = getattr(args, option)
        if value is None:
            continue
        # "all" lifts the restriction: every template, or each template's own sizes.
        changes[option] = None if value.strip().lower() == "all" else _names_option(value)
    if args.notify_only:
        changes["budget_action"] = BudgetAction.NOTIFY.value
    elif args.stop_at_budget:
        changes["budget_action"] = BudgetAction.STOP.value
    return changes


def _listed(values: list[str] | None, everything: str) -> str:
    return ", ".join(values) if values is not None else everything


def _course_text(data: dict[str, Any], *, members: bool) -> str:
    own = "each template's own"
    stops = "stops their environments" if data["budget_action"] == BudgetAction.STOP.value \
        else "notifies only"
    lines = [f"{data['id']}: {data['title']}",
             f"  budget ${data['budget_usd']:,.2f} per student (at the budget it {stops}); "
             f"{data['max_running_envs']} environments at once; leases up to "
             f"{data['max_lease_hours']} h",
             f"  templates: {_listed(data['templates'], 'all')}",
             f"  instance types: {_listed(data['instance_types'], own)}",
             f"  database classes: {_listed(data['db_classes'], own)}"]
    if data["starts_on"] or data["ends_on"]:
        lines.append(f"  dates: {data['starts_on'] or '-'} to {data['ends_on'] or '-'}")
    lines.append(f"  {data['students']} students; instructors: "
                 f"{', '.join(data['instructors']) or '-'}")
    if members:
        lines += [f"    {m['name']:<20} {m['role']:<10} "
                  f"{'password' if m['has_password'] else 'no password yet':<15} "
                  f"{m['email'] or ''}".rstrip() for m in data["members"]]
    return "\n".join(lines)


def cmd_courses_create(args: argparse.Namespace) -> int:
    ctx = _context()
    changes = _course_changes(args)
    title = changes.pop("title", None)
    view = courses.create_course(ctx, actor=OPERATOR, course_id=args.id, title=title, **changes)
    data = view.to_json()
    _print(data, args.json, _course_text(data, members=False))
    return 0


def cmd_courses_update(args: argparse.Namespace) -> int:
    ctx = _context()
    changes = _course_changes(args)
    if not changes:
        raise CliUsageError("courses update: name at least one limit to change")
    view = courses.update_course(ctx, actor=OPERATOR, course_id=args.id, **changes)
    data = view.to_json()
    _print(data, args.json, _course_text(data, members=False))
    return 0


def _course_view(ctx: PortalContext, course_id: str) -> courses.CourseView:
    for view in courses.visible_courses(ctx, actor=OPERATOR):
        if view.id == course_id:
            return view
    raise ValidationError({"course": f"no course named {course_id}"})


def cmd_courses_list(args: argparse.Namespace) -> int:
    ctx = _context()
    views = courses.visible_courses(ctx, actor=OPERATOR)
    data = [{k: v for k, v in view.to_json().items() if k != "members"} for view in views]
    _print(data, args.json, "\n".join(
        f"{d['id']:<20} {d['students']:>4} students  ${d['budget_usd']:>9,.2f}  "
        f"{d['max_running_envs']:>3} at once  {d['title']}" for d in data))
    return 0


def cmd_courses_show(args: argparse.Namespace) -> int:
    ctx = _context()
    data = _course_view(ctx, args.id).to_json()
    _print(data, args.json, _course_text(data, members=True))
    return 0


def cmd_courses_enroll(args: argparse.Namespace) -> int:
    ctx = _context()
    role = EnrolmentRole.INSTRUCTOR if args.instructor else EnrolmentRole.STUDENT
    added = courses.enrol(ctx, actor=OPERATOR, course_id=args.id, names=args.names,
                          role=role.value)
    already = [n for n in dict.fromkeys(args.names) if n not in added]
    data = {"course": args.id, "role": role.value, "enrolled": added,
            "already_enrolled": already}
    text = f"course {args.id}: {len(added)} enrolled as {role.value}"
    text += f" ({', '.join(added)})" if added else ""
    text += f"; already enrolled: {', '.join(already)}" if already else ""
    _print(data, args.json, text)
    return 0


# -- the audit log ------------------------------------------------------------------------------
def _since(value: str | None) -> datetime | None:
    """An ISO date or date-time; without a zone it is UTC, as every time the portal stores."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value), time())
        except ValueError:
            raise ValidationError({"since": f"an ISO date or date-time (2024-05-01 or "
                                            f"2024-05-01T09:00), got {value!r}"}) from None
    return as_utc(moment)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.json and args.csv:
        raise CliUsageError("audit: --json or --csv, not both")
    ctx = _context()
    views = audit.entries(ctx, actor=OPERATOR, start=_since(args.since),
                          actions=args.action or (), actors=args.actor or (),
                          courses=args.course or (), outcomes=args.outcome or ())
    if args.csv:
        sys.stdout.write(audit.to_csv(views))
        return 0
    _print([v.to_json() for v in views], args.json, "\n".join(
        f"{v.at.isoformat(timespec='seconds')}  {v.actor:<12} {v.action:<15} {v.outcome:<9} "
        f"{v.course_id or '-':<12} {v.target or '-':<12} {v.detail or ''}".rstrip()
        for v in views))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from services.demo import build_demo_class

    ctx = _context()
    report = build_demo_class(ctx, students=args.students, days=args.days, seed=args.seed,
                              operator=OPERATOR,
                              **({"course": args.course} if args.course else {}))
    data = report.to_json()
    text = (f"course {data['course']}: {data['students']} students over {data['days']} days; "
            f"{data['launched']} launches ({data['failed']} failed), {data['destroyed']} "
            f"destroyed, {data['running']} running; {data['metric_data']} simulated datapoints, "
            f"{data['replacements']} instance replacements, {data['deployments']} deployments; "
            f"{data['elapsed_s']} s")
    text += "".join(f"\n  {error}" for error in data["errors"])
    _print(data, args.json, text)
    return 0 if not data["errors"] else 1


def cmd_worker(args: argparse.Namespace) -> int:
    """A Celery worker for launches, destroys and scheduled passes. Threads, not processes: boto3
    clients are thread-safe and the expensive part to build, so one process shares them."""
    from services.celery_tasks import QUEUE, app

    if get_settings().workers is not WorkerMode.CELERY:
        raise CliUsageError("worker: set PORTAL_WORKERS=celery (and PORTAL_BROKER_URL) first")
    app().worker_main(["worker", "--pool", "threads", "--concurrency", str(args.concurrency),
                       "--queues", QUEUE, "--loglevel", args.loglevel, "--without-gossip",
                       "--without-mingle", "--hostname", f"sandbox@%h-{os.getpid()}"])
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Celery Beat, run only while this process holds the schedule's lease: start as many as you
    like for availability, exactly one schedules."""
    from services.scheduler_service import run_scheduler

    if get_settings().workers is not WorkerMode.CELERY:
        raise CliUsageError("scheduler: set PORTAL_WORKERS=celery (and PORTAL_BROKER_URL) first; "
                            "in the threads mode the portal schedules itself")
    return run_scheduler(_context(), loglevel=args.loglevel)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, like every other error of the CLI.
        print(f"sandbox: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sandbox", description="Sandbox Portal on the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, handler: Any, help_text: str, *,
            group: Any = sub) -> argparse.ArgumentParser:
        command = group.add_parser(name, help=help_text)
        command.add_argument("--json", action="store_true", help="print JSON")
        command.set_defaults(handler=handler)
        return command

    def add_group(name: str, help_text: str) -> Any:
        return sub.add_parser(name, help=help_text).add_subparsers(
            dest=f"{name}_command", required=True, parser_class=_Parser)

    cloud = add("cloud", cmd_cloud, "start or stop the embedded cloud or LocalStack; whether "
                                    "each target is usable, and who the portal is there")
    cloud.add_argument("action", choices=["start", "stop", "status"])
    cloud.add_argument("--target", choices=["embedded", "localstack", "aws"],
                       help="default: PORTAL_CLOUD for start and stop, every target for status")
    templates = add("templates", cmd_templates, "list the templates (without a subcommand); "
                    "import and manage instructors' own")
    templates_group = templates.add_subparsers(dest="templates_command", required=False,
                                               parser_class=_Parser)
    imported = add("import", cmd_templates_import, "import a CloudFormation template (.yaml, "
                   ".json) or a Terraform module (a folder or a .zip) as a new template",
                   group=templates_group)
    imported.add_argument("path", metavar="PATH")
    imported.add_argument("--id", required=True, help="the template's id, unique among all "
                                                       "templates")
    imported.add_argument("--title", help="default: the id")
    imported.add_argument("--summary", help="default: the template's own description")
    imported.add_argument("--course", action="append", metavar="C",
                          help="a course whose students are offered it (repeatable)")
    new_version = add("add-version", cmd_templates_add_version, "replace an imported template "
                      "with a new version (running environments keep theirs)",
                      group=templates_group)
    new_version.add_argument("id", metavar="ID")
    new_version.add_argument("path", metavar="PATH")
    versions = add("versions", cmd_templates_versions, "an imported template's versions",
                   group=templates_group)
    versions.add_argument("id", metavar="ID")
    retired = add("retire", cmd_templates_retire, "no new launches of an imported template",
                  group=templates_group)
    retired.add_argument("id", metavar="ID")
    assign = add("assign", cmd_templates_assign, "the courses whose students are offered an "
                 "imported template, from now on exactly these", group=templates_group)
    assign.add_argument("id", metavar="ID")
    assign.add_argument("--course", action="append", metavar="C",
                        help="a course (repeatable); none: offered in no course")
    render = add("render", cmd_render, "write a template rendered with parameters")
    render.add_argument("template")
    render.add_argument("--format", choices=["terraform", "cloudformation"], required=True)
    render.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    render.add_argument("--out", required=True)
    launch = add("launch", cmd_launch, "launch an environment and wait for it")
    launch.add_argument("template")
    launch.add_argument("--owner", required=True,
                        help="whose environment it is: an account launches as its role; a name "
                             "without an account as a student")
    launch.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    launch.add_argument("--course", help="the course it is launched for, within its limits "
                                         "(default: the portal's default course, open to "
                                         "every student)")
    launch.add_argument("--lease-hours", help="how long it may run before the portal destroys it "
                                              "(default: the portal's default lease)")
    launch.add_argument("--engine", choices=[e.value for e in EngineName],
                        help="how it is deployed (default: the template's first engine, "
                             "CloudFormation for the built-in templates)")
    launch.add_argument("--no-wait", action="store_true",
                        help="return as soon as the launch is recorded (Celery mode: the workers "
                             "run it; threads mode: this process finishes it before exiting)")
    status = add("status", cmd_status, "one environment with its resources")
    status.add_argument("env")
    destroy = add("destroy", cmd_destroy, "destroy an environment and wait")
    destroy.add_argument("env")
    destroy.add_argument("--no-wait", action="store_true",
                         help="return as soon as the destroy is recorded")
    worker = add("worker", cmd_worker, "a Celery worker (PORTAL_WORKERS=celery)")
    worker.add_argument("--concurrency", type=int, default=8,
                        help="launches and destroys at once (threads; default 8)")
    worker.add_argument("--loglevel", default="INFO")
    scheduler = add("scheduler", cmd_scheduler,
                    "Celery Beat for the monitoring and limits passes; one acts at a time")
    scheduler.add_argument("--loglevel", default="INFO")
    add("engines", cmd_engines, "the deployment engines and whether each can deploy each "
        "template here")
    add("envs", cmd_envs, "list environments")
    estimate = add("estimate", cmd_estimate,
                   "cost of a template per resource: per hour, for a lease, per month")
    estimate.add_argument("template")
    estimate.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    estimate.add_argument("--region", help="default: the portal's region")
    estimate.add_argument("--hours", type=float, default=get_settings().default_lease_hours,
                          help="length of the lease in hours (default: the portal's default lease)")
    advise = add("advise", cmd_advise, "preflight checks of a template with parameters")
    advise.add_argument("template")
    advise.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    diagram = add("diagram", cmd_diagram,
                  "print a template's architecture as Graphviz DOT (pipe it to `dot -Tsvg`)")
    diagram.add_argument("template")
    predict = add("predict-credits", cmd_predict_credits,
                  "a burstable instance's CPU credit balance hour by hour, and when its CPU is "
                  "held at the baseline")
    predict.add_argument("--instance-type", required=True,
                         help="a burstable type: t2, t3, t3a or t4g (e.g. t3.micro)")
    predict.add_argument("--cpu", type=float, required=True, metavar="PERCENT",
                         help="the CPU the workload asks for, 0-100, as CloudWatch's "
                              "CPUUtilization (the mean over the vCPUs)")
    predict.add_argument("--hours", type=int, default=24, help="1 to 168 (default 24)")
    predict.add_argument("--start-balance", type=float, metavar="CREDITS",
                         help="the CPUCreditBalance of a running instance, as earned credits; "
                              "without it, a new instance: a t2 in standard mode has its 30 "
                              "launch credits per vCPU, any other 0")
    predict.add_argument("--unlimited", action="store_true",
                         help="unlimited credit mode (default: standard, the mode the portal's "
                              "templates launch burstable types in)")
    add("collect", cmd_collect, "one monitoring pass now: CloudWatch metrics, scaling "
        "activities and deployments of every running environment (on the embedded cloud, the "
        "simulated workload up to now first)")
    demo = add("demo", cmd_demo, "build a demo class on the embedded cloud: launches, destroys, "
               "failures and simulated metrics over the last days")
    demo.add_argument("--students", type=int, default=30)
    demo.add_argument("--days", type=int, default=14, help="at most 14")
    demo.add_argument("--seed", type=int, default=0, help="another seed, another class")
    demo.add_argument("--course", help="the course name of the demo class")
    lease = add_group("lease", "change an environment's lease (as the operator)")
    extend = add("extend", cmd_lease, "move an environment's lease end later", group=lease)
    extend.add_argument("env", metavar="ENV_ID")
    extend.add_argument("--hours", required=True, metavar="N", help="hours to add to the lease")
    extend.set_defaults(action="extend")
    end = add("end", cmd_lease, "end an environment's lease now: it is destroyed", group=lease)
    end.add_argument("env", metavar="ENV_ID")
    end.set_defaults(action="end")

    users = add_group("users", "accounts: add, list, import a roster, one-time codes")
    users_add = add("add", cmd_users_add, "create an account", group=users)
    users_add.add_argument("name", metavar="NAME")
    users_add.add_argument("--role", required=True, choices=[r.value for r in Role])
    users_add.add_argument("--email", help="for sign-in by e-mail and the identity provider")
    users_add.add_argument("--admin", action="store_true",
                           help="an admin instructor: creates instructors, sees every course")
    users_add.add_argument("--password-stdin", action="store_true",
                           help="read the password from stdin, one line (never give it in "
                                "argv); without it the account gets a one-time code, printed "
                                "once, with which the person sets their own password")
    add("list", cmd_users_list, "list the accounts", group=users)
    code = add("code", cmd_users_code, "a new one-time code for an account (a forgotten "
               "password)", group=users)
    code.add_argument("name", metavar="NAME")
    users_import = add("import", cmd_users_import, "create and enrol the people of a roster "
                       "CSV (columns name, email, role); prints each one's one-time code",
                       group=users)
    users_import.add_argument("course", metavar="COURSE")
    users_import.add_argument("file", metavar="FILE.csv", help="the CSV file, or - for stdin")

    course_group = add_group("courses", "courses: their limits and who is in them")

    def course_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("id", metavar="ID")
        command.add_argument("--title")
        command.add_argument("--budget-usd", metavar="N", help="what each student may spend")
        command.add_argument("--max-envs", metavar="N",
                             help="environments a student may run at once")
        command.add_argument("--max-lease-hours", metavar="N", help="the longest lease")
        command.add_argument("--templates", metavar="A,B",
                             help="the templates students may launch (all: every template)")
        command.add_argument("--instance-types", metavar="X,Y",
                             help="EC2 instance types allowed (all: each template's own)")
        command.add_argument("--db-classes", metavar="X,Y",
                             help="RDS classes allowed (all: each template's own)")
        command.add_argument("--starts", metavar="YYYY-MM-DD",
                             help="first day students may launch ('' clears it)")
        command.add_argument("--ends", metavar="YYYY-MM-DD",
                             help="last day of the course ('' clears it)")
        budget = command.add_mutually_exclusive_group()
        budget.add_argument("--notify-only", action="store_true",
                            help="at the budget, warn instead of destroying the student's "
                                 "environments")
        budget.add_argument("--stop-at-budget", action="store_true",
                            help="at the budget, destroy the student's environments (the "
                                 "default)")

    course_options(add("create", cmd_courses_create, "create a course (limits not given take "
                       "the portal's defaults)", group=course_group))
    course_options(add("update", cmd_courses_update, "change a course's limits",
                       group=course_group))
    add("list", cmd_courses_list, "list the courses", group=course_group)
    show = add("show", cmd_courses_show, "a course with its limits and members",
               group=course_group)
    show.add_argument("id", metavar="ID")
    enroll = add("enroll", cmd_courses_enroll, "enrol existing accounts in a course",
                 group=course_group)
    enroll.add_argument("id", metavar="ID")
    enroll.add_argument("names", nargs="+", metavar="NAME")
    enroll.add_argument("--instructor", action="store_true",
                        help="enrol them as the course's instructors")

    audit_log = add("audit", cmd_audit, "the audit log, newest first")
    audit_log.add_argument("--since", metavar="ISO", help="entries from this date or time on "
                                                          "(UTC unless it says otherwise)")
    audit_log.add_argument("--action", action="append", metavar="A",
                           help="launch, destroy, lease.extend, account.create, ... "
                                "(repeatable)")
    audit_log.add_argument("--actor", action="append", metavar="NAME", help="(repeatable)")
    audit_log.add_argument("--course", action="append", metavar="ID", help="(repeatable)")
    audit_log.add_argument("--outcome", action="append", choices=[o.value for o in Outcome])
    audit_log.add_argument("--csv", action="store_true", help="print CSV")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except PortalError as exc:
        print(f"sandbox: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
