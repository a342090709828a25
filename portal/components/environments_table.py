"""A one-line-per-environment overview above the cards."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from portal.components.text import duration, utc
from services.environment_service import EnvironmentView
from services.i18n import N_, _

# Each status's count in the caption, in this order.
_COUNTS = {"launching": N_("{count} launching"), "ready": N_("{count} ready"),
           "destroying": N_("{count} destroying"), "failed": N_("{count} failed"),
           "lost": N_("{count} lost"), "destroyed": N_("{count} destroyed")}
_COUNT_ORDER = list(_COUNTS)
# What the table shows for a status and a run; the environments keep the English codes.
STATUS_LABELS = {"launching": N_("launching"), "ready": N_("ready"),
                 "destroying": N_("destroying"), "failed": N_("failed"), "lost": N_("lost"),
                 "destroyed": N_("destroyed")}
RUN_LABELS = {("launch", "running"): N_("launch running"),
              ("launch", "succeeded"): N_("launch succeeded"),
              ("launch", "failed"): N_("launch failed"),
              ("destroy", "running"): N_("destroy running"),
              ("destroy", "succeeded"): N_("destroy succeeded"),
              ("destroy", "failed"): N_("destroy failed")}
COLUMN_LABELS = {"environment": N_("environment"), "template": N_("template"),
                 "owner": N_("owner"), "status": N_("status"), "created": N_("created"),
                 "last run": N_("last run"), "took": N_("took")}


def _status(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def _run(kind: str, status: str) -> str:
    label = RUN_LABELS.get((kind, status))
    return _(label) if label else f"{kind} {status}"


def environments_table(envs: Sequence[EnvironmentView], *, show_owner: bool) -> None:
    counts = {status: sum(1 for e in envs if e.status == status) for status in _COUNT_ORDER}
    st.caption(" · ".join(_(_COUNTS[status]).format(count=n)
                          for status, n in counts.items() if n))
    rows = []
    for env in envs:
        run = env.latest_run
        row = {"environment": env.env_id, "template": env.template_id}
        if show_owner:
            row["owner"] = env.owner
        row.update({
            "status": _status(env.status),
            "created": utc(env.created_at),
            "last run": _run(run.kind, run.status) if run else "",
            "took": duration(run.duration_s) if run and run.ended_at else "",
        })
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={column: _(label) for column, label in COLUMN_LABELS.items()})
