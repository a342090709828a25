"""The portal's web server: the Streamlit app (`portal/app.py`) behind the sign-in gate and the
portal's own account routes.

`streamlit run portal/server.py` finds the `st.App` below and serves it; tests that drive pages
with AppTest run `portal/app.py` directly.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

from portal.account_routes import SignInGate, account_routes
from portal.frozen_heap import FrozenHeapKeeper, refreeze
from services import accounts
from services.context import get_context
from services.monitoring.passes import start_schedules

logger = logging.getLogger("sandbox.setup")


def _announce_setup() -> None:
    """On a portal with no instructor, log the one-time setup link (as Jenkins and Grafana do):
    whoever can read the server's log may create the first instructor."""
    from streamlit import config

    token = accounts.setup_token(get_context())
    if token is None:
        return
    host = config.get_option("server.address") or "localhost"
    port = config.get_option("server.port")
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    url = f"http://{host}:{port}{'/' + base if base else ''}/account/setup?token={token}"
    logger.warning(
        "\n  No instructor account exists yet. Open this link to create the first one:\n"
        "    %s\n  (or: sandbox users add NAME --role instructor --admin --password-stdin)\n", url)


def _import_and_freeze() -> None:
    """Imports what the pages import, then moves every object alive now out of the garbage
    collector's reach. Streamlit runs a full collection after every script run
    (`runner.postScriptGC`), and each one walked the ~300k objects of the imported libraries
    (plotly, pandas, boto3, cfn-lint): about 0.15 s of CPU per page view, holding the GIL while
    other students' pages wait. Frozen, the collection walks only what the runs made; what is made
    later and lives on is frozen by the keeper (`portal/frozen_heap.py`)."""
    import portal.components

    for module in pkgutil.iter_modules(portal.components.__path__, "portal.components."):
        importlib.import_module(module.name)
    for name in ("services.preview_service", "services.environment_service",
                 "services.monitoring.health_view", "services.cost_meter",
                 "services.credit_predictor", "services.template_library", "cfnlint.api"):
        importlib.import_module(name)
    refreeze()


@asynccontextmanager
async def _lifespan(_app: st.App) -> AsyncIterator[None]:
    _announce_setup()
    # Leases end and budgets stop from the server's start, not from the first page view.
    start_schedules(get_context())
    _import_and_freeze()
    keeper = FrozenHeapKeeper()
    keeper.start()
    try:
        yield
    finally:
        keeper.stop()


app = st.App("app.py", routes=account_routes(), middleware=[Middleware(SignInGate)],
             lifespan=_lifespan)
