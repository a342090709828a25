"""What a student sees before launching: the rendered code, the advisor's findings, the cost in
every priced region for the lease, and the architecture diagram. One call for the Launch page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services import cost_service, diagram_service, template_model
from services.advisor import AdvisorReport, advise
from services.context import PortalContext
from services.cost_service import CostEstimate
from services.diagram_service import Diagram
from services.environment_service import lease_hours_for, render_template
from services.errors import PortalError
from services.pricing import default_price_table
from services.render_service import RenderedTemplate, validate_parameters


@dataclass(frozen=True)
class LaunchPreview:
    template_id: str
    rendered: RenderedTemplate
    advice: AdvisorReport
    lease_hours: int
    # One estimate per region of the price table, the portal's own region first.
    estimates: dict[str, CostEstimate]
    diagram: Diagram

    @property
    def blocks_launch(self) -> bool:
        return self.advice.blocks_launch


def advice_for(ctx: PortalContext, *, template_id: str,
               parameters: Mapping[str, Any]) -> AdvisorReport:
    manifest = ctx.catalog.get_template(template_id)
    values = validate_parameters(manifest, parameters)
    rendered = render_template(ctx, template_id=template_id, parameters=values)
    return advise(rendered, manifest=manifest, values=values, region=ctx.settings.region)


def preview(ctx: PortalContext, *, template_id: str, parameters: Mapping[str, Any],
            owner: str, lease_hours: Any = None) -> LaunchPreview:
    """Raises ValidationError naming the fields (parameters, lease_hours) that are wrong."""
    manifest = ctx.catalog.get_template(template_id)
    values = validate_parameters(manifest, parameters)
    lease = lease_hours_for(ctx, lease_hours)
    # Rendered as this student would launch it, so the preview's tags name them.
    rendered = render_template(ctx, template_id=template_id, parameters=values, owner=owner)
    regions = sorted(default_price_table().regions, key=lambda r: (r != ctx.settings.region, r))
    estimates = {
        region: cost_service.estimate(template_model.resolve_rendered(rendered, region=region),
                                      hours=lease, template_id=template_id)
        for region in regions
    }
    return LaunchPreview(
        template_id=template_id, rendered=rendered,
        advice=advise(rendered, manifest=manifest, values=values, region=ctx.settings.region),
        lease_hours=lease, estimates=estimates,
        diagram=diagram_service.template_diagram(ctx.catalog, template_id),
    )


def warm(ctx: PortalContext) -> None:
    """Preview every template once with its defaults, off the page's thread: otherwise the first
    student to pick a template waits for cfn-lint's import and each template's first parse and
    diagram (seconds on a small machine)."""
    for manifest in ctx.catalog.all_templates():
        try:
            preview(ctx, template_id=manifest.id, parameters={}, owner="warm-up")
        except PortalError:
            continue  # a template its defaults cannot render shows its error when picked
