"""Background work of one process: launches and destroys started from the UI run here, off the
page's thread; the page shows their progress from the run history."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="portal-job")
        return _executor


def submit(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
    future = _pool().submit(work, *args, **kwargs)

    def _log_crash(done: Future[Any]) -> None:
        if done.exception() is not None:
            logger.error("background job %s crashed", work.__name__, exc_info=done.exception())

    future.add_done_callback(_log_crash)
    return future
