"""Reading a resource's properties as CloudFormation does, for the extensions' resource types.

CloudFormation converts template values to each property's declared type: a Boolean or Number
property given as a string (the usual case when it comes from a Parameter) arrives at the service
as a boolean or a number. moto hands the extensions the raw template values, so they convert here.
Not an extension itself: it has no `install()`.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Any, Callable, TypeVar

from moto.cloudformation.exceptions import CloudFormationError
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

Handler = TypeVar("Handler", bound=Callable[..., Any])


def as_bool(value: Any, default: bool | None = None) -> bool | None:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    return int(value)


def tag_list(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": str(tag["Key"]), "Value": str(tag.get("Value", ""))}
            for tag in properties.get("Tags") or []]


def missing_tags(existing: list[dict[str, str]] | dict[str, str] | None,
                 wanted: dict[str, str]) -> list[dict[str, str]]:
    """The stack tags a resource does not carry yet: a tag the template sets itself wins."""
    keys = set(existing) if isinstance(existing, dict) else {t["Key"] for t in existing or []}
    return [{"Key": k, "Value": v} for k, v in wanted.items() if k not in keys]


def logical_id_name(logical_id: str) -> str:
    """`LogicalId-a1B2c3D4e5F6`: the name CloudFormation gives a secret or a web ACL without one."""
    alphabet = string.ascii_letters + string.digits
    return f"{logical_id}-{''.join(mock_random.choice(alphabet) for _ in range(12))}"


def lowercase_identifier(generated_name: str, *, limit: int) -> str:
    """moto's generated `stack-Logical-SUFFIX` as an identifier ElastiCache accepts: lowercase
    letters, digits and single hyphens, starting with a letter, at most `limit` characters, the
    random suffix kept whole so that two resources of one stack never meet."""
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", generated_name.lower())).strip("-")
    if not name[:1].isalpha():
        name = f"c-{name}"
    if len(name) <= limit:
        return name
    prefix, _, suffix = name.rpartition("-")
    suffix = suffix[: limit - 2]
    return f"{prefix[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


def query_protocol_errors(handler: Handler) -> Handler:
    """A JSON service's error (wafv2, secretsmanager) raised inside a stack operation, re-raised
    with the same code and message in the form CloudFormation's XML API can carry: moto would
    answer `create_stack` with a JSON body that no CloudFormation client can parse."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except JsonRESTError as exc:
            raise CloudFormationError(exc.error_type, exc.message) from exc

    return wrapper  # type: ignore[return-value]
