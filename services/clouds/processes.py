"""What the emulators the portal runs (the embedded cloud, LocalStack) share: one starter at a time,
their private record files, who a pid is, a free port.

A process is known by its command line, never by its pid alone: a pid the kernel has handed to
another program since, or a zombie, is not the emulator the record names.
"""

from __future__ import annotations

import fcntl
import json
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.data_dir import ensure_private_dir, private_opener


@contextmanager
def exclusive(directory: Path, lock_file: str) -> Iterator[None]:
    """One starter at a time across processes: a CLI and a portal starting together share one
    emulator."""
    ensure_private_dir(directory)
    with open(directory / lock_file, "w", opener=private_opener) as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_private_json(path: Path, data: object) -> None:
    # Replaced in one rename: a reader in another process sees the old file or the new one.
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", opener=private_opener) as handle:
        handle.write(json.dumps(data))
    tmp.replace(path)


def read_started(path: Path) -> list[dict[str, object]]:
    """The processes a record file says were started: each with an int `pid` and a `boot_id`."""
    try:
        records = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return []
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("pid"), int)
            and isinstance(r.get("boot_id"), str)]


def command_line(pid: int) -> list[str] | None:
    """The process's arguments; None when it does not exist, or is a zombie (which has none)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self/cmdline").exists():
            return None
        return _command_line_from_ps(pid)  # no /proc: macOS
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1] or None


def _command_line_from_ps(pid: int) -> list[str] | None:
    try:
        out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    # The emulators' own arguments hold no spaces; a zombie shows as "<defunct>" and so never
    # matches.
    return out.split() or None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
