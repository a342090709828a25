"""The architecture diagram of a CloudFormation template: its resources and their references.

Built from the template alone, so it works for any template, not only the built-in ones. Nodes are
resources, filled with the colour of their AWS service; an edge points FROM the resource that
refers TO the resource it refers to (`WebServer -> WebSecurityGroup`: the instance uses the group),
one edge per (source, target, kind). Kinds: `Ref`, `GetAtt`, `Sub` (a `${X}` or `${X.Attr}` in an
`Fn::Sub` string) and `DependsOn`. Parameters, pseudo parameters (`${AWS::Region}`), `${!Literal}`
escapes and names that are not resources of the template make no edge.

Resources whose `Metadata.Tier` is set are drawn in one cluster per tier (network, edge, app, data,
observability, then any other tier by name); resources with a `Condition` are drawn dashed, since
they may not exist.

The edges come from cfn-lint's own graph (`cfnlint.graph.Graph`, which `cfnlint.template.Template`
builds), the one its rules use to find circular dependencies. It already follows Ref, both GetAtt
forms, both Fn::Sub forms (skipping the variables a map defines, pseudo parameters and `${!...}`)
and DependsOn, from the referring resource to the referred one. Three things differ from what the
diagram needs, and are adjusted here rather than re-walking the template:
- it labels a Fn::Sub reference `Ref` or `GetAtt`; each edge keeps the path of the object that holds
  the intrinsic, so an edge whose object is an `Fn::Sub` is relabelled `Sub`;
- it is a multigraph (one edge per occurrence), so edges are deduplicated;
- it also holds Parameter and Output nodes and edges to names that are not typed resources; only
  edges between the template's resources are kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import graphviz
from cfnlint.decode import decode_str
from cfnlint.template import Template

from services.catalog_service import Catalog
from services.errors import ValidationError
from services.i18n import N_, _

EdgeKind = Literal["Ref", "GetAtt", "Sub", "DependsOn"]
EDGE_KINDS: tuple[EdgeKind, ...] = get_args(EdgeKind)

TIER_ORDER = ("network", "edge", "app", "data", "observability")
# The known tiers' names on their clusters; any other tier is named as written, capitalised.
TIER_LABELS = {"network": N_("Network"), "edge": N_("Edge"), "app": N_("App"),
               "data": N_("Data"), "observability": N_("Observability")}

# Fill colour per service. Families follow the AWS architecture icons (compute orange, networking
# violet, security red and pink, databases blue, storage green, management purple) in light tints,
# so black text stays readable on every fill.
SERVICE_COLOURS: dict[str, str] = {
    "EC2": "#FFC48C",
    "AutoScaling": "#FFE38A",
    "Lambda": "#FFD9B8",
    "ELBv2": "#C9B8F2",
    "ELB": "#DCD0F7",
    "WAFv2": "#F4A3A3",
    "IAM": "#F9CFE0",
    "SecretsManager": "#E7B2D8",
    "KMS": "#F0C4C4",
    "RDS": "#9EC5F0",
    "ElastiCache": "#B3E3F0",
    "DynamoDB": "#BCCBF5",
    "S3": "#B5E0A0",
    "CodeDeploy": "#9FDCCF",
    "CloudWatch": "#D5B0E6",
    "Logs": "#EBD7F3",
    "SSM": "#D8DDA8",
    "SNS": "#F7D1B5",
    "SQS": "#F5BFD0",
}
DEFAULT_COLOUR = "#E4E4E4"

_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")

# CloudFormation's service names that are too long for a node label.
_SERVICE_SHORT_NAMES = {"ElasticLoadBalancingV2": "ELBv2", "ElasticLoadBalancing": "ELB"}

_EDGE_STYLES: dict[EdgeKind, dict[str, str]] = {
    "Ref": {"style": "solid", "color": "#4A4A4A", "fontcolor": "#4A4A4A"},
    "GetAtt": {"style": "solid", "color": "#1F5FA8", "fontcolor": "#1F5FA8"},
    "Sub": {"style": "solid", "color": "#2E7D32", "fontcolor": "#2E7D32"},
    "DependsOn": {"style": "dashed", "color": "#8A8A8A", "fontcolor": "#8A8A8A"},
}


def service_colour(service: str) -> str:
    return SERVICE_COLOURS.get(service, DEFAULT_COLOUR)


def _split_type(resource_type: str) -> tuple[str, str]:
    """`AWS::ElasticLoadBalancingV2::LoadBalancer` -> (`ELBv2`, `LoadBalancer`);
    `Custom::Thing` -> (`Custom`, `Thing`)."""
    parts = resource_type.split("::")
    if len(parts) >= 3:
        service, kind = parts[1], "::".join(parts[2:])
    elif len(parts) == 2:
        service, kind = parts
    else:
        service, kind = "Other", resource_type
    return _SERVICE_SHORT_NAMES.get(service, service), kind


@dataclass(frozen=True)
class DiagramNode:
    logical_id: str
    resource_type: str
    service: str
    tier: str | None
    condition: str | None

    @property
    def short_type(self) -> str:
        return f"{self.service} {_split_type(self.resource_type)[1]}"

    @property
    def colour(self) -> str:
        return service_colour(self.service)


@dataclass(frozen=True)
class DiagramEdge:
    """`source` refers to `target` (`source` uses `target`, so `target` exists first)."""

    source: str
    target: str
    kind: EdgeKind


@dataclass(frozen=True)
class Diagram:
    nodes: tuple[DiagramNode, ...]
    edges: tuple[DiagramEdge, ...]

    def node(self, logical_id: str) -> DiagramNode | None:
        return next((n for n in self.nodes if n.logical_id == logical_id), None)

    def dot_names(self) -> dict[str, str]:
        """The DOT node name of each resource: its logical id, which CloudFormation keeps
        alphanumeric; any other key (a ':' would read as a DOT port) gets a name by position."""
        return {node.logical_id: node.logical_id if _LOGICAL_ID.fullmatch(node.logical_id)
                else f"resource_{index}" for index, node in enumerate(self.nodes)}

    def tiers(self) -> tuple[str, ...]:
        """The tiers present, in drawing order: the known ones first, then others by name."""
        present = {n.tier for n in self.nodes if n.tier is not None}
        known = [t for t in TIER_ORDER if t in present]
        return (*known, *sorted(present - set(TIER_ORDER)))

    def legend(self) -> tuple[tuple[str, str], ...]:
        """(service, fill colour) of each service present, in the order of its first resource."""
        services = dict.fromkeys(n.service for n in self.nodes)
        return tuple((service, service_colour(service)) for service in services)

    def to_graphviz(self, *, edge_labels: bool = True) -> graphviz.Digraph:
        """The diagram as a Graphviz graph; `edge_labels=False` leaves the kind to the arrow's
        style and tooltip, which keeps a large template (dozens of arrows) readable."""
        graph = graphviz.Digraph(
            name="architecture",
            # Referring resources to the right of what they use: the network ends up on the left.
            graph_attr={"rankdir": "RL", "bgcolor": "white", "fontname": "Helvetica",
                        "fontsize": "12", "nodesep": "0.25", "ranksep": "0.5", "newrank": "true"},
            # Streamlit's Graphviz does not follow the app's theme: every colour is set here.
            node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica",
                       "fontsize": "10", "color": "#555555", "fontcolor": "#111111"},
            edge_attr={"fontname": "Helvetica", "fontsize": "8", "arrowsize": "0.7"},
        )
        names = self.dot_names()
        for tier in self.tiers():
            with graph.subgraph(name=f"cluster_{tier}") as cluster:
                cluster.attr(label=graphviz.escape(_tier_label(tier)), labeljust="l",
                             style="rounded,filled", fillcolor="#F6F7F9", color="#B8BEC8",
                             fontcolor="#333333")
                for node in self.nodes:
                    if node.tier == tier:
                        _draw_node(cluster, node, name=names[node.logical_id])
        for node in self.nodes:
            if node.tier is None:
                _draw_node(graph, node, name=names[node.logical_id])
        for edge in self.edges:
            text = {"label": edge.kind} if edge_labels else {}
            graph.edge(names[edge.source], names[edge.target],
                       tooltip=graphviz.escape(f"{edge.source} {edge.kind} {edge.target}"),
                       **text, **_EDGE_STYLES[edge.kind])
        return graph

    def to_dot(self, *, edge_labels: bool = True) -> str:
        return self.to_graphviz(edge_labels=edge_labels).source

    def legend_to_dot(self) -> str:
        """One row of boxes, one per service of the diagram, in the diagram's colours."""
        graph = graphviz.Digraph(
            name="legend",
            # No edges: in the default top-to-bottom layout every box lands in one row.
            graph_attr={"bgcolor": "white", "nodesep": "0.15", "margin": "0"},
            node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica",
                       "fontsize": "10", "color": "#555555", "fontcolor": "#111111",
                       "height": "0.3"},
        )
        for index, (service, colour) in enumerate(self.legend()):
            graph.node(f"service_{index}", label=graphviz.escape(service), fillcolor=colour)
        return graph.source


def _tier_label(tier: str) -> str:
    label = TIER_LABELS.get(tier)
    return _(label) if label is not None else tier[:1].upper() + tier[1:]


def _draw_node(graph: graphviz.Digraph, node: DiagramNode, *, name: str) -> None:
    lines = [node.logical_id, node.short_type]
    style = "rounded,filled"
    if node.condition is not None:
        lines.append(_("if {condition}").format(condition=node.condition))
        style = "rounded,filled,dashed"
    label = graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))
    graph.node(name, label=label, fillcolor=node.colour, style=style,
               tooltip=graphviz.escape(node.resource_type))


def _object_at(root: Any, path: list[Any]) -> Any:
    for step in path:
        if isinstance(root, Mapping) and step in root:
            root = root[step]
        elif isinstance(root, list) and isinstance(step, int) and 0 <= step < len(root):
            root = root[step]
        else:
            return None
    return root


def _edge_kind(resource: Any, label: str, source_path: list[Any]) -> EdgeKind | None:
    if label == "DependsOn":
        return "DependsOn"
    holder = _object_at(resource, source_path)
    if isinstance(holder, Mapping) and "Fn::Sub" in holder:
        return "Sub"
    if label == "Ref":
        return "Ref"
    if label == "GetAtt":
        return "GetAtt"
    return None


def _parse(template_text: str) -> dict[str, Any]:
    document, problems = decode_str(template_text)
    if problems:
        first = problems[0]
        raise ValidationError({"template": _("line {line}: {message}").format(
            line=first.linenumber, message=first.message)})
    if not isinstance(document, Mapping):
        raise ValidationError({"template": _("not a CloudFormation template (expected a mapping "
                                             "with a Resources section)")})
    resources = document.get("Resources")
    if not isinstance(resources, Mapping) or not resources:
        raise ValidationError({"template": _("has no Resources: a CloudFormation template needs "
                                             "at least one resource")})
    return document


# The Launch page asks again on every rerun, while a template's text changes only when the catalog
# is reloaded; parsing the largest built-in template takes some 25 ms. A Diagram is immutable.
@functools.lru_cache(maxsize=32)
def diagram_from_template(template_text: str) -> Diagram:
    """The diagram of a CloudFormation template given as YAML (short intrinsic forms too) or JSON.

    Raises `ValidationError` when the text is not a template whose resources can be read.
    """
    document = _parse(template_text)
    graph = Template(None, document).graph
    if graph is None:
        # cfn-lint swallows the error that stopped its graph; it only happens on malformed sections.
        raise ValidationError({"template": _("its sections are malformed (Resources, Parameters "
                                             "and Outputs must be mappings)")})
    resources: Mapping[str, Any] = document["Resources"]

    nodes: list[DiagramNode] = []
    for logical_id, attributes in graph.graph.nodes(data=True):
        if attributes.get("type") != "Resource":
            continue
        body = resources[logical_id]
        metadata = body.get("Metadata")
        tier = metadata.get("Tier") if isinstance(metadata, Mapping) else None
        condition = body.get("Condition")
        resource_type = attributes["resource_type"]
        nodes.append(DiagramNode(
            logical_id=str(logical_id), resource_type=resource_type,
            service=_split_type(resource_type)[0],
            tier=tier if isinstance(tier, str) and tier else None,
            condition=condition if isinstance(condition, str) else None))

    order = {node.logical_id: index for index, node in enumerate(nodes)}
    edges: set[DiagramEdge] = set()
    for source, target, attributes in graph.graph.edges(data=True):
        if str(source) not in order or str(target) not in order:
            continue
        kind = _edge_kind(resources[source], attributes["label"], attributes["source_paths"])
        if kind is not None:
            edges.add(DiagramEdge(source=str(source), target=str(target), kind=kind))
    ordered_edges = sorted(edges, key=lambda e: (order[e.source], order[e.target],
                                                 EDGE_KINDS.index(e.kind)))
    return Diagram(nodes=tuple(nodes), edges=tuple(ordered_edges))


def template_diagram(catalog: Catalog, template_id: str) -> Diagram:
    """The diagram of a catalog template; `UnknownTemplateError` for an id the catalog lacks."""
    return diagram_from_template(catalog.cloudformation_text(template_id))
