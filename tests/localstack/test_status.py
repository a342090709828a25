"""Whether each target is usable, who the portal is there, and the fix when it is not."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from services.clouds import embedded, localstack, status
from services.errors import TargetUnavailableError
from services.settings import CloudTarget, Settings
from tests.localstack.conftest import REGION

pytestmark = [pytest.mark.localstack, pytest.mark.xdist_group("localstack")]
SANDBOX = str(Path(sys.executable).parent / "sandbox")


@pytest.fixture
def clean_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "PORTAL_LOCALSTACK_ENDPOINT", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    status.forget_cached()


@pytest.fixture
def nothing_listening(monkeypatch: pytest.MonkeyPatch) -> str:
    """A URL on 127.0.0.1 where nothing listens, as the default endpoint: port 4566 may hold a
    LocalStack of this machine's own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(localstack, "DEFAULT_ENDPOINT", url)
    return url


def test_a_running_localstack_is_usable_as_its_account_in_the_region(
        localstack_settings: Settings, clean_endpoints: None) -> None:
    found = status.target_status(localstack_settings, "localstack")
    assert found.usable, found.reason
    assert found.account_id == "000000000000"
    assert found.identity_arn == "arn:aws:iam::000000000000:root"
    assert found.region == REGION
    assert found.endpoint_url == localstack.endpoint(localstack_settings).url
    assert found.running is True
    assert found.reason is None and found.fix is None
    data = found.to_json()
    assert data["target"] == "localstack" and data["version"] == "2026.3.0"
    assert data["endpoint_source"] == "portal" and data["pid"] > 0
    json.dumps(data)


def test_localstack_with_nothing_listening_is_not_usable_and_says_how_to_start_it(
        tmp_path: Path, clean_endpoints: None, nothing_listening: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", region=REGION)
    started = time.monotonic()
    found = status.target_status(settings, CloudTarget.LOCALSTACK)
    assert time.monotonic() - started < 2.0
    assert not found.usable and found.running is False
    assert found.endpoint_url == nothing_listening
    assert f"nothing answers at {nothing_listening}" == found.reason
    assert found.fix == "make localstack && sandbox cloud start --target localstack"
    assert found.account_id is None


def test_an_explicit_endpoint_with_nothing_listening_names_the_setting(
        tmp_path: Path, clean_endpoints: None, nothing_listening: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", localstack_endpoint=nothing_listening)
    found = status.target_status(settings, "localstack")
    assert not found.usable and found.running is None
    assert "PORTAL_LOCALSTACK_ENDPOINT" in found.reason
    assert "PORTAL_LOCALSTACK_ENDPOINT" in found.fix and localstack.START_FIX in found.fix


def test_aws_without_credentials_is_not_usable_quickly_with_the_fix(
        tmp_path: Path, no_aws_credentials: None) -> None:
    started = time.monotonic()
    found = status.target_status(Settings(data_dir=tmp_path / "data", region=REGION), "aws")
    assert time.monotonic() - started < 3.0
    assert not found.usable
    assert "no AWS credentials" in found.reason
    assert "AWS_PROFILE" in found.fix
    assert "aws configure" in found.fix and "aws sso login" in found.fix
    assert found.account_id is None and found.identity_arn is None


def test_aws_with_a_profile_that_does_not_exist_names_it(
        tmp_path: Path, no_aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "cloud-101")
    found = status.target_status(Settings(data_dir=tmp_path / "data"), "aws")
    assert not found.usable
    assert "cloud-101" in found.reason
    assert "aws configure --profile cloud-101" in found.fix


def test_the_embedded_cloud_is_usable_before_it_runs_and_names_its_account_once_it_does(
        tmp_path: Path, clean_endpoints: None) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    before = status.target_status(settings, "embedded")
    assert before.usable and before.running is False
    assert before.to_json()["starts_on_first_use"] is True
    try:
        state = embedded.ensure_running(settings)
        now = status.target_status(settings, "embedded")
        assert now.usable and now.running is True
        assert now.endpoint_url == state.endpoint_url
        assert now.account_id == "123456789012"  # moto's account
        assert now.to_json()["boot_id"] == state.boot_id
        # Asked again (the launch path's cache ran out), it reuses its STS client: building a
        # session loads botocore's models again, which pages pay for.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(status, "new_session", _no_new_session)
            again = status.target_status(settings, "embedded")
        assert again.usable and again.account_id == "123456789012"
    finally:
        embedded.stop(settings)


def _no_new_session(**_options: object) -> None:
    raise AssertionError("a new boto3 session for a status the portal asked before")


def test_require_usable_refuses_with_reason_and_fix_and_keeps_its_answer(
        tmp_path: Path, clean_endpoints: None, nothing_listening: str) -> None:
    settings = Settings(data_dir=tmp_path / "data", cloud="localstack")
    errors: list[TargetUnavailableError] = []

    def launch() -> None:
        try:
            status.require_usable(settings)
        except TargetUnavailableError as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=launch) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 3.0
    assert len(errors) == 30
    assert errors[0].target == "localstack"
    assert errors[0].reason == f"nothing answers at {nothing_listening}"
    assert errors[0].fix == localstack.START_FIX
    assert "Fix: make localstack && sandbox cloud start --target localstack" in str(errors[0])


def test_a_class_launching_at_once_asks_sts_once(localstack_settings: Settings,
                                                clean_endpoints: None) -> None:
    connection = localstack.connect(localstack_settings)
    asked: list[str] = []
    connection.session.events.register("before-call.sts.GetCallerIdentity",
                                       lambda **_: asked.append("sts"))
    found: list[status.TargetStatus] = []
    threads = [threading.Thread(
        target=lambda: found.append(status.require_usable(localstack_settings, connection)))
        for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 30 and all(f.account_id == "000000000000" for f in found)
    assert asked == ["sts"]
    status.forget_cached()
    status.require_usable(localstack_settings, connection)
    assert asked == ["sts", "sts"]


def test_cli_start_finds_the_running_localstack_and_status_names_its_account(
        localstack_settings: Settings, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "PORTAL_DATA_DIR": str(localstack_settings.data_dir), "PORTAL_CLOUD": "localstack",
           "PORTAL_REGION": REGION,
           "PORTAL_LOCALSTACK_PYTHON": localstack_settings.localstack_python}
    running = localstack.ensure_running(localstack_settings)
    started = subprocess.run([SANDBOX, "cloud", "start", "--json"], capture_output=True,
                             text=True, timeout=120, env=env, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["pid"] == running.pid  # the configured target, found
    found = subprocess.run([SANDBOX, "cloud", "status", "--target", "localstack", "--json"],
                           capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    report = json.loads(found.stdout)["localstack"]
    assert report["usable"] and report["account_id"] == "000000000000"
    assert report["region"] == REGION and report["endpoint_url"] == running.endpoint_url


def test_cli_status_reports_every_target_and_fails_for_an_unusable_one(
        tmp_path: Path, no_aws_credentials: None, nothing_listening: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PORTAL_DATA_DIR": str(tmp_path / "d"),
           "PORTAL_REGION": REGION, "PORTAL_LOCALSTACK_ENDPOINT": nothing_listening,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_EC2_METADATA_DISABLED": "true"}
    every = subprocess.run([SANDBOX, "cloud", "status", "--json"], capture_output=True,
                           text=True, timeout=60, env=env, cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    report = json.loads(every.stdout)
    assert sorted(report) == ["aws", "embedded", "localstack"]
    assert report["embedded"]["usable"] is True
    assert report["localstack"]["usable"] is False
    assert report["aws"]["usable"] is False and "aws sso login" in report["aws"]["fix"]

    one = subprocess.run([SANDBOX, "cloud", "status", "--target", "localstack"],
                         capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert one.returncode == 1
    assert one.stdout.startswith("localstack: not usable: nothing answers at")
    assert "fix: start the LocalStack at" in one.stdout

    refused = subprocess.run([SANDBOX, "cloud", "start", "--target", "aws"],
                             capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert "sandbox cloud status --target aws" in refused.stderr


def test_a_process_connected_before_localstack_started_is_told_to_reconnect(
        localstack_settings: Settings, clean_endpoints: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        old = f"http://127.0.0.1:{probe.getsockname()[1]}"
    stale = localstack.connect(localstack_settings.model_copy(
        update={"localstack_endpoint": old}))
    with pytest.raises(TargetUnavailableError) as refused:
        status.require_usable(localstack_settings, stale)
    assert refused.value.reason == (
        f"this portal process is connected to {old}, but LocalStack now runs at "
        f"{localstack.endpoint(localstack_settings).url}")
    assert "restart the portal" in refused.value.fix
