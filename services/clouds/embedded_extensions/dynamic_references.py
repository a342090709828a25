"""Dynamic references `{{resolve:...}}` in resource properties, resolved when the resource is made.

CloudFormation replaces `{{resolve:secretsmanager:...}}` and `{{resolve:ssm:...}}` in a resource's
properties with the referenced value, after `Fn::Sub`, `Ref` and the other functions have been
evaluated, and keeps the literal text in the template. moto passes the literal text to the
resource: an RDS database got the string `{{resolve:secretsmanager:...}}` as its password. This
resolves both forms against moto's own backends, in every string of every resource's properties,
at create and update time. `ssm-secure` is refused with a clear error: moto cannot tell which
properties AWS allows it in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.core.exceptions import JsonRESTError, ServiceException

# Up to the first `}}`: a reference cannot contain one.
REFERENCE = re.compile(r"\{\{resolve:(?P<service>[a-z-]+):(?P<key>(?:(?!\}\}).)*)\}\}")
ARN_PARTS = 7  # arn:partition:secretsmanager:region:account:secret:name-suffix


class DynamicReferenceError(ValidationError):
    def __init__(self, reference: str, reason: str) -> None:
        super().__init__(message=f"Could not resolve dynamic reference {reference}: {reason}")


def _secretsmanager(reference: str, key: str, *, account_id: str, region_name: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = key.split(":")
    if parts[0] == "arn":
        secret_id, fields = ":".join(parts[:ARN_PARTS]), parts[ARN_PARTS:]
    else:
        secret_id, fields = parts[0], parts[1:]
    if not secret_id or len(fields) > 4:
        raise DynamicReferenceError(reference, "expected secret-id[:SecretString[:json-key"
                                               "[:version-stage[:version-id]]]]")
    field, json_key, version_stage, version_id = (fields + ["", "", "", ""])[:4]
    if field not in ("", "SecretString"):
        raise DynamicReferenceError(reference, "only SecretString can be referenced")
    backend = secretsmanager_backends[account_id][region_name]
    try:
        value = backend.get_secret_value(secret_id, version_id or None, version_stage or None)
    except (JsonRESTError, ServiceException) as exc:
        raise DynamicReferenceError(reference, exc.message) from exc
    secret_string = value.get("SecretString")
    if secret_string is None:
        raise DynamicReferenceError(reference, "the secret has no SecretString")
    if not json_key:
        return secret_string
    try:
        document = json.loads(secret_string)
    except json.JSONDecodeError as exc:
        raise DynamicReferenceError(reference, "the SecretString is not JSON") from exc
    if not isinstance(document, dict) or json_key not in document:
        raise DynamicReferenceError(reference, f"the SecretString has no key {json_key!r}")
    found = document[json_key]
    return found if isinstance(found, str) else json.dumps(found)


def _ssm(reference: str, key: str, *, account_id: str, region_name: str) -> str:
    from moto.ssm.models import ssm_backends

    try:
        parameter = ssm_backends[account_id][region_name].get_parameter(key)
    except (JsonRESTError, ServiceException) as exc:
        raise DynamicReferenceError(reference, exc.message) from exc
    if parameter is None:
        raise DynamicReferenceError(reference, "no such parameter (or version)")
    if parameter.parameter_type == "SecureString":
        raise DynamicReferenceError(reference, "a SecureString parameter needs ssm-secure")
    return parameter.value


def resolve(value: Any, *, account_id: str, region_name: str) -> Any:
    """`value` with every dynamic reference in its strings replaced, recursively."""
    if isinstance(value, dict):
        return {k: resolve(v, account_id=account_id, region_name=region_name)
                for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, account_id=account_id, region_name=region_name) for v in value]
    if not isinstance(value, str) or "{{resolve:" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        reference, service, key = match.group(0), match.group("service"), match.group("key")
        if service == "secretsmanager":
            return _secretsmanager(reference, key, account_id=account_id,
                                   region_name=region_name)
        if service == "ssm":
            return _ssm(reference, key, account_id=account_id, region_name=region_name)
        if service == "ssm-secure":
            raise DynamicReferenceError(reference, "ssm-secure references are not supported by "
                                                   "the embedded cloud; use secretsmanager")
        raise DynamicReferenceError(reference, f"unknown service {service!r}")

    return REFERENCE.sub(replace, value)


def _resource_properties_are_resolved() -> None:
    original = parsing.parse_resource

    def parse_resource(resource_json: dict[str, Any],
                       resources_map: parsing.ResourceMap) -> Any:
        parsed = original(resource_json, resources_map)
        if not parsed:
            return parsed
        resource_class, cleaned_json, resource_type = parsed
        if "Properties" in cleaned_json:
            cleaned_json = {**cleaned_json, "Properties": resolve(
                cleaned_json["Properties"], account_id=resources_map._account_id,
                region_name=resources_map._region_name)}
        return resource_class, cleaned_json, resource_type

    # Looked up by name at each call from parse_resource_and_generate_name: create and update.
    parsing.parse_resource = parse_resource


def install() -> None:
    _resource_properties_are_resolved()
