"""LocalStack: the LocalStack the portal runs itself, or an endpoint someone else runs.

The portal runs localstack-core in host mode (no Docker, no account) from a virtualenv of its own,
`.venv-localstack`, which `make localstack` builds on Python 3.13 with the pins LocalStack needs
(localstack.requirements): LocalStack wants a newer Python than the portal's, and dependencies
the portal's own would clash with. `sandbox cloud start --target localstack` starts it on
127.0.0.1, keeps everything of it under `<data_dir>/localstack/` (private, like the rest of the data
directory) and records its pid, port and session there, so `connect` in any process of this data
directory finds it. An endpoint given explicitly wins over that record: `localstack_endpoint`, then
boto3's own `AWS_ENDPOINT_URL`. With neither and no LocalStack of its own running, the portal looks
where LocalStack's Docker image listens, `DEFAULT_ENDPOINT`.

`connect` never starts LocalStack. It holds 160 MB once it has answered a request and about 420 MB
after the three templates (300 MB more when its data directory was new), and it keeps everything
in memory: when its process ends, what it held is gone. Starting it is the
operator's decision, and a launch against one that is not running is refused with the command
that starts it (`services.clouds.status`), instead of silently starting an empty one.

Whether the portal's LocalStack lives is decided by identity, as for the embedded cloud: LocalStack
makes a new session id at every start and serves it at `/_localstack/info`; the portal records it
when the process first answers, and only that session id answering is this LocalStack. The
process carries the portal's boot id on its command line (LocalStack ignores its arguments), so a
pid the kernel has handed to another program since is never signalled. Every start is recorded
before it answers, so a start that fails or a portal killed meanwhile leaves nothing `stop` cannot
find; `stop` ends the process's whole group (it is started in a session of its own).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.settings import CloudTarget, Settings
from services.clouds import CloudConnection, new_session
from services.clouds.processes import (
    command_line,
    exclusive,
    free_port,
    read_started,
    write_private_json,
)
from services.data_dir import ensure_private_dir, private_opener
from services.errors import TargetUnavailableError
from services.i18n import _

STATE_DIR = "localstack"
STATE_FILE = "state.json"
# Every LocalStack this data directory started and may still be running: [{"pid", "boot_id"}].
PIDS_FILE = "started.json"
LOCK_FILE = "lock"
LOG_FILE = "localstack.log"
# The port of the last start, kept after a stop (see `_port_for`).
PORT_FILE = "port"
# LocalStack's own files, its temporary ones and its caches included (its FILESYSTEM_ROOT).
FILESYSTEM_DIR = "filesystem"
RUNTIME_MODULE = "localstack.runtime.main"
BOOT_ID_FLAG = "--portal-boot-id"
CHECKOUT = Path(__file__).resolve().parents[2]
# Where LocalStack's Docker image listens: the endpoint when nothing else names one.
DEFAULT_ENDPOINT = "http://localhost:4566"
HEALTH_PATH = "/_localstack/health"
INFO_PATH = "/_localstack/info"
# LocalStack answers in under 2 s here (4 s on a new data directory); a classroom server busy with
# other work may take many times that, and a start that gives up early leaves a class without a
# cloud.
START_TIMEOUT_S = 60.0
# How long a LocalStack whose process exists is waited for before it is reported as not
# answering; it is never replaced while its process exists, which would orphan it and what it
# holds. Long enough for a LocalStack busy creating ha-web's 42 resources (2-4 s here).
LIVENESS_PATIENCE_S = 10.0
PROBE_TIMEOUT_S = 2.0
# How long LocalStack gets to shut down on SIGTERM before its group gets SIGKILL.
STOP_TIMEOUT_S = 10.0
# LocalStack derives the account from the access key: these put everything in its default account
# 000000000000, and keep a user's real AWS keys out of the requests.
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
ACCOUNT_ID = "000000000000"
START_FIX = "make localstack && sandbox cloud start --target localstack"
INSTALL_FIX = ("make localstack (it needs Python 3.13: `pyenv install 3.13`, or "
               "`make localstack LOCALSTACK_PYTHON=/path/to/python3.13`)")

# The LocalStack processes this process started, so that stopping one also reaps it: a child that
# exited stays a zombie, whose pid still exists, until its parent waits for it.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class LocalStackState:
    pid: int
    port: int
    endpoint_url: str
    boot_id: str
    # LocalStack's own id of this life of it; None until it has answered.
    session_id: str | None
    started_at: str
    python: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LocalStackStatus:
    """The portal's own LocalStack, from one quick probe."""

    running: bool
    endpoint_url: str | None
    pid: int | None
    started_at: str | None
    version: str | None = None
    reason: str | None = None
    # Its process exists but did not answer: busy or stopped, not dead.
    stalled: bool = False


@dataclass(frozen=True)
class Endpoint:
    url: str
    # Who chose it: "setting" (localstack_endpoint), "AWS_ENDPOINT_URL", "portal" (the LocalStack
    # the portal runs) or "default" (DEFAULT_ENDPOINT: nothing else names one).
    source: str

    @property
    def managed(self) -> bool:
        """True when it is, or would be, the LocalStack the portal runs itself."""
        return self.source in ("portal", "default")


def state_dir(settings: Settings) -> Path:
    return settings.data_dir / STATE_DIR


def runtime_python(settings: Settings) -> Path:
    """The Python that runs the portal's LocalStack. Not resolved: a virtualenv's python is a
    symlink to the base interpreter, which would run without the virtualenv's packages."""
    python = Path(settings.localstack_python).expanduser()
    return python if python.is_absolute() else CHECKOUT / python


def installed(settings: Settings) -> bool:
    return os.access(runtime_python(settings), os.X_OK)


def _not_installed(settings: Settings) -> TargetUnavailableError:
    return TargetUnavailableError(
        target=CloudTarget.LOCALSTACK.value,
        reason=f"LocalStack is not installed: {runtime_python(settings)} does not exist",
        fix=f"run {INSTALL_FIX}, then sandbox cloud start --target localstack")


def endpoint(settings: Settings) -> Endpoint:
    """Where the LocalStack target is, by the precedence of the module's docstring; reads files
    only, no request."""
    if settings.localstack_endpoint:
        return Endpoint(settings.localstack_endpoint.rstrip("/"), "setting")
    if os.environ.get("AWS_ENDPOINT_URL"):
        return Endpoint(os.environ["AWS_ENDPOINT_URL"].rstrip("/"), "AWS_ENDPOINT_URL")
    state = _read_state(state_dir(settings))
    if state is not None:
        return Endpoint(state.endpoint_url, "portal")
    return Endpoint(DEFAULT_ENDPOINT, "default")


def connect(settings: Settings) -> CloudConnection:
    session = new_session(region_name=settings.region, **CREDENTIALS)
    return CloudConnection(
        target=CloudTarget.LOCALSTACK, region=settings.region,
        endpoint_url=endpoint(settings).url, session=session,
    )


# -- files ----------------------------------------------------------------------------------------
def _read_state(directory: Path) -> LocalStackState | None:
    try:
        return LocalStackState(**json.loads((directory / STATE_FILE).read_text()))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, TypeError):
        return None


def _record_started(directory: Path, pid: int, boot_id: str, started_at: str) -> None:
    records = [r for r in read_started(directory / PIDS_FILE)
               if _is_ours(int(r["pid"]), str(r["boot_id"]))]
    records.append({"pid": pid, "boot_id": boot_id, "started_at": started_at})
    write_private_json(directory / PIDS_FILE, records)


# -- the process, by identity ---------------------------------------------------------------------
def _is_ours(pid: int, boot_id: str) -> bool:
    """True when `pid` is the LocalStack started with `boot_id`."""
    args = command_line(pid)
    if not args or RUNTIME_MODULE not in args or BOOT_ID_FLAG not in args:
        return False
    at = args.index(BOOT_ID_FLAG) + 1
    return at < len(args) and args[at] == boot_id


def _proc_state(pid: int) -> str | None:
    """The process's state letter from /proc (R, S, T, Z, ...); None when it does not exist."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None


def _exited(pid: int, boot_id: str) -> bool:
    child = _children.get(pid)
    if child is not None:
        # Our own child: its pid cannot pass to another program before we reap it here.
        if child.poll() is None:
            return False
        _children.pop(pid, None)
        return True
    if _is_ours(pid, boot_id):
        return False
    # Not ours by its arguments: gone, a zombie, another program on a reused pid, or ours in the
    # last moments of its exit, whose arguments go before its process does.
    return _proc_state(pid) in (None, "Z") or command_line(pid) is not None


def _group_members(pgid: int) -> bool:
    """True when some process is still in process group `pgid`. The id of a group that has
    members is never given to a new process, so a group whose leader was ours a moment ago and
    still has members is still ours."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp. A zombie left for its parent to reap is no member.
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _terminate(pid: int, boot_id: str) -> bool:
    """Stop that LocalStack and its process group, if it still runs; True when it did."""
    if not _is_ours(pid, boot_id):
        # Its group is left alone too: once the group is empty, its id may be another program's.
        return False
    # LocalStack shuts its services down on SIGTERM; a stopped one keeps it pending until continued.
    _kill_group(pid, signal.SIGTERM)
    _kill_group(pid, signal.SIGCONT)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and not _exited(pid, boot_id):
        time.sleep(0.05)
    if not _exited(pid, boot_id) or _group_members(pid):
        _kill_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and not _exited(pid, boot_id):
            time.sleep(0.05)
    return True


def _stop_started(directory: Path) -> int:
    """Stop every LocalStack this data directory started that still runs. Call under
    `_exclusive`."""
    known = {(int(r["pid"]), str(r["boot_id"])) for r in read_started(directory / PIDS_FILE)}
    state = _read_state(directory)
    if state is not None:
        known.add((state.pid, state.boot_id))
    stopped = sum(_terminate(pid, boot_id) for pid, boot_id in sorted(known))
    write_private_json(directory / PIDS_FILE, [])
    return stopped


def rss_bytes(pid: int) -> int | None:
    """Resident memory of `pid`, from /proc; None where there is none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


# -- liveness -------------------------------------------------------------------------------------
def _get_json(url: str, timeout: float) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def info(endpoint_url: str, timeout: float = PROBE_TIMEOUT_S) -> dict[str, object] | None:
    """LocalStack's `/_localstack/info` (version, session id, ...); None when nothing answers
    there or it is not LocalStack."""
    return _get_json(endpoint_url + INFO_PATH, timeout)


def _served_session(endpoint_url: str, timeout: float) -> str | None:
    found = info(endpoint_url, timeout)
    session = found.get("session_id") if found else None
    return session if isinstance(session, str) else None


def _answering(directory: Path) -> LocalStackState | None:
    """The recorded LocalStack when it answers with its session id; None when none runs (never
    started, stopped, or its process gone). Waits up to LIVENESS_PATIENCE_S for one whose
    process exists, then raises TargetUnavailableError: it is busy or stopped, not dead."""
    deadline = time.monotonic() + LIVENESS_PATIENCE_S
    timeout = 1.0
    while True:
        state = _read_state(directory)
        if state is None or state.session_id is None:
            return None
        remaining = deadline - time.monotonic()
        if _served_session(state.endpoint_url, max(0.1, min(timeout, remaining))) \
                == state.session_id:
            return state
        if _exited(state.pid, state.boot_id):
            if _read_state(directory) == state:
                return None
            continue  # another process started a new one meanwhile: probe that one
        if time.monotonic() >= deadline:
            raise TargetUnavailableError(
                target=CloudTarget.LOCALSTACK.value,
                reason=f"LocalStack (pid {state.pid}) runs but has not answered at "
                       f"{state.endpoint_url} within {LIVENESS_PATIENCE_S:g} s; it may be busy "
                       "or stopped (SIGSTOP)",
                fix="try again in a moment; `sandbox cloud stop --target localstack` ends it, "
                    "and with it everything it holds")
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        timeout *= 2


def status(settings: Settings) -> LocalStackStatus:
    """The portal's own LocalStack now, from one quick probe: it reports, it does not wait."""
    directory = state_dir(settings)
    state = _read_state(directory)
    if state is None:
        return LocalStackStatus(False, None, None, None, reason=_("not started by the portal"))
    found = info(state.endpoint_url)
    if found is not None and found.get("session_id") == state.session_id:
        version = found.get("version")
        return LocalStackStatus(True, state.endpoint_url, state.pid, state.started_at,
                                version=version if isinstance(version, str) else None)
    if _is_ours(state.pid, state.boot_id):
        return LocalStackStatus(
            False, state.endpoint_url, state.pid, state.started_at, stalled=True,
            reason=_("its process (pid {pid}) runs but does not answer at {url}").format(
                pid=state.pid, url=state.endpoint_url))
    return LocalStackStatus(
        False, state.endpoint_url, state.pid, state.started_at,
        reason=_("its process (pid {pid}) is gone, and everything it held with it").format(
            pid=state.pid))


# -- start and stop -------------------------------------------------------------------------------
def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As LocalStack's server binds: connections of an earlier LocalStack lingering in
        # TIME_WAIT do not keep a new one off the port; something listening there does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _last_port(directory: Path) -> int | None:
    try:
        return int((directory / PORT_FILE).read_text())
    except (OSError, ValueError):
        return None


def _port_for(settings: Settings, directory: Path) -> int:
    if settings.localstack_port:
        if not _port_free(settings.localstack_port):
            raise TargetUnavailableError(
                target=CloudTarget.LOCALSTACK.value,
                reason=f"port {settings.localstack_port} on 127.0.0.1 is in use",
                fix="stop what listens there, or set PORTAL_LOCALSTACK_PORT to a free port "
                    "(0: any free one)")
        return settings.localstack_port
    # The last start's port when it is free: a portal that connected to the LocalStack before
    # a restart finds the new one where the old one was.
    last = _last_port(directory)
    if last is not None and _port_free(last):
        return last
    return free_port()


def ensure_running(settings: Settings) -> LocalStackState:
    """The portal's running LocalStack, starting one when none runs.

    Raises TargetUnavailableError when it is not installed, cannot start, or its process exists
    but does not answer: a second one beside it would orphan the first and what it holds.
    """
    if not installed(settings):
        raise _not_installed(settings)
    directory = ensure_private_dir(state_dir(settings))
    state = _answering(directory)
    if state is not None:
        return state
    with exclusive(directory, LOCK_FILE):
        state = _answering(directory)  # another process may have started one meanwhile
        if state is not None:
            return state
        _stop_started(directory)
        return _start(settings, directory)


def _environment(directory: Path, port: int) -> dict[str, str]:
    # The caller's AWS credentials and endpoint are nothing LocalStack needs.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "PORTAL_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({
        # Host mode: LocalStack otherwise decides from the machine whether it runs in Docker.
        "OVERRIDE_IN_DOCKER": "0",
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        # The URLs it hands out (S3, SQS, ...) carry the port it really listens on.
        "LOCALSTACK_HOST": f"localhost.localstack.cloud:{port}",
        "FILESYSTEM_ROOT": str(directory / FILESYSTEM_DIR),
        # No DNS server: it would want port 53, which needs root and is often taken.
        "DNS_ADDRESS": "0",
        # Nothing fetched or reported over the internet: a classroom server may have none, and
        # the class's activity is not LocalStack's to collect.
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
    })
    return env


def _start(settings: Settings, directory: Path) -> LocalStackState:
    port = _port_for(settings, directory)
    boot_id = uuid.uuid4().hex
    python = runtime_python(settings)
    # The log holds every request LocalStack served, parameters and outputs included.
    log_path = directory / LOG_FILE
    log = open(log_path, "ab", opener=private_opener)
    try:
        process = subprocess.Popen(
            [str(python), "-m", RUNTIME_MODULE, BOOT_ID_FLAG, boot_id],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=_environment(directory, port), cwd=directory,
            # Whatever LocalStack writes is for the portal's user alone.
            umask=0o077,
            # Its own session: it outlives the CLI call that started it, and `stop` ends its group.
            start_new_session=True,
        )
    except OSError as exc:
        raise TargetUnavailableError(
            target=CloudTarget.LOCALSTACK.value,
            reason=f"LocalStack could not be started with {python}: {exc}",
            fix=f"run {INSTALL_FIX}") from exc
    finally:
        log.close()
    _children[process.pid] = process
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    # Recorded before it answers: a start that times out, or a portal killed meanwhile, must not
    # leave a LocalStack nobody can stop.
    _record_started(directory, process.pid, boot_id, started_at)
    with open(directory / PORT_FILE, "w", opener=private_opener) as handle:
        handle.write(str(port))
    endpoint_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _children.pop(process.pid, None)
            raise TargetUnavailableError(
                target=CloudTarget.LOCALSTACK.value,
                reason=f"LocalStack exited during start-up with code {process.returncode}",
                fix=f"read {log_path}; if it is not installed completely, run {INSTALL_FIX}")
        if _get_json(endpoint_url + HEALTH_PATH, 0.5) is not None:
            session_id = _served_session(endpoint_url, PROBE_TIMEOUT_S)
            if session_id is not None:
                try:
                    _first_request(endpoint_url, timeout=max(1.0, deadline - time.monotonic()))
                except (BotoCoreError, ClientError) as exc:
                    _terminate(process.pid, boot_id)
                    raise TargetUnavailableError(
                        target=CloudTarget.LOCALSTACK.value,
                        reason=f"LocalStack started but failed its first request: {exc}",
                        fix=f"read {log_path}") from exc
                state = LocalStackState(
                    pid=process.pid, port=port, endpoint_url=endpoint_url, boot_id=boot_id,
                    session_id=session_id, started_at=started_at, python=str(python))
                write_private_json(directory / STATE_FILE, state.to_json())
                return state
        time.sleep(0.1)
    _terminate(process.pid, boot_id)
    raise TargetUnavailableError(
        target=CloudTarget.LOCALSTACK.value,
        reason=f"LocalStack did not answer within {START_TIMEOUT_S:.0f} s",
        fix=f"read {log_path}")


def _first_request(endpoint_url: str, *, timeout: float) -> None:
    """Make one AWS request. LocalStack builds its index of AWS's service specifications on the
    first request a new data directory sees (3-4 s here): paid during start, not by the first
    status probe or launch, whose short timeouts it would exceed."""
    sts = new_session(region_name="us-east-1", **CREDENTIALS).client(
        "sts", endpoint_url=endpoint_url,
        config=Config(connect_timeout=2, read_timeout=timeout, retries={"total_max_attempts": 1}))
    sts.get_caller_identity()


def stop(settings: Settings) -> bool:
    """Stop every LocalStack this data directory started, answering or not; True when one was
    running. What it held is gone with it."""
    directory = state_dir(settings)
    if not directory.is_dir():
        return False
    with exclusive(directory, LOCK_FILE):
        stopped = _stop_started(directory)
        (directory / STATE_FILE).unlink(missing_ok=True)
        return stopped > 0
