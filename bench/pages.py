"""Every page of the portal against a bare Streamlit page with one plotly chart, in one run.

A class of --environments environments with --days days of 5-minute CPU credit metrics (the
class of bench/dashboard.py) is written to a SQLite history database; the portal
(`streamlit run portal/server.py`) and the bare page (bench/bare_plotly_app.py) are served side
by side and driven by headless Chromium:

- first visit: a new Streamlit session (a new tab of the user's browser profile, signed in by its
  session cookie, its HTTP cache shared with the earlier tabs) lands on a page that is
  not measured, then the sidebar link of the page is clicked; the time runs from the click to
  the page idle (the script not running, no status widget, no skeleton, the page's title shown
  and every visible plotly chart drawn);
- warm visit: the same session goes to another page and comes back.

The pages: Catalog, Launch (with its first preview), My environments (a student's, with their
Cost and Health tabs), Credit predictor, All environments (the instructor's, the whole class),
Class cost and Class health. The bare page is measured the same way (Home, then Chart). Medians
of --repeats sessions each, interleaved; a first session of each server (cold imports) is run
before and reported apart (`cold_s`), not in the medians.

Under a class's load: --sessions browser sessions sign in through the form and open the Launch
page at once; the server process's CPU seconds (utime + stime of /proc/<pid>/stat) per page view
(Catalog after the sign-in, then Launch: two per session) against the bare app's under the same
load (Home, then Chart) gives `class_cpu_vs_bare`.

Skeletons: the longest time a `stSkeleton` (or the app skeleton) stayed on screen during each
measured visit is recorded per page (`skeleton_s`; target under a second on a warm server).

    python bench/pages.py [--json] [--environments 200] [--days 14] [--sessions 10]
                          [--repeats 5] [--class-db PATH] [--verbose]

The class database takes minutes to write; it is kept (default: under the system's temporary
folder, one per size) and copied for each run while it is younger than --max-age-hours, so a
second run starts in seconds. Each run works on its own copy: what one run's pages change
(sessions, reconcile) never reaches the next.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

VERBOSE = False
PASSWORD = "bench pages passphrase"
INSTRUCTOR = "bench-instructor"
# Owns bench00000, bench00030, ... of the class (bench/dashboard.py gives environment n to
# student-(n % 30)): their My environments page has a few environments, costs and charts.
STUDENT = "student-00"
LOAD_STUDENT = "bench-load-{:02d}"
SESSION_COOKIE = "sandbox_session"
TIMEOUT_MS = 180_000
VIEWPORT = {"width": 1400, "height": 1000}

# (key, sidebar title, url path, who) in the order a session visits them. The student lands on
# the Credit predictor, the instructor on the Audit log: neither landing is measured, so every
# measured page is first reached by a click in the sidebar.
STUDENT_LANDING = "credits"
STUDENT_PAGES = [("catalog", "Catalog"), ("launch", "Launch"),
                 ("my_environments", "My environments")]
INSTRUCTOR_LANDING = "audit"
INSTRUCTOR_PAGES = [("all_environments", "All environments"), ("class_cost", "Class cost"),
                    ("class_health", "Class health"), ("credit_predictor", "Credit predictor")]
PAGE_KEYS = [k for k, _ in STUDENT_PAGES] + [k for k, _ in INSTRUCTOR_PAGES]

# Polled in the page: how long a skeleton has been on screen, the longest since the last reset.
SKELETON_WATCH = """
(() => {
  const KINDS = {element: '[data-testid="stSkeleton"]', app: '[data-testid="stAppSkeleton"]'};
  const fresh = () => ({since: {element: null, app: null}, longest: {element: 0, app: 0}});
  window.__skeleton = fresh();
  window.__skeletonReset = () => { window.__skeleton = fresh(); };
  window.__skeletonRead = () => {
    const s = window.__skeleton, now = performance.now(), out = {};
    for (const kind in KINDS) {
      const open = s.since[kind] === null ? 0 : now - s.since[kind];
      out[kind] = Math.max(s.longest[kind], open) / 1000;
    }
    return out;
  };
  setInterval(() => {
    const s = window.__skeleton, now = performance.now();
    for (const kind in KINDS) {
      const shown = document.querySelector(KINDS[kind]) !== null;
      if (shown && s.since[kind] === null) s.since[kind] = now;
      if (!shown && s.since[kind] !== null) {
        s.longest[kind] = Math.max(s.longest[kind], now - s.since[kind]);
        s.since[kind] = null;
      }
    }
  }, 20);
})();
"""
SKELETON_RESET = "() => window.__skeletonReset && window.__skeletonReset()"
SKELETON_READ = ("() => window.__skeletonRead ? window.__skeletonRead() "
                 ": {element: 0, app: 0}")
# Idle: the script not running, no status widget, no skeleton, the page's own title shown, every
# visible plotly chart drawn.
IDLE = """
(title) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]'))
    return false;
  const h1 = document.querySelector('h1');
  if (!h1 || !h1.textContent.trim().startsWith(title)) return false;
  for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    if (chart.offsetParent !== null && !chart.querySelector('.main-svg')) return false;
  }
  return true;
}
"""
ERRORS = ("() => Array.from(document.querySelectorAll('[data-testid=\"stException\"], "
          "[data-testid=\"stAlertContentError\"]')).map(e => e.textContent.slice(0, 300))")
PAGE_STATS = """
() => ({
  elements: document.querySelectorAll('[data-testid="stElementContainer"]').length,
  charts: document.querySelectorAll('[data-testid="stPlotlyChart"]').length,
  dataframes: document.querySelectorAll('[data-testid="stDataFrame"]').length,
  expanders: document.querySelectorAll('[data-testid="stExpander"]').length,
})
"""


def log(message: str) -> None:
    if VERBOSE:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the class -----------------------------------------------------------------------------------
def _default_class_db(environments: int, days: int) -> Path:
    return Path(tempfile.gettempdir()) / "sandbox-bench-pages" / f"class-{environments}x{days}.db"


def _cached_class_fresh(path: Path, *, environments: int, days: int, max_age_hours: float
                        ) -> bool:
    meta = path.with_suffix(".json")
    if not path.exists() or not meta.exists():
        return False
    try:
        info = json.loads(meta.read_text())
    except ValueError:
        return False
    built = datetime.fromisoformat(info.get("built_at", "1970-01-01T00:00:00+00:00"))
    return (info.get("environments") == environments and info.get("days") == days
            and datetime.now(UTC) - built < timedelta(hours=max_age_hours))


def build_class_db(path: Path, *, environments: int, days: int) -> float:
    """Write the class of bench/dashboard.py into a fresh SQLite database at `path`; seconds."""
    from bench.dashboard import build_class_history
    from services.context import PortalContext
    from services.history.database import get_engine
    from services.settings import Settings

    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_suffix(".json"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    building = path.with_name(path.name + ".building")
    building.unlink(missing_ok=True)
    started = time.perf_counter()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    settings = Settings(data_dir=path.parent / "build-data", collect_interval_s=0,
                        database_url=f"sqlite:///{building}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    build_class_history(PortalContext(settings), environments=environments, days=days, now=now)
    # One file, no WAL left beside it: it is copied for every run. Leaving WAL mode needs the
    # only connection, so the pooled ones are closed first.
    get_engine(settings.effective_database_url).dispose()
    with sqlite3.connect(building) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    building.rename(path)
    path.with_suffix(".json").write_text(json.dumps(
        {"environments": environments, "days": days, "built_at": now.isoformat()}))
    return time.perf_counter() - started


def prepare_run_data(class_db: Path, workdir: Path, *, sessions: int) -> dict[str, Any]:
    """A copy of the class for this run, the embedded cloud started on the run's data folder (the
    class's environments marked as held by it, so that no reconcile finds them lost), and the
    accounts and session tokens the browsers use."""
    from sqlalchemy import update

    from services import accounts
    from services.clouds import embedded
    from services.context import PortalContext
    from services.history.models import Environment
    from services.identity import Actor, Role
    from services.settings import Settings

    database = workdir / "class.db"
    shutil.copyfile(class_db, database)
    data_dir = workdir / "data"
    data_dir.mkdir(mode=0o700)
    settings = Settings(data_dir=data_dir, collect_interval_s=0, collect_lag_s=0,
                        database_url=f"sqlite:///{database}")
    state = embedded.ensure_running(settings)
    ctx = PortalContext(settings)
    now = datetime.now(UTC)
    with ctx.sessions() as session, session.begin():
        session.execute(update(Environment).where(Environment.id.like("bench%")).values(
            cloud_session=state.boot_id, status="ready", status_reason=None,
            expires_at=now + timedelta(hours=4)))
    operator = Actor("operator", Role.INSTRUCTOR, is_admin=True)
    # Only the load's students sign in through the form: the others get a session token.
    accounts.create_account(ctx, actor=operator, name=INSTRUCTOR, role="instructor",
                            is_admin=True, password=PASSWORD)
    accounts.create_account(ctx, actor=operator, name=STUDENT, role="student", password=PASSWORD)
    for number in range(sessions):
        accounts.create_account(ctx, actor=operator, name=LOAD_STUDENT.format(number),
                                role="student", password=PASSWORD)
    return {"settings": settings, "ctx": ctx, "boot_id": state.boot_id}


def session_token(ctx: Any, name: str) -> str:
    from services import accounts

    return accounts.start_session(ctx, account_name=name)


# -- servers -------------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process, all its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# -- one page in the browser ---------------------------------------------------------------------
class Visit:
    __slots__ = ("seconds", "skeleton", "errors", "stats")

    def __init__(self, seconds: float, skeleton: dict[str, float], errors: list[str],
                 stats: dict[str, int]) -> None:
        self.seconds, self.skeleton, self.errors, self.stats = seconds, skeleton, errors, stats

    @property
    def skeleton_s(self) -> float:
        return max(self.skeleton.values(), default=0.0)


async def wait_idle(page: Any, title: str) -> None:
    await page.wait_for_function(IDLE, arg=title, polling=25, timeout=TIMEOUT_MS)


async def land(page: Any, url: str, title: str) -> None:
    await page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT_MS)
    await wait_idle(page, title)


async def visit(page: Any, title: str) -> Visit:
    """Click the sidebar link `title` and wait for the page idle."""
    await page.evaluate(SKELETON_RESET)
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title,
                                                                     exact=True)
    started = time.perf_counter()
    await link.click(timeout=TIMEOUT_MS)
    await wait_idle(page, title)
    seconds = time.perf_counter() - started
    return Visit(seconds, await page.evaluate(SKELETON_READ), await page.evaluate(ERRORS),
                 await page.evaluate(PAGE_STATS))


async def browser_context(browser: Any, url: str, token: str | None) -> Any:
    """One browser profile of a user: its HTTP cache is shared by the sessions (tabs) it opens,
    as a returning user's is; the first tab of it loads every asset."""
    context = await browser.new_context(viewport=VIEWPORT)
    await context.add_init_script(SKELETON_WATCH)
    if token is not None:
        await context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": url}])
    return context


async def tour(context: Any, url: str, *, landing: str, landing_title: str,
               pages: list[tuple[str, str]]) -> dict[str, tuple[Visit, Visit]]:
    """One Streamlit session (a new tab): land, every page once (first visits), then every page
    again (warm visits: each comes after another page)."""
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        await land(page, f"{url}/{landing}", landing_title)
        first = {key: await visit(page, title) for key, title in pages}
        if len(pages) == 1:  # the bare app: away to its Home page, and back
            await visit(page, landing_title)
        warm = {key: await visit(page, title) for key, title in pages}
        return {key: (first[key], warm[key]) for key, _ in pages}
    finally:
        await page.close()


# -- a class's load ------------------------------------------------------------------------------
async def _session(browser: Any, url: str, *, landing: str, target: str,
                   sign_in_as: str | None = None) -> float:
    """A new browser session: opens `url` (signing in through the form as `sign_in_as`, when
    given), waits for `landing`, clicks `target` in the sidebar and waits for it; seconds."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        started = time.perf_counter()
        await page.goto(url, wait_until="domcontentloaded")
        if sign_in_as is not None:
            await page.fill("#login", sign_in_as)
            await page.fill("#password", PASSWORD)
            await page.click("button[type=submit]")
        await wait_idle(page, landing)
        await page.locator('[data-testid="stSidebarNav"]').get_by_role(
            "link", name=target, exact=True).click()
        await wait_idle(page, target)
        return time.perf_counter() - started
    finally:
        await context.close()


async def class_load(pid: int, flows: list[Any]) -> dict[str, float]:
    """Run `flows` (coroutines, one per browser session) at once; the server's CPU seconds and
    the wall time until the last one is idle."""
    before = cpu_seconds(pid)
    started = time.perf_counter()
    seconds = await asyncio.gather(*flows)
    wall = time.perf_counter() - started
    # Closing the sessions costs the server too: counted, after a moment for it to notice.
    await asyncio.sleep(0.5)
    return {"cpu_s": cpu_seconds(pid) - before, "wall_s": wall,
            "session_median_s": statistics.median(seconds)}


# -- the run ---------------------------------------------------------------------------------------
def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def measure(args: argparse.Namespace, run: dict[str, Any], workdir: Path
                  ) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    settings = run["settings"]
    environment = os.environ | {
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_DATABASE_URL": settings.effective_database_url, "PORTAL_CLOUD": "embedded",
        # Nothing in the background may run while pages are timed.
        "PORTAL_COLLECT_INTERVAL_S": "0", "PORTAL_BUDGET_CHECK_INTERVAL_S": "0"}
    ctx = run["ctx"]
    first: dict[str, list[float]] = {k: [] for k in [*PAGE_KEYS, "bare"]}
    warm: dict[str, list[float]] = {k: [] for k in [*PAGE_KEYS, "bare"]}
    skeleton: dict[str, float] = {k: 0.0 for k in [*PAGE_KEYS, "bare"]}
    skeleton_kinds: dict[str, dict[str, float]] = {k: {} for k in [*PAGE_KEYS, "bare"]}
    cold: dict[str, float] = {}
    cold_skeleton: dict[str, float] = {}
    errors: dict[str, list[str]] = {}
    stats: dict[str, dict[str, int]] = {}

    def record(results: dict[str, tuple[Visit, Visit]], *, is_cold: bool) -> None:
        for key, (one, two) in results.items():
            for v in (one, two):
                if v.errors:
                    errors.setdefault(key, [])
                    errors[key] += [e for e in v.errors if e not in errors[key]]
            stats[key] = two.stats
            if is_cold:
                cold[key] = round(one.seconds, 3)
                cold_skeleton[key] = round(max(one.skeleton_s, two.skeleton_s), 3)
                continue
            first[key].append(one.seconds)
            warm[key].append(two.seconds)
            skeleton[key] = max(skeleton[key], one.skeleton_s, two.skeleton_s)
            for v in (one, two):
                for kind, seconds in v.skeleton.items():
                    skeleton_kinds[key][kind] = round(max(skeleton_kinds[key].get(kind, 0.0),
                                                          seconds), 3)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                   args=CHROMIUM_ARGS)
        try:
            with streamlit_server(ROOT / "bench" / "bare_plotly_app.py", environment,
                                  workdir / "bare.log") as (bare_url, bare_pid), \
                    streamlit_server(ROOT / "portal" / "server.py", environment,
                                     workdir / "portal.log") as (url, portal_pid):
                log(f"servers up: bare {bare_url}, portal {url}")

                bare_context = await browser_context(browser, bare_url, None)
                student_context = await browser_context(browser, url,
                                                        session_token(ctx, STUDENT))
                instructor_context = await browser_context(browser, url,
                                                           session_token(ctx, INSTRUCTOR))

                async def bare_tour() -> dict[str, tuple[Visit, Visit]]:
                    return await tour(bare_context, bare_url, landing="", landing_title="Home",
                                      pages=[("bare", "Chart")])

                async def student_tour() -> dict[str, tuple[Visit, Visit]]:
                    return await tour(student_context, url, landing=STUDENT_LANDING,
                                      landing_title="Credit predictor", pages=STUDENT_PAGES)

                async def instructor_tour() -> dict[str, tuple[Visit, Visit]]:
                    return await tour(instructor_context, url, landing=INSTRUCTOR_LANDING,
                                      landing_title="Audit log", pages=INSTRUCTOR_PAGES)

                for number in range(args.repeats + 1):
                    is_cold = number == 0
                    log(f"{'cold tour' if is_cold else f'repeat {number}'}")
                    for name, one_tour in (("bare", bare_tour), ("student", student_tour),
                                           ("instructor", instructor_tour)):
                        started = time.perf_counter()
                        results = await one_tour()
                        record(results, is_cold=is_cold)
                        log(f"  {name} tour {time.perf_counter() - started:.1f} s: " + ", ".join(
                            f"{k} {a.seconds:.2f}/{b.seconds:.2f}"
                            for k, (a, b) in results.items()))
                for context in (bare_context, student_context, instructor_context):
                    await context.close()

                load: dict[str, Any] = {}
                if args.sessions:
                    log(f"class load: {args.sessions} sessions sign in and open Launch at once")
                    def student(n: int) -> Any:
                        return _session(browser, url, landing="Catalog", target="Launch",
                                        sign_in_as=LOAD_STUDENT.format(n))

                    def bare() -> Any:
                        return _session(browser, bare_url, landing="Home", target="Chart")

                    # One warm-up sign-in, so that no import is counted.
                    await student(0)
                    portal_load = await class_load(
                        portal_pid, [student(n) for n in range(args.sessions)])
                    await bare()
                    bare_load = await class_load(
                        bare_pid, [bare() for _ in range(args.sessions)])
                    views = 2 * args.sessions
                    load = {
                        "portal_cpu_per_view_s": round(portal_load["cpu_s"] / views, 4),
                        "bare_cpu_per_view_s": round(bare_load["cpu_s"] / views, 4),
                        "portal_load_wall_s": round(portal_load["wall_s"], 3),
                        "bare_load_wall_s": round(bare_load["wall_s"], 3),
                        "portal_load_session_median_s": round(portal_load["session_median_s"], 3),
                        "bare_load_session_median_s": round(bare_load["session_median_s"], 3),
                        "class_cpu_vs_bare": round(portal_load["cpu_s"] / bare_load["cpu_s"], 3)
                        if bare_load["cpu_s"] > 0 else None,
                        "sessions": args.sessions}
        finally:
            await browser.close()

    bare_first, bare_warm = _median(first["bare"]), _median(warm["bare"])
    pages = {}
    figures: dict[str, Any] = {}
    for key in PAGE_KEYS:
        f, w = _median(first[key]), _median(warm[key])
        pages[key] = {"first_s": round(f, 3), "warm_s": round(w, 3),
                      "first_vs_bare": round(f / bare_first, 3),
                      "warm_vs_bare": round(w / bare_warm, 3),
                      "skeleton_s": round(skeleton[key], 3),
                      "skeleton_by_kind_s": skeleton_kinds[key], "cold_s": cold.get(key),
                      "cold_skeleton_s": cold_skeleton.get(key), "page": stats.get(key, {})}
        figures[f"{key}_first_vs_bare"] = pages[key]["first_vs_bare"]
        figures[f"{key}_warm_vs_bare"] = pages[key]["warm_vs_bare"]
    figures["health_page_vs_bare"] = pages["class_health"]["warm_vs_bare"]
    if load:
        figures["class_cpu_vs_bare"] = load["class_cpu_vs_bare"]
    figures["skeleton_longest_s"] = {k: pages[k]["skeleton_s"] for k in PAGE_KEYS}
    figures["skeleton_max_s"] = max(figures["skeleton_longest_s"].values())
    figures["details"] = {
        "bare": {"first_s": round(bare_first, 3), "warm_s": round(bare_warm, 3),
                 "skeleton_s": round(skeleton["bare"], 3),
                 "skeleton_by_kind_s": skeleton_kinds["bare"], "cold_s": cold.get("bare")},
        "pages": pages, "load": load, "errors": errors, "repeats": args.repeats,
        "samples": {k: {"first": [round(x, 3) for x in first[k]],
                        "warm": [round(x, 3) for x in warm[k]]} for k in first}}
    return figures


def table(figures: dict[str, Any]) -> str:
    details = figures["details"]
    bare = details["bare"]
    lines = [f"{'page':18} {'first s':>8} {'warm s':>8} {'first/bare':>10} {'warm/bare':>10} "
             f"{'skeleton s':>10} {'cold s':>7} {'elements':>8}",
             f"{'bare (1 plotly)':18} {bare['first_s']:8.3f} {bare['warm_s']:8.3f} "
             f"{'':>10} {'':>10} {bare['skeleton_s']:10.3f} {bare['cold_s'] or 0:7.3f}"]
    for key, row in details["pages"].items():
        lines.append(f"{key:18} {row['first_s']:8.3f} {row['warm_s']:8.3f} "
                     f"{row['first_vs_bare']:10.2f} {row['warm_vs_bare']:10.2f} "
                     f"{row['skeleton_s']:10.3f} {row['cold_s'] or 0:7.3f} "
                     f"{row['page'].get('elements', 0):8}")
    load = details["load"]
    if load:
        lines.append(
            f"class load ({load['sessions']} sessions sign in, open Launch): CPU per page view "
            f"portal {load['portal_cpu_per_view_s']:.3f} s, bare {load['bare_cpu_per_view_s']:.3f}"
            f" s -> class_cpu_vs_bare {load['class_cpu_vs_bare']}; wall {load['portal_load_wall_s']}"
            f" s vs {load['bare_load_wall_s']} s")
    lines.append(f"longest skeleton: {figures['skeleton_max_s']:.3f} s")
    for key, texts in details["errors"].items():
        lines.append(f"ERRORS on {key}: {texts}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--sessions", type=int, default=10,
                        help="browser sessions of the class load (0: no load figure)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--class-db", type=Path,
                        help="where the class database is kept between runs")
    parser.add_argument("--max-age-hours", type=float, default=12.0,
                        help="a kept class database older than this is written again")
    parser.add_argument("--rebuild", action="store_true", help="write the class database again")
    parser.add_argument("--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    started = time.perf_counter()
    class_db = (args.class_db or _default_class_db(args.environments, args.days)).resolve()
    build_s = 0.0
    if args.rebuild or not _cached_class_fresh(class_db, environments=args.environments,
                                               days=args.days, max_age_hours=args.max_age_hours):
        log(f"writing the class: {args.environments} environments x {args.days} days "
            f"to {class_db}")
        build_s = build_class_db(class_db, environments=args.environments, days=args.days)
        log(f"  written in {build_s:.0f} s")
    from services.clouds import embedded

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        workdir = Path(tmp)
        run = prepare_run_data(class_db, workdir, sessions=args.sessions)
        try:
            figures = asyncio.run(measure(args, run, workdir))
        finally:
            embedded.stop(run["settings"])
    figures["details"].update({"environments": args.environments, "days": args.days,
                               "class_build_s": round(build_s, 1),
                               "run_s": round(time.perf_counter() - started, 1)})
    if args.json:
        print(json.dumps(figures))
    else:
        print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
