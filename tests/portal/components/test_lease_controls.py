"""The lease banner: one warning for each environment about to be destroyed, one for a class."""

from __future__ import annotations

from datetime import timedelta

from streamlit.testing.v1 import AppTest

from services.environment_service import EnvironmentView
from services.history.models import utcnow


def ending(count: int) -> list[EnvironmentView]:
    now = utcnow()
    return [EnvironmentView(
        env_id=f"env{n:03d}", template_id="web-server", owner=f"student-{n}", status="ready",
        status_reason=None, parameters={}, outputs=[], cloud="embedded", region="us-east-1",
        engine="cloudformation", deployment_name=f"sbx-env{n:03d}", deployment_id=None,
        created_at=now, updated_at=now, lease_hours=2,
        # The last created ends first.
        expires_at=now + timedelta(minutes=25 - n, seconds=30)) for n in range(count)]


def banner_app(envs: list) -> None:
    from portal.components.lease_controls import lease_banner

    lease_banner(envs)


def warnings(at: AppTest) -> list[str]:
    return [w.value.replace("\\", "") for w in at.warning]


def test_a_few_endings_each_have_their_warning() -> None:
    at = AppTest.from_function(banner_app, args=(ending(3),)).run()
    assert not at.exception
    shown = warnings(at)
    assert [w.split("**")[1] for w in shown] == ["env000", "env001", "env002"]
    assert shown[0].startswith("The lease of **env000** (web-server) ends in 25 min")


def test_a_class_ending_together_shares_one_warning_naming_the_first() -> None:
    at = AppTest.from_function(banner_app, args=(ending(14),)).run()
    assert not at.exception
    [shown] = warnings(at)
    assert shown.startswith("The leases of 14 environments end within 30 minutes, the first in "
                            "12 min: **env013**, **env012**, ")
    assert "**env004** and 4 more." in shown and "env003" not in shown
