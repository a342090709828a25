"""Dashboard benchmark: the class Health view, the collector's CloudWatch calls, the Health page.

Prints, measured in one run:
- health_data_vs_duckdb: producing the data of the class Health view
  (`health_view.class_health`, which reads the hourly rollups from the history database) for a
  class of --environments environments with --days days of 5-minute samples, over DuckDB computing
  the same per-instance hourly aggregates and summary from the same raw samples held in memory
  (median of --repeats runs each; target at most 5);
- metric_calls_ratio: GetMetricData calls of one collector pass over --instances instances on the
  embedded cloud, over ceil(queries / 500) (target 1);
- health_page_vs_bare: the Health page of that class drawn in headless Chromium (navigation click
  to every chart drawn and the script idle) over a bare Streamlit page with one plotly chart
  reached the same way (median of --page-repeats each; target at most 1.5).

    python bench/dashboard.py [--json] [--environments N] [--days D] [--instances N]
                              [--repeats N] [--page-repeats N] [--skip-page]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import insert, select

from services.settings import Settings
from services import environment_service
from services.burstable import CreditAccount, CreditMode, burstable_spec
from services.context import PortalContext
from services.data_dir import ensure_private_dir
from services.history.models import (
    Environment,
    MetricPoint,
    MetricSeries,
    Run,
    RunKind,
    RunStatus,
)
from services.identity import Actor, Role
from services.monitoring import health_view
from services.monitoring.filters import DashboardFilter
from services.monitoring.rollups import rebuild_rollups
from services.workload.profiles import AGENT_OVERHEAD_PERCENT, WorkloadProfile

ROOT = Path(__file__).resolve().parent.parent
# Teaches every course (courses_taught None): reads the whole class, and launches the collector's
# instances itself, in the open default course. An instructor's own environments count against
# no budget or running-environment limit; a student's would be refused after the default
# course's three, and no course lets one student run --instances (130) at once.
INSTRUCTOR = Actor(name="bench-instructor", role=Role.INSTRUCTOR)
PERIOD = timedelta(minutes=5)
INSTANCE_TYPE = "t3.micro"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VERBOSE = False


def log(message: str) -> None:
    if VERBOSE:
        print(message, file=sys.stderr, flush=True)


def median_seconds(work: Callable[[], Any], repeats: int) -> float:
    work()  # warm: imports, statement caches, the page cache of the database file
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- a class in the history database ------------------------------------------------------------
def build_class_history(ctx: PortalContext, *, environments: int, days: int,
                        now: datetime) -> list[int]:
    """`environments` environments of one class, each with one t3.micro whose CPU and credit
    metrics have a 5-minute sample for `days` days, plus their rollups. Returns the series ids.

    The samples follow the credit rules (`CreditAccount`) under class-hour peaks with the agents'
    overhead, so some instances throttle and the view has something to find. Set-up, not timed.
    """
    spec = burstable_spec(INSTANCE_TYPE)
    assert spec is not None
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    steps = int(days * 24 * 60 / 5)
    rng = random.Random(7)
    env_rows, run_rows, series_rows = [], [], []
    for number in range(environments):
        env_id = f"bench{number:05d}"
        env_rows.append(dict(
            id=env_id, template_id="ha-web", owner=f"student-{number % 30:02d}",
            course="cloud-101", status="ready", parameters={}, outputs={}, cloud="embedded",
            region="us-east-1", deployment_name=f"sbx-{env_id}", created_at=start, updated_at=start,
            lease_hours=24 * days, expires_at=now + timedelta(hours=4), hourly_cost_usd=0.14))
        run_rows.append(dict(env_id=env_id, kind=RunKind.LAUNCH.value,
                             status=RunStatus.SUCCEEDED.value, started_at=start,
                             deadline_at=start + timedelta(minutes=30),
                             ended_at=start + timedelta(seconds=90)))
        for metric, stat in (("CPUUtilization", "Average"), ("CPUCreditBalance", "Average"),
                             ("CPUCreditUsage", "Sum"), ("CPUSurplusCreditBalance", "Average")):
            series_rows.append(dict(
                env_id=env_id, resource_kind="instance", resource_id=f"i-{number:017x}",
                namespace="AWS/EC2", metric_name=metric, stat=stat,
                dimensions={"InstanceId": f"i-{number:017x}"}, instance_type=INSTANCE_TYPE,
                period_s=300, fetched_until=start + PERIOD * (steps - 1)))
    with ctx.sessions() as session, session.begin():
        session.execute(insert(Environment), env_rows)
        session.execute(insert(Run), run_rows)
        session.execute(insert(MetricSeries), series_rows)
        ids = session.execute(select(MetricSeries.id, MetricSeries.env_id,
                                     MetricSeries.metric_name)).all()
    series_of = {(env_id, metric): sid for sid, env_id, metric in ids}

    moments = [start + PERIOD * step for step in range(steps)]
    for number in range(environments):
        env_id = f"bench{number:05d}"
        profile = WorkloadProfile.class_hours(rng.uniform(35, 95), off_peak=rng.uniform(0, 6),
                                              agents=AGENT_OVERHEAD_PERCENT)
        account = CreditAccount.resumed(spec, mode=CreditMode.STANDARD,
                                        balance=rng.uniform(0, spec.max_earned_credits))
        points: dict[str, list[dict[str, Any]]] = {m: [] for m in (
            "CPUUtilization", "CPUCreditBalance", "CPUCreditUsage", "CPUSurplusCreditBalance")}
        for moment in moments:
            credit = account.step(5, profile.demand_at(moment))
            for metric, value in (("CPUUtilization", credit.effective_cpu),
                                  ("CPUCreditBalance", credit.balance),
                                  ("CPUCreditUsage", credit.credit_usage),
                                  ("CPUSurplusCreditBalance", credit.surplus_balance)):
                points[metric].append({"series_id": series_of[(env_id, metric)], "at": moment,
                                       "value": value})
        with ctx.sessions() as session, session.begin():
            for rows in points.values():
                session.execute(insert(MetricPoint), rows)
        if number % 20 == 19:
            log(f"  {number + 1} environments written")
    series_ids = [sid for sid, _env, _metric in ids]
    with ctx.sessions() as session, session.begin():
        rebuild_rollups(session, series_ids)
    return series_ids


# -- the same aggregates in DuckDB --------------------------------------------------------------
DUCKDB_HEALTH = f"""
WITH hourly AS (
    SELECT b.series_id, date_trunc('hour', b.at) AS hour,
           min(b.value) AS balance_min, arg_max(b.value, b.at) AS balance,
           avg(c.value) AS cpu, max(c.value) AS cpu_max
    FROM balance b LEFT JOIN cpu c ON c.instance_id = b.instance_id AND c.at = b.at
    WHERE b.at >= $start AND b.at < $end
    GROUP BY b.series_id, hour
), marked AS (
    SELECT h.*, s.instance_id, s.baseline,
           h.balance_min <= {health_view.EMPTY_BALANCE}
           AND abs(h.cpu_max - s.baseline) <= {health_view.THROTTLE_TOLERANCE_PERCENT}
           AS throttled
    FROM hourly h JOIN series s USING (series_id)
)
SELECT instance_id, min(balance_min) AS min_balance, sum(throttled::INT) AS hours_throttled,
       count(*) AS hours_observed, min(CASE WHEN throttled THEN hour END) AS first_throttled,
       list(balance ORDER BY hour) AS balances
FROM marked GROUP BY instance_id
"""


class DuckDbClass:
    """The class's raw samples in DuckDB's memory, as a warehouse would hold them."""

    def __init__(self, ctx: PortalContext) -> None:
        with ctx.sessions() as session:
            series = pd.read_sql(select(MetricSeries.id.label("series_id"),
                                        MetricSeries.resource_id.label("instance_id"),
                                        MetricSeries.metric_name), session.connection())
            points = pd.read_sql(select(MetricPoint.series_id, MetricPoint.at, MetricPoint.value)
                                 .join(MetricSeries, MetricSeries.id == MetricPoint.series_id)
                                 .where(MetricSeries.metric_name.in_(
                                     ["CPUCreditBalance", "CPUUtilization"])),
                                 session.connection())
        points["at"] = pd.to_datetime(points["at"], utc=True).dt.tz_localize(None)
        points = points.merge(series, on="series_id")
        self.rows = len(points)
        baseline = burstable_spec(INSTANCE_TYPE).baseline_percent  # type: ignore[union-attr]
        self.connection = duckdb.connect()
        self.connection.execute("SET threads TO 2")
        balance = points[points["metric_name"] == "CPUCreditBalance"].drop(columns="metric_name")
        cpu = points[points["metric_name"] == "CPUUtilization"].drop(columns="metric_name")
        balance_series = series[series["metric_name"] == "CPUCreditBalance"].assign(
            baseline=baseline)
        self.connection.register("balance_frame", balance)
        self.connection.register("cpu_frame", cpu)
        self.connection.register("series_frame", balance_series)
        # Materialised in DuckDB's own columnar memory, so the timing is DuckDB's and not a scan
        # of pandas objects.
        self.connection.execute("CREATE TABLE balance AS SELECT * FROM balance_frame")
        self.connection.execute("CREATE TABLE cpu AS SELECT * FROM cpu_frame")
        self.connection.execute("CREATE TABLE series AS SELECT * FROM series_frame")

    def health(self, start: datetime, end: datetime) -> pd.DataFrame:
        return self.connection.execute(DUCKDB_HEALTH, {
            "start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}).df()


def health_data_vs_duckdb(ctx: PortalContext, *, days: int, repeats: int,
                          now: datetime) -> dict[str, Any]:
    window = DashboardFilter(start=now - timedelta(days=days), end=now)
    portal = median_seconds(
        lambda: health_view.class_health(ctx, actor=INSTRUCTOR, filter=window, now=now), repeats)
    result = health_view.class_health(ctx, actor=INSTRUCTOR, filter=window, now=now)
    warehouse = DuckDbClass(ctx)
    start = health_view.class_health(ctx, actor=INSTRUCTOR, filter=window, now=now).start
    duck = median_seconds(lambda: warehouse.health(start, min(window.end, now)), repeats)
    duck_result = warehouse.health(start, min(window.end, now)).set_index("instance_id")
    ours = result.instances.set_index("instance_id")
    agree = bool(
        (ours["hours_throttled"].astype(int)
         == duck_result.loc[ours.index, "hours_throttled"].astype(int)).all()
        and (ours["hours_observed"].astype(int)
             == duck_result.loc[ours.index, "hours_observed"].astype(int)).all())
    return {"health_data_s": round(portal, 4), "duckdb_s": round(duck, 4),
            "health_data_vs_duckdb": round(portal / duck, 3), "raw_samples": warehouse.rows,
            "class_instances": len(ours), "throttled_instances": int((ours["hours_throttled"] > 0).sum()),
            "same_throttled_hours_as_duckdb": agree}


# -- the collector's GetMetricData calls --------------------------------------------------------
def metric_calls(settings: Settings, *, instances: int) -> dict[str, Any]:
    """One collector pass over `instances` web-server instances (four queries each) on the
    embedded cloud, after a day of samples was published for each; then a second pass."""
    from services.monitoring.collector import collect

    ctx = PortalContext(settings)
    launched = []
    from concurrent.futures import ThreadPoolExecutor

    def launch(number: int) -> str:
        env = environment_service.launch(ctx, actor=INSTRUCTOR, template_id="web-server",
                                         parameters={})
        if env.status != "ready":
            raise RuntimeError(f"bench launch {number} ended {env.status}: {env.status_reason}")
        return env.env_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        launched = list(pool.map(launch, range(instances)))
    log(f"  {len(launched)} web-server environments launched")
    cloudwatch = ctx.connection.client("cloudwatch")
    now = datetime.now(UTC)
    with ctx.sessions() as session, session.begin():
        # As if launched a day ago, so the first pass has a day of samples to fetch.
        for env in session.scalars(select(Environment)):
            env.created_at = now - timedelta(days=1)
    ec2 = ctx.connection.client("ec2")
    instance_ids = [i["InstanceId"] for page in ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
        for r in page["Reservations"] for i in r["Instances"]]
    moments = [now - timedelta(days=1) + PERIOD * k for k in range(288)]
    for instance_id in instance_ids:
        data = [{"MetricName": "CPUUtilization", "Dimensions": [
            {"Name": "InstanceId", "Value": instance_id}], "Timestamp": moment, "Value": 5.0,
            "Unit": "Percent"} for moment in moments]
        for chunk in range(0, len(data), 500):
            cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=data[chunk:chunk + 500])
    first = collect(ctx, now=now)
    # Three more periods of each instance, then a pass 15 minutes later: it must store exactly
    # those, asking from where the first pass stopped.
    for instance_id in instance_ids:
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=[{
            "MetricName": "CPUUtilization", "Dimensions": [
                {"Name": "InstanceId", "Value": instance_id}],
            "Timestamp": moments[-1] + PERIOD * k, "Value": 7.0, "Unit": "Percent"}
            for k in (1, 2, 3)])
    second = collect(ctx, now=now + timedelta(minutes=15))
    for env_id in launched:
        environment_service.destroy(ctx, actor=Actor(name="operator", role=Role.INSTRUCTOR),
                                    env_id=env_id)
    expected = math.ceil(first.metric_queries / 500)
    return {"collector_instances": len(instance_ids), "metric_queries": first.metric_queries, "metric_calls": first.metric_calls,
            "expected_calls": expected, "metric_calls_ratio": round(first.metric_calls / expected, 3),
            "points_first_pass": first.points_stored, "points_second_pass": second.points_stored,
            "calls_second_pass": second.metric_calls}


# -- the Health page in Chromium ----------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(script: Path, environment: dict[str, str], log_path: Path
                     ) -> Iterator[tuple[str, int]]:
    """`streamlit run script` on a free port; yields its URL and process id. No file watcher:
    nothing may rerun or poll the disk while pages are timed."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=environment, stdout=log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _drawn(page: Any, charts: int) -> None:
    """Every chart of the page drawn by plotly and the script finished."""
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=charts,
        timeout=120_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)


def _navigation_seconds(page: Any, *, away: str, target: str, charts: int, repeats: int
                        ) -> list[float]:
    """Click from page `away` to page `target` and wait until `charts` charts are drawn."""
    times = []
    for _ in range(repeats + 1):
        page.get_by_role("link", name=away, exact=True).click()
        page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot').length === 0", timeout=60_000)
        started = time.perf_counter()
        page.get_by_role("link", name=target, exact=True).click()
        _drawn(page, charts)
        times.append(time.perf_counter() - started)
    return times[1:]  # the first one warms the page's imports and caches


def _bench_instructor_password(settings: Settings) -> str:
    """The bench's instructor signs in through the real form: an admin account (it sees every
    course) with a fresh password."""
    from services import accounts
    from services.history.models import Account

    password = secrets.token_urlsafe(16)
    ctx = PortalContext(settings)
    with ctx.sessions() as session, session.begin():
        account = session.get(Account, INSTRUCTOR.name)
        if account is not None:
            session.delete(account)
    accounts.create_account(ctx, actor=Actor("operator", Role.INSTRUCTOR, is_admin=True),
                            name=INSTRUCTOR.name, role="instructor", is_admin=True,
                            password=password)
    return password


def health_page_vs_bare(settings: Settings, *, repeats: int, workdir: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    environment = os.environ | {
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_DATABASE_URL": settings.effective_database_url, "PORTAL_CLOUD": "embedded",
        # No background pass may run while the page is timed.
        "PORTAL_COLLECT_INTERVAL_S": "0", "PORTAL_BUDGET_CHECK_INTERVAL_S": "0"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.set_default_timeout(120_000)
        try:
            with streamlit_server(ROOT / "bench" / "bare_plotly_app.py", environment,
                                  workdir / "bare.log") as (url, _pid):
                page.goto(url)
                page.get_by_role("link", name="Home", exact=True).wait_for()
                bare = _navigation_seconds(page, away="Home", target="Chart", charts=1,
                                           repeats=repeats)
            password = _bench_instructor_password(settings)
            with streamlit_server(ROOT / "portal" / "server.py", environment,
                                  workdir / "portal.log") as (url, _pid):
                page.goto(url)
                page.fill("#login", INSTRUCTOR.name)
                page.fill("#password", password)
                page.click("button[type=submit]")
                page.get_by_role("link", name="Class health", exact=True).click()
                page.wait_for_selector(".js-plotly-plot .main-svg")
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
                charts = page.locator(".js-plotly-plot").count()
                health = _navigation_seconds(page, away="Catalog", target="Class health",
                                             charts=charts, repeats=repeats)
        finally:
            browser.close()
    return {"health_page_s": round(statistics.median(health), 3),
            "bare_page_s": round(statistics.median(bare), 3), "health_page_charts": charts,
            "health_page_vs_bare": round(statistics.median(health) / statistics.median(bare), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--instances", type=int, default=130,
                        help="instances of the collector pass (4 queries each)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--page-repeats", type=int, default=7)
    parser.add_argument("--skip-page", action="store_true", help="no browser figure")
    parser.add_argument("--only-page", action="store_true",
                        help="the browser figure alone (with --class-db, no build either)")
    parser.add_argument("--class-db", type=Path,
                        help="keep the class's history database here and reuse it if present")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        workdir = Path(tmp)
        cloud = Settings(data_dir=workdir / "cloud", collect_interval_s=0, collect_lag_s=0)
        # Made as get_settings() makes it: a launch reads the history (its course) before the
        # embedded cloud's start would create the folder.
        ensure_private_dir(cloud.data_dir)
        class_db = args.class_db.resolve() if args.class_db else workdir / "class.db"
        class_settings = Settings(data_dir=workdir / "cloud", collect_interval_s=0,
                                  database_url=f"sqlite:///{class_db}")
        try:
            now = datetime.now(UTC).replace(second=0, microsecond=0)
            reuse = class_db.exists()
            class_ctx = PortalContext(class_settings)
            if not reuse:
                log(f"writing {args.environments} environments x {args.days} days of samples")
                build_class_history(class_ctx, environments=args.environments, days=args.days,
                                    now=now)
            if not args.only_page:
                log("timing the class Health view against DuckDB")
                figures.update(health_data_vs_duckdb(class_ctx, days=args.days,
                                                     repeats=args.repeats, now=now))
                log(f"collector pass over {args.instances} instances")
                figures.update(metric_calls(cloud, instances=args.instances))
            if not args.skip_page:
                log("Health page against a bare plotly page in Chromium")
                figures.update(health_page_vs_bare(class_settings, repeats=args.page_repeats,
                                                   workdir=workdir))
        finally:
            from services.clouds import embedded

            embedded.stop(cloud)
    keys = ("health_data_vs_duckdb", "metric_calls_ratio", "health_page_vs_bare")
    if args.json:
        print(json.dumps({k: figures[k] for k in keys if k in figures} | {"details": figures}))
    else:
        for key, value in figures.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
