"""Requests to the embedded cloud made at a simulated moment, with a scripted deployment plan.

A workload simulation replays days of a class in seconds. The embedded cloud stamps what a
request causes (Auto Scaling activities, CodeDeploy deployments and their progress) with the
request's own moment, read from the `X-Sandbox-Clock` header (see
`embedded_extensions/_clock.py`). A client prepared once with `use_simulated_clock(client)` sends
that header on every call made inside `at_simulated_time(when)`, and `X-Sandbox-Deployment-Plan`
on every call made inside `scripted_deployment(plan)` (read by CreateDeployment, see
`embedded_extensions/codedeploy_lifecycle.py`). Outside those blocks the client sends nothing extra, so
preparing a shared client changes nothing for its other users, and the same code runs unchanged
against real AWS, which would simply never see the headers.

The blocks are context variables: they hold for the thread (or task) that opened them.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Iterator
from urllib.parse import quote

CLOCK_HEADER = "X-Sandbox-Clock"
DEPLOYMENT_PLAN_HEADER = "X-Sandbox-Deployment-Plan"
DEPLOYMENT_OUTCOMES = ("Succeeded", "Failed")

_HANDLER_ID = "sandbox-portal-simulation-headers"
_clock: ContextVar[datetime | None] = ContextVar("sandbox_simulated_clock", default=None)
_plan: ContextVar[DeploymentPlan | None] = ContextVar("sandbox_deployment_plan", default=None)


def format_clock(when: datetime) -> str:
    """`when` as the header carries it: ISO 8601 in UTC with microseconds, e.g.
    `2024-05-06T09:30:00.000000Z`."""
    if when.tzinfo is None:
        raise ValueError("a simulated time must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class DeploymentPlan:
    """How a deployment created under `scripted_deployment` runs in the embedded cloud.

    `duration_s`: seconds from its start to its completion (None: the emulator's own estimate
    from its instances and deployment configuration). `outcome`: Succeeded or Failed.
    `error_code` and `message`: the failure's errorInformation (an AWS ErrorCode such as
    HEALTH_CONSTRAINTS or SCRIPT_FAILED; None: AWS's usual HEALTH_CONSTRAINTS)."""

    duration_s: float | None = None
    outcome: str = "Succeeded"
    error_code: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in DEPLOYMENT_OUTCOMES:
            raise ValueError(f"outcome must be one of {DEPLOYMENT_OUTCOMES}, not {self.outcome!r}")
        if self.duration_s is not None and self.duration_s < 0:
            raise ValueError("duration_s must not be negative")

    def header_value(self) -> str:
        """`duration=...;outcome=...;error=...;message=...`, each value percent-encoded."""
        fields = {"duration": None if self.duration_s is None else f"{self.duration_s:g}",
                  "outcome": self.outcome, "error": self.error_code, "message": self.message}
        return ";".join(f"{key}={quote(value, safe='')}" for key, value in fields.items()
                        if value is not None)


def _add_headers(request: Any, **_: Any) -> None:
    # botocore's before-send: the request is signed already; the emulator checks no signature.
    # Returning None lets botocore send the request itself.
    headers = {}
    when = _clock.get()
    if when is not None:
        headers[CLOCK_HEADER] = format_clock(when)
    plan = _plan.get()
    if plan is not None:
        headers[DEPLOYMENT_PLAN_HEADER] = plan.header_value()
    for name, value in headers.items():
        # botocore's HTTPHeaders appends on assignment; a retried request must not carry two.
        if name in request.headers:
            del request.headers[name]
        request.headers[name] = value


def use_simulated_clock(client: Any) -> Any:
    """Let `client` carry the simulation headers inside the blocks of this module; registering
    twice is harmless. Returns the client."""
    client.meta.events.register("before-send", _add_headers, unique_id=_HANDLER_ID)
    return client


def simulated_now() -> datetime | None:
    """The moment of the innermost open `at_simulated_time` block, or None."""
    return _clock.get()


@contextmanager
def at_simulated_time(when: datetime) -> Iterator[datetime]:
    """Calls of prepared clients inside the block happen at `when` (timezone-aware) for the
    embedded cloud. Blocks nest; the innermost wins."""
    if when.tzinfo is None:
        raise ValueError("a simulated time must be timezone-aware")
    token = _clock.set(when.astimezone(UTC))
    try:
        yield when
    finally:
        _clock.reset(token)


@contextmanager
def scripted_deployment(plan: DeploymentPlan) -> Iterator[DeploymentPlan]:
    """Deployments created by prepared clients inside the block run as `plan` says."""
    token = _plan.set(plan)
    try:
        yield plan
    finally:
        _plan.reset(token)
