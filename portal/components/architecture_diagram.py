"""The architecture diagram of a template: its resources by tier, coloured by AWS service, and
an arrow from each resource to every resource it refers to."""

from __future__ import annotations

import streamlit as st

from services.diagram_service import Diagram

# Past this many arrows, a word on each one crowds the picture; their style still tells the kind.
_NAMED_ARROWS_UP_TO = 30


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def architecture_diagram(diagram: Diagram, *, key: str) -> None:
    resources, references = len(diagram.nodes), len(diagram.edges)
    name_arrows = st.toggle(
        "Name each arrow's kind", value=references <= _NAMED_ARROWS_UP_TO,
        key=f"{key}.name_arrows",
        help="Ref, GetAtt, Sub or DependsOn on every arrow. Off, the arrow's style tells it.")
    st.graphviz_chart(
        diagram.to_dot(edge_labels=name_arrows), width="stretch",
        alt=f"Architecture diagram: {_count(resources, 'resource')} and "
            f"{_count(references, 'reference')} between them")
    st.graphviz_chart(diagram.legend_to_dot(), width="content",
                      alt="The fill colour of each AWS service in the diagram")
    st.caption(
        f"{_count(resources, 'resource')}, {_count(references, 'reference')}. "
        "An arrow points from a resource to the one it uses: grey for Ref, blue for GetAtt, "
        "green for Sub, dashed for DependsOn. A dashed box exists only when its condition holds; "
        "boxes are grouped by the tier in their `Metadata`.")
