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


def test_a_class_previewing_at_once_each_reads_their_own_code(ctx: PortalContext) -> None:
    from concurrent.futures import ThreadPoolExecutor

    owners = [f"student-{n:02d}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=len(owners)) as pool:
        previews = list(pool.map(lambda owner: preview_service.preview(
            ctx, template_id="three-tier", parameters={}, owner=owner), owners))
    for owner, made in zip(owners, previews, strict=True):
        code = "\n".join(made.rendered.terraform_files.values())
        assert owner in code
        assert not [other for other in owners if other != owner and other in code]
    first = previews[0]
    assert all(p.advice == first.advice and p.estimates == first.estimates for p in previews)
