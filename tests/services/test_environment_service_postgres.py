"""The whole launch path with its history in PostgreSQL (PORTAL_TEST_DATABASE_URL; CI sets it)."""

from __future__ import annotations


import pytest

from services import settings as settings_module
from services import context as context_module
from services import environment_service as environments
from services.context import PortalContext
from services.identity import Actor, Role

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("embedded-cloud")]


@pytest.fixture
def pg_ctx(portal_env: dict[str, str], postgres_url: str,
           monkeypatch: pytest.MonkeyPatch) -> PortalContext:
    monkeypatch.setenv("PORTAL_DATABASE_URL", postgres_url)
    settings_module.get_settings.cache_clear()
    context_module._context = None
    return context_module.get_context()


def test_launch_and_destroy_with_history_in_postgresql(pg_ctx: PortalContext) -> None:
    assert pg_ctx.sessions.kw["bind"].dialect.name == "postgresql"
    alice = Actor("alice", Role.STUDENT)
    env = environments.launch(pg_ctx, actor=alice, template_id="web-server", parameters={})
    assert env.status == "ready", env.status_reason
    assert environments.run_events(pg_ctx, actor=alice, run_id=env.latest_run.run_id)
    destroyed = environments.destroy(pg_ctx, actor=alice, env_id=env.env_id)
    assert destroyed.status == "destroyed"
    assert [e.env_id for e in environments.list_environments(pg_ctx, actor=alice)] == [env.env_id]
