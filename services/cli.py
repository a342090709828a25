"""`sandbox`: the portal's services on the command line.

Bad input exits non-zero with a one-line error that names the field.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from portal.settings import get_settings
from services import (
    cost_service,
    diagram_service,
    environment_service,
    preview_service,
    template_model,
)
from services.context import PortalContext
from services.errors import PortalError
from services.identity import Actor, Role, sign_in
from services.reconcile_service import reconcile_and_clean_up

# The CLI is an operator's tool: it sees every environment unless --owner narrows a launch.
OPERATOR = Actor(name="operator", role=Role.INSTRUCTOR)


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


def _reconciled(ctx: PortalContext, *, verify_stacks: bool = False) -> None:
    """Bring the history in line first; interrupted launches are cleaned up before going on."""
    reconcile_and_clean_up(
        ctx, verify_stacks=verify_stacks,
        execute=lambda run_id: environment_service.run_destroy(ctx, run_id=run_id))


def cmd_cloud(args: argparse.Namespace) -> int:
    from services.clouds import embedded

    settings = get_settings()
    if args.action == "start":
        state = embedded.ensure_running(settings)
        _print(state.to_json(), args.json, f"embedded cloud running at {state.endpoint_url}")
    elif args.action == "stop":
        stopped = embedded.stop(settings)
        _print({"stopped": stopped}, args.json,
               "embedded cloud stopped" if stopped else "embedded cloud was not running")
    else:
        status = embedded.status(settings)
        data = {"running": status.running, "endpoint_url": status.endpoint_url,
                "region": status.region, "boot_id": status.boot_id, "pid": status.pid,
                "started_at": status.started_at, "reason": status.reason}
        text = (f"running at {status.endpoint_url} ({status.region}), pid {status.pid}"
                if status.running else f"not running: {status.reason}")
        _print(data, args.json, text)
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


def cmd_render(args: argparse.Namespace) -> int:
    ctx = _context()
    rendered = environment_service.render_template(ctx, template_id=args.template,
                                                   parameters=_params(args.param))
    out = Path(args.out)
    written = rendered.write(out, fmt=args.format)
    _print({"files": [str(p) for p in written]}, args.json,
           "\n".join(str(p) for p in written))
    return 0


def cmd_launch(args: argparse.Namespace) -> int:
    ctx = _context()
    actor = sign_in(args.owner, "student")
    env = environment_service.launch(ctx, actor=actor, template_id=args.template,
                                     parameters=_params(args.param), lease_hours=args.lease_hours,
                                     course=args.course)
    data = {"env_id": env.env_id, "status": env.status, "outputs": env.outputs_by_name,
            "error": env.status_reason}
    text = f"{env.env_id}: {env.status}" + "".join(
        f"\n  {o.label}: {o.value}" for o in env.outputs)
    if env.status_reason:
        text += f"\n  reason: {env.status_reason}"
    _print(data, args.json, text)
    return 0 if env.status == "ready" else 1


def cmd_status(args: argparse.Namespace) -> int:
    ctx = _context()
    _reconciled(ctx, verify_stacks=True)
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
    env = environment_service.destroy(ctx, actor=OPERATOR, env_id=args.env)
    run = env.latest_run
    leftovers = run.leftovers if run else []
    data = {"env_id": env.env_id, "status": env.status, "leftovers": leftovers,
            "error": run.error if run else None}
    text = f"{env.env_id}: {env.status}" + "".join(f"\n  left: {x}" for x in leftovers)
    _print(data, args.json, text)
    return 0 if env.status == "destroyed" else 1


def cmd_envs(args: argparse.Namespace) -> int:
    ctx = _context()
    _reconciled(ctx)
    envs = environment_service.list_environments(ctx, actor=OPERATOR)
    data = [{"env_id": e.env_id, "status": e.status, "template": e.template_id,
             "owner": e.owner, "created_at": e.created_at.isoformat()} for e in envs]
    _print(data, args.json, "\n".join(
        f"{e['env_id']}  {e['status']:<10} {e['template']:<12} {e['owner']}" for e in data))
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    ctx = _context()
    rendered = environment_service.render_template(ctx, template_id=args.template,
                                                   parameters=_params(args.param))
    resolved = template_model.resolve_rendered(rendered, region=args.region or ctx.settings.region)
    estimate = cost_service.estimate(resolved, hours=args.hours, template_id=args.template)
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
    diagram = diagram_service.template_diagram(ctx.catalog, args.template)
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


def cmd_demo(args: argparse.Namespace) -> int:
    from services.demo import build_demo_class

    ctx = _context()
    report = build_demo_class(ctx, students=args.students, days=args.days, seed=args.seed,
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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, like every other error of the CLI.
        print(f"sandbox: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sandbox", description="Sandbox Portal on the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--json", action="store_true", help="print JSON")
        command.set_defaults(handler=handler)
        return command

    cloud = add("cloud", cmd_cloud, "start, stop or inspect the embedded cloud")
    cloud.add_argument("action", choices=["start", "stop", "status"])
    add("templates", cmd_templates, "list the templates")
    render = add("render", cmd_render, "write a template rendered with parameters")
    render.add_argument("template")
    render.add_argument("--format", choices=["terraform", "cloudformation"], required=True)
    render.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    render.add_argument("--out", required=True)
    launch = add("launch", cmd_launch, "launch an environment and wait for it")
    launch.add_argument("template")
    launch.add_argument("--owner", required=True)
    launch.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    launch.add_argument("--course", help="the course it is launched for (default: the portal's "
                                         "default course)")
    launch.add_argument("--lease-hours", help="how long it may run before the portal destroys it "
                                              "(default: the portal's default lease)")
    status = add("status", cmd_status, "one environment with its resources")
    status.add_argument("env")
    destroy = add("destroy", cmd_destroy, "destroy an environment and wait")
    destroy.add_argument("env")
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
