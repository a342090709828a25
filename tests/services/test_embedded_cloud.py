"""The embedded cloud: started on demand, found again by other processes, and what its death means."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal import settings as settings_module
from services import context as context_module
from services import environment_service as environments
from services.clouds import embedded
from services.identity import Actor, Role
from services.reconcile_service import reconcile

SANDBOX = str(Path(sys.executable).parent / "sandbox")
ALICE = Actor("alice", Role.STUDENT)


@pytest.fixture
def own_cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A data dir with an emulator of its own, since these tests stop and kill it."""
    data_dir = tmp_path / "data"
    for name in ("PORTAL_DATABASE_URL", "PORTAL_TEMPLATES_DIR", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PORTAL_CLOUD", "embedded")
    settings_module.get_settings.cache_clear()
    context_module._context = None
    yield data_dir
    embedded.stop(settings_module.Settings(data_dir=data_dir))
    settings_module.get_settings.cache_clear()
    context_module._context = None


def _sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SANDBOX, *args], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())


def test_cli_starts_finds_and_stops_the_same_emulator(own_cloud: Path) -> None:
    before = json.loads(_sandbox("cloud", "status", "--json").stdout)
    assert before["running"] is False
    started = _sandbox("cloud", "start", "--json")
    assert started.returncode == 0, started.stderr
    status = json.loads(_sandbox("cloud", "status", "--json").stdout)
    assert status["running"] is True
    assert status["endpoint_url"].startswith("http://127.0.0.1:")
    assert status["region"] == "us-east-1"

    # A resource made through one process is seen through the next: one emulator, found again.
    ctx = context_module.get_context()
    assert ctx.connection.endpoint_url == status["endpoint_url"]
    vpc = ctx.connection.client("ec2").create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    again = json.loads(_sandbox("cloud", "start", "--json").stdout)
    assert again["boot_id"] == status["boot_id"]
    import boto3

    other = boto3.client("ec2", endpoint_url=again["endpoint_url"], region_name="us-east-1",
                         aws_access_key_id="x", aws_secret_access_key="x")
    assert vpc in [v["VpcId"] for v in other.describe_vpcs()["Vpcs"]]

    assert _sandbox("cloud", "stop").returncode == 0
    assert json.loads(_sandbox("cloud", "status", "--json").stdout)["running"] is False


def test_environments_of_a_dead_emulator_are_marked_lost_never_ready(own_cloud: Path) -> None:
    ctx = context_module.get_context()
    env = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert env.status == "ready"
    pid = embedded.status(ctx.settings).pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while embedded.status(ctx.settings).running and time.monotonic() < deadline:
        time.sleep(0.1)

    report = reconcile(ctx)
    assert report.lost_envs == [env.env_id]
    lost = environments.get_environment(ctx, actor=ALICE, env_id=env.env_id)
    assert lost.status == "lost"
    assert "embedded cloud" in lost.status_reason and "memory" in lost.status_reason

    # The portal goes on with a new emulator; the lost environment can still be cleared away.
    fresh = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert fresh.status == "ready"
    assert reconcile(ctx).lost_envs == []
    assert environments.destroy(ctx, actor=ALICE, env_id=env.env_id).status == "destroyed"
    assert environments.destroy(ctx, actor=ALICE, env_id=fresh.env_id).status == "destroyed"


def test_extensions_refuse_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    from services.clouds import embedded_extensions

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    monkeypatch.setattr(embedded_extensions, "_installed", False)
    with pytest.raises(RuntimeError, match="written for moto 5.2.5"):
        embedded_extensions.install()
