"""The embedded cloud: a moto server in a process of its own on 127.0.0.1.

It is started on demand by the portal or the CLI and found again through a state file in the data
directory, so a portal restart or a second CLI call reaches the same emulator and the same resources.
Each start gets a new boot id. The emulator keeps everything in memory: when its process dies the
resources are gone, and environments recorded under an older boot id are marked lost by the
environment service (see `environment_service.reconcile`).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Iterator


from portal.settings import CloudTarget, Settings
from services.clouds import CloudConnection, new_session
from services.clouds.embedded_server import BOOT_ID_PATH
from services.data_dir import ensure_private_dir, private_opener, tighten
from services.errors import EmbeddedCloudError

STATE_FILE = "embedded-cloud.json"
LOCK_FILE = "embedded-cloud.lock"
LOG_FILE = "embedded-cloud.log"
START_TIMEOUT_S = 30.0
# moto accepts any credentials; fixed ones keep a user's real AWS profile out of the emulator.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class EmbeddedCloudState:
    pid: int
    port: int
    endpoint_url: str
    boot_id: str
    started_at: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class EmbeddedCloudStatus:
    running: bool
    endpoint_url: str | None
    region: str
    boot_id: str | None
    pid: int | None
    started_at: str | None
    reason: str | None = None


@contextmanager
def _exclusive(data_dir: Path) -> Iterator[None]:
    # One starter at a time across processes: two portals started together must share one emulator.
    ensure_private_dir(data_dir)
    with open(data_dir / LOCK_FILE, "w", opener=private_opener) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_state(data_dir: Path) -> EmbeddedCloudState | None:
    try:
        raw = json.loads((data_dir / STATE_FILE).read_text())
        return EmbeddedCloudState(**raw)
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def _served_boot_id(endpoint_url: str, timeout: float = 2.0) -> str | None:
    try:
        with urllib.request.urlopen(endpoint_url + BOOT_ID_PATH, timeout=timeout) as response:
            return json.loads(response.read())["boot_id"]
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None


def _alive(state: EmbeddedCloudState) -> bool:
    # The boot id must match too: a pid or port reused by another process is not our emulator.
    return _served_boot_id(state.endpoint_url) == state.boot_id


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status(settings: Settings) -> EmbeddedCloudStatus:
    state = _read_state(settings.data_dir)
    if state is None:
        return EmbeddedCloudStatus(False, None, settings.region, None, None, None, "never started")
    if not _alive(state):
        return EmbeddedCloudStatus(False, state.endpoint_url, settings.region, state.boot_id,
                                   state.pid, state.started_at, "process not answering")
    return EmbeddedCloudStatus(True, state.endpoint_url, settings.region, state.boot_id,
                               state.pid, state.started_at)


def ensure_running(settings: Settings) -> EmbeddedCloudState:
    """The running emulator's state, starting one when none answers."""
    state = _read_state(settings.data_dir)
    if state is not None and _alive(state):
        # An emulator started by an earlier version of the portal left these world-readable.
        for name in (STATE_FILE, LOG_FILE, LOCK_FILE):
            tighten(settings.data_dir / name)
        return state
    with _exclusive(settings.data_dir):
        state = _read_state(settings.data_dir)
        if state is not None and _alive(state):
            return state
        return _start(settings)


def _start(settings: Settings) -> EmbeddedCloudState:
    port = _free_port()
    boot_id = uuid.uuid4().hex
    # The log holds every request the emulator served, parameters and outputs included.
    log = open(settings.data_dir / LOG_FILE, "ab", opener=private_opener)
    process = subprocess.Popen(
        [sys.executable, "-m", "services.clouds.embedded_server", "--port", str(port),
         "--boot-id", boot_id],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        # Its own session: the emulator outlives the portal or CLI call that started it.
        start_new_session=True, cwd=Path(__file__).resolve().parents[2],
    )
    log.close()
    state = EmbeddedCloudState(
        pid=process.pid, port=port, endpoint_url=f"http://127.0.0.1:{port}", boot_id=boot_id,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedCloudError(
                f"embedded cloud exited during start-up with code {process.returncode}; "
                f"see {settings.data_dir / LOG_FILE}"
            )
        if _served_boot_id(state.endpoint_url, timeout=0.5) == boot_id:
            tmp = settings.data_dir / (STATE_FILE + ".tmp")
            with open(tmp, "w", opener=private_opener) as handle:
                handle.write(json.dumps(state.to_json()))
            tmp.replace(settings.data_dir / STATE_FILE)
            return state
        time.sleep(0.1)
    process.kill()
    raise EmbeddedCloudError(
        f"embedded cloud did not answer within {START_TIMEOUT_S:.0f} s; "
        f"see {settings.data_dir / LOG_FILE}"
    )


def stop(settings: Settings) -> bool:
    """Stop the emulator; True when one was running. Its resources are gone with it."""
    with _exclusive(settings.data_dir):
        state = _read_state(settings.data_dir)
        if state is None:
            return False
        was_alive = _alive(state)
        if was_alive:
            try:
                os.kill(state.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _served_boot_id(state.endpoint_url, 0.2):
                time.sleep(0.1)
        (settings.data_dir / STATE_FILE).unlink(missing_ok=True)
        return was_alive


def connect(settings: Settings) -> CloudConnection:
    state = ensure_running(settings)
    session = new_session(region_name=settings.region, **CREDENTIALS)
    return CloudConnection(
        target=CloudTarget.EMBEDDED, region=settings.region, endpoint_url=state.endpoint_url,
        session=session, cloud_session=state.boot_id,
    )


def current_boot_id(settings: Settings) -> str | None:
    """The boot id of the emulator answering now, or None when none answers."""
    state = _read_state(settings.data_dir)
    if state is None or not _alive(state):
        return None
    return state.boot_id
