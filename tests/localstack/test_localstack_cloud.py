"""The LocalStack the portal runs: started once, found again, private, stopped with its group."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.clouds import localstack
from services.errors import TargetUnavailableError
from services.settings import Settings
from tests.localstack.conftest import REGION, python_for_tests

pytestmark = [pytest.mark.localstack, pytest.mark.xdist_group("localstack")]
ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _pid_exists(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_running_localstack_is_recorded_privately_and_found_by_connect(
        localstack_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "PORTAL_LOCALSTACK_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    directory = localstack.state_dir(localstack_settings)
    state = json.loads((directory / localstack.STATE_FILE).read_text())
    assert state["endpoint_url"] == f"http://127.0.0.1:{state['port']}"
    # The process is LocalStack, carrying the boot id the record names.
    args = Path(f"/proc/{state['pid']}/cmdline").read_bytes().decode().split("\0")
    assert localstack.RUNTIME_MODULE in args
    assert args[args.index(localstack.BOOT_ID_FLAG) + 1] == state["boot_id"]
    # Its state, log and record are the portal's user's alone.
    assert _mode(directory) == 0o700
    for name in (localstack.STATE_FILE, localstack.LOG_FILE, localstack.PIDS_FILE):
        assert _mode(directory / name) == 0o600, name
    assert (directory / localstack.FILESYSTEM_DIR).is_dir()

    connection = localstack.connect(localstack_settings)
    assert connection.endpoint_url == state["endpoint_url"]
    assert connection.region == REGION
    identity = connection.client("sts").get_caller_identity()
    assert identity["Account"] == localstack.ACCOUNT_ID


def test_an_explicit_endpoint_wins_over_the_record(localstack_settings: Settings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/")
    assert localstack.connect(localstack_settings).endpoint_url == "http://127.0.0.1:1"
    assert localstack.endpoint(localstack_settings).source == "AWS_ENDPOINT_URL"
    configured = localstack_settings.model_copy(
        update={"localstack_endpoint": "http://127.0.0.1:2"})
    assert localstack.connect(configured).endpoint_url == "http://127.0.0.1:2"
    assert localstack.endpoint(configured).source == "setting"


def test_a_second_start_from_another_process_finds_the_same_localstack(
        localstack_settings: Settings) -> None:
    before = localstack.ensure_running(localstack_settings)
    code = ("import json, sys; from pathlib import Path; from services.settings import Settings; "
            "from services.clouds import localstack; "
            "s = Settings(data_dir=Path(sys.argv[1]), localstack_python=sys.argv[2]); "
            "print(json.dumps(localstack.ensure_running(s).to_json()))")
    started = time.monotonic()
    found = subprocess.run(
        [sys.executable, "-c", code, str(localstack_settings.data_dir),
         localstack_settings.localstack_python],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=True)
    again = json.loads(found.stdout)
    assert again["pid"] == before.pid and again["session_id"] == before.session_id
    assert time.monotonic() - started < 15  # found, not started: no second LocalStack


def test_a_dead_localstack_is_replaced_on_its_port_and_stop_ends_its_group(
        localstack_settings: Settings, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", region=REGION,
                        localstack_python=python_for_tests())
    try:
        first = localstack.ensure_running(settings)
        assert os.getpgid(first.pid) == first.pid  # a group of its own, which stop ends
        running = localstack.status(settings)
        assert running.running and running.pid == first.pid and running.version

        os.killpg(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _pid_exists(first.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        gone = localstack.status(settings)
        assert not gone.running and not gone.stalled and "is gone" in (gone.reason or "")

        second = localstack.ensure_running(settings)
        assert second.pid != first.pid and second.session_id != first.session_id
        # The last start's port again: a portal that connected before finds the new one.
        assert second.port == first.port
    finally:
        stopped = localstack.stop(settings)
    assert stopped
    assert not _pid_exists(second.pid)
    after = localstack.status(settings)
    assert not after.running and after.reason == "not started by the portal"
    assert not localstack.stop(settings)  # nothing left to stop


def test_a_configured_port_that_is_taken_is_refused_before_anything_starts(
        tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(data_dir=tmp_path / "data", localstack_port=port,
                            localstack_python=sys.executable)
        with pytest.raises(TargetUnavailableError) as refused:
            localstack.ensure_running(settings)
    assert f"port {port}" in refused.value.reason
    assert "PORTAL_LOCALSTACK_PORT" in (refused.value.fix or "")
    assert localstack.status(settings).pid is None


def test_starting_without_the_localstack_virtualenv_says_run_make_localstack(
        tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data",
                        localstack_python=str(tmp_path / "missing" / "bin" / "python"))
    with pytest.raises(TargetUnavailableError) as missing:
        localstack.ensure_running(settings)
    assert "not installed" in missing.value.reason
    assert "make localstack" in (missing.value.fix or "")
    assert not (tmp_path / "data" / localstack.STATE_DIR / localstack.STATE_FILE).exists()
