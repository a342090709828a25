"""Terraform's `apply -json` and `destroy -json` messages as the portal's per-resource events.

Terraform reports each resource's step as a hook message: `apply_start`, then `apply_complete`
(with the resource's id) or `apply_errored`, each naming the planned action. They become the
statuses CloudFormation reports (base.py says why its words): a create's steps
CREATE_IN_PROGRESS, CREATE_COMPLETE and CREATE_FAILED, a delete's DELETE_*. Why a resource failed
arrives after its `apply_errored`, as a diagnostic naming the resource's address, so a failure
is held until its diagnostic (or the end of the command) and then reported with that reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from services.engines.base import (
    CREATE_COMPLETE,
    CREATE_FAILED,
    CREATE_IN_PROGRESS,
    DELETE_COMPLETE,
    DELETE_FAILED,
    DELETE_IN_PROGRESS,
    EventSink,
    ResourceEvent,
)
from services.engines.terraform_runner import Diagnostic, json_diagnostic

# A second apply of a deployment whose module changed updates in place; CloudFormation's words
# for that are these.
UPDATE_IN_PROGRESS = "UPDATE_IN_PROGRESS"
UPDATE_COMPLETE = "UPDATE_COMPLETE"
UPDATE_FAILED = "UPDATE_FAILED"

# By the hook's action: the status of its start, its completion and its failure. A replacement
# is reported by Terraform as its delete and its create, each with its own hooks. Reads (data
# sources read during apply) make nothing and are not reported.
STATUSES = {
    "create": (CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED),
    "replace": (CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED),
    "delete": (DELETE_IN_PROGRESS, DELETE_COMPLETE, DELETE_FAILED),
    "update": (UPDATE_IN_PROGRESS, UPDATE_COMPLETE, UPDATE_FAILED),
}
STEPS = {"apply_start": 0, "apply_complete": 1, "apply_errored": 2}


def occurred_at(message: dict[str, Any]) -> datetime:
    stamp = message.get("@timestamp")
    if isinstance(stamp, str):
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            pass
        else:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


class EventTranslator:
    """Fed `apply -json` or `destroy -json` lines as they are written; hands `on_events` each
    resource's events as they happen. `close()` at the end hands on failures still held.
    Keeps the error diagnostics (`errors`) and the last outputs message (`outputs`)."""

    def __init__(self, deployment_name: str, on_events: EventSink) -> None:
        self.deployment_name = deployment_name
        self.on_events = on_events
        self.errors: list[Diagnostic] = []
        self._held: dict[str, ResourceEvent] = {}
        # A delete's completion names no id; its start did.
        self._ids: dict[str, str] = {}
        # The last `outputs` message: after an apply, every root output with its value (a
        # sensitive one without); during its plan, only what will change.
        self.outputs: dict[str, Any] | None = None

    def feed(self, line: str) -> None:
        if not line.startswith("{"):
            return
        try:
            message = json.loads(line)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "outputs" and isinstance(message.get("outputs"), dict):
            self.outputs = message["outputs"]
            return
        diagnostic = json_diagnostic(message)
        if diagnostic is not None:
            self._diagnostic(diagnostic)
            return
        step = STEPS.get(message.get("type", ""))
        hook = message.get("hook") or {}
        action = hook.get("action", "")
        statuses = STATUSES.get(action)
        resource = hook.get("resource") or {}
        address = resource.get("addr")
        if step is None or statuses is None or not address:
            return
        physical_id = hook.get("id_value")
        if physical_id:
            self._ids[address] = physical_id
        elif action == "delete":
            physical_id = self._ids.get(address)
        event = ResourceEvent(
            # Unique within a run and the same whenever the same line is read again: Terraform
            # stamps every line to the microsecond.
            event_key="tf-" + hashlib.sha256(
                f"{self.deployment_name}\n{line}".encode()).hexdigest()[:40],
            occurred_at=occurred_at(message),
            logical_id=address,
            resource_type=resource.get("resource_type", ""),
            physical_id=physical_id or None,
            status=statuses[step],
            reason=None,
        )
        if step == STEPS["apply_errored"]:
            self._held[event.logical_id] = event
        else:
            self.on_events([event])

    def _diagnostic(self, diagnostic: Diagnostic) -> None:
        if diagnostic.severity != "error":
            return
        self.errors.append(diagnostic)
        held = self._held.pop(diagnostic.address or "", None)
        if held is not None:
            self.on_events([dataclasses.replace(held, reason=diagnostic.text)])

    def close(self) -> None:
        if not self._held:
            return
        unplaced = "; ".join(d.text for d in self.errors if not d.address) or None
        held, self._held = list(self._held.values()), {}
        self.on_events([dataclasses.replace(event, reason=unplaced) for event in held])
