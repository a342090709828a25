"""The embedded cloud: started on demand, found again by other processes, and what its death means."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import settings as settings_module
from services import context as context_module
from services import environment_service as environments
from services.clouds import embedded
from services.context import PortalContext
from services.errors import EmbeddedCloudNotAnsweringError, PortalError
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
    def embedded_status() -> dict:  # type: ignore[type-arg]
        return json.loads(_sandbox("cloud", "status", "--target", "embedded",
                                   "--json").stdout)["embedded"]

    before = embedded_status()
    assert before["running"] is False and before["usable"] is True
    started = _sandbox("cloud", "start", "--json")
    assert started.returncode == 0, started.stderr
    status = embedded_status()
    assert status["running"] is True and status["account_id"] == "123456789012"
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
    assert embedded_status()["running"] is False


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


# -- liveness by identity -------------------------------------------------------------------------
def _emulators_of(data_dir: Path) -> list[int]:
    """The pids of the embedded-cloud processes started for `data_dir`, zombies excluded."""
    wanted = str(data_dir.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if embedded.SERVER_MODULE in args and "--data-dir" in args \
                and args[args.index("--data-dir") + 1] == wanted:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def isolated_ctx(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[PortalContext]:
    """A portal with an emulator of its own: these tests freeze it, which would stall every test
    sharing the session's emulator."""
    for name in ("PORTAL_DATA_DIR", "PORTAL_DATABASE_URL", "PORTAL_TEMPLATES_DIR",
                 "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    settings = settings_module.Settings(
        data_dir=tmp_path / "frozen-cloud", cloud="embedded",
        database_url=f"sqlite:///{tmp_path / 'history.db'}",
        collect_interval_s=0, budget_check_interval_s=0)
    yield PortalContext(settings)
    state = embedded._read_state(settings.data_dir)
    if state is not None:  # a failed assertion must not leave it stopped for ever
        try:
            os.kill(state.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    embedded.stop(settings)
    assert _emulators_of(settings.data_dir) == []


def _fake_emulator(boot_id: str) -> subprocess.Popen[bytes]:
    """A process whose command line is an emulator's but which never answers: what a hung or
    stopped emulator looks like from outside, without the seconds moto takes to start."""
    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                             embedded.SERVER_MODULE, "--port", "9", "--boot-id", boot_id])
    deadline = time.monotonic() + 10
    while not embedded._is_emulator(fake.pid, boot_id):  # until it has exec'd
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return fake


def _write_state(data_dir: Path, *, pid: int, boot_id: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing answers there
    state = embedded.EmbeddedCloudState(pid=pid, port=port, endpoint_url=f"http://127.0.0.1:{port}",
                                        boot_id=boot_id, started_at="2026-01-01T00:00:00+00:00")
    (data_dir / embedded.STATE_FILE).write_text(json.dumps(state.to_json()))
    (data_dir / embedded.PIDS_FILE).write_text(json.dumps([{"pid": pid, "boot_id": boot_id}]))


@pytest.mark.slow
def test_a_five_second_sigstop_loses_nothing_and_starts_no_second_emulator(
        isolated_ctx: PortalContext) -> None:
    ctx = isolated_ctx
    ready = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    assert ready.status == "ready"
    pid = embedded.status(ctx.settings).pid
    assert _emulators_of(ctx.settings.data_dir) == [pid]

    results: dict[str, object] = {}

    def reconcile_while_stopped() -> None:
        started = time.monotonic()
        results["report"] = reconcile(ctx)
        results["reconcile_s"] = time.monotonic() - started

    def launch_while_stopped() -> None:
        try:
            run = environments.start_launch(ctx, actor=ALICE, template_id="web-server",
                                            parameters={})
            results["launched"] = run.env_id
            environments.run_launch(ctx, run_id=run.run_id)
        except PortalError as exc:  # failing cleanly, with a reason, is allowed; losing is not
            results["launch_error"] = exc

    os.kill(pid, signal.SIGSTOP)
    try:
        threads = [threading.Thread(target=reconcile_while_stopped),
                   threading.Thread(target=launch_while_stopped)]
        for thread in threads:
            thread.start()
        time.sleep(5)
        assert all(thread.is_alive() for thread in threads), "nothing may finish while stopped"
    finally:
        os.kill(pid, signal.SIGCONT)
    for thread in threads:
        thread.join(timeout=180)

    report = results["report"]
    assert report.lost_envs == [] and report.cloud_not_answering is None
    # It waited for the emulator to come back, no longer than the patience.
    assert 4.5 <= results["reconcile_s"] < embedded.LIVENESS_PATIENCE_S
    assert environments.get_environment(ctx, actor=ALICE, env_id=ready.env_id).status == "ready"
    if "launched" in results:
        launched = environments.get_environment(ctx, actor=ALICE, env_id=results["launched"])
        assert launched.status == "ready" or (launched.status == "failed"
                                              and launched.status_reason)
    else:
        assert "does not answer" in str(results["launch_error"])
    assert _emulators_of(ctx.settings.data_dir) == [pid]
    assert embedded._read_state(ctx.settings.data_dir).pid == pid
    assert reconcile(ctx).lost_envs == []


@pytest.mark.slow
def test_an_emulator_stopped_beyond_patience_is_reported_not_replaced(
        isolated_ctx: PortalContext, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = isolated_ctx
    ready = environments.launch(ctx, actor=ALICE, template_id="web-server", parameters={})
    pid = embedded.status(ctx.settings).pid
    monkeypatch.setattr(embedded, "LIVENESS_PATIENCE_S", 4.0)
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        report = reconcile(ctx)
        waited = time.monotonic() - started
        # The patience is spent once per stall: the next check probes once and reports.
        started = time.monotonic()
        with pytest.raises(EmbeddedCloudNotAnsweringError, match=rf"\(pid {pid}\) does not answer"
                           r".*stopped \(SIGSTOP\)") as raised:
            environments.start_launch(ctx, actor=ALICE, template_id="web-server", parameters={})
        assert time.monotonic() - started < 3.5
        assert raised.value.stopped  # read from /proc: the message says how to resume it
        status = embedded.status(ctx.settings)
        assert not status.running and "does not answer" in status.reason
    finally:
        os.kill(pid, signal.SIGCONT)
    # Nothing was decided: the environment is as it was, and no other emulator was started.
    assert 4.0 <= waited < 12
    assert f"pid {pid}" in report.cloud_not_answering and report.lost_envs == []
    assert environments.get_environment(ctx, actor=ALICE, env_id=ready.env_id).status == "ready"
    assert _emulators_of(ctx.settings.data_dir) == [pid]
    assert embedded.ensure_running(ctx.settings).pid == pid


def test_a_hung_emulator_is_waited_for_then_reported_and_never_doubled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_module.Settings(data_dir=tmp_path / "data")
    hung = _fake_emulator("hung-boot")
    try:
        _write_state(settings.data_dir, pid=hung.pid, boot_id="hung-boot")
        monkeypatch.setattr(embedded, "LIVENESS_PATIENCE_S", 1.5)
        started = time.monotonic()
        with pytest.raises(EmbeddedCloudNotAnsweringError) as raised:
            embedded.current_boot_id(settings)
        assert raised.value.pid == hung.pid and not raised.value.stopped
        assert 1.5 <= time.monotonic() - started < 5
        with pytest.raises(EmbeddedCloudNotAnsweringError):
            embedded.ensure_running(settings)
        assert hung.poll() is None
        assert embedded._read_state(settings.data_dir).pid == hung.pid  # no second one started

        # `sandbox cloud stop` ends it, stopped (SIGSTOP) or not.
        hung.send_signal(signal.SIGSTOP)
        assert embedded.stop(settings) is True
        assert hung.wait(timeout=5) == -signal.SIGTERM
        assert not (settings.data_dir / embedded.STATE_FILE).exists()
        assert json.loads((settings.data_dir / embedded.PIDS_FILE).read_text()) == []
    finally:
        hung.kill()
        hung.wait()


def test_a_pid_reused_by_another_program_is_dead_and_never_signalled(tmp_path: Path) -> None:
    settings = settings_module.Settings(data_dir=tmp_path / "data")
    # The state file's pid now belongs to a program that is not the emulator it names.
    other = subprocess.Popen(["sleep", "60"])
    try:
        _write_state(settings.data_dir, pid=other.pid, boot_id="long-gone")
        started = time.monotonic()
        assert embedded.current_boot_id(settings) is None  # dead at once: nothing to wait for
        assert time.monotonic() - started < 3
        assert "is gone" in embedded.status(settings).reason
        assert embedded.stop(settings) is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


@pytest.mark.slow
def test_a_start_first_stops_the_emulators_this_data_dir_started_before(
        tmp_path: Path) -> None:
    settings = settings_module.Settings(data_dir=tmp_path / "data")
    # An emulator the state file no longer names (an older portal started a second one beside
    # it), still recorded as started for this data dir.
    orphan = _fake_emulator("orphaned-boot")
    try:
        _write_state(settings.data_dir, pid=orphan.pid, boot_id="orphaned-boot")
        (settings.data_dir / embedded.STATE_FILE).unlink()
        state = embedded.ensure_running(settings)
        assert orphan.wait(timeout=5) == -signal.SIGTERM
        assert _emulators_of(settings.data_dir) == [state.pid]
        assert [r["pid"] for r in json.loads(
            (settings.data_dir / embedded.PIDS_FILE).read_text())] == [state.pid]
        assert (settings.data_dir / embedded.PIDS_FILE).stat().st_mode & 0o777 == 0o600
        assert embedded.stop(settings) is True
        assert _emulators_of(settings.data_dir) == []
    finally:
        orphan.kill()
        orphan.wait()
        embedded.stop(settings)


def test_extensions_refuse_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    from services.clouds import embedded_extensions

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    monkeypatch.setattr(embedded_extensions, "_installed", False)
    with pytest.raises(RuntimeError, match="written for moto 5.2.5"):
        embedded_extensions.install()
