"""The moment a request of the embedded cloud happens at, and the request's own headers.

AWS stamps what a request causes (a scaling activity, a deployment) with the time it arrives. A
simulation that replays two weeks of a class in a few seconds sends each request with the moment
it stands for in the `X-Sandbox-Clock` header (ISO 8601 with a zone, e.g.
`2024-05-06T09:30:00Z`; `services.clouds.simulated_clock` writes it); `request_now()` is that
moment while the request is served, and the wall clock otherwise. A header that is not such a
time is refused with HTTP 400 rather than read as now, so that a simulation never silently
writes into the present.

The request's headers are kept for its whole life, through every service a request reaches
(a stack's resources included): an extension reads any header with `request_header(name)`.
Extensions that use either call `install()` from their own `install()`; it is idempotent. Not an
extension itself: it patches moto's WSGI dispatcher, through which every request passes.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Callable, Iterable

CLOCK_HEADER = "X-Sandbox-Clock"

# The WSGI environ of the request being served. moto's server answers each request on a thread
# of its own, so a context variable set around the dispatch belongs to that request alone.
_environ: ContextVar[dict[str, Any] | None] = ContextVar("sandbox_request_environ", default=None)
_installed = False


def _environ_key(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def parse_clock(value: str) -> datetime:
    """An `X-Sandbox-Clock` value as an aware UTC datetime; ValueError when it is not ISO 8601
    with a zone (a time without one would be read differently by each side)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{CLOCK_HEADER} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{CLOCK_HEADER} has no time zone: {value!r}")
    return moment.astimezone(UTC)


def request_header(name: str) -> str | None:
    """The header `name` of the request being served; None outside a request or without it."""
    environ = _environ.get()
    if environ is None:
        return None
    return environ.get(_environ_key(name))


def request_now() -> datetime:
    """The time the request being served happens at: its `X-Sandbox-Clock`, else the wall clock
    (aware, UTC)."""
    value = request_header(CLOCK_HEADER)
    if value is None:
        return datetime.now(UTC)
    return parse_clock(value)


def _refuse(start_response: Callable[..., Any], message: str) -> Iterable[bytes]:
    body = message.encode()
    start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                       ("Content-Length", str(len(body)))])
    return [body]


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    dispatch = DomainDispatcherApplication.__call__
    clock_key = _environ_key(CLOCK_HEADER)

    def __call__(self: DomainDispatcherApplication, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Any:
        clock = environ.get(clock_key)
        if clock is not None:
            try:
                parse_clock(clock)
            except ValueError as exc:
                return _refuse(start_response, str(exc))
        token = _environ.set(environ)
        try:
            # moto's Flask apps do all of a request's work before returning its body.
            return dispatch(self, environ, start_response)
        finally:
            _environ.reset(token)

    DomainDispatcherApplication.__call__ = __call__  # type: ignore[method-assign]
    _installed = True
