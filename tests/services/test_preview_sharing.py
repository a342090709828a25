"""A class previewing the same template shares one analysis (advice, estimates, diagram), while
each student's code still names them and nothing of one student reaches another."""

from __future__ import annotations

from services import preview_service
from services.context import PortalContext
from services.i18n import use_locale


def test_two_students_share_the_analysis_and_each_reads_their_own_code(
        ctx: PortalContext) -> None:
    alice = preview_service.preview(ctx, template_id="web-server", parameters={},
                                    owner="alice-kim")
    bob = preview_service.preview(ctx, template_id="web-server", parameters={},
                                  owner="bob-lee")
    assert bob.advice is alice.advice and bob.estimates is alice.estimates
    assert bob.diagram is alice.diagram
    alice_code = "\n".join(alice.rendered.terraform_files.values())
    bob_code = "\n".join(bob.rendered.terraform_files.values())
    assert "alice-kim" in alice_code and "bob-lee" in bob_code
    assert "alice-kim" not in bob_code
    shared = repr((bob.advice, bob.estimates, bob.diagram, bob.cannot_create))
    assert "alice-kim" not in shared and "bob-lee" not in shared


def test_other_values_lease_or_language_are_analysed_anew(ctx: PortalContext) -> None:
    small = preview_service.preview(ctx, template_id="web-server", parameters={},
                                    owner="alice-kim", lease_hours=4)
    bigger = preview_service.preview(ctx, template_id="web-server",
                                     parameters={"instance_type": "t3.small"},
                                     owner="alice-kim", lease_hours=4)
    longer = preview_service.preview(ctx, template_id="web-server", parameters={},
                                     owner="alice-kim", lease_hours=8)
    first = next(iter(small.estimates))
    assert bigger.estimates[first].total_usd > small.estimates[first].total_usd
    assert longer.estimates[first].total_usd > small.estimates[first].total_usd
    with use_locale("ko"):
        korean = preview_service.preview(ctx, template_id="web-server", parameters={},
                                         owner="alice-kim", lease_hours=4)
    assert korean.advice is not small.advice
    if small.advice.findings:
        assert korean.advice.findings[0].message != small.advice.findings[0].message
