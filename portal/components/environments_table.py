"""A one-line-per-environment overview above the cards."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from portal.components.text import duration, utc
from services.environment_service import EnvironmentView

_COUNT_ORDER = ["launching", "ready", "destroying", "failed", "lost", "destroyed"]


def environments_table(envs: Sequence[EnvironmentView], *, show_owner: bool) -> None:
    counts = {status: sum(1 for e in envs if e.status == status) for status in _COUNT_ORDER}
    st.caption(" · ".join(f"{n} {status}" for status, n in counts.items() if n))
    rows = []
    for env in envs:
        run = env.latest_run
        row = {"environment": env.env_id, "template": env.template_id}
        if show_owner:
            row["owner"] = env.owner
        row.update({
            "status": env.status,
            "created": utc(env.created_at),
            "last run": f"{run.kind} {run.status}" if run else "",
            "took": duration(run.duration_s) if run and run.ended_at else "",
        })
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch")
