"""A one-line-per-environment overview above the cards, and the page of cards to draw below it.

A class has hundreds of environments and a browser takes seconds to mount a card for each: the
table lists them all, the cards come a page at a time (`paged`), or only for the rows picked in
the table. Owns the `environments_table.*` session_state keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

import streamlit as st

from portal.components.text import duration, utc
from services.environment_service import EnvironmentView
from services.i18n import N_, _, format_number, ngettext

PREFIX = "environments_table"
# Cards on one page: what a browser mounts in well under a second (a card is ~6 elements, and
# each costs the browser ~5-10 ms to mount; a page of 20 took it 1-2 s).
PAGE_SIZE = 10
# More pages than this and the picker is a drop-down rather than a row of segments.
_MAX_SEGMENTS = 10
T = TypeVar("T")

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


def environments_table(envs: Sequence[EnvironmentView], *, show_owner: bool,
                       key: str | None = None) -> list[str]:
    """The counts by status and a row per environment; the ids of the rows picked in it.

    With a `key` and more environments than one page of cards holds, rows can be picked (the
    page then shows only their cards). The pick is cleared whenever the list itself changes (an
    environment launched or gone), so that a row's position never points at another one.
    """
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
    column_config = {column: _(label) for column, label in COLUMN_LABELS.items()}
    if key is None or len(envs) <= PAGE_SIZE:
        st.dataframe(rows, hide_index=True, width="stretch", column_config=column_config)
        return []
    ids = [env.env_id for env in envs]
    generation = hashlib.sha1("\n".join(ids).encode()).hexdigest()[:12]
    event = st.dataframe(rows, hide_index=True, width="stretch", column_config=column_config,
                         key=f"{PREFIX}.{key}.rows.{generation}", on_select="rerun",
                         selection_mode="multi-row")
    picked = [ids[i] for i in event.selection.rows if 0 <= i < len(ids)]
    if not picked:
        st.caption(_("Select rows in the table to see only their environments below."))
    return picked


def paged(items: Sequence[T], *, key: str, page_size: int = PAGE_SIZE) -> Sequence[T]:
    """The items of the page the reader picked, in their order; all of them, with no picker,
    when they fit on one page."""
    if len(items) <= page_size:
        return items
    pages = list(range((len(items) + page_size - 1) // page_size))

    def span(page: int) -> str:
        first, last = page * page_size + 1, min(len(items), (page + 1) * page_size)
        return f"{format_number(first)}–{format_number(last)}"

    label = ngettext("Page ({count} environment in all)", "Page ({count} environments in all)",
                     len(items)).format(count=format_number(len(items)))
    widget_key = f"{PREFIX}.{key}.page"
    if len(pages) <= _MAX_SEGMENTS:
        page = st.segmented_control(label, pages, format_func=span, default=0, required=True,
                                    key=widget_key)
    else:
        page = st.selectbox(label, pages, format_func=span, index=0, key=widget_key)
    if page is None or page not in pages:
        page = 0
    return items[page * page_size:(page + 1) * page_size]
