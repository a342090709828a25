"""The regression corpus: every template of tests/fixtures/cfn_corpus launched on the embedded
cloud the way the portal launches (its CloudFormation engine, the environment's tags, the stack's
events as ownership reads them), then destroyed and swept as the portal destroys. Each must end as
its entry in expected.yaml says (launched, with the outputs named; or failed, with the reason
beginning as written), within 30 seconds, leaving nothing that carries the environment's tag.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.context import PortalContext
from services.engines.base import DeploymentRef, OperationResult, ResourceEvent
from services.engines.cloudformation_engine import CloudFormationEngine
from services.engines.resource_types import cloudformation_type
from services.ownership import OwnedResources
from services.render_service import portal_tags
from services.sweeper import TaggedResource

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("embedded-cloud")]

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "cfn_corpus"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
LAUNCH_LIMIT_S = 30.0


@dataclass
class Launch:
    env_id: str
    stack_name: str
    result: OperationResult
    seconds: float
    events: list[ResourceEvent] = field(default_factory=list)


def _launch(ctx: PortalContext, template: str, parameters: dict[str, str]) -> Launch:
    engine = CloudFormationEngine(ctx.connection)
    env_id = uuid.uuid4().hex[:10]
    launch = Launch(env_id=env_id, stack_name=f"sbx-{env_id}",
                    result=OperationResult(succeeded=False), seconds=0.0)
    started = time.monotonic()
    launch.result = engine.create(
        stack_name=launch.stack_name, template_body=(CORPUS / template).read_text(),
        parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        tags=portal_tags(env_id=env_id, owner="corpus", template_id=template),
        deadline=started + 2 * LAUNCH_LIMIT_S, on_events=launch.events.extend)
    launch.seconds = time.monotonic() - started
    return launch


def _destroy(ctx: PortalContext, launch: Launch) -> list[TaggedResource]:
    """Destroy as the portal does (ownership read first, buckets emptied, the stack deleted, the
    rest swept by tag); what still carries the environment's tag afterwards."""
    engine = CloudFormationEngine(ctx.connection)
    ref = DeploymentRef(env_id=launch.env_id, deployment_name=launch.stack_name,
                        deployment_id=launch.result.deployment_id)
    listed = engine.resources(ref)
    owned = OwnedResources.of(
        [(cloudformation_type(e.resource_type), e.physical_id) for e in launch.events
         if e.status.startswith("CREATE_") and e.physical_id]
        + [(engine.deployment_type, launch.result.deployment_id)]
        + [(cloudformation_type(r.resource_type), r.physical_id) for r in listed],
        deployment_listed=bool(listed))
    ctx.sweeper.empty_buckets([r.physical_id for r in listed
                               if r.resource_type == "AWS::S3::Bucket" and r.physical_id])
    deadline = time.monotonic() + 60
    engine.destroy(ref, deadline=deadline, on_events=lambda events: None)
    ctx.sweeper.sweep(launch.env_id, owned=owned, deadline=deadline, pause=0.5)
    assert engine.stack_status(launch.stack_name) is None
    return ctx.sweeper.find(launch.env_id)


def _check(launch: Launch, expected: dict[str, Any], template: str) -> None:
    assert launch.seconds < LAUNCH_LIMIT_S, f"{template} took {launch.seconds:.1f} s"
    if expected["outcome"] == "launched":
        assert launch.result.succeeded, f"{template} failed: {launch.result.error}"
        for output in expected.get("outputs", []):
            assert launch.result.outputs.get(output), f"{template}: output {output} is empty"
        return
    assert not launch.result.succeeded, f"{template} launched, expected to fail"
    assert launch.result.error is not None
    assert launch.result.error.startswith(expected["reason"]), launch.result.error


def test_every_template_of_the_corpus_has_its_expected_outcome() -> None:
    templates = {p.name for p in CORPUS.glob("*.yaml") if p.name != "expected.yaml"}
    assert templates == set(EXPECTED)
    for name, expected in EXPECTED.items():
        assert expected["outcome"] in ("launched", "failed"), name
        assert expected["outcome"] == "launched" or expected.get("reason"), name


@pytest.mark.parametrize("template", sorted(t for t in EXPECTED if not EXPECTED[t].get("after")))
def test_a_template_launches_or_fails_as_recorded_and_leaves_nothing(
        ctx: PortalContext, template: str) -> None:
    expected = EXPECTED[template]
    launch = _launch(ctx, template, expected.get("parameters") or {})
    try:
        _check(launch, expected, template)
        # A template that must launch after this one, into what it made (cross-stack imports).
        for follower, follows in EXPECTED.items():
            if follows.get("after") != template:
                continue
            parameters = {follows["stack_parameter"]: launch.stack_name}
            second = _launch(ctx, follower, parameters)
            try:
                _check(second, follows, follower)
            finally:
                assert _destroy(ctx, second) == [], follower
    finally:
        assert _destroy(ctx, launch) == [], template
