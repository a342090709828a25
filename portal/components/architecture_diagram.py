"""The architecture diagram of a template: its resources by tier, coloured by AWS service, and
an arrow from each resource to every resource it refers to."""

from __future__ import annotations

import functools

import streamlit as st

from services.diagram_service import Diagram
from services.i18n import _, current_locale, ngettext

# Past this many arrows, a word on each one crowds the picture; their style still tells the kind.
_NAMED_ARROWS_UP_TO = 30


# The DOT text of a diagram: the same on every rerun of an unchanged template (a Diagram is
# immutable and hashable), and tens of milliseconds of Graphviz quoting to write. Its tier names
# and conditions are in the reader's language, which is part of the key (`locale`, unused in
# the body, keeps an English and a Korean drawing apart).
@functools.lru_cache(maxsize=64)
def _dot(diagram: Diagram, edge_labels: bool, locale: str) -> str:
    return diagram.to_dot(edge_labels=edge_labels)


@functools.lru_cache(maxsize=64)
def _legend_dot(diagram: Diagram, locale: str) -> str:
    return diagram.legend_to_dot()


def _resources(number: int) -> str:
    return ngettext("{count} resource", "{count} resources", number).format(count=number)


def _references(number: int) -> str:
    return ngettext("{count} reference", "{count} references", number).format(count=number)


def architecture_diagram(diagram: Diagram, *, key: str) -> None:
    resources, references = len(diagram.nodes), len(diagram.edges)
    name_arrows = st.toggle(
        _("Name each arrow's kind"), value=references <= _NAMED_ARROWS_UP_TO,
        key=f"{key}.name_arrows",
        help=_("Ref, GetAtt, Sub or DependsOn on every arrow. Off, the arrow's style tells it."))
    counts = {"resources": _resources(resources), "references": _references(references)}
    st.graphviz_chart(
        _dot(diagram, bool(name_arrows), current_locale()), width="stretch",
        alt=_("Architecture diagram: {resources} and {references} between them").format(**counts))
    st.graphviz_chart(_legend_dot(diagram, current_locale()), width="content",
                      alt=_("The fill colour of each AWS service in the diagram"))
    st.caption(_(
        "{resources}, {references}. An arrow points from a resource to the one it uses: grey for "
        "Ref, blue for GetAtt, green for Sub, dashed for DependsOn. A dashed box exists only when "
        "its condition holds; boxes are grouped by the tier in their `Metadata`.").format(**counts))
