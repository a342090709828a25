"""Launch benchmark: the portal's launch path against raw boto3 on the same embedded cloud.

Prints, measured in one run:
- launch_ratio: median portal launch of three-tier (validate, render, record, create, wait,
  outputs) over median raw `create_stack` + `describe_stacks` of the same template;
- ha_launch_ratio: the same for ha-web, the HA web stack (42 resources with its defaults);
- concurrent_ratio: 30 concurrent portal launches over 30 concurrent raw creates (wall time,
  median of --rounds rounds), and whether every launch ended ready;
- rss_mb: this (portal) process's resident memory after all of the above.

Every portal launch is a student's, checked against the limits of the course "bench", which the
script creates with room for the concurrent launches (a course's limits, not the default
course's three environments at once, are what a class runs under).

    python bench/launch.py [--json] [--repeats N] [--concurrency N] [--rounds N] [--template T]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from portal.settings import Settings
from services import accounts, courses
from services import environment_service as environments
from services.clouds import embedded
from services.context import PortalContext
from services.identity import Actor, Role
from services.ownership import OwnedResources
from services.render_service import portal_tags

DEFAULT_TEMPLATE = "three-tier"
HA_TEMPLATE = "ha-web"
VERBOSE = False
STUDENT = Actor("bench", Role.STUDENT)
OPERATOR = Actor("bench-operator", Role.INSTRUCTOR, is_admin=True)
BENCH_COURSE = "bench"
# The warm-up portal launch of each template in `single_launches` is removed the raw way, so
# the history keeps it as running: it counts against the course's limit for the whole run.
WARM_UPS = 2
# The most environments a course lets a student run at once (services/courses.py), less those.
MAX_CONCURRENCY = 100 - WARM_UPS
# Far above what the bench spends: every launch commits its whole lease (three-tier's 4 h are
# cents), and --concurrency of them run at once.
BENCH_BUDGET_USD = 10_000.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RawLauncher:
    """What a script with boto3 alone would do: create the stack, describe it until complete."""

    def __init__(self, ctx: PortalContext, template_id: str) -> None:
        self.ctx = ctx
        self.template_id = template_id
        self.cloudformation = ctx.connection.client("cloudformation")
        rendered = environments.render_template(ctx, template_id=template_id, parameters={})
        self.body = rendered.cloudformation_template
        self.parameters = rendered.cloudformation_parameters

    def launch(self) -> str:
        env_id = "raw" + uuid.uuid4().hex[:7]
        tags = portal_tags(env_id=env_id, owner="raw", template_id=self.template_id)
        stack_id = self.cloudformation.create_stack(
            StackName=f"sbx-{env_id}", TemplateBody=self.body, Parameters=self.parameters,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])["StackId"]
        while True:
            stack = self.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
            if stack["StackStatus"] != "CREATE_IN_PROGRESS":
                break
            time.sleep(0.05)
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"raw launch ended {stack['StackStatus']}")
        return env_id

    def remove(self, env_id: str) -> None:
        stack = f"sbx-{env_id}"
        # The sweep deletes only what the deployment created; a raw stack has no history, so
        # that is its live resource list, read before the delete takes it away.
        owned = OwnedResources.of([(r["type"], r["physical_id"])
                                   for r in self.ctx.engine.stack_resources(stack)],
                                  stack_listed=True)
        self.ctx.engine.delete(stack=stack, deadline=time.monotonic() + 60,
                               on_events=lambda _events: None)
        self.ctx.sweeper.sweep(env_id, owned=owned, deadline=time.monotonic() + 60)


def set_up_course(ctx: PortalContext, *, concurrency: int) -> None:
    """The bench student, enrolled in a course that lets them run `concurrency` environments
    at once (besides the warm-ups) within a budget the bench never reaches."""
    courses.create_course(ctx, actor=OPERATOR, course_id=BENCH_COURSE, title="Launch benchmark",
                          max_running_envs=concurrency + WARM_UPS, budget_usd=BENCH_BUDGET_USD)
    accounts.create_account(ctx, actor=OPERATOR, name=STUDENT.name, role=Role.STUDENT)
    courses.enrol(ctx, actor=OPERATOR, course_id=BENCH_COURSE, names=[STUDENT.name])


def portal_launch(ctx: PortalContext, template_id: str) -> str:
    env = environments.launch(ctx, actor=STUDENT, template_id=template_id, parameters={},
                              course=BENCH_COURSE)
    if env.status != "ready":
        raise RuntimeError(f"portal launch ended {env.status}: {env.status_reason}")
    return env.env_id


def timed(work) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--template", default=DEFAULT_TEMPLATE)
    parser.add_argument("--keep-dir", help="use (and keep) this data dir, e.g. to read the emulator's log")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of concurrent launches; the ratio is of their medians")
    parser.add_argument("--verbose", action="store_true", help="print every sample to stderr")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency: 1 to {MAX_CONCURRENCY}, the most environments a course "
                     "lets one student run at once")
    global VERBOSE
    VERBOSE = args.verbose

    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        settings = Settings(data_dir=Path(args.keep_dir or tmp), region="us-east-1",
                            database_url=f"sqlite:///{tmp}/bench.db")
        ctx = PortalContext(settings)
        try:
            figures = run(ctx, template_id=args.template, repeats=args.repeats,
                          concurrency=args.concurrency, rounds=args.rounds)
        finally:
            embedded.stop(settings)
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"single launch of {args.template}: portal {figures['portal_launch_s'] * 1000:.1f} ms, "
              f"raw boto3 {figures['raw_launch_s'] * 1000:.1f} ms (medians of {args.repeats}), "
              f"ratio {figures['launch_ratio']:.2f} (target <= 1.5)")
        print(f"single launch of {HA_TEMPLATE}: portal {figures['ha_portal_launch_s'] * 1000:.1f} ms, "
              f"raw boto3 {figures['ha_raw_launch_s'] * 1000:.1f} ms (medians of {args.repeats}), "
              f"ratio {figures['ha_launch_ratio']:.2f} (target <= 1.5)")
        print(f"{args.concurrency} concurrent launches: portal {figures['portal_concurrent_s']:.2f} s, "
              f"raw {figures['raw_concurrent_s']:.2f} s, ratio {figures['concurrent_ratio']:.2f} "
              f"(target <= 1.5); launches lost: {figures['launches_lost']}")
        print(f"portal process memory after {args.concurrency} launches and destroys: "
              f"{figures['rss_mb']:.0f} MB (at start {figures['rss_start_mb']:.0f} MB)")
        for failure in figures["failures"]:
            print(f"  lost: {failure}")
    return 0 if figures["launches_lost"] == 0 else 1


def single_launches(ctx: PortalContext, template_id: str, *,
                    repeats: int) -> tuple[float, float]:
    """Median seconds of one portal launch and of one raw launch of `template_id`."""
    raw = RawLauncher(ctx, template_id)
    # Warm both paths once: the emulator's first stack and the first DB write are slower.
    for env_id in (portal_launch(ctx, template_id), raw.launch()):
        raw.remove(env_id)
    portal_times, raw_times = [], []
    for _ in range(repeats):
        # Alternate, so drift in the emulator (it keeps growing) lands on both sides alike.
        seconds, env_id = timed(lambda: portal_launch(ctx, template_id))
        portal_times.append(seconds)
        environments.destroy(ctx, actor=STUDENT, env_id=env_id)  # type: ignore[arg-type]
        seconds, env_id = timed(raw.launch)
        raw_times.append(seconds)
        raw.remove(env_id)  # type: ignore[arg-type]
    if VERBOSE:
        print(template_id, "portal ms", sorted(round(t * 1000) for t in portal_times),
              file=sys.stderr)
        print(template_id, "raw ms   ", sorted(round(t * 1000) for t in raw_times),
              file=sys.stderr)
    return statistics.median(portal_times), statistics.median(raw_times)


def concurrent_round(ctx: PortalContext, raw: RawLauncher, *, template_id: str, concurrency: int,
                     failures: list[str]) -> tuple[float, float, int]:
    """Wall seconds of `concurrency` raw creates at once, then of as many portal launches at once,
    and how many of the portal's were lost; everything launched is removed again."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        raw_wall, raw_ids = timed(lambda: list(pool.map(lambda _: raw.launch(), range(concurrency))))
    for env_id in raw_ids:  # type: ignore[union-attr]
        raw.remove(env_id)

    def one_portal_launch(_: int) -> str:
        try:
            env = environments.launch(ctx, actor=STUDENT, template_id=template_id,
                                      parameters={}, course=BENCH_COURSE)
        except Exception as exc:  # noqa: BLE001 - a launch that raised is a lost launch
            failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            return ""
        if env.status != "ready":
            failures.append(f"{env.env_id}: {env.status}: {env.status_reason}")
            return ""
        return env.env_id

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        portal_wall, portal_ids = timed(
            lambda: list(pool.map(one_portal_launch, range(concurrency))))
    launched = [i for i in portal_ids if i]  # type: ignore[union-attr]
    lost = concurrency - len(launched)
    ready = {e.env_id for e in environments.list_environments(ctx, actor=STUDENT)
             if e.status == "ready"}
    lost += len(set(launched) - ready)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda env_id: environments.destroy(ctx, actor=STUDENT, env_id=env_id),
                      launched))
    return raw_wall, portal_wall, lost  # type: ignore[return-value]


def run(ctx: PortalContext, *, template_id: str, repeats: int, concurrency: int,
        rounds: int) -> dict[str, object]:
    rss_start = rss_mb()
    set_up_course(ctx, concurrency=concurrency)
    ctx.connection.warm("cloudformation", "ec2", "rds", "resourcegroupstaggingapi")
    portal_median, raw_median = single_launches(ctx, template_id, repeats=repeats)
    ha_portal_median, ha_raw_median = single_launches(ctx, HA_TEMPLATE, repeats=repeats)
    raw = RawLauncher(ctx, template_id)
    failures: list[str] = []
    portal_walls, raw_walls, lost = [], [], 0
    # One wall time of 30 launches is a single sample on a busy machine: take the median of a few.
    for _ in range(rounds):
        raw_wall, portal_wall, round_lost = concurrent_round(
            ctx, raw, template_id=template_id, concurrency=concurrency, failures=failures)
        raw_walls.append(raw_wall)
        portal_walls.append(portal_wall)
        lost += round_lost
    portal_wall, raw_wall = statistics.median(portal_walls), statistics.median(raw_walls)

    return {
        "launch_ratio": round(portal_median / raw_median, 3),
        "ha_launch_ratio": round(ha_portal_median / ha_raw_median, 3),
        "concurrent_ratio": round(portal_wall / raw_wall, 3),
        "rss_mb": round(rss_mb(), 1),
        "rss_start_mb": round(rss_start, 1),
        "portal_launch_s": round(portal_median, 4),
        "raw_launch_s": round(raw_median, 4),
        "ha_portal_launch_s": round(ha_portal_median, 4),
        "ha_raw_launch_s": round(ha_raw_median, 4),
        "portal_concurrent_s": round(portal_wall, 3),
        "raw_concurrent_s": round(raw_wall, 3),
        "launches_lost": lost,
        "failures": failures,
        "concurrency": concurrency,
        "concurrent_rounds": rounds,
    }


if __name__ == "__main__":
    sys.exit(main())
