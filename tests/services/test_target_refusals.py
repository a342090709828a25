"""A launch on a target that cannot be used is refused before anything is recorded, saying how
to fix it: the way a new user meets a missing AWS login or a LocalStack that is not running."""

from __future__ import annotations

import socket
import time

import pytest

from services import audit
from services import context as context_module
from services import environment_service as environments
from services import settings as settings_module
from services.errors import TargetUnavailableError
from services.identity import Actor, Role
from tests.services.conftest import OPERATOR

ALICE = Actor("alice", Role.STUDENT)


def _context_on(monkeypatch: pytest.MonkeyPatch, **variables: str):  # type: ignore[no-untyped-def]
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings_module.get_settings.cache_clear()
    context_module._context = None
    return context_module.get_context()


def _refused_and_nothing_recorded(ctx, template_id: str) -> TargetUnavailableError:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(TargetUnavailableError) as refused:
        environments.start_launch(ctx, actor=ALICE, template_id=template_id, parameters={})
    # A new user is told at once, not after a connection's retries.
    assert time.monotonic() - started < 10
    assert environments.list_environments(ctx, actor=OPERATOR) == []
    entry = audit.entries(ctx, actor=OPERATOR, actions=["launch"])[0]
    assert (entry.outcome, entry.target) == ("refused", template_id)
    return refused.value


def test_aws_without_credentials_is_refused_with_how_to_log_in(
        portal_env: dict[str, str], no_aws_credentials: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context_on(monkeypatch, PORTAL_CLOUD="aws")
    refused = _refused_and_nothing_recorded(ctx, "web-server")
    assert refused.target == "aws"
    assert "credentials" in refused.reason.lower()
    assert "AWS_PROFILE" in (refused.fix or "") and "aws sso login" in (refused.fix or "")


def test_localstack_with_nothing_listening_is_refused_with_how_to_start_it(
        portal_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{probe.getsockname()[1]}"
    from services.clouds import status

    status.forget_cached()
    ctx = _context_on(monkeypatch, PORTAL_CLOUD="localstack", PORTAL_LOCALSTACK_ENDPOINT=nobody)
    refused = _refused_and_nothing_recorded(ctx, "three-tier")
    assert refused.target == "localstack"
    assert f"nothing answers at {nobody}" in refused.reason
