"""A CloudFormation template evaluated with a launch's parameters, the way CloudFormation would
before it creates anything: Conditions decided, Fn::If branches taken, parameters and pseudo
parameters substituted. What only exists once resources do (a `Ref` to a resource, `Fn::GetAtt`) is
left as the intrinsic it was, so readers can still follow it.

The cost estimate and the advisor read templates through this, so both see the same resources.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cfnlint.decode import cfn_yaml

from services.errors import ValidationError
from services.i18n import _
from services.render_service import RenderedTemplate

NO_VALUE = object()
"""`Ref: AWS::NoValue`: the property is removed."""

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")
_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class ResolvedResource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()

    @property
    def tier(self) -> str | None:
        tier = self.metadata.get("Tier")
        return tier if isinstance(tier, str) else None


@dataclass(frozen=True)
class ResolvedTemplate:
    region: str
    parameters: dict[str, Any]
    conditions: dict[str, bool]
    # Resources whose Condition is false are left out, as CloudFormation would not create them.
    resources: dict[str, ResolvedResource]
    document: dict[str, Any]

    def of_type(self, *resource_types: str) -> list[ResolvedResource]:
        return [r for r in self.resources.values() if r.type in resource_types]


def load_template(text: str) -> dict[str, Any]:
    """YAML or JSON template text, short intrinsic forms (`!Ref`) included.

    Parsed once per text (a template's text does not change between launches; its parameters
    do): the document returned is shared, so readers must not change it.
    """
    return _parsed(text)


@lru_cache(maxsize=32)
def _parsed(text: str) -> dict[str, Any]:
    try:
        document = cfn_yaml.loads(text)
    except Exception as exc:  # the loader raises several unrelated types on bad input
        raise ValidationError({"template": _("not a CloudFormation template: {error}").format(
            error=exc)}) from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ValidationError({"template": _("not a CloudFormation template: no Resources "
                                             "section")})
    return _plain(document)


def _plain(value: Any) -> Any:
    # cfn-lint's loader returns its own str/dict subclasses that carry line marks; plain types
    # keep equality and JSON dumps simple for readers.
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _typed(declared: Mapping[str, Any], raw: Any) -> Any:
    if declared.get("Type") == "Number" and isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            return float(raw)
    if str(declared.get("Type", "")).startswith("List<") or \
            declared.get("Type") == "CommaDelimitedList":
        return [part.strip() for part in str(raw).split(",")] if isinstance(raw, str) else raw
    return raw


class _Resolver:
    def __init__(self, document: dict[str, Any], values: Mapping[str, Any], region: str) -> None:
        self.document = document
        self.region = region
        declared = document.get("Parameters") or {}
        self.parameters: dict[str, Any] = {}
        for name, spec in declared.items():
            raw = values.get(name, spec.get("Default"))
            self.parameters[name] = _typed(spec, raw) if raw is not None else None
        partition = "aws-cn" if region.startswith("cn-") else "aws"
        self.pseudo = {"AWS::Region": region, "AWS::AccountId": _ACCOUNT_ID,
                       "AWS::Partition": partition, "AWS::URLSuffix": "amazonaws.com",
                       "AWS::StackName": "preview", "AWS::StackId": "preview",
                       "AWS::NoValue": NO_VALUE}
        self.condition_specs: dict[str, Any] = document.get("Conditions") or {}
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            if name not in self.condition_specs:
                raise ValidationError({"template": _("unknown condition {name}").format(
                    name=repr(name))})
            self.conditions[name] = bool(self.value(self.condition_specs[name]))
        return self.conditions[name]

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def ref(self, name: Any) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return {"Ref": name}

    def sub(self, arg: Any) -> Any:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        variables = {k: self.value(v) for k, v in variables.items()}
        unresolved = False

        def replace(match: re.Match[str]) -> str:
            nonlocal unresolved
            name = match.group(1)
            if name in variables:
                found = variables[name]
            elif "." not in name:
                found = self.ref(name)
            else:
                found = {"Fn::GetAtt": name.split(".", 1)}
            if isinstance(found, (dict, list)):
                unresolved = True
                return match.group(0)
            return _text(found)

        result = _SUB_VARIABLE.sub(replace, text)
        if unresolved:
            return {"Fn::Sub": [result, {}]} if variables else {"Fn::Sub": result}
        return result.replace("${!", "${")

    def join(self, arg: Any) -> Any:
        separator, items = arg[0], self.value(arg[1])
        if isinstance(items, list) and all(not isinstance(i, (dict, list)) for i in items):
            return separator.join(_text(i) for i in items)
        return {"Fn::Join": [separator, items]}

    def select(self, arg: Any) -> Any:
        index, items = self.value(arg[0]), self.value(arg[1])
        if isinstance(items, list) and str(index).isdigit() and int(index) < len(items):
            return items[int(index)]
        return {"Fn::Select": [index, items]}

    def if_(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.value(when_true if self.condition(name) else when_false)

    def equals(self, arg: Any) -> bool:
        left, right = (self.value(a) for a in arg)
        return _text(left) == _text(right)

    def get_azs(self, arg: Any) -> list[str]:
        region = self.value(arg) or self.region
        return [f"{region}{zone}" for zone in "abcdef"]

    def base64(self, arg: Any) -> Any:
        # Kept as text: readers (the advisor) want to read user data, not its encoding.
        return self.value(arg)

    def find_in_map(self, arg: Any) -> Any:
        name, first, second = (self.value(a) for a in arg)
        try:
            return self.document["Mappings"][name][first][second]
        except (KeyError, TypeError):
            return {"Fn::FindInMap": [name, first, second]}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_INTRINSICS: dict[str, Any] = {
    "Ref": _Resolver.ref,
    "Fn::Sub": _Resolver.sub,
    "Fn::Join": _Resolver.join,
    "Fn::Select": _Resolver.select,
    "Fn::If": _Resolver.if_,
    "Fn::Equals": _Resolver.equals,
    "Fn::Not": lambda self, arg: not self.value(arg[0]),
    "Fn::And": lambda self, arg: all(self.value(a) for a in arg),
    "Fn::Or": lambda self, arg: any(self.value(a) for a in arg),
    "Condition": _Resolver.condition,
    "Fn::GetAZs": _Resolver.get_azs,
    "Fn::Base64": _Resolver.base64,
    "Fn::FindInMap": _Resolver.find_in_map,
    "Fn::GetAtt": lambda self, arg: {"Fn::GetAtt": arg if isinstance(arg, list)
                                     else str(arg).split(".", 1)},
}


def resolve_template(document: Mapping[str, Any], parameter_values: Mapping[str, Any], *,
                     region: str) -> ResolvedTemplate:
    """`parameter_values` by CloudFormation parameter name; missing ones take their Default."""
    resolver = _Resolver(dict(document), parameter_values, region)
    for name in resolver.condition_specs:
        resolver.condition(name)
    resources: dict[str, ResolvedResource] = {}
    for logical_id, body in (document.get("Resources") or {}).items():
        if not isinstance(body, dict):
            continue
        if body.get("Condition") and not resolver.condition(body["Condition"]):
            continue
        depends_on = body.get("DependsOn") or ()
        resources[logical_id] = ResolvedResource(
            logical_id=logical_id, type=str(body.get("Type", "")),
            properties=resolver.value(body.get("Properties") or {}),
            metadata=dict(body.get("Metadata") or {}),
            depends_on=(depends_on,) if isinstance(depends_on, str) else tuple(depends_on),
        )
    return ResolvedTemplate(region=region, parameters=dict(resolver.parameters),
                            conditions=dict(resolver.conditions), resources=resources,
                            document=dict(document))


def decoded_user_data(value: Any) -> str | None:
    """User data as text: resolved `Fn::Base64` text, or base64 a template wrote out itself."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    if not isinstance(value, str):
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return value
    return decoded if decoded.isprintable() or "\n" in decoded else value


def resolve_rendered(rendered: RenderedTemplate, *, region: str) -> ResolvedTemplate:
    """The rendered CloudFormation evaluated with the parameters it will be launched with."""
    values = {p["ParameterKey"]: p["ParameterValue"] for p in rendered.cloudformation_parameters}
    return resolve_template(load_template(rendered.cloudformation_template), values,
                            region=region)
