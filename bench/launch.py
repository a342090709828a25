"""Launch benchmark: the portal's launch path against raw boto3 on the same embedded cloud.

Prints, measured in one run:
- launch_ratio: median portal launch of three-tier (validate, render, record, create, wait,
  outputs) over median raw `create_stack` + `describe_stacks` of the same template;
- ha_launch_ratio: the same for ha-web, the HA web stack (42 resources with its defaults);
- concurrent_ratio: 30 concurrent portal launches over 30 concurrent raw creates (wall time,
  median of --rounds rounds), and whether every launch ended ready;
- celery_concurrent_ratio: the same 30 launches recorded by this process and run by two
  `sandbox worker --concurrency 15` processes (PORTAL_WORKERS=celery), from the first record to
  the last run's end as read from the history, over 30 concurrent raw creates on the same
  emulator (target <= 2.0). Its broker is Redis at PORTAL_BENCH_REDIS_URL (a database the bench
  empties), its history a fresh schema of PostgreSQL at PORTAL_BENCH_DATABASE_URL, dropped
  afterwards; when either does not answer the figure is null, with the reason;
- rss_mb: this (portal) process's resident memory after all of the above.

Every portal launch is a student's, checked against the limits of the course "bench", which the
script creates with room for the concurrent launches (a course's limits, not the default
course's three environments at once, are what a class runs under).

    python bench/launch.py [--json] [--repeats N] [--concurrency N] [--rounds N] [--template T]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from services import settings as settings_module
from services.settings import Settings
from services import accounts, courses, dispatch
from services import environment_service as environments
from services.clouds import embedded
from services.context import PortalContext
from services.history.models import Run, RunStatus
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
# The Celery mode's figure: its broker (a database of the bench's own, emptied at start: a task
# left by an aborted run would act on the new history's run of the same id) and its history.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CELERY_WORKERS = 2
SANDBOX = str(Path(sys.executable).parent / "sandbox")


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
                                   for r in self.ctx.engine("cloudformation").stack_resources(stack)],
                                  deployment_listed=True)
        self.ctx.engine("cloudformation").delete(stack=stack, deadline=time.monotonic() + 60,
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
            figures.update(celery_figures(settings, template_id=args.template,
                                          concurrency=args.concurrency, rounds=args.rounds,
                                          log_dir=Path(tmp)))
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
        if figures["celery_concurrent_ratio"] is None:
            print(f"{args.concurrency} concurrent launches through Celery workers: not measured: "
                  f"{figures['celery_reason']}")
        else:
            print(f"{args.concurrency} concurrent launches through {CELERY_WORKERS} Celery workers: "
                  f"{figures['celery_concurrent_s']:.2f} s, raw {figures['celery_raw_concurrent_s']:.2f} s, "
                  f"ratio {figures['celery_concurrent_ratio']:.2f} (target <= 2.0); launches lost: "
                  f"{figures['celery_launches_lost']}")
        print(f"portal process memory after {args.concurrency} launches and destroys: "
              f"{figures['rss_mb']:.0f} MB (at start {figures['rss_start_mb']:.0f} MB)")
        for failure in figures["failures"] + figures.get("celery_failures", []):
            print(f"  lost: {failure}")
    lost = figures["launches_lost"] + (figures.get("celery_launches_lost") or 0)
    return 0 if lost == 0 else 1


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


def raw_concurrent(raw: RawLauncher, *, concurrency: int) -> float:
    """Wall seconds of `concurrency` raw creates at once; they are removed again."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        raw_wall, raw_ids = timed(lambda: list(pool.map(lambda _: raw.launch(), range(concurrency))))
    for env_id in raw_ids:  # type: ignore[union-attr]
        raw.remove(env_id)
    return raw_wall


def concurrent_round(ctx: PortalContext, raw: RawLauncher, *, template_id: str, concurrency: int,
                     failures: list[str]) -> tuple[float, float, int]:
    """Wall seconds of `concurrency` raw creates at once, then of as many portal launches at once,
    and how many of the portal's were lost; everything launched is removed again."""
    raw_wall = raw_concurrent(raw, concurrency=concurrency)

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


# -- the Celery mode ------------------------------------------------------------------------------
def shown(url: str) -> str:
    """A URL as printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def unreachable(redis_url: str, database_url: str) -> str | None:
    """Why the Celery figure cannot be measured (Redis or PostgreSQL not answering), or None."""
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the reason
        return f"Redis at {shown(redis_url)} does not answer: {type(exc).__name__}: {exc}"
    try:
        engine = create_engine(database_url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        reason = str(exc).splitlines()[0] if str(exc) else ""
        return f"PostgreSQL at {shown(database_url)} does not answer: {type(exc).__name__}: {reason}"
    return None


@contextmanager
def fresh_schema(database_url: str) -> Iterator[str]:
    """A URL whose connections live in a new schema, dropped afterwards with all it holds."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def celery_environment(values: dict[str, str]) -> Iterator[None]:
    """This process in the Celery mode: the Celery app reads its broker from the environment's
    settings, as the workers do."""
    from services import celery_tasks

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    settings_module.get_settings.cache_clear()
    celery_tasks.app.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings_module.get_settings.cache_clear()
        celery_tasks.app.cache_clear()


@contextmanager
def celery_workers(*, count: int, concurrency: int, log_dir: Path) -> Iterator[list[Path]]:
    """`count` `sandbox worker` processes, each in a session of its own, ended afterwards whatever
    happened; their logs."""
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for i in range(count):
            log = log_dir / f"celery-worker-{i}.log"
            with open(log, "wb") as out:
                workers.append((subprocess.Popen(
                    [SANDBOX, "worker", "--concurrency", str(concurrency), "--loglevel", "INFO"],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True), log))
        deadline = time.monotonic() + 60
        for process, log in workers:
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start: {log.read_text()[-1000:]}")
                time.sleep(0.05)
        yield [log for _, log in workers]
    finally:
        for process, _ in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_for_runs(ctx: PortalContext, run_ids: list[int], *, timeout_s: float = 600) -> dict[int, str]:
    """Each run's final status, read from the history by one poller (not one per run: thirty
    pollers would take the CPU the workers need)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with ctx.sessions() as session:
            statuses = dict(session.execute(select(Run.id, Run.status)
                                            .where(Run.id.in_(run_ids))).all())
        if RunStatus.RUNNING.value not in statuses.values():
            return statuses
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs not ended after {timeout_s:.0f} s")
        time.sleep(0.05)


def celery_round(ctx: PortalContext, *, template_id: str, concurrency: int,
                 failures: list[str]) -> tuple[float, int]:
    """Wall seconds of `concurrency` launches recorded at once and run by the workers, until the
    last has ended; how many were lost. Everything launched is destroyed again, by the workers."""

    def record(_: int) -> tuple[str, int] | None:
        try:
            started = environments.start_launch(ctx, actor=STUDENT, template_id=template_id,
                                                parameters={}, course=BENCH_COURSE)
            dispatch.submit_launch(ctx, started.run_id)
        except Exception as exc:  # noqa: BLE001 - a launch that raised is a lost launch
            failures.append(f"celery: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            return None
        return started.env_id, started.run_id

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        started = [s for s in pool.map(record, range(concurrency)) if s]
    recorded = time.perf_counter() - start
    wait_for_runs(ctx, [run_id for _, run_id in started])
    wall = time.perf_counter() - start
    if VERBOSE:
        print(f"celery: {concurrency} recorded and handed over in {recorded:.2f} s, "
              f"all ended after {wall:.2f} s", file=sys.stderr)

    views = [environments.get_environment(ctx, actor=STUDENT, env_id=env_id)
             for env_id, _ in started]
    for view in views:
        if view.status != "ready":
            failures.append(f"celery: {view.env_id}: {view.status}: {view.status_reason}")
    lost = concurrency - sum(view.status == "ready" for view in views)
    destroys = []
    for view in views:
        if view.status in ("ready", "failed"):
            run_id = environments.start_destroy(ctx, actor=STUDENT, env_id=view.env_id).run_id
            dispatch.submit_destroy(ctx, run_id)
            destroys.append(run_id)
    wait_for_runs(ctx, destroys)
    return wall, lost


def celery_figures(settings: Settings, *, template_id: str, concurrency: int, rounds: int,
                   log_dir: Path) -> dict[str, object]:
    """celery_concurrent_ratio and its parts; null with the reason when Redis or PostgreSQL
    does not answer, or the workers failed, so that the other figures still print."""
    redis_url = os.environ.get("PORTAL_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    database_url = os.environ.get("PORTAL_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    per_worker = math.ceil(concurrency / CELERY_WORKERS)
    figures: dict[str, object] = {
        "celery_concurrent_ratio": None, "celery_reason": unreachable(redis_url, database_url),
        "celery_workers": CELERY_WORKERS, "celery_worker_concurrency": per_worker}
    if figures["celery_reason"] is not None:
        return figures
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    failures: list[str] = []
    try:
        with fresh_schema(database_url) as schema_url:
            values = {"PORTAL_WORKERS": "celery", "PORTAL_BROKER_URL": redis_url,
                      "PORTAL_DATABASE_URL": schema_url, "PORTAL_DATA_DIR": str(settings.data_dir),
                      "PORTAL_CLOUD": "embedded", "PORTAL_REGION": settings.region,
                      "PORTAL_COLLECT_INTERVAL_S": "0", "PORTAL_BUDGET_CHECK_INTERVAL_S": "0"}
            with celery_environment(values), celery_workers(
                    count=CELERY_WORKERS, concurrency=per_worker, log_dir=log_dir):
                ctx = PortalContext(settings_module.get_settings())
                set_up_course(ctx, concurrency=concurrency)
                raw = RawLauncher(ctx, template_id)
                # Every worker thread's first launch builds what it keeps (the context, boto3's
                # clients and connections): one round first, not measured.
                celery_round(ctx, template_id=template_id, concurrency=concurrency,
                             failures=[])
                celery_walls, raw_walls, lost = [], [], 0
                for _ in range(rounds):
                    raw_walls.append(raw_concurrent(raw, concurrency=concurrency))
                    wall, round_lost = celery_round(ctx, template_id=template_id,
                                                    concurrency=concurrency, failures=failures)
                    celery_walls.append(wall)
                    lost += round_lost
                if VERBOSE:
                    print(f"celery: walls {[round(w, 2) for w in celery_walls]} s, raw walls "
                          f"{[round(w, 2) for w in raw_walls]} s", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the other figures must still print
        figures["celery_reason"] = (f"the Celery run failed: {type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0][:300] if str(exc) else ''}")
        # The workers' logs go with the bench's temporary directory: their ends, to stderr.
        for log in sorted(log_dir.glob("celery-worker-*.log")):
            print(f"{log.name}:\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)
        return figures
    finally:
        redis.Redis.from_url(redis_url).flushdb()
    celery_wall, raw_wall = statistics.median(celery_walls), statistics.median(raw_walls)
    figures.update({
        "celery_concurrent_ratio": round(celery_wall / raw_wall, 3),
        "celery_concurrent_s": round(celery_wall, 3),
        "celery_raw_concurrent_s": round(raw_wall, 3),
        "celery_launches_lost": lost,
        "celery_failures": failures,
    })
    return figures


if __name__ == "__main__":
    sys.exit(main())
