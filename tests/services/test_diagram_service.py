"""The architecture diagram: a node per resource, an edge per reference, valid DOT, any template.

The expected references are computed here by a walk over the template that shares nothing with the
service (which reads cfn-lint's graph). The DOT is checked by rendering it with Graphviz's `dot`
where that binary is installed, and always by parsing it with the grammar of the DOT language
(graphviz.org/doc/info/lang.html) and comparing what it declares with the diagram.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from typing import Any

import graphviz
import pytest
from lark import Lark, Token, Tree

from services.diagram_service import (
    DEFAULT_COLOUR, SERVICE_COLOURS, TIER_ORDER, Diagram, DiagramEdge, diagram_from_template,
    template_diagram,
)
from services.errors import UnknownTemplateError, ValidationError

from tests.templates_support import catalog, cfn_document

TEMPLATE_IDS = [t.id for t in catalog().all_templates()]

# ------------------------------------------------------------------------------------ DOT grammar
# The abstract grammar of graphviz.org/doc/info/lang.html, keywords case-independent, IDs as the
# page defines them (names, numerals, double-quoted strings joined by '+', HTML strings), comments
# and '#' preprocessor lines ignored.
DOT_GRAMMAR = r"""
    start: STRICT? (GRAPH | DIGRAPH) id? "{" stmt_list "}"
    stmt_list: (stmt ";"?)*
    ?stmt: node_stmt | edge_stmt | attr_stmt | assignment | subgraph
    assignment: id "=" id
    attr_stmt: (GRAPH | NODE | EDGE) attr_list
    attr_list: ("[" (a_item (";" | ",")?)* "]")+
    a_item: id "=" id
    edge_stmt: (node_id | subgraph) (EDGEOP (node_id | subgraph))+ attr_list?
    node_stmt: node_id attr_list?
    node_id: id port?
    port: ":" id (":" id)?
    subgraph: (SUBGRAPH id?)? "{" stmt_list "}"
    id: NAME | NUMERAL | QUOTED ("+" QUOTED)* | HTML

    STRICT.2: /strict\b/i
    GRAPH.2: /graph\b/i
    DIGRAPH.2: /digraph\b/i
    NODE.2: /node\b/i
    EDGE.2: /edge\b/i
    SUBGRAPH.2: /subgraph\b/i
    EDGEOP: "->" | "--"
    NAME: /[A-Za-z\u0080-\uffff_][A-Za-z\u0080-\uffff_0-9]*/
    NUMERAL: /-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)/
    QUOTED: /"(\\.|\\\n|[^"\\])*"/s
    HTML: /<([^<>]|<([^<>]|<[^<>]*>)*>)*>/
    COMMENT: /\/\*(.|\n)*?\*\// | /\/\/[^\n]*/ | /(?m:^#[^\n]*)/
    %import common.WS
    %ignore WS
    %ignore COMMENT
"""
DOT_PARSER = Lark(DOT_GRAMMAR, parser="lalr")


@dataclass
class DotGraph:
    """What a DOT text declares: its nodes with their attributes, which cluster holds each node
    (None for the root graph), its edges, and the clusters in the order they appear."""

    directed: bool = True
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    node_cluster: dict[str, str | None] = field(default_factory=dict)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    edge_ops: set[str] = field(default_factory=set)


def _id_text(tree: Tree) -> str:
    parts = [t for t in tree.children if isinstance(t, Token)]
    if parts[0].type == "QUOTED":
        return "".join(re.sub(r'\\"', '"', p[1:-1]) for p in parts)
    return str(parts[0])


def _attrs(tree: Tree | None) -> dict[str, str]:
    if tree is None:
        return {}
    return {_id_text(item.children[0]): _id_text(item.children[1])
            for item in tree.find_data("a_item")}


def parse_dot(dot: str) -> DotGraph:
    tree = DOT_PARSER.parse(dot)
    graph = DotGraph(directed=any(isinstance(c, Token) and c.type == "DIGRAPH"
                                  for c in tree.children))

    def walk(stmt_list: Tree, cluster: str | None) -> None:
        for stmt in stmt_list.children:
            if stmt.data == "node_stmt":
                name = _id_text(stmt.children[0].children[0])
                assert name not in graph.nodes, f"node {name} declared twice"
                graph.nodes[name] = _attrs(stmt.children[1] if len(stmt.children) > 1 else None)
                graph.node_cluster[name] = cluster
            elif stmt.data == "edge_stmt":
                ends = [c for c in stmt.children if isinstance(c, Tree) and c.data == "node_id"]
                ops = [c for c in stmt.children if isinstance(c, Token)]
                graph.edge_ops.update(str(op) for op in ops)
                attr_list = stmt.children[-1] if stmt.children[-1].data == "attr_list" else None
                for tail, head in zip(ends, ends[1:]):
                    graph.edges.append((_id_text(tail.children[0]), _id_text(head.children[0]),
                                        _attrs(attr_list)))
            elif stmt.data == "subgraph":
                name_tree = next((c for c in stmt.children if isinstance(c, Tree)
                                  and c.data == "id"), None)
                name = _id_text(name_tree) if name_tree is not None else ""
                body = next(c for c in stmt.children if isinstance(c, Tree)
                            and c.data == "stmt_list")
                if name.startswith("cluster"):
                    graph.clusters[name] = {
                        _id_text(a.children[0]): _id_text(a.children[1])
                        for a in body.children if a.data == "assignment"}
                    walk(body, name)
                else:
                    walk(body, cluster)

    walk(next(c for c in tree.children if isinstance(c, Tree) and c.data == "stmt_list"), None)
    return graph


def checked_dot(dot: str) -> DotGraph:
    """The DOT parsed by the language's grammar, after Graphviz rendered it where installed."""
    source = graphviz.Source(dot)
    assert source.source == dot
    if shutil.which("dot"):
        svg = source.pipe(format="svg", encoding="utf-8")
        assert "<svg" in svg
    graph = parse_dot(dot)
    assert graph.directed and graph.edge_ops <= {"->"}
    return graph


def test_the_dot_grammar_rejects_what_graphviz_rejects() -> None:
    parse_dot('digraph { a -> b [label="x"]; subgraph cluster_1 { label=One c } }')
    for broken in ('digraph { a -> }', 'digraph { a [label="x" }', 'digraph { "a }',
                   'digraph { a -> b', 'digraph { node -> b }'):
        with pytest.raises(Exception):
            parse_dot(broken)


# ------------------------------------------------------------------------------- independent walk
_SUB_NAME = re.compile(r"\$\{([^!}][^}]*)\}")


def expected_edges(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Every (source, target, kind) a template's resources hold, by a plain recursive walk."""
    resources = document["Resources"]
    edges: set[tuple[str, str, str]] = set()

    def walk(source: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "Ref" and inner in resources:
                    edges.add((source, inner, "Ref"))
                elif key == "Fn::GetAtt":
                    target = inner[0] if isinstance(inner, list) else inner.split(".")[0]
                    if target in resources:
                        edges.add((source, target, "GetAtt"))
                elif key == "Fn::Sub":
                    text, variables = (inner, {}) if isinstance(inner, str) else \
                        (inner[0], inner[1] if len(inner) > 1 else {})
                    for name in _SUB_NAME.findall(text):
                        target = name.split(".")[0]
                        if name not in variables and target in resources:
                            edges.add((source, target, "Sub"))
                walk(source, inner)
        elif isinstance(value, list):
            for item in value:
                walk(source, item)

    for logical_id, body in resources.items():
        walk(logical_id, body)
        depends_on = body.get("DependsOn", [])
        for target in [depends_on] if isinstance(depends_on, str) else depends_on:
            if target in resources:
                edges.add((logical_id, target, "DependsOn"))
    return edges


def edge_set(diagram: Diagram) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in diagram.edges}


# ----------------------------------------------------------------------------- built-in templates
@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_a_built_in_template_has_a_node_per_resource_and_an_edge_per_reference(
        template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    document = cfn_document(manifest)
    diagram = template_diagram(catalog(), template_id)

    assert [n.logical_id for n in diagram.nodes] == list(document["Resources"])
    assert {n.logical_id: n.resource_type for n in diagram.nodes} == \
        {k: v["Type"] for k, v in document["Resources"].items()}
    assert edge_set(diagram) == expected_edges(document)
    assert len(diagram.edges) == len(edge_set(diagram)), "edges are not deduplicated"
    for edge in diagram.edges:
        assert edge.source in document["Resources"] and edge.target in document["Resources"]
    assert diagram == diagram_from_template(manifest.cloudformation_path.read_text())


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_resource_of_a_built_in_template_sits_in_a_known_tier(template_id: str) -> None:
    diagram = template_diagram(catalog(), template_id)
    untiered = [n.logical_id for n in diagram.nodes if n.tier not in TIER_ORDER]
    assert not untiered, f"no known Metadata.Tier on {untiered}"


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_the_dot_of_a_built_in_template_is_valid_and_declares_the_diagram(
        template_id: str) -> None:
    diagram = template_diagram(catalog(), template_id)
    for edge_labels in (True, False):
        dot = checked_dot(diagram.to_dot(edge_labels=edge_labels))
        assert set(dot.nodes) == {n.logical_id for n in diagram.nodes}
        assert {(t, h, a["label"] if edge_labels else "") for t, h, a in dot.edges} == \
            {(e.source, e.target, e.kind if edge_labels else "") for e in diagram.edges}
        assert all(("label" in a) == edge_labels for _, _, a in dot.edges)
        assert list(dot.clusters) == [f"cluster_{tier}" for tier in diagram.tiers()]
        for node in diagram.nodes:
            assert dot.node_cluster[node.logical_id] == f"cluster_{node.tier}"
            assert dot.nodes[node.logical_id]["fillcolor"] == node.colour
            assert dot.nodes[node.logical_id]["label"].split("\\n")[:2] == \
                [node.logical_id, node.short_type]


def test_the_built_in_tiers() -> None:
    tiers = {n.logical_id: n.tier for n in template_diagram(catalog(), "three-tier").nodes}
    assert tiers["Vpc"] == tiers["DbSubnetA"] == tiers["PublicDefaultRoute"] == "network"
    assert tiers["WebServer"] == tiers["WebSecurityGroup"] == "app"
    assert tiers["Database"] == tiers["DbSecurityGroup"] == tiers["DbSubnetGroup"] == "data"
    web = {n.logical_id: n.tier for n in template_diagram(catalog(), "web-server").nodes}
    assert web["WebServer"] == web["WebSecurityGroup"] == "app"


def test_an_unknown_template_id_is_reported() -> None:
    with pytest.raises(UnknownTemplateError):
        template_diagram(catalog(), "no-such-template")


# ----------------------------------------------------------------------------------- any template
def template(resources: str, *, head: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(resources), "  ")
    return textwrap.dedent(head) + "Resources:\n" + body


HEAD = """\
    Parameters:
      Name: {Type: String}
    Conditions:
      IsProd: !Equals [!Ref Name, prod]
    """


@pytest.mark.parametrize(("properties", "expected"), [
    pytest.param("X: !Ref Topic", {("Queue", "Topic", "Ref")}, id="Ref"),
    pytest.param("X: {Ref: Topic}", {("Queue", "Topic", "Ref")}, id="Ref long form"),
    pytest.param("X: !GetAtt Topic.TopicName", {("Queue", "Topic", "GetAtt")},
                 id="GetAtt short form"),
    pytest.param("X: !GetAtt Db.Endpoint.Address", {("Queue", "Db", "GetAtt")},
                 id="GetAtt short form, dotted attribute"),
    pytest.param("X: {'Fn::GetAtt': [Db, Endpoint.Address]}", {("Queue", "Db", "GetAtt")},
                 id="GetAtt long form, list"),
    pytest.param("X: {'Fn::GetAtt': Topic.TopicName}", {("Queue", "Topic", "GetAtt")},
                 id="GetAtt long form, string"),
    pytest.param("X: !Sub 'arn:${Topic}:${Db.Endpoint.Port}'",
                 {("Queue", "Topic", "Sub"), ("Queue", "Db", "Sub")}, id="Sub string"),
    pytest.param("X: !Sub '${!Topic} ${!Db.Arn}'", set(), id="Sub escapes are literal"),
    pytest.param("X: !Sub '${AWS::Region}-${AWS::StackName}-${Name}'", set(),
                 id="Sub pseudo parameters and parameters"),
    pytest.param("X: !Sub ['${Host}:${Db.Endpoint.Port}/${Topic}',"
                 " {Host: !GetAtt Db.Endpoint.Address}]",
                 {("Queue", "Db", "GetAtt"), ("Queue", "Db", "Sub"), ("Queue", "Topic", "Sub")},
                 id="Sub variable map"),
    pytest.param("X: !Sub ['${Topic}', {Topic: literal}]", set(),
                 id="Sub variable named like a resource"),
    pytest.param("X: {'Fn::Sub': ['${Topic}-${AWS::Region}', {Unused: !Ref Db}]}",
                 {("Queue", "Topic", "Sub"), ("Queue", "Db", "Ref")}, id="Sub map, long form"),
    pytest.param("X: !If [IsProd, !Ref Topic, !Ref 'AWS::NoValue']",
                 {("Queue", "Topic", "Ref")}, id="Ref inside Fn::If"),
    pytest.param("X: [!Ref Name, !Ref Missing, !GetAtt Missing.Arn, !Sub '${Missing}',"
                 " !Ref 'AWS::Region']",
                 set(), id="parameters, pseudo parameters and unknown names"),
    pytest.param("X: [!Ref Topic, !Ref Topic, {Ref: Topic}]", {("Queue", "Topic", "Ref")},
                 id="duplicates"),
])
def test_references(properties: str, expected: set[tuple[str, str, str]]) -> None:
    text = template(f"""\
        Topic: {{Type: AWS::SNS::Topic}}
        Db: {{Type: AWS::RDS::DBInstance}}
        Queue:
          Type: AWS::SQS::Queue
          Properties:
            {properties}
        """, head=HEAD)
    diagram = diagram_from_template(text)
    assert edge_set(diagram) == expected
    assert edge_set(diagram) == expected_edges(cfn_loads(text))
    checked_dot(diagram.to_dot())


def cfn_loads(text: str) -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml
    return cfn_yaml.loads(text)


@pytest.mark.parametrize(("depends_on", "expected"), [
    pytest.param("Topic", {"Topic"}, id="string"),
    pytest.param("[Topic, Db, Topic]", {"Topic", "Db"}, id="list with a duplicate"),
    pytest.param("[Topic, Missing]", {"Topic"}, id="unknown name"),
])
def test_depends_on(depends_on: str, expected: set[str]) -> None:
    diagram = diagram_from_template(template(f"""\
        Topic: {{Type: AWS::SNS::Topic}}
        Db: {{Type: AWS::RDS::DBInstance}}
        Queue: {{Type: AWS::SQS::Queue, DependsOn: {depends_on}}}
        """))
    assert edge_set(diagram) == {("Queue", target, "DependsOn") for target in expected}
    dot = checked_dot(diagram.to_dot())
    assert {a["style"] for _, _, a in dot.edges} == {"dashed"}


def test_a_json_template_and_outputs_that_refer_to_resources() -> None:
    text = json.dumps({
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Policy": {"Type": "AWS::S3::BucketPolicy",
                       "Properties": {"Bucket": {"Ref": "Bucket"},
                                      "Arn": {"Fn::Sub": "${Bucket.Arn}/*"}}}},
        "Outputs": {"Name": {"Value": {"Ref": "Bucket"}}}}, indent="\t")
    diagram = diagram_from_template(text)
    assert [n.logical_id for n in diagram.nodes] == ["Bucket", "Policy"]
    assert edge_set(diagram) == {("Policy", "Bucket", "Ref"), ("Policy", "Bucket", "Sub")}


def test_a_conditional_resource_is_dashed_and_names_its_condition() -> None:
    diagram = diagram_from_template(template("""\
        Topic: {Type: AWS::SNS::Topic, Condition: IsProd}
        Queue: {Type: AWS::SQS::Queue}
        """, head=HEAD))
    assert diagram.node("Topic").condition == "IsProd"
    assert diagram.node("Queue").condition is None
    dot = checked_dot(diagram.to_dot())
    assert "dashed" in dot.nodes["Topic"]["style"].split(",")
    assert dot.nodes["Topic"]["label"] == "Topic\\nSNS Topic\\nif IsProd"
    assert "dashed" not in dot.nodes["Queue"]["style"].split(",")


def test_tiers_become_ordered_clusters_and_untiered_resources_stay_outside() -> None:
    diagram = diagram_from_template(template("""\
        Logs: {Type: AWS::Logs::LogGroup, Metadata: {Tier: observability}}
        Db: {Type: AWS::RDS::DBInstance, Metadata: {Tier: data}}
        Worker: {Type: AWS::Lambda::Function, Metadata: {Tier: batch}}
        Vpc: {Type: AWS::EC2::VPC, Metadata: {Tier: network}}
        Waf: {Type: AWS::WAFv2::WebACL, Metadata: {Tier: edge}}
        App: {Type: AWS::EC2::Instance, Metadata: {Tier: app}}
        Loose: {Type: AWS::SNS::Topic}
        Odd: {Type: AWS::SNS::Topic, Metadata: {Tier: [app]}}
        """))
    assert diagram.tiers() == ("network", "edge", "app", "data", "observability", "batch")
    dot = checked_dot(diagram.to_dot())
    assert list(dot.clusters) == ["cluster_network", "cluster_edge", "cluster_app", "cluster_data",
                                  "cluster_observability", "cluster_batch"]
    assert dot.clusters["cluster_network"]["label"] == "Network"
    assert dot.clusters["cluster_observability"]["label"] == "Observability"
    assert {name: dot.node_cluster[name] for name in ("Vpc", "Waf", "Worker", "Loose", "Odd")} == {
        "Vpc": "cluster_network", "Waf": "cluster_edge", "Worker": "cluster_batch",
        "Loose": None, "Odd": None}


def test_nodes_are_labelled_and_coloured_by_service() -> None:
    diagram = diagram_from_template(template("""\
        LoadBalancer: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer}
        Listener: {Type: AWS::ElasticLoadBalancingV2::Listener}
        Acl: {Type: AWS::WAFv2::WebACL}
        Thing: {Type: Custom::Thing}
        Widget: {Type: Acme::Widgets::Widget}
        """))
    dot = checked_dot(diagram.to_dot())
    assert dot.nodes["LoadBalancer"]["label"] == "LoadBalancer\\nELBv2 LoadBalancer"
    assert dot.nodes["LoadBalancer"]["fillcolor"] == dot.nodes["Listener"]["fillcolor"] == \
        SERVICE_COLOURS["ELBv2"]
    assert dot.nodes["Acl"]["fillcolor"] == SERVICE_COLOURS["WAFv2"]
    assert dot.nodes["Thing"]["label"] == "Thing\\nCustom Thing"
    assert dot.nodes["Thing"]["fillcolor"] == dot.nodes["Widget"]["fillcolor"] == DEFAULT_COLOUR
    assert diagram.legend() == (("ELBv2", SERVICE_COLOURS["ELBv2"]),
                                ("WAFv2", SERVICE_COLOURS["WAFv2"]),
                                ("Custom", DEFAULT_COLOUR), ("Widgets", DEFAULT_COLOUR))
    legend = checked_dot(diagram.legend_to_dot())
    assert [(a["label"], a["fillcolor"]) for a in legend.nodes.values()] == list(diagram.legend())


def test_every_service_has_a_colour_of_its_own() -> None:
    colours = [*SERVICE_COLOURS.values(), DEFAULT_COLOUR]
    assert len(set(colours)) == len(colours)
    for service in ("EC2", "ELBv2", "WAFv2", "AutoScaling", "RDS", "ElastiCache", "S3", "IAM",
                    "CodeDeploy", "CloudWatch", "Logs", "SecretsManager", "SSM"):
        assert service in SERVICE_COLOURS


def test_names_that_dot_would_misread_still_give_valid_dot() -> None:
    diagram = diagram_from_template(template("""\
        'a:b': {Type: AWS::SNS::Topic}
        Node: {Type: AWS::SQS::Queue, DependsOn: 'a:b', Properties: {X: !Ref 'a:b'}}
        Edge: {Type: 'AWS::SQS::Queue"<b>\\\\'}
        """))
    assert edge_set(diagram) == {("Node", "a:b", "Ref"), ("Node", "a:b", "DependsOn")}
    dot = checked_dot(diagram.to_dot())
    assert set(dot.nodes) == {"resource_0", "Node", "Edge"}
    assert {(t, h) for t, h, _ in dot.edges} == {("Node", "resource_0")}
    assert dot.nodes["resource_0"]["label"].startswith("a:b\\n")


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("Resources:\n  A: {Type: [AWS::SNS::Topic\n", "line", id="broken YAML"),
    pytest.param('{"Resources": {"A": {"Type": "AWS::SNS::Topic"}', "line", id="broken JSON"),
    pytest.param("Resources:\n  A: {Type: AWS::SNS::Topic}\n  A: {Type: AWS::SNS::Topic}\n",
                 "Duplicate", id="duplicate logical id"),
    pytest.param("just words", "not a CloudFormation template", id="a string"),
    pytest.param("- a\n- b\n", "not a CloudFormation template", id="a list"),
    pytest.param("", "has no Resources", id="empty"),
    pytest.param("Description: nothing\n", "has no Resources", id="no Resources"),
    pytest.param("Resources: [a, b]\n", "has no Resources", id="Resources is a list"),
    pytest.param("Parameters: 5\nResources: {A: {Type: AWS::SNS::Topic}}\n", "malformed",
                 id="Parameters is not a mapping"),
])
def test_a_template_that_cannot_be_read_is_a_validation_error(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        diagram_from_template(text)
    assert message in raised.value.field_errors["template"]


def test_diagram_edges_point_from_the_referring_resource() -> None:
    diagram = diagram_from_template(template("""\
        Vpc: {Type: AWS::EC2::VPC}
        Subnet: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc}}
        """))
    assert diagram.edges == (DiagramEdge(source="Subnet", target="Vpc", kind="Ref"),)
