"""A template read as CloudFormation reads it: YAML short forms at any depth, and a template
whose shape CloudFormation refuses refused at once with its reason.

moto builds a short form (`!Ref`, `!Sub`, `!GetAtt`, ...) only when the tagged node is a plain
scalar or a list of plain values. A tagged mapping (`!Base64` over a `Fn::Sub:` block,
`!GetAZs {Ref: AWS::Region}`) came out as a list of YAML node objects, and so did the strings of
a `!GetAtt [A, B]`; the resource then failed with "'list' object has no attribute 'encode'" or a
`ScalarNode(...)` in its error, answered as HTTP 500. `!Condition` became `Fn::Condition`, which no
condition reads, and `!GetAtt Db.Endpoint.Address` split at every dot, where CloudFormation splits
at the first (`Endpoint.Address` is one attribute). Here every tagged node is built in full,
whatever it holds.

moto also takes any parsed document for a template: a resource without a `Type`, a `Type` that is
a mapping (a Rain module's `Fn::Rain::Module`), `Fn::ForEach` under a transform, or a function
CloudFormation does not have (Rain's `!Rain::Embed`) reached the resource code as Python errors.
CloudFormation refuses these at CreateStack with "Template format error"; so does this, and it
names a transform the embedded cloud does not run.
"""

from __future__ import annotations

from typing import Any

import yaml
from moto.cloudformation.exceptions import ValidationError

# Transforms the embedded cloud runs: none. CloudFormation runs them before it creates anything.
SUPPORTED_TRANSFORMS: frozenset[str] = frozenset()
# The intrinsic functions a template's resources and outputs may use (conditions have their own).
FUNCTIONS = frozenset({
    "Fn::Base64", "Fn::Cidr", "Fn::FindInMap", "Fn::GetAtt", "Fn::GetAZs", "Fn::ImportValue",
    "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Sub", "Fn::Transform", "Fn::If", "Fn::Equals",
    "Fn::Not", "Fn::And", "Fn::Or", "Fn::Length", "Fn::ToJsonString",
})


def short_form(loader: yaml.Loader, tag: str, node: yaml.Node) -> dict[str, Any]:
    """`!Name value` as `{"Fn::Name": value}` (`Ref` and `Condition` keep their own names), with
    `value` built in full: a scalar, a sequence or a mapping, tagged nodes inside included."""
    name = tag[1:] if tag.startswith("!") else tag
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if name in ("Ref", "Condition"):
        return {name: value}
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{name}": value}


def _short_forms_are_read_at_any_depth() -> None:
    # Each of moto's parses registers the constructor it finds under this name in its own module
    # (`yaml.add_multi_constructor("", yaml_tag_constructor)`) just before it loads: every parse,
    # change sets and ValidateTemplate included, registers this one instead.
    from moto.cloudformation import models, responses, utils

    for module in (utils, models, responses):
        module.yaml_tag_constructor = short_form  # type: ignore[attr-defined]


def _format_error(message: str) -> ValidationError:
    return ValidationError(message=f"Template format error: {message}")


def check_shape(template: Any) -> None:
    """Raise CloudFormation's "Template format error" for a document it would not take."""
    if not isinstance(template, dict):
        raise _format_error("a template is a JSON or YAML mapping")
    transforms = template.get("Transform")
    if transforms:
        names = transforms if isinstance(transforms, list) else [transforms]
        for name in names:
            label = name.get("Name", name) if isinstance(name, dict) else name
            if label not in SUPPORTED_TRANSFORMS:
                raise _format_error(f"Transform {label} is not supported by the embedded cloud; "
                                    "launch on LocalStack or AWS, or deploy the processed "
                                    "template")
    resources = template.get("Resources")
    if not isinstance(resources, dict) or not resources:
        raise _format_error("At least one Resources member must be defined.")
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            raise _format_error(f"[/Resources/{logical_id}] resource definition is malformed")
        resource_type = resource.get("Type")
        if not isinstance(resource_type, str) or not resource_type:
            raise _format_error(f"[/Resources/{logical_id}/Type] the Type of a resource must be "
                                "a string naming its resource type")
        for section in ("Properties", "Metadata"):
            if section in resource and not isinstance(resource[section], (dict, type(None))):
                raise _format_error(f"[/Resources/{logical_id}/{section}] must be a mapping")
        _check_functions(resource.get("Properties"), f"/Resources/{logical_id}/Properties")
    for name, output in (template.get("Outputs") or {}).items():
        _check_functions(output, f"/Outputs/{name}")


def _check_functions(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and key.startswith("Fn::") and key not in FUNCTIONS:
                raise _format_error(f"[{where}] Unrecognized function {key}")
            _check_functions(inner, f"{where}/{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_functions(inner, f"{where}/{index}")


def _templates_are_checked_before_use() -> None:
    from moto.cloudformation.models import Stack

    original = Stack._parse_template

    def _parse_template(self: Stack) -> None:
        original(self)
        check_shape(self.template_dict)

    Stack._parse_template = _parse_template  # type: ignore[method-assign]


def install() -> None:
    _short_forms_are_read_at_any_depth()
    _templates_are_checked_before_use()
