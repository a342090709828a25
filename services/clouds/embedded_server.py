"""The embedded cloud's process: moto's server plus the portal's extensions, on 127.0.0.1.

Run as `python -m services.clouds.embedded_server --port P --boot-id ID [--data-dir DIR]`. The
extensions are imported before moto parses its first stack, so moto's cached CloudFormation type
registry sees them. The boot id is served at BOOT_ID_PATH so that a caller can tell this life of the
emulator from an earlier one whose memory is gone; it is on the command line too, so the portal
can tell this process from a program that was given the same pid later.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Callable, Iterable

BOOT_ID_PATH = "/sandbox-portal/boot-id"


def build_app(boot_id: str) -> Callable[..., Iterable[bytes]]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from services.clouds import embedded_extensions

    embedded_extensions.install()
    moto_app = DomainDispatcherApplication(create_backend_app)
    body = json.dumps({"boot_id": boot_id}).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == BOOT_ID_PATH:
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        return moto_app(environ, start_response)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--boot-id", required=True)
    # Unused here: it puts the data directory on the command line, so `ps` tells which portal's
    # emulator a process is, and the portal can count and check the emulators of one directory
    # through /proc/<pid>/cmdline (a pid reused by another program never carries it).
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    # Whatever this process writes (its log is opened 0600 by the portal; moto may write more) is
    # for the portal's user alone. Safe here, unlike in the portal: the process is the emulator's
    # own and no thread is running yet.
    os.umask(0o077)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, build_app(args.boot_id), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
