"""The services as the UI reaches them: one context per process, one way to show their errors."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import streamlit as st

from portal.components.text import md_escape
from services import environment_service, jobs, preview_service
from services.context import PortalContext, get_context
from services.errors import PortalError
from services.monitoring.passes import start_schedule
from services.monitoring.scheduler import BackgroundScheduler
from services.reconcile_service import ReconcileReport, reconcile_and_clean_up


@st.cache_resource(show_spinner=False)
def portal_context() -> PortalContext:
    """Settings, catalog, database and cloud clients, built once and shared by every session.

    Cached here rather than built per rerun: cloud clients are the expensive part (boto3 guide).
    """
    return get_context()


@st.cache_resource(show_spinner=False)
def background_schedule() -> BackgroundScheduler:
    """The process's monitoring schedule (simulated workload on the embedded cloud, collector,
    ending leases), started by the first page load and shared by every session."""
    return start_schedule(portal_context())


@st.cache_resource(show_spinner=False)
def warm_previews() -> Future[None]:
    """The Launch page's previews computed once in the background when the app starts."""
    return jobs.submit(preview_service.warm, portal_context())


@contextmanager
def portal_errors() -> Iterator[None]:
    """Show a `PortalError` as the message it carries and stop this run (or fragment) there.

    Anything else is a bug and propagates to Streamlit's own error display.
    """
    try:
        yield
    except PortalError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        st.stop()


def reconcile_history(ctx: PortalContext) -> ReconcileReport:
    """Bring the run history in line with what really runs, as the CLI does before each command.

    Overdue or orphaned runs end `failed`, environments of a stopped embedded cloud become `lost`
    (and the cloud connection is renewed), and interrupted launches get a destroy the portal starts
    itself, run on background threads like every other destroy started from the UI.
    """
    return reconcile_and_clean_up(
        ctx, execute=lambda run_id: jobs.submit(environment_service.run_destroy, ctx,
                                                run_id=run_id))
