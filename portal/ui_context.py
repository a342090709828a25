"""The services as the UI reaches them: one context per process, one way to show their errors."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import streamlit as st
from streamlit.errors import FragmentHandledException

from portal.components.text import md_escape
from services.settings import WorkerMode
from services import dispatch, jobs, preview_service
from services.context import PortalContext, get_context
from services.errors import PortalError
from services.i18n import _
from services.identity import Actor
from services.incidents import record_incident
from services.monitoring.passes import scheduled_steps, start_schedule, start_schedules
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
    ending leases) and its budget and lease checks, shared by every session. The web server
    starts them when it starts (portal/server.py); this covers a script run on its own. In the
    Celery mode they run under `sandbox scheduler` instead, and this one only answers "Collect
    now" on the caller's thread."""
    ctx = portal_context()
    start_schedules(ctx)
    if ctx.settings.workers is WorkerMode.CELERY:
        return BackgroundScheduler(ctx, scheduled_steps(), 0)
    return start_schedule(ctx)


@st.cache_resource(show_spinner=False)
def warm_previews() -> Future[None]:
    """The Launch page's previews computed once in the background when the app starts."""
    return jobs.submit(preview_service.warm, portal_context())


@contextmanager
def portal_errors() -> Iterator[None]:
    """Show a `PortalError` as the message it carries and stop this run (or fragment) there.

    Anything else is a bug, whose text is for the server's log and not for students: they see a
    short message with an incident id, the log gets the whole traceback under that id, and an
    instructor sees it on the page too. `st.stop` and `st.rerun` pass through: Streamlit's
    control-flow exceptions are not `Exception`s.
    """
    try:
        yield
    except PortalError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        st.stop()
    except FragmentHandledException:
        # A fragment inside this block failed outside a handler of its own, and Streamlit has
        # shown and logged that already; this only tells the script run it happened.
        raise
    except Exception as exc:  # noqa: BLE001 - every bug gets an incident id, none a raw trace
        actor = _actor_of_this_run()
        who = f"{actor.name} ({actor.role.value})" if actor is not None else "nobody signed in"
        incident = record_incident(exc, context=f"a page of {who}")
        st.error(md_escape(incident.public_message()), icon=":material/error:")
        if actor is not None and actor.is_instructor:
            with st.expander(_("Details of incident {incident_id} (instructors only)").format(
                    incident_id=incident.incident_id),
                             icon=":material/bug_report:"):
                st.code(incident.detail, language=None)
        st.stop()


def _actor_of_this_run() -> Actor | None:
    """The actor identity resolved for this run, read from session_state rather than resolved
    again: the failure being reported may be the database's, which resolving would need."""
    # Imported here: portal.identity imports this module for the portal's context.
    from portal.identity import ACTOR_KEY

    return st.session_state.get(ACTOR_KEY)


def reconcile_history(ctx: PortalContext) -> ReconcileReport:
    """Bring the run history in line with what really runs, as the CLI does before each command.

    Overdue or orphaned runs end `failed`, environments of a stopped embedded cloud become `lost`
    (and the cloud connection is renewed), and interrupted launches get a destroy the portal starts
    itself, run on background threads like every other destroy started from the UI.
    """
    return reconcile_and_clean_up(ctx, execute=dispatch.executor(ctx, "destroy"))
