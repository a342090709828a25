"""An uploaded CloudFormation template: linted with cfn-lint, and its launch form derived from
its `Parameters`, its outputs from its `Outputs`.

Every parameter keeps its template's own name (`InstanceType`), in the form and on the command
line; the rules that turn a parameter's declaration into the form's field are in
`parameter_spec`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from services.catalog_service import OutputSpec, ParameterSpec
from services.i18n import _
from services.template_import.model import Derived, InvalidTemplateError

# Errors shown when an upload is refused: the first few say what to fix, the rest would bury it.
SHOWN_ERRORS = 5
_LIST = re.compile(r"^List<(.+)>$")
_SSM_VALUE = re.compile(r"^AWS::SSM::Parameter::Value<(.+)>$")
_URL_NAME = re.compile(r"(url|uri|endpoint_?url|website)$", re.IGNORECASE)


def lint(text: str, *, region: str) -> list[str]:
    """cfn-lint's warnings about `text`; raises ValidationError with its errors, each with the
    rule's id, the line and cfn-lint's message."""
    from cfnlint.api import lint as cfn_lint

    errors: list[str] = []
    warnings: list[str] = []
    for match in cfn_lint(text, regions=[region]):
        rule_id = match.rule.id
        if match.linenumber:
            line = _("cfn-lint {rule_id} at line {line}: {message}").format(
                rule_id=rule_id, line=match.linenumber, message=match.message)
        else:
            line = _("cfn-lint {rule_id}: {message}").format(rule_id=rule_id,
                                                             message=match.message)
        (errors if rule_id.startswith("E") else warnings).append(line)
    if errors:
        shown = "; ".join(errors[:SHOWN_ERRORS])
        if len(errors) > SHOWN_ERRORS:
            shown = _("{errors} (and {count} more)").format(errors=shown,
                                                            count=len(errors) - SHOWN_ERRORS)
        raise InvalidTemplateError({"template": shown})
    return warnings


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _number(value: Any, name: str, key: str) -> int | float:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise InvalidTemplateError({"parameters": _("{name}: {key} {value!r} is not a number")
                                    .format(name=name, key=key, value=value)}) from None
    return int(number) if number.is_integer() and "." not in text else number


def _whole(value: Any, name: str, key: str) -> int:
    number = _number(value, name, key)
    if not isinstance(number, int) or number < 0:
        raise InvalidTemplateError({"parameters": _("{name}: {key} {value!r} is not a whole "
                                                    "number").format(name=name, key=key,
                                                                     value=value)})
    return number


def _kind(declared: str) -> dict[str, Any]:
    """The form's type for a CloudFormation parameter type."""
    if declared == "String":
        return {"type": "string"}
    if declared == "Number":
        return {"type": "number"}
    if declared == "CommaDelimitedList":
        return {"type": "list", "item_type": "string"}
    if declared == "List<Number>":
        return {"type": "list", "item_type": "number"}
    listed = _LIST.match(declared)
    inner = listed.group(1) if listed else declared
    if inner.startswith("AWS::"):
        return {"type": "aws", "aws_type": declared}
    raise InvalidTemplateError({"parameters": _("type {declared} is not a CloudFormation "
                                                "parameter type").format(declared=declared)})


def parameter_spec(name: str, body: Mapping[str, Any], findings: list[str]) -> ParameterSpec:
    """One `Parameters` entry as a form field:

    - Type: String -> string, Number -> number, CommaDelimitedList and List<Number> -> list,
      AWS-specific types (`AWS::EC2::VPC::Id`, `List<AWS::EC2::Subnet::Id>`,
      `AWS::EC2::KeyPair::KeyName`, `AWS::SSM::Parameter::Value<...>`) -> aws, a picker of
      what exists in the target cloud that keeps the AWS type;
    - AllowedValues, AllowedPattern (ConstraintDescription is the message of a value that does
      not match), MinLength/MaxLength, MinValue/MaxValue carry over as they are;
    - NoEcho makes it secret; Default is the form's default, none makes it required.
    """
    declared = str(body.get("Type", "")).strip()
    try:
        kind = _kind(declared)
    except InvalidTemplateError:
        raise InvalidTemplateError({"parameters": _("{name}: type {declared!r} is not a "
                                                    "CloudFormation parameter type").format(
            name=name, declared=declared)}) from None
    spec: dict[str, Any] = {
        "name": name, "cfn_key": name, **kind,
        "description": str(body.get("Description") or f"Parameter {name} of the template."),
        "secret": _flag(body.get("NoEcho")),
    }
    numeric = kind["type"] == "number" or kind.get("item_type") == "number"
    if spec["secret"] and numeric:
        # What is shown of a secret is a mask, which is no number: every reader of the rendered
        # template (the estimate, the advisor) would trip on it.
        raise InvalidTemplateError({"parameters": _(
            "{name}: NoEcho on a {declared} parameter is not supported; make it a String "
            "with an AllowedPattern of digits").format(name=name, declared=declared)})
    if "AllowedValues" in body:
        values = body["AllowedValues"]
        if not isinstance(values, list) or not values:
            raise InvalidTemplateError({"parameters": _("{name}: AllowedValues is not a list")
                                        .format(name=name)})
        spec["allowed"] = tuple(_number(v, name, "AllowedValues") if numeric else str(v)
                                for v in values)
    if "AllowedPattern" in body:
        pattern = str(body["AllowedPattern"])
        try:
            re.compile(pattern)
        except re.error as exc:
            # CloudFormation's patterns are Java's; one Python cannot read is left to
            # CloudFormation, which checks it when the stack is created.
            findings.append(f"parameter {name}: AllowedPattern {pattern!r} is checked by "
                            f"CloudFormation at launch only (the form cannot read it: {exc})")
        else:
            spec["pattern"] = pattern
            if body.get("ConstraintDescription"):
                spec["pattern_message"] = str(body["ConstraintDescription"])
    if "MaxLength" in body:
        maximum = _whole(body["MaxLength"], name, "MaxLength")
        if maximum > 0:
            spec["max_length"] = maximum
    if "MinLength" in body:
        spec["min_length"] = _whole(body["MinLength"], name, "MinLength")
    for key, field in (("MinValue", "min"), ("MaxValue", "max")):
        if key in body:
            spec[field] = _number(body[key], name, key)
    spec["default"] = _default(body.get("Default"), kind, name)
    return ParameterSpec.model_validate(spec)


def _default(raw: Any, kind: Mapping[str, Any], name: str) -> Any:
    if raw is None:
        return None
    if kind["type"] == "number":
        return _number(raw, name, "Default")
    if kind["type"] == "list" or str(kind.get("aws_type", "")).startswith("List<"):
        items = raw if isinstance(raw, list) else \
            [item.strip() for item in str(raw).split(",") if item.strip()]
        if kind.get("item_type") == "number":
            return tuple(_number(item, name, "Default") for item in items)
        return tuple(str(item) for item in items)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def output_spec(name: str, body: Mapping[str, Any]) -> OutputSpec:
    label = str(body.get("Description") or name) if isinstance(body, Mapping) else name
    kind = "url" if _URL_NAME.search(name) else "text"
    return OutputSpec(name=name, cfn_key=name, label=label[:200], kind=kind)


def derive(text: str) -> Derived:
    """The form and outputs of a template cfn-lint accepted."""
    from services.template_model import load_template

    document = load_template(text)
    findings: list[str] = []
    parameters = document.get("Parameters") or {}
    if not isinstance(parameters, Mapping):
        raise InvalidTemplateError({"parameters": _("the Parameters section is not a mapping")})
    specs = [parameter_spec(str(name), body if isinstance(body, Mapping) else {}, findings)
             for name, body in parameters.items()]
    outputs = document.get("Outputs") or {}
    outs = [output_spec(str(name), body) for name, body in outputs.items()] \
        if isinstance(outputs, Mapping) else []
    description = document.get("Description")
    return Derived(parameters=tuple(specs), outputs=tuple(outs),
                   summary=str(description).strip() if description else None,
                   findings=tuple(findings), portal_variables=())
