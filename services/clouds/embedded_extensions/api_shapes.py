"""CloudFormation properties as the service API's own request, read against botocore's model.

A resource's CloudFormation properties are its API request spelled differently: PascalCase where
some APIs use camelCase (CodeDeploy), a list of `{"Ec2TagGroup": [...]}` where the API has a list
of lists, numbers and booleans that arrive as strings from template parameters. moto's backends
store what the API would have received, so the extensions hand them exactly that. Used by the
service extensions; it installs nothing itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def _input_shape(service_name: str, operation_name: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service_name)
    return model.operation_model(operation_name).input_shape


def to_api_request(service_name: str, operation_name: str,
                   properties: dict[str, Any]) -> dict[str, Any]:
    """`properties` of a CloudFormation resource as the request of `operation_name`.

    Keys match the API's member names whatever their case; keys the API does not know (those
    CloudFormation acts on itself, such as CodeDeploy's `Deployment`) are left out."""
    return _convert(properties, _input_shape(service_name, operation_name))


def _convert(value: Any, shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        members = {name.lower(): name for name in shape.members}
        converted = {}
        for key, item in value.items():
            name = members.get(key.lower())
            if name is not None and item is not None:
                converted[name] = _convert(item, shape.members[name])
        return converted
    if kind == "list":
        if not isinstance(value, list):
            value = [value]
        member = shape.member
        if member.type_name == "list":
            # CloudFormation wraps each inner list in a one-key object, e.g. {"Ec2TagGroup": [...]}.
            value = [next(iter(item.values())) if isinstance(item, dict) and len(item) == 1
                     else item for item in value]
        return [_convert(item, member) for item in value]
    if kind == "map":
        return value
    if kind in ("integer", "long"):
        return int(float(value))
    if kind in ("double", "float"):
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "string" and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value
