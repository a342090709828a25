"""What a student sees before launching: the rendered code, the advisor's findings, the cost in
every priced region for the lease, and the architecture diagram. One call for the Launch page.

Built-in and imported templates alike: a template deployed by Terraform alone is priced and
drawn from its module (services/template_import/terraform_resources.py). On the embedded cloud
the preview also lists the resources the emulator cannot create, which a stack there would
report created while nothing exists.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from services import cost_service, diagram_service
from services.advisor import AdvisorReport, advise
from services.catalog_service import TemplateManifest
from services.context import PortalContext
from services.cost_service import CostEstimate, NotPriced
from services.diagram_service import Diagram
from services.engines.base import EngineName
from services.environment_service import lease_hours_for, render_template
from services.errors import PortalError
from services.i18n import _, current_locale
from services.pricing import default_price_table
from services.render_service import RenderedTemplate, masked, validate_parameters
from services.settings import CloudTarget
from services.engines.resource_types import cloudformation_type
from services.template_import.terraform_resources import (
    resolved_for_pricing,
    terraform_config,
    terraform_diagram,
)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UncreatableResource:
    """A resource of the template the target cannot create."""

    resource: str
    type: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"resource": self.resource, "type": self.type, "reason": self.reason}


@dataclass(frozen=True)
class LaunchPreview:
    template_id: str
    rendered: RenderedTemplate
    advice: AdvisorReport
    lease_hours: int
    # One estimate per region of the price table, the portal's own region first.
    estimates: dict[str, CostEstimate]
    diagram: Diagram
    # What the target cannot create (the embedded cloud's gaps); empty where it is not known.
    cannot_create: tuple[UncreatableResource, ...] = ()

    @property
    def blocks_launch(self) -> bool:
        return self.advice.blocks_launch

    @property
    def not_priced(self) -> list[NotPriced]:
        """The resources the estimate of the portal's region leaves out, each with why: a type
        the price table does not know, a size only known after apply."""
        first = next(iter(self.estimates.values()), None)
        return list(first.not_priced) if first else []


def advice_for(ctx: PortalContext, *, template_id: str,
               parameters: Mapping[str, Any]) -> AdvisorReport:
    manifest = ctx.catalog.get_template(template_id)
    values = validate_parameters(manifest, parameters)
    rendered = render_template(ctx, template_id=template_id, parameters=values)
    return advise(rendered, manifest=manifest, values=masked(manifest, values),
                  region=ctx.settings.region)


def diagram_of(ctx: PortalContext, manifest: TemplateManifest,
               rendered: RenderedTemplate) -> Diagram:
    """The architecture: from the CloudFormation where the template has one, else from the
    rendered Terraform module."""
    if EngineName.CLOUDFORMATION in manifest.engines:
        return diagram_service.template_diagram(ctx.catalog, manifest.id)
    return terraform_diagram(rendered)


def estimate(ctx: PortalContext, *, template_id: str, parameters: Mapping[str, Any],
             region: str, hours: float) -> CostEstimate:
    """What a template with these values costs in `region` for `hours`, from its CloudFormation
    or, for a Terraform-only template, its rendered module."""
    manifest = ctx.catalog.get_template(template_id)
    values = validate_parameters(manifest, parameters)
    rendered = render_template(ctx, template_id=template_id, parameters=values,
                               version=manifest.version)
    return cost_service.estimate(resolved_for_pricing(rendered, manifest, region=region),
                                 hours=hours, template_id=template_id)


def diagram(ctx: PortalContext, *, template_id: str) -> Diagram:
    """A template's architecture with its default values."""
    manifest = ctx.catalog.get_template(template_id)
    if EngineName.CLOUDFORMATION in manifest.engines:
        return diagram_service.template_diagram(ctx.catalog, manifest.id)
    # A module is drawn as rendered: with its defaults, which a required variable lacks.
    rendered = render_template(ctx, template_id=template_id, parameters=manifest.defaults(),
                               version=manifest.version)
    return terraform_diagram(rendered)


def preview(ctx: PortalContext, *, template_id: str, parameters: Mapping[str, Any],
            owner: str, lease_hours: Any = None) -> LaunchPreview:
    """Raises ValidationError naming the fields (parameters, lease_hours) that are wrong."""
    manifest = ctx.catalog.get_template(template_id)
    values = validate_parameters(manifest, parameters)
    lease = lease_hours_for(ctx, lease_hours)
    # Rendered as this student would launch it, so the preview's tags name them.
    rendered = render_template(ctx, template_id=template_id, parameters=values, owner=owner,
                               version=manifest.version)
    advice, estimates, diagram, uncreatable = _analysis(ctx, manifest, values, lease)
    return LaunchPreview(template_id=template_id, rendered=rendered, advice=advice,
                         lease_hours=lease, estimates=estimates, diagram=diagram,
                         cannot_create=uncreatable)


# The advice, the estimates, the diagram and what the target cannot create depend on the
# template, the values, the lease, the target and the language, never on who previews them: a
# class opening the Launch page on the same defaults is analysed once, not once per student.
# Kept for the last 256 previews, and never when a secret is among the values.
_Analysis = tuple[AdvisorReport, dict[str, CostEstimate], Diagram,
                  tuple[UncreatableResource, ...]]
_analyses: LRUCache[tuple[Any, ...], _Analysis] = LRUCache(maxsize=256)
_analyses_lock = threading.Lock()


def _analysis(ctx: PortalContext, manifest: TemplateManifest, values: Mapping[str, Any],
              lease: int) -> _Analysis:
    secret = any(spec.secret and spec.name in values for spec in manifest.parameters)
    key = None if secret else (
        str(ctx.settings.templates_dir), str(ctx.settings.data_dir), manifest.id,
        manifest.version, ctx.settings.cloud.value, ctx.settings.region, lease, current_locale(),
        tuple(sorted((name, repr(value)) for name, value in values.items())))
    if key is not None:
        with _analyses_lock:
            kept = _analyses.get(key)
        if kept is not None:
            return kept
    # Rendered for no one in particular: what is analysed must not carry a student's name into
    # what another student is shown.
    rendered = render_template(ctx, template_id=manifest.id, parameters=values,
                               version=manifest.version)
    regions = sorted(default_price_table().regions, key=lambda r: (r != ctx.settings.region, r))
    made: _Analysis = (
        advise(rendered, manifest=manifest, values=masked(manifest, values),
               region=ctx.settings.region),
        {region: cost_service.estimate(resolved_for_pricing(rendered, manifest, region=region),
                                       hours=lease, template_id=manifest.id)
         for region in regions},
        diagram_of(ctx, manifest, rendered),
        cannot_create(ctx, manifest, rendered),
    )
    if key is not None:
        with _analyses_lock:
            _analyses[key] = made
    return made


# -- what the target cannot create ----------------------------------------------------------------
# What the embedded cloud's CloudFormation creates: moto's models with the portal's extensions
# installed. Asked of a child process once per process: installing the extensions patches moto,
# which belongs in the emulator's process alone.
_CREATABLE_PROBE = """
import json
from services.clouds.embedded_extensions import install
install()
from moto.cloudformation.parsing import NULL_MODELS, get_model_map
print(json.dumps(sorted(set(get_model_map()) | set(NULL_MODELS))))
"""
_creatable: frozenset[str] | None = None
_creatable_lock = threading.Lock()
# Terraform's own providers (terraform_data, null, random, tls, local, time) make nothing in
# the cloud.
_CLOUDLESS_PREFIXES = ("terraform_", "null_", "random_", "tls_", "local_", "time_")


def embedded_creatable_types() -> frozenset[str] | None:
    """The CloudFormation types the embedded cloud creates; None when that cannot be learnt."""
    global _creatable
    with _creatable_lock:
        if _creatable is None:
            try:
                probe = subprocess.run([sys.executable, "-c", _CREATABLE_PROBE],
                                       capture_output=True, text=True, timeout=120, check=True)
                _creatable = frozenset(json.loads(probe.stdout.strip().splitlines()[-1]))
            except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
                _log.warning("could not learn what the embedded cloud creates: %s", exc)
                return None
        return _creatable


def cannot_create(ctx: PortalContext, manifest: TemplateManifest,
                  rendered: RenderedTemplate) -> tuple[UncreatableResource, ...]:
    """The template's resources the configured target cannot create. Known for the embedded
    cloud: a CloudFormation type moto does not model is skipped by its stacks, which still
    complete. A Terraform resource is judged by its CloudFormation counterpart where the
    portal's table of them (services/engines/resource_types.py) has one; one without is not
    judged: the emulator's APIs, which Terraform calls, cover more than its CloudFormation
    models, so a missing model alone does not say the apply fails."""
    if ctx.settings.cloud is not CloudTarget.EMBEDDED:
        return ()
    creatable = embedded_creatable_types()
    if creatable is None:
        return ()
    found: list[UncreatableResource] = []
    cloudformation = EngineName.CLOUDFORMATION in manifest.engines
    try:
        if cloudformation:
            from services.template_model import resolve_rendered

            resources = [(r.logical_id, r.type) for r in
                         resolve_rendered(rendered, region=ctx.settings.region).resources.values()]
        else:
            resources = [(r.address, cloudformation_type(r.type))
                         for r in terraform_config(rendered).resources()
                         if not r.type.startswith(_CLOUDLESS_PREFIXES)]
    except PortalError:
        return ()
    for address, resource_type in resources:
        if resource_type in creatable:
            continue
        if "::" not in resource_type:
            continue  # a Terraform type with no CloudFormation counterpart: not judged
        if cloudformation:
            reason = _("the embedded cloud does not create {type}: the launch fails there naming "
                       "it; launch on LocalStack or AWS to get one").format(type=resource_type)
        else:
            reason = _("the embedded cloud does not model {type}: the apply is likely to fail "
                       "there; launch on LocalStack or AWS to get one").format(type=resource_type)
        found.append(UncreatableResource(address, resource_type, reason))
    return tuple(found)


def warm(ctx: PortalContext) -> None:
    """Preview every template once with its defaults, off the page's thread: otherwise the first
    student to pick a template waits for cfn-lint's import and each template's first parse and
    diagram (seconds on a small machine)."""
    for manifest in ctx.catalog.all_templates():
        try:
            preview(ctx, template_id=manifest.id, parameters={}, owner="warm-up")
        except PortalError:
            continue  # a template its defaults cannot render shows its error when picked
