"""Signing in, in headless Chromium, against a bare Streamlit page with one plotly chart.

Figures (medians; the first load of each is a warm-up and not counted):
- sign_in_page_vs_bare: opening the portal signed out (the sign-in gate's redirect and the
  portal's own sign-in form, ready to type in) over opening the bare page until its chart is drawn
- signed_in_catalog_vs_bare: from pressing "Sign in" to the Catalog drawn and the script idle,
  over the same bare page load

Run: .venv/bin/python bench/sign_in.py [--repeats N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dashboard import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from services.settings import Settings  # noqa: E402
from services import accounts  # noqa: E402
from services.context import PortalContext  # noqa: E402
from services.identity import Actor, Role  # noqa: E402

PASSWORD = "bench sign-in passphrase"
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(*, repeats: int, workdir: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    settings = Settings(data_dir=workdir / "data", database_url=None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ctx = PortalContext(settings)
    operator = Actor("operator", Role.INSTRUCTOR, is_admin=True)
    accounts.create_account(ctx, actor=operator, name="bench-student", role="student",
                            password=PASSWORD)
    environment = os.environ | {
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_DATABASE_URL": settings.effective_database_url, "PORTAL_CLOUD": "embedded",
        # Nothing in the background may run while pages are timed.
        "PORTAL_COLLECT_INTERVAL_S": "0", "PORTAL_BUDGET_CHECK_INTERVAL_S": "0"}
    bare: list[float] = []
    form: list[float] = []
    catalog: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with streamlit_server(ROOT / "bench" / "bare_plotly_app.py", environment,
                                  workdir / "bare.log") as (url, _pid):
                page = browser.new_page()
                for _ in range(repeats + 1):
                    started = time.perf_counter()
                    page.goto(f"{url}/chart")
                    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
                    page.wait_for_function(IDLE, timeout=60_000)
                    bare.append(time.perf_counter() - started)
                page.close()
            with streamlit_server(ROOT / "portal" / "server.py", environment,
                                  workdir / "portal.log") as (url, _pid):
                for _ in range(repeats + 1):
                    # A new context each time: signed out, as a student arriving is.
                    context = browser.new_context()
                    page = context.new_page()
                    started = time.perf_counter()
                    page.goto(url)
                    page.locator("#password").wait_for(timeout=60_000)
                    form.append(time.perf_counter() - started)
                    page.fill("#login", "bench-student")
                    page.fill("#password", PASSWORD)
                    started = time.perf_counter()
                    page.click("button[type=submit]")
                    page.get_by_role("heading", name="Catalog").wait_for(timeout=60_000)
                    page.wait_for_function(IDLE, timeout=60_000)
                    catalog.append(time.perf_counter() - started)
                    context.close()
        finally:
            browser.close()
    bare_s = statistics.median(bare[1:])
    return {"bare_page_s": round(bare_s, 3),
            "sign_in_page_s": round(statistics.median(form[1:]), 3),
            "signed_in_catalog_s": round(statistics.median(catalog[1:]), 3),
            "sign_in_page_vs_bare": round(statistics.median(form[1:]) / bare_s, 3),
            "signed_in_catalog_vs_bare": round(statistics.median(catalog[1:]) / bare_s, 3),
            "repeats": repeats}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sign-in-") as workdir:
        figures = measure(repeats=args.repeats, workdir=Path(workdir))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
