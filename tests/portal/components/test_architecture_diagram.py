"""The architecture diagram draws every resource of a template, its legend and its counts."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from services.diagram_service import Diagram, diagram_from_template, template_diagram

from tests.templates_support import catalog

TEMPLATE_IDS = [t.id for t in catalog().all_templates()]


def diagram_app(diagram: "Diagram") -> None:  # run as a script: no postponed annotations
    from portal.components.architecture_diagram import architecture_diagram

    architecture_diagram(diagram, key="launch.diagram")


def charts(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("graphviz_chart")]


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_resource_is_drawn_with_a_legend_and_the_counts(template_id: str) -> None:
    diagram = template_diagram(catalog(), template_id)
    at = AppTest.from_function(diagram_app, args=(diagram,)).run()
    assert not at.exception

    drawing, legend = charts(at)
    assert drawing.startswith("digraph architecture")
    for node in diagram.nodes:
        assert f'label="{node.logical_id}\\n{node.short_type}' in drawing, node.logical_id
    for tier in diagram.tiers():
        assert f"subgraph cluster_{tier} {{" in drawing
    for service, colour in diagram.legend():
        assert f'[label={service} fillcolor="{colour}"]' in legend
    counts = f"{len(diagram.nodes)} resources, {len(diagram.edges)} references."
    assert any(c.value.startswith(counts) for c in at.caption)


def test_arrows_are_named_until_there_are_too_many_and_the_reader_decides() -> None:
    small = template_diagram(catalog(), "web-server")
    at = AppTest.from_function(diagram_app, args=(small,)).run()
    toggle = at.toggle(key="launch.diagram.name_arrows")
    assert toggle.value is True
    assert "[label=Ref " in charts(at)[0]

    toggle.set_value(False).run()
    assert "label=Ref" not in charts(at)[0] and "style=dashed" in charts(at)[0]
    assert at.session_state["launch.diagram.name_arrows"] is False

    resources = "".join(f"  T{i}: {{Type: AWS::SNS::Topic, DependsOn: T{i + 1}}}\n"
                        for i in range(31))
    large = diagram_from_template(f"Resources:\n{resources}  T31: {{Type: AWS::SNS::Topic}}\n")
    assert len(large.edges) == 31
    at = AppTest.from_function(diagram_app, args=(large,)).run()
    assert at.toggle(key="launch.diagram.name_arrows").value is False
    assert "label=DependsOn" not in charts(at)[0]
    assert any(c.value.startswith("32 resources, 31 references.") for c in at.caption)


def test_one_resource_reads_in_the_singular() -> None:
    single = diagram_from_template(
        "Resources:\n  Topic: {Type: AWS::SNS::Topic, Condition: IsProd}\n")
    at = AppTest.from_function(diagram_app, args=(single,)).run()
    assert not at.exception
    assert 'label="Topic\\nSNS Topic\\nif IsProd"' in charts(at)[0]
    assert any(c.value.startswith("1 resource, 0 references.") for c in at.caption)


def test_tier_names_follow_the_readers_language_on_the_same_template() -> None:
    """The drawing is cached per template; an English reader after a Korean one (and back)
    still gets their own language's tier names."""
    from services import i18n
    from services.diagram_service import TIER_LABELS

    diagram = template_diagram(catalog(), "three-tier")
    tier = next(t for t in diagram.tiers() if t in TIER_LABELS)
    with i18n.use_locale("ko"):
        korean_tier = i18n._(TIER_LABELS[tier])

    def drawn(locale: str) -> str:
        at = AppTest.from_function(localized_diagram_app, args=(diagram,))
        at.session_state["i18n.locale"] = locale  # as portal/locale.py keeps it
        return charts(at.run())[0]

    english, korean = drawn("en"), drawn("ko")
    assert korean_tier != TIER_LABELS[tier]
    assert korean_tier in korean and korean_tier not in english
    assert TIER_LABELS[tier] in drawn("en")


def localized_diagram_app(diagram: "Diagram") -> None:  # run as a script
    import portal.locale  # noqa: F401 - registers the session's language with services.i18n
    from portal.components.architecture_diagram import architecture_diagram

    architecture_diagram(diagram, key="launch.diagram")
