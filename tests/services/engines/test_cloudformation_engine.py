"""The engine against the embedded cloud when the cloud answers a request with a server fault."""

from __future__ import annotations

import time

import pytest
from botocore.parsers import ResponseParserError

from services import environment_service as environments
from services.context import PortalContext
from services.identity import Actor, Role

pytestmark = pytest.mark.xdist_group("embedded-cloud")
ALICE = Actor("alice", Role.STUDENT)


def _fault_first(monkeypatch: pytest.MonkeyPatch, client: object, operation: str,
                 *, times: int = 1, after_real_call: bool = False) -> list[int]:
    calls: list[int] = []
    real = getattr(client, operation)

    def flaky(**kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= times:
            if after_real_call:
                real(**kwargs)
            raise ResponseParserError("Unable to parse response: <!doctype html> 500")
        return real(**kwargs)

    monkeypatch.setattr(client, operation, flaky)
    return calls


def test_a_create_that_faulted_before_making_the_stack_is_tried_again(
        ctx: PortalContext, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fault_first(monkeypatch, ctx.engine("cloudformation").cloudformation, "create_stack")
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "ready", env.status_reason
    assert len(calls) == 2
    assert environments.destroy(ctx, actor=ALICE, env_id=env.env_id).status == "destroyed"


def test_a_create_that_faulted_after_making_the_stack_fails_and_removes_it(
        ctx: PortalContext, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fault_first(monkeypatch, ctx.engine("cloudformation").cloudformation, "create_stack",
                         after_real_call=True)
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert len(calls) == 1
    assert env.status == "failed" and "ResponseParserError" in env.status_reason
    assert ctx.sweeper.find(env.env_id) == []
    assert ctx.engine("cloudformation").stack_status(env.deployment_name) is None


def test_a_faulted_status_read_is_read_again(ctx: PortalContext,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fault_first(monkeypatch, ctx.engine("cloudformation").cloudformation, "describe_stacks", times=2)
    started = time.monotonic()
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "ready", env.status_reason
    assert len(calls) >= 3
    assert time.monotonic() - started < 10
    environments.destroy(ctx, actor=ALICE, env_id=env.env_id)
