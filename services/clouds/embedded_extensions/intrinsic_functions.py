"""Intrinsic functions evaluated as CloudFormation evaluates them.

moto's `clean_json` gets several wrong in ways real templates meet:
- `Fn::Sub` resolves `${Db.Endpoint.Address}` as the attribute `Endpoint` (it splits at every
  dot), leaves a `${Name}` it cannot resolve in the text, and substitutes its variable map with
  `string.Template`, which does not know `${AWS::Region}`-style names;
- `Fn::GetAZs` takes `{Ref: AWS::Region}` for a region name (answering "Value ({'Ref': ...}a)
  for parameter availabilityZone is invalid"), and "" for us-east-1 whatever the region;
- `Fn::Select` does not evaluate its index (a `Ref` index raised TypeError), and an index past
  the end raised IndexError;
- `Fn::Join` writes AWS::NoValue as "None" and `Fn::Base64` of a non-string raised
  AttributeError;
- `Fn::Cidr` is not evaluated at all: the property received the function itself;
- a `Ref` or `${Name}` naming nothing in the template raised KeyError.
Each is evaluated here as CloudFormation does, with CloudFormation's template errors where it
refuses; every other function is left to moto.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from itertools import islice
from typing import Any, Callable

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
Clean = Callable[[Any, Any], Any]


def template_error(message: str) -> ValidationError:
    return ValidationError(message=f"Template error: {message}")


def _known(name: str, resources_map: Any) -> bool:
    """Whether `name` is a parameter, pseudo parameter, mapping or resource of the template."""
    if isinstance(resources_map, parsing.ResourceMap):
        return name in resources_map._parsed_resources or name in resources_map._resource_json_map
    return name in resources_map


def _ref(name: Any, resources_map: Any, original: Clean) -> Any:
    if isinstance(name, str) and not _known(name, resources_map):
        raise ValidationError(message=(
            f"Template format error: Unresolved resource dependencies [{name}] in the Resources "
            "block of the template"))
    return original({"Ref": name}, resources_map)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _sub(argument: Any, resources_map: Any) -> str:
    if isinstance(argument, list) and len(argument) == 2:
        template, variables = argument
    else:
        template, variables = argument, {}
    template = parsing.clean_json(template, resources_map)
    if not isinstance(template, str):
        raise template_error("the first argument of Fn::Sub must be a string")
    values = {name: parsing.clean_json(value, resources_map)
              for name, value in (variables or {}).items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in values:
            value = values[name]
        elif "." in name and not name.startswith("AWS::"):
            value = parsing.clean_json({"Fn::GetAtt": name.split(".", 1)}, resources_map)
        else:
            value = parsing.clean_json({"Ref": name}, resources_map)
        if value is None:
            raise template_error(f"the variable {name} in Fn::Sub has no value in the "
                                 "embedded cloud")
        if isinstance(value, list):
            raise template_error(f"the variable {name} in Fn::Sub is a list; Fn::Sub takes "
                                 "strings only (use Fn::Join)")
        return _text(value)

    return _VARIABLE.sub(substitute, template)


def _get_azs(argument: Any, resources_map: Any) -> list[str]:
    region = parsing.clean_json(argument, resources_map) or resources_map["AWS::Region"]
    account_id = resources_map["AWS::AccountId"]
    from moto.ec2.models import ec2_backends

    try:
        zones = ec2_backends[account_id][region].describe_availability_zones()
    except KeyError as exc:
        raise template_error(f"Fn::GetAZs: no region named {region}") from exc
    return sorted(zone.name for zone in zones)


def _select(argument: Any, resources_map: Any) -> Any:
    if not isinstance(argument, list) or len(argument) != 2:
        raise template_error("Fn::Select takes an index and a list")
    index = parsing.clean_json(argument[0], resources_map)
    choices = parsing.clean_json(argument[1], resources_map)
    if isinstance(choices, str):
        choices = choices.split(",")
    try:
        position = int(index)
    except (TypeError, ValueError) as exc:
        raise template_error(f"Fn::Select index {index!r} is not a number") from exc
    if not isinstance(choices, list) or not 0 <= position < len(choices):
        raise template_error(f"Fn::Select cannot select nonexistent value at index {position}")
    return choices[position]


def _join(argument: Any, resources_map: Any) -> str:
    if not isinstance(argument, list) or len(argument) != 2:
        raise template_error("Fn::Join takes a delimiter and a list")
    delimiter = parsing.clean_json(argument[0], resources_map)
    items = parsing.clean_json(argument[1], resources_map)
    if not isinstance(items, list):
        raise template_error("the second argument of Fn::Join must be a list")
    return _text(delimiter).join(_text(item) for item in items if item is not None)


def _base64(argument: Any, resources_map: Any) -> str:
    value = parsing.clean_json(argument, resources_map)
    if not isinstance(value, str):
        raise template_error("Fn::Base64 takes a string")
    return base64.b64encode(value.encode("utf-8")).decode("utf-8")


def _cidr(argument: Any, resources_map: Any) -> list[str]:
    if not isinstance(argument, list) or len(argument) != 3:
        raise template_error("Fn::Cidr takes an address block, a count and a number of bits")
    block, count, bits = (parsing.clean_json(item, resources_map) for item in argument)
    try:
        network = ipaddress.ip_network(str(block), strict=False)
        count, bits = int(count), int(bits)
    except ValueError as exc:
        raise template_error(f"Fn::Cidr: {exc}") from exc
    prefix = network.max_prefixlen - bits
    if not 1 <= count <= 256 or not network.prefixlen <= prefix <= network.max_prefixlen:
        raise template_error(f"Fn::Cidr cannot make {count} blocks of {bits} bits in {block}")
    blocks = [str(subnet) for subnet in islice(network.subnets(new_prefix=prefix), count)]
    if len(blocks) < count:
        raise template_error(f"Fn::Cidr: {block} holds only {len(blocks)} blocks of {bits} bits")
    return blocks


def _get_att(argument: Any, resources_map: Any, original: Clean) -> Any:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    if isinstance(argument, list) and len(argument) == 2:
        argument = [argument[0], parsing.clean_json(argument[1], resources_map)]
    return original({"Fn::GetAtt": argument}, resources_map)


def _functions_are_evaluated_as_cloudformation_does() -> None:
    original: Clean = parsing.clean_json
    evaluated: dict[str, Callable[[Any, Any], Any]] = {
        "Fn::Sub": _sub,
        "Fn::GetAZs": _get_azs,
        "Fn::Select": _select,
        "Fn::Join": _join,
        "Fn::Base64": _base64,
        "Fn::Cidr": _cidr,
        "Ref": lambda argument, resources_map: _ref(argument, resources_map, original),
        "Fn::GetAtt": lambda argument, resources_map: _get_att(argument, resources_map,
                                                               original),
    }

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict) and len(resource_json) == 1:
            (name, argument), = resource_json.items()
            function = evaluated.get(name)
            if function is not None:
                return function(argument, resources_map)
        return original(resource_json, resources_map)

    # moto's own recursion looks `clean_json` up in its module: nested functions come here too.
    parsing.clean_json = clean_json


def install() -> None:
    _functions_are_evaluated_as_cloudformation_does()
