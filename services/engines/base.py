"""What every deployment engine offers the environments facade, over engine-neutral types.

An engine turns one environment's template and parameters into cloud resources and back:
`plan` (what would be created), `apply` (create, streaming per-resource events), `outputs`,
`resources` and `destroy`. The facade, reconcile, monitoring and the sweeper speak only these
types, so adding an engine touches the registry (`services.engines`) and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol

if TYPE_CHECKING:
    from services.catalog_service import TemplateManifest


class EngineName(str, enum.Enum):
    CLOUDFORMATION = "cloudformation"
    TERRAFORM = "terraform"

    @property
    def label(self) -> str:
        return {"cloudformation": "CloudFormation", "terraform": "Terraform"}[self.value]


# The statuses engines report per resource, in CloudFormation's words because the run view, the
# charts and the students' lab notes already speak them; Terraform's apply and destroy messages
# are mapped onto these.
CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
CREATE_COMPLETE = "CREATE_COMPLETE"
CREATE_FAILED = "CREATE_FAILED"
DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
DELETE_COMPLETE = "DELETE_COMPLETE"
DELETE_FAILED = "DELETE_FAILED"


@dataclass(frozen=True)
class ResourceEvent:
    """One step of one resource during an apply or destroy. `event_key` is unique within a run
    (re-reading a deployment's events after a worker died must not store them twice)."""

    event_key: str
    occurred_at: datetime
    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str
    reason: str | None


EventSink = Callable[[list[ResourceEvent]], None]


@dataclass
class OperationResult:
    succeeded: bool
    # The engine's reference for what it made (a stack ARN, a state file's lineage), if any.
    deployment_id: str | None = None
    # By the manifest's output names (`OutputSpec.name`): each engine maps its own.
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"available": self.available, "reason": self.reason}


@dataclass(frozen=True)
class PlannedResource:
    """A resource a plan would create: its address in the engine's own words (a CloudFormation
    logical id, a Terraform address such as `module.network.aws_vpc.this`) and its type."""

    address: str
    resource_type: str
    action: str = "create"


@dataclass(frozen=True)
class DeployedResource:
    logical_id: str
    resource_type: str
    physical_id: str | None
    status: str

    def to_json(self) -> dict[str, str]:
        # The keys the environment card and `sandbox status --json` have always shown.
        return {"logical_id": self.logical_id, "type": self.resource_type,
                "physical_id": self.physical_id or "", "status": self.status}


@dataclass(frozen=True)
class DeploymentRequest:
    """Everything an engine needs to create one environment."""

    env_id: str
    # Unique per environment, starts with a letter and stays short (RDS derives identifiers from
    # it): the stack name, the Terraform working directory's name.
    deployment_name: str
    manifest: TemplateManifest
    # Validated parameter values, by the manifest's names.
    values: Mapping[str, Any]
    # The tags every resource carries (`render_service.portal_tags`).
    tags: Mapping[str, str]
    region: str


@dataclass(frozen=True)
class DeploymentRef:
    """An environment's deployment as recorded: enough to find, read and destroy it."""

    env_id: str
    deployment_name: str
    deployment_id: str | None = None

    @property
    def handle(self) -> str:
        """What to address the deployment by: its id once known, else its name."""
        return self.deployment_id or self.deployment_name


class Engine(Protocol):
    name: EngineName
    # The resource type under which the portal records events about the deployment as a whole
    # (a failed delete): CloudFormation's stack type, Terraform's own.
    deployment_type: str

    def availability(self, manifest: TemplateManifest | None = None) -> Availability:
        """Whether this engine can deploy `manifest` (or anything, with None) here and now; the
        reason says how to fix it. Asked before a launch records anything."""

    def plan(self, request: DeploymentRequest) -> list[PlannedResource]:
        """What an apply would create, without creating anything."""

    def apply(self, request: DeploymentRequest, *, deadline: float,
              on_events: EventSink) -> OperationResult:
        """Create the deployment and wait for it until `deadline` (time.monotonic()). Called
        again for the same request (a worker died), it waits for or completes what the earlier
        call started, never making a second copy."""

    def destroy(self, ref: DeploymentRef, *, deadline: float,
                on_events: EventSink) -> OperationResult:
        """Delete everything the deployment made; deleting what is gone succeeds."""

    def outputs(self, ref: DeploymentRef, manifest: TemplateManifest) -> dict[str, str]:
        """The deployment's outputs, by the manifest's output names (`OutputSpec.name`)."""

    def resources(self, ref: DeploymentRef) -> list[DeployedResource]:
        """What the deployment made, as the engine recorded it; empty when it is gone."""
