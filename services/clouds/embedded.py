"""The embedded cloud: a moto server in a process of its own on 127.0.0.1.

It is started on demand by the portal or the CLI and found again through a state file in the data
directory, so a portal restart or a second CLI call reaches the same emulator and the same resources.
Each start gets a new boot id. The emulator keeps everything in memory: when its process dies the
resources are gone, and environments recorded under an older boot id are marked lost by
`reconcile_service.reconcile`.

Whether the emulator lives is decided by identity, never by a timeout alone. A probe has three
answers: the boot id of the state file answers (alive); nothing answers and its process is gone,
or its pid now belongs to another program (dead: a new emulator may start, and what the old one
held is lost); nothing answers but its process still exists (stopped by SIGSTOP, swapped out or
overloaded: `EmbeddedCloudNotAnsweringError` after `LIVENESS_PATIENCE_S`, and never a second
emulator beside it). Every emulator a data directory starts is recorded (pid and boot id, in
PIDS_FILE), so a new start and `sandbox cloud stop` can stop the ones before it, after checking by
its command line that the pid is still that emulator.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.settings import CloudTarget, Settings
from services.clouds import CloudConnection, new_session
from services.clouds.processes import (
    command_line,
    exclusive,
    free_port,
    read_started,
    write_private_json,
)
from services.clouds.embedded_server import BOOT_ID_PATH
from services.data_dir import private_opener, tighten
from services.errors import EmbeddedCloudError, EmbeddedCloudNotAnsweringError
from services.i18n import _

STATE_FILE = "embedded-cloud.json"
# Every emulator this data directory started and may still be running: [{"pid", "boot_id"}].
PIDS_FILE = "embedded-cloud.pids.json"
LOCK_FILE = "embedded-cloud.lock"
LOG_FILE = "embedded-cloud.log"
SERVER_MODULE = "services.clouds.embedded_server"
START_TIMEOUT_S = 30.0
# How long an emulator whose process exists is waited for before it is reported as not answering
# (EmbeddedCloudNotAnsweringError); it is never declared dead while its process exists. The wait
# is paid once per stall by whoever asks, and too short a wait is what went wrong before: a 2-s
# probe marked every ready environment of a healthy emulator lost, and started a second emulator
# orphaning the first, during a 2-s SIGSTOP. 15 s outlasts the stalls a live moto server shows on
# a classroom machine (30 concurrent HA creates hold its one interpreter for 1.2 s; paging its
# ~250 MB back in on a machine short of memory takes seconds) with room to spare.
LIVENESS_PATIENCE_S = 15.0
# The first probe's timeout; each next probe gets twice as long (1, 2, 4, 8 s: 15 s in all). A
# frozen process answers a waiting probe the moment it resumes (the kernel queues the
# connection), so long probes cost nothing once it answers; a probe refused at once (the process
# lives but its port is shut) waits out the rest of its slot instead of spinning.
FIRST_PROBE_TIMEOUT_S = 1.0
# How long an emulator being ended gets to exit on SIGTERM before SIGKILL.
STOP_TIMEOUT_S = 10.0
# moto accepts any credentials; fixed ones keep a user's real AWS profile out of the emulator.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# The emulators this process started, so that stopping one also reaps it (a child that exited
# stays a zombie, and a zombie's pid still exists, until its parent waits for it).
_children: dict[int, subprocess.Popen[bytes]] = {}
# Emulators (pid, boot id) this process has already waited the whole patience for in vain. Until
# one answers again, a check gets one probe, not another full wait: My environments reconciles on
# every load, and a class's pages must not each hang 15 s for as long as the emulator is stopped.
_unanswered: set[tuple[int, str]] = set()


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


# -- the emulator's process, by identity ----------------------------------------------------------
def _is_emulator(pid: int, boot_id: str) -> bool:
    """True when `pid` is the embedded cloud started with `boot_id`: a pid the kernel has handed
    to another program since, or a zombie, is not."""
    args = command_line(pid)
    if not args or SERVER_MODULE not in args or "--boot-id" not in args:
        return False
    at = args.index("--boot-id") + 1
    return at < len(args) and args[at] == boot_id


def _is_stopped(pid: int) -> bool:
    """True when the process is stopped (SIGSTOP, a terminal's ^Z, a debugger): state T or t."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] in (["T"], ["t"])


def _exited(pid: int, boot_id: str) -> bool:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)
        return True
    return not _is_emulator(pid, boot_id)


def _signal(pid: int, boot_id: str, signum: int) -> bool:
    """Send `signum` to `pid` only if it is that emulator; True when sent.

    Through a pidfd where the kernel has them: the identity is checked on the pidfd's process,
    so the pid cannot pass to another program between the check and the signal.
    """
    pidfd: int | None = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return False
        except OSError:
            pidfd = None
    try:
        if not _is_emulator(pid, boot_id):
            return False
        try:
            if pidfd is not None:
                signal.pidfd_send_signal(pidfd, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            return False
        return True
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _terminate(pid: int, boot_id: str) -> bool:
    """Stop that emulator, if it still runs; True when it did."""
    if not _signal(pid, boot_id, signal.SIGTERM):
        return False
    # A stopped process keeps SIGTERM pending until it is continued.
    _signal(pid, boot_id, signal.SIGCONT)
    for signum, wait_s in ((None, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
        if signum is not None:
            _signal(pid, boot_id, signum)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if _exited(pid, boot_id):
                return True
            time.sleep(0.05)
    return True


def _stop_started(data_dir: Path) -> int:
    """Stop every emulator this data directory started that still runs: the state file's, and any
    an older portal left behind when it started another one beside it. Call under `_exclusive`."""
    known = {(int(r["pid"]), str(r["boot_id"])) for r in read_started(data_dir / PIDS_FILE)}
    state = _read_state(data_dir)
    if state is not None:
        # Started before PIDS_FILE existed, or its record lost: the state file still names it.
        known.add((state.pid, state.boot_id))
    stopped = sum(_terminate(pid, boot_id) for pid, boot_id in sorted(known))
    write_private_json(data_dir / PIDS_FILE, [])
    return stopped


def _record_started(data_dir: Path, state: EmbeddedCloudState) -> None:
    records = [r for r in read_started(data_dir / PIDS_FILE)
               if _is_emulator(int(r["pid"]), str(r["boot_id"]))]
    records.append({"pid": state.pid, "boot_id": state.boot_id, "started_at": state.started_at})
    write_private_json(data_dir / PIDS_FILE, records)


# -- liveness -------------------------------------------------------------------------------------
def _answering(data_dir: Path) -> EmbeddedCloudState | None:
    """The state of the emulator that answers with the boot id its state file names; None when
    none runs (never started, stopped, or its process gone). Waits up to LIVENESS_PATIENCE_S for
    one whose process exists, then raises EmbeddedCloudNotAnsweringError."""
    patience = LIVENESS_PATIENCE_S
    deadline = time.monotonic() + patience
    timeout = FIRST_PROBE_TIMEOUT_S
    while True:
        state = _read_state(data_dir)
        if state is None:
            return None
        identity = (state.pid, state.boot_id)
        if identity in _unanswered and patience > FIRST_PROBE_TIMEOUT_S:
            patience = FIRST_PROBE_TIMEOUT_S
            deadline = time.monotonic() + patience
        started = time.monotonic()
        remaining = deadline - started
        if _served_boot_id(state.endpoint_url, timeout=max(0.1, min(timeout, remaining))) \
                == state.boot_id:
            _unanswered.discard(identity)
            return state
        if _exited(state.pid, state.boot_id):
            _unanswered.discard(identity)
            if _read_state(data_dir) == state:
                return None  # dead: its process is gone, and nobody has started another
            continue  # another process replaced it meanwhile: probe the new one
        if time.monotonic() >= deadline:
            _unanswered.add(identity)
            raise EmbeddedCloudNotAnsweringError(pid=state.pid, waited_s=patience,
                                                 stopped=_is_stopped(state.pid))
        # Refused at once (the process lives, its port is shut): wait out the rest of the slot.
        time.sleep(max(0.0, min(started + timeout, deadline) - time.monotonic()))
        timeout *= 2


def status(settings: Settings) -> EmbeddedCloudStatus:
    """What runs now, from one quick probe: `sandbox cloud status` reports, it does not wait."""
    state = _read_state(settings.data_dir)
    if state is None:
        return EmbeddedCloudStatus(False, None, settings.region, None, None, None,
                                   _("never started"))
    if _served_boot_id(state.endpoint_url) == state.boot_id:
        return EmbeddedCloudStatus(True, state.endpoint_url, settings.region, state.boot_id,
                                   state.pid, state.started_at)
    if _is_emulator(state.pid, state.boot_id):
        reason = str(EmbeddedCloudNotAnsweringError(pid=state.pid, waited_s=None,
                                                    stopped=_is_stopped(state.pid)))
    else:
        reason = _("its process (pid {pid}) is gone").format(pid=state.pid)
    return EmbeddedCloudStatus(False, state.endpoint_url, settings.region, state.boot_id,
                               state.pid, state.started_at, reason)


def ensure_running(settings: Settings) -> EmbeddedCloudState:
    """The running emulator's state, starting one when none runs.

    Raises EmbeddedCloudNotAnsweringError when the emulator's process exists but does not answer:
    a second emulator would orphan the first and everything in it.
    """
    state = _answering(settings.data_dir)
    if state is not None:
        # An emulator started by an earlier version of the portal left these world-readable.
        for name in (STATE_FILE, LOG_FILE, LOCK_FILE):
            tighten(settings.data_dir / name)
        return state
    with exclusive(settings.data_dir, LOCK_FILE):
        # Another process may have started one while this one waited for the lock.
        state = _answering(settings.data_dir)
        if state is not None:
            return state
        _stop_started(settings.data_dir)
        return _start(settings)


def _start(settings: Settings) -> EmbeddedCloudState:
    port = free_port()
    boot_id = uuid.uuid4().hex
    # The log holds every request the emulator served, parameters and outputs included.
    log = open(settings.data_dir / LOG_FILE, "ab", opener=private_opener)
    process = subprocess.Popen(
        [sys.executable, "-m", SERVER_MODULE, "--port", str(port), "--boot-id", boot_id,
         "--data-dir", str(settings.data_dir.resolve())],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        # Its own session: the emulator outlives the portal or CLI call that started it.
        start_new_session=True, cwd=Path(__file__).resolve().parents[2],
    )
    log.close()
    _children[process.pid] = process
    state = EmbeddedCloudState(
        pid=process.pid, port=port, endpoint_url=f"http://127.0.0.1:{port}", boot_id=boot_id,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    # Recorded before it answers: a start that times out or a portal killed meanwhile must not
    # leave an emulator nobody can stop.
    _record_started(settings.data_dir, state)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _children.pop(process.pid, None)
            raise EmbeddedCloudError(
                _("embedded cloud exited during start-up with code {code}; see {log}").format(
                    code=process.returncode, log=settings.data_dir / LOG_FILE)
            )
        if _served_boot_id(state.endpoint_url, timeout=0.5) == boot_id:
            write_private_json(settings.data_dir / STATE_FILE, state.to_json())
            return state
        time.sleep(0.1)
    _terminate(process.pid, boot_id)
    raise EmbeddedCloudError(
        _("embedded cloud did not answer within {seconds} s; see {log}").format(
            seconds=f"{START_TIMEOUT_S:.0f}", log=settings.data_dir / LOG_FILE)
    )


def stop(settings: Settings) -> bool:
    """Stop every emulator this data directory started, answering or not (a stopped or hung one
    too); True when one was running. Their resources are gone with them."""
    with exclusive(settings.data_dir, LOCK_FILE):
        stopped = _stop_started(settings.data_dir)
        (settings.data_dir / STATE_FILE).unlink(missing_ok=True)
        return stopped > 0


def connect(settings: Settings) -> CloudConnection:
    state = ensure_running(settings)
    session = new_session(region_name=settings.region, **CREDENTIALS)
    return CloudConnection(
        target=CloudTarget.EMBEDDED, region=settings.region, endpoint_url=state.endpoint_url,
        session=session, cloud_session=state.boot_id,
    )


def current_boot_id(settings: Settings) -> str | None:
    """The boot id of the emulator answering now; None when none runs (never started, stopped,
    or its process is gone, so whatever it held is gone too).

    Raises EmbeddedCloudNotAnsweringError when its process exists but has not answered within
    LIVENESS_PATIENCE_S: the caller cannot tell, and must not guess, whether its resources live.
    """
    state = _answering(settings.data_dir)
    return None if state is None else state.boot_id
