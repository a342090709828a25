"""Live progress of one launch or destroy run, read from the run history while a job does the work.

Owns the `run_progress.*` session_state keys: the run a page is watching, per slot.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from portal.components.environment_card import error_text, events_table, status_label
from portal.components.live import live_section
from portal.components.text import duration
from portal.ui_context import portal_errors
from services import environment_service
from services.context import PortalContext
from services.environment_service import EnvironmentView, RunView, StartedRun
from services.history.models import RunKind, RunStatus
from services.i18n import N_, _
from services.identity import Actor
from services.incidents import student_text

PREFIX = "run_progress"
# What a run of each kind reads as while it runs, once it succeeded, once it failed.
RUNNING = {RunKind.LAUNCH.value: N_("Launching {template} ({env_id})…"),
           RunKind.DESTROY.value: N_("Destroying {template} ({env_id})…")}
SUCCEEDED = {RunKind.LAUNCH.value: N_("Launch of {env_id} succeeded in {duration}: {status}"),
             RunKind.DESTROY.value: N_("Destroy of {env_id} succeeded in {duration}: {status}")}
FAILED = {RunKind.LAUNCH.value: N_("Launch of {env_id} failed after {duration}"),
          RunKind.DESTROY.value: N_("Destroy of {env_id} failed after {duration}")}


def watch(slot: str, started: StartedRun) -> None:
    """Remember `started` as the run shown in `slot` (e.g. "launch") from now on."""
    st.session_state[f"{PREFIX}.{slot}"] = started


def watched(slot: str) -> StartedRun | None:
    return st.session_state.get(f"{PREFIX}.{slot}")


def forget(slot: str) -> None:
    st.session_state.pop(f"{PREFIX}.{slot}", None)


def _label(env: EnvironmentView, run: RunView) -> str:
    if run.status == RunStatus.RUNNING.value:
        if run.kind not in RUNNING:
            return f"{run.kind} {env.template_id} ({env.env_id})…"
        return _(RUNNING[run.kind]).format(template=env.template_id, env_id=env.env_id)
    took = duration(run.duration_s)
    if run.status == RunStatus.SUCCEEDED.value:
        if run.kind not in SUCCEEDED:
            return f"{run.kind.capitalize()} of {env.env_id} succeeded in {took}: {env.status}"
        return _(SUCCEEDED[run.kind]).format(env_id=env.env_id, duration=took,
                                             status=status_label(env.status))
    if run.kind not in FAILED:
        return f"{run.kind.capitalize()} of {env.env_id} failed after {took}"
    return _(FAILED[run.kind]).format(env_id=env.env_id, duration=took)


def run_progress(ctx: PortalContext, actor: Actor, *, slot: str) -> EnvironmentView | None:
    """Draw the run watched in `slot`, refreshing every second until it ends.

    Returns the environment once its run has ended (for the page to show outputs and status
    reason), else None. Errors are shown as `actor` may read them (in full to an instructor), and
    so is the returned environment's status reason.
    """
    started = watched(slot)
    if started is None:
        return None
    show_detail = actor.is_instructor
    latest: dict[str, EnvironmentView] = {}
    ended: dict[str, bool] = {}

    def body() -> bool:
        with portal_errors():
            env = environment_service.get_environment(ctx, actor=actor, env_id=started.env_id)
            events = environment_service.run_events(ctx, actor=actor, run_id=started.run_id)
        run = next(r for r in env.runs if r.run_id == started.run_id)
        running = run.status == RunStatus.RUNNING.value
        state = ("running" if running else
                 "complete" if run.status == RunStatus.SUCCEEDED.value else "error")
        with st.status(_label(env, run), state=state, expanded=running or state == "error"):
            events_table(events, context=f"run {run.run_id}", show_detail=show_detail)
            if run.error:
                st.error(error_text(run.error, context=f"run {run.run_id} error",
                                    show_detail=show_detail), icon=":material/error:")
        if env.status_reason and not show_detail:
            # The same text and context as the environment card's, hence the same incident id.
            env = replace(env, status_reason=student_text(
                env.status_reason, context=f"environment {env.env_id} status"))
        latest["env"], ended["done"] = env, not running
        return running

    live_section(body, key=f"{PREFIX}.{slot}")
    return latest["env"] if ended.get("done") else None
