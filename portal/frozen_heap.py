"""Keeps the server's long-lived objects out of the collection Streamlit runs after every script.

Streamlit collects every generation after each script run (`runner.postScriptGC`), so that a
session's garbage never piles up. A full collection walks every tracked object the process
holds, and holds the GIL while it does: no other student's page runs, and the finished page
reaches its browser only afterwards. The imported libraries are frozen at start
(`portal/server.py`), but much that lives on is made later: botocore's service models when the
cloud clients are built, the HCL parser's grammar, Babel's locale data, the dashboards' caches.
Measured on a class of 200 environments after one tour of the pages: 160,000 such objects, and
0.05-0.3 s of collection after every page view, longer than most pages' own scripts.

Every `refreeze_s` the keeper collects once and freezes what survived (`gc.freeze`), so the
collection after each run walks only what was made since. After a start the first visitors fill
the caches, so the keeper begins after FIRST_REFREEZE_S and doubles its interval up to
`refreeze_s`. A frozen object is never collected: one that later dies inside a reference cycle
stays in memory. Every `release_s` the keeper unfreezes everything, collects, and freezes
again, so such garbage lives at most that long.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

logger = logging.getLogger(__name__)

REFREEZE_S = 30.0
FIRST_REFREEZE_S = 2.0
RELEASE_S = 30 * 60.0


def refreeze(*, release: bool = False) -> int:
    """Collect, then freeze what is alive; with `release`, frozen objects are collected too.
    Returns how many objects are frozen now."""
    if release:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class FrozenHeapKeeper:
    """A daemon thread that refreezes every `refreeze_s` and releases every `release_s`."""

    def __init__(self, *, refreeze_s: float = REFREEZE_S, release_s: float = RELEASE_S) -> None:
        if refreeze_s <= 0 or release_s < refreeze_s:
            raise ValueError("refreeze_s must be positive and release_s at least refreeze_s")
        self.refreeze_s = refreeze_s
        self.release_s = release_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="frozen-heap", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        last_release = time.monotonic()
        interval = min(FIRST_REFREEZE_S, self.refreeze_s)
        while not self._stop.wait(interval):
            interval = min(interval * 2, self.refreeze_s)
            release = time.monotonic() - last_release >= self.release_s
            started = time.perf_counter()
            frozen = refreeze(release=release)
            if release:
                last_release = time.monotonic()
                logger.info("released and refroze the heap in %.2f s: %d objects frozen",
                            time.perf_counter() - started, frozen)
