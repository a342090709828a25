"""One environment as a card: status, outputs, parameters, runs and their events, and Destroy.

Owns the `environment_card.*` session_state keys (the pending destroy confirmations).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import streamlit as st

from portal.components.text import ago, duration, md_escape, until, utc, when
from services.environment_service import (
    EnvironmentView,
    EventView,
    OutputView,
    RunView,
)
from services.engines.base import EngineName
from services.history.models import EnvironmentStatus, RunKind, RunStatus
from services.i18n import N_, _
from services.incidents import student_text

PREFIX = "environment_card"

STATUS_COLORS = {
    EnvironmentStatus.LAUNCHING.value: "blue",
    EnvironmentStatus.READY.value: "green",
    EnvironmentStatus.FAILED.value: "red",
    EnvironmentStatus.DESTROYING.value: "orange",
    EnvironmentStatus.DESTROYED.value: "gray",
    EnvironmentStatus.LOST.value: "violet",
}
STATUS_ICONS = {
    EnvironmentStatus.LAUNCHING.value: ":material/progress_activity:",
    EnvironmentStatus.READY.value: ":material/check_circle:",
    EnvironmentStatus.FAILED.value: ":material/error:",
    EnvironmentStatus.DESTROYING.value: ":material/progress_activity:",
    EnvironmentStatus.DESTROYED.value: ":material/delete:",
    EnvironmentStatus.LOST.value: ":material/help:",
}
# How a status or a run's kind reads (the stored values are compared in code: never translated).
STATUS_LABELS = {
    EnvironmentStatus.LAUNCHING.value: N_("launching"),
    EnvironmentStatus.READY.value: N_("ready"),
    EnvironmentStatus.FAILED.value: N_("failed"),
    EnvironmentStatus.DESTROYING.value: N_("destroying"),
    EnvironmentStatus.DESTROYED.value: N_("destroyed"),
    EnvironmentStatus.LOST.value: N_("lost"),
}
RUN_STATUS_LABELS = {
    RunStatus.RUNNING.value: N_("running"),
    RunStatus.SUCCEEDED.value: N_("succeeded"),
    RunStatus.FAILED.value: N_("failed"),
}
RUN_KIND_LABELS = {RunKind.LAUNCH.value: N_("launch"), RunKind.DESTROY.value: N_("destroy")}
IN_PROGRESS = {RunKind.LAUNCH.value: N_("launch in progress for {duration}"),
               RunKind.DESTROY.value: N_("destroy in progress for {duration}")}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def run_status_label(status: str) -> str:
    return _(RUN_STATUS_LABELS[status]) if status in RUN_STATUS_LABELS else status


def run_kind_label(kind: str) -> str:
    return _(RUN_KIND_LABELS[kind]) if kind in RUN_KIND_LABELS else kind


EventsLoader = Callable[[int], list[EventView]]


def error_text(text: str, *, context: str, show_detail: bool) -> str:
    """A stored error as this viewer may read it, escaped for markdown: in full for an
    instructor (`show_detail`), for a student with raw text and identifiers replaced by an
    incident id (services/incidents.py)."""
    return md_escape(text if show_detail else student_text(text, context=context))


def status_badge(status: str) -> None:
    st.badge(status_label(status), color=STATUS_COLORS.get(status, "gray"),
             icon=STATUS_ICONS.get(status))


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def output_label(output: OutputView) -> str:
    """An output's label as the reader's language has it. The label is the template manifest's
    (`output.name` where the manifest has none): a built-in template's is in the `templates`
    catalog, as `catalog_service.localized` translates it; an imported one's has no entry there
    and stays as its instructor wrote it."""
    return output.label if output.label == output.name else _(output.label)


def outputs_view(outputs: Sequence[OutputView]) -> None:
    """Outputs as label and value: URLs as links, everything else copyable."""
    if not outputs:
        st.caption(_("No outputs."))
        return
    for output in outputs:
        label_col, value_col = st.columns([1, 3], vertical_alignment="center")
        label_col.markdown(f"**{md_escape(output_label(output))}**")
        if output.kind == "url" and _is_web_url(output.value):
            value_col.markdown(f"[{md_escape(output.value)}](<{output.value}>)")
        else:
            value_col.code(output.value or _("(empty)"), language=None)


def events_table(events: Sequence[EventView], *, context: str, show_detail: bool = False) -> None:
    """The events of one run (`context`, e.g. "run 12"); reasons as `error_text` shows them, since
    the portal's own events carry the sweep's and the engine's raw errors."""
    if not events:
        st.caption(_("No events recorded yet."))
        return

    def reason(e: EventView) -> str:
        if not e.reason or show_detail:
            return e.reason or ""
        return student_text(e.reason, context=f"{context} event {e.logical_id} {e.status} "
                                              f"{e.occurred_at.isoformat()}")

    # A dataframe's cells are not markdown: no escaping here.
    st.dataframe(
        [{_("time"): utc(e.occurred_at), _("resource"): e.logical_id, _("type"): e.resource_type,
          _("status"): e.status, _("reason"): reason(e), _("physical id"): e.physical_id or ""}
         for e in events],
        hide_index=True, width="stretch")


def run_label(run: RunView) -> str:
    started = _("started {moment}").format(moment=when(run.started_at))
    took = [] if run.ended_at is None else [duration(run.duration_s)]
    return " · ".join([run_kind_label(run.kind), run_status_label(run.status), *took, started])


def _runs_view(env: EnvironmentView, load_events: EventsLoader, *, show_detail: bool) -> None:
    for run in reversed(env.runs):
        # Lazy: a closed expander loads and draws nothing, so a page refreshing every second
        # for a whole class does not read every event of every run each time, nor make the
        # browser mount what nobody opened.
        with st.expander(run_label(run), key=f"{PREFIX}.{env.env_id}.run.{run.run_id}",
                         on_change="rerun",
                         icon=":material/history:") as section:
            if not section.open:
                continue
            if run.error:
                st.error(error_text(run.error, context=f"run {run.run_id} error",
                                    show_detail=show_detail), icon=":material/error:")
            if run.leftovers:
                st.warning(_("Left behind: {resources}").format(
                    resources=md_escape(", ".join(run.leftovers))))
            events_table(load_events(run.run_id), context=f"run {run.run_id}",
                         show_detail=show_detail)


def _confirm_key(env_id: str) -> str:
    return f"{PREFIX}.{env_id}.confirming"


def _set_confirming(env_id: str, value: bool) -> None:
    st.session_state[_confirm_key(env_id)] = value


def _destroy_controls(env: EnvironmentView, *, show_owner: bool) -> bool:
    """The Destroy button, then a second explicit confirmation; True once confirmed."""
    env_id = env.env_id
    if not st.session_state.get(_confirm_key(env_id)):
        st.button(_("Destroy"), key=f"{PREFIX}.{env_id}.destroy", icon=":material/delete:",
                  on_click=_set_confirming, args=(env_id, True))
        return False
    if show_owner:
        question = _("Destroy **{env_id}** of **{owner}**? Every resource of it is deleted; this "
                     "cannot be undone.").format(env_id=env_id, owner=md_escape(env.owner))
    else:
        question = _("Destroy **{env_id}**? Every resource of it is deleted; this cannot be "
                     "undone.").format(env_id=env_id)
    st.warning(question, icon=":material/warning:")
    confirm_col, cancel_col = st.columns(2)
    confirmed = confirm_col.button(_("Confirm destroy {env_id}").format(env_id=env_id),
                                   type="primary", key=f"{PREFIX}.{env_id}.confirm_destroy",
                                   icon=":material/delete_forever:", width="stretch")
    cancel_col.button(_("Cancel"), key=f"{PREFIX}.{env_id}.cancel_destroy", width="stretch",
                      on_click=_set_confirming, args=(env_id, False))
    if confirmed:
        st.session_state.pop(_confirm_key(env_id), None)
    return confirmed


def environment_card(env: EnvironmentView, *, title: str, show_owner: bool,
                     load_events: EventsLoader, show_detail: bool = False) -> bool:
    """Draw one environment; True when the user has just confirmed its destruction.

    `show_detail` (for instructors) shows stored errors in full; without it they are shown as a
    student may read them, which is the default so that a page that forgets it leaks nothing.
    """
    confirmed = False
    with st.container(border=True, key=f"{PREFIX}.{env.env_id}"):
        head, badge_col = st.columns([4, 1], vertical_alignment="center")
        about = [md_escape(env.template_id)]
        if show_owner:
            about.append(_("owner **{owner}**").format(owner=md_escape(env.owner)))
        about += [_("created {ago} ({moment})").format(ago=ago(env.created_at),
                                                       moment=when(env.created_at)),
                  f"{md_escape(env.cloud)} {md_escape(env.region)}",
                  md_escape(EngineName(env.engine).label)]
        head.markdown(f"#### {md_escape(title)} `{env.env_id}`")
        head.caption(" · ".join(about),
                     help=_("Deployment {name}").format(name=env.deployment_name))
        with badge_col:
            status_badge(env.status)
        if env.status_reason:
            reason = error_text(env.status_reason, context=f"environment {env.env_id} status",
                                show_detail=show_detail)
            if env.status in (EnvironmentStatus.FAILED.value, EnvironmentStatus.LOST.value):
                st.error(reason, icon=":material/error:")
            else:
                st.info(reason)
        if env.status == EnvironmentStatus.READY.value:
            if env.expires_at is not None:
                st.caption(":material/timer: " + _(
                    "lease of {hours} h ends {ends} ({moment}); the portal destroys the "
                    "environment then").format(hours=env.lease_hours, ends=until(env.expires_at),
                                               moment=when(env.expires_at)))
            outputs_view(env.outputs)
        if env.parameters:
            with st.expander(_("Parameters ({count})").format(count=len(env.parameters)),
                             key=f"{PREFIX}.{env.env_id}.parameters", on_change="rerun",
                             icon=":material/tune:") as section:
                if section.open:
                    st.dataframe([{_("parameter"): name, _("value"): str(value)}
                                  for name, value in env.parameters.items()],
                                 hide_index=True, width="stretch")
        _runs_view(env, load_events, show_detail=show_detail)
        if env.can_destroy:
            confirmed = _destroy_controls(env, show_owner=show_owner)
        elif env.in_progress and env.latest_run is not None \
                and env.latest_run.status == RunStatus.RUNNING.value:
            kind = env.latest_run.kind
            took = duration(_elapsed(env.latest_run))
            st.caption(":material/progress_activity: " + (
                _(IN_PROGRESS[kind]).format(duration=took) if kind in IN_PROGRESS
                else f"{kind} in progress for {took}"))
    return confirmed


def _elapsed(run: RunView) -> float:
    return (datetime.now(UTC) - run.started_at).total_seconds()
