"""How the portal calls AWS, for every target: what a call can raise, AWS's reason in one line,
reads repeated after a server fault, pagination, and times read as UTC.

Engines, monitoring, the simulator and the sweeper all talk to AWS; they share this module rather
than each keeping its own copy, and turn a failed call into `CloudError` where it leaves them.
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime
from typing import Any, Callable, Iterator, TypeVar, overload

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from services.errors import CloudError

# What a call to AWS can raise. An emulator that crashes answers HTML, which botocore cannot parse.
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)

READ_ATTEMPTS = 3
Read = TypeVar("Read", bound=Callable[..., Any])


def cloud_error(operation: str, exc: Exception) -> CloudError:
    """The portal's error for a failed call, raised where it leaves the AWS plumbing."""
    return CloudError(operation=operation, reason=aws_reason(exc))


def aws_reason(exc: Exception) -> str:
    """`Code: message` of an AWS error, or the exception's type and text for anything else."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "Error"
        message = error.get("Message") or str(exc)
        return f"{code}: {message}"
    return f"{type(exc).__name__}: {exc}"


def is_missing_stack(exc: Exception) -> bool:
    """CloudFormation's answer for a stack that does not exist (a ValidationError, not a 404)."""
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationError" and "does not exist" in error.get("Message", "")


def not_implemented(exc: Exception) -> bool:
    """The target does not offer this service at all (LocalStack's community edition answers
    RDS, Auto Scaling, ELBv2, ElastiCache, CodeDeploy and WAFv2 with HTTP 501)."""
    return isinstance(exc, ClientError) and \
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 501


def none_where_not_implemented(read: Read) -> Read:
    """A listing that finds nothing where the target does not offer the service: nothing of it
    can exist there. Any other error stands."""

    @functools.wraps(read)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return read(*args, **kwargs)
        except ClientError as exc:
            if not_implemented(exc):
                return []
            raise

    return wrapper  # type: ignore[return-value]


def server_fault(exc: Exception) -> bool:
    if isinstance(exc, ResponseParserError):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return False


def retry_reads(read: Read) -> Read:
    """Repeat a read that met a server fault. Reads are safe to repeat; writes are not.

    The embedded cloud, under many concurrent requests, now and then answers a read with an HTML
    HTTP 500 that botocore can neither parse nor retry itself.
    """

    @functools.wraps(read)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(READ_ATTEMPTS):
            try:
                return read(*args, **kwargs)
            except AWS_ERRORS as exc:
                if attempt == READ_ATTEMPTS - 1 or not server_fault(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def paginate(client: Any, operation: str, key: str, **request: Any) -> Iterator[Any]:
    """Every item under `key` of every page of `operation`."""
    for page in client.get_paginator(operation).paginate(**request):
        yield from page.get(key, [])


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """An aware time in UTC; a naive one is read as UTC (the embedded cloud and SQLite write UTC
    without a zone); None (a time AWS did not give) stays None."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
