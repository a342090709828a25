"""The rendered Terraform as the advisor reads it: modules wired together.

Each `.tf` file is parsed with python-hcl2; files of one folder form a module; `module` blocks with
a local `source` wire child modules to their callers, once per `count` or `for_each` key when those
are known. Expressions are evaluated by `hcl_eval` as far as `terraform.tfvars`, variable defaults,
locals, module outputs and a few pure functions allow. What only exists after `apply` (resource
attributes, data sources) stays `Unknown`, so a rule can tell "the value is X" from "cannot know
before apply" and stay quiet on the latter.

Rules read resource blocks as written (`resources`): a finding points at the block to fix.
`resource_instances` expands `count` and `for_each` into what apply would create.
"""

from __future__ import annotations

import copy
import threading
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from services.advisor.hcl_eval import (
    Unknown,
    evaluate,
    expression_text,
    is_known,
    readable_text,
    reference_names,
    unquote,
)

__all__ = [
    "PARSE_OPTIONS", "TFVARS_FILE", "ModuleInstance", "ModuleSource", "TerraformConfig",
    "TfResource", "Unknown", "expression_text", "is_known", "nested_blocks", "parse_hcl",
    "readable_text", "reference_names", "unquote",
]

# Comments are noise here; heredocs become plain strings so user data reads like any other text.
PARSE_OPTIONS = SerializationOptions(with_comments=False, preserve_heredocs=False)
TFVARS_FILE = "terraform.tfvars"
# Arguments of a `module` block that configure the call rather than set the child's variables.
_META_ARGUMENTS = ("source", "version", "count", "for_each", "providers", "depends_on")


def parse_hcl(text: str) -> dict[str, Any]:
    """One file parsed. A template's module files are the same text on every render (only
    terraform.tfvars changes with the values), and python-hcl2 takes about 10 ms per KB: the
    Launch page checks again on every rerun, so parses are kept by text."""
    return copy.deepcopy(_parse_cached(text))


@lru_cache(maxsize=512)
def _parse_cached(text: str) -> dict[str, Any]:
    with HCL_PARSE_LOCK:
        return hcl2.loads(text, serialization_options=PARSE_OPTIONS)


# python-hcl2 serialises through one context object shared by every call (a mutable default
# argument its rules pass on implicitly), which two threads parsing at once (a page's script
# and the preview warm-up) set and restore over each other. Once crossed, every later parse in
# the process loses its `${...}` and reads `true` as a string. So one parse at a time.
HCL_PARSE_LOCK = threading.Lock()


InstanceKey = int | str
"""`count.index` or `each.key` of one instance of a block."""


def instance_keys(body: Mapping[str, Any], evaluate_in: Callable[[Any], Any]
                  ) -> list[tuple[InstanceKey | None, dict[str, Any]]] | None:
    """(key, bindings) of each instance a resource or module block stands for: one with key None
    without `count` or `for_each`; None when how many is known only after apply."""
    if "count" in body:
        count = evaluate_in(body["count"])
        if isinstance(count, bool) or not isinstance(count, (int, float)) or count < 0:
            return None
        return [(index, {"count": {"index": index}}) for index in range(int(count))]
    if "for_each" in body:
        items = evaluate_in(body["for_each"])
        if isinstance(items, dict) and all(isinstance(k, str) for k in items):
            pairs = list(items.items())
        elif isinstance(items, list) and all(isinstance(v, str) for v in items):
            # A set of strings: each.key and each.value are both the element.
            pairs = [(v, v) for v in dict.fromkeys(items)]
        else:
            return None
        return [(key, {"each": {"key": key, "value": value}}) for key, value in pairs]
    return [(None, {})]


def _key_text(key: InstanceKey) -> str:
    return f"[{key}]" if isinstance(key, int) else f'["{key}"]'


@dataclass
class ModuleSource:
    """The blocks of one folder of `.tf` files."""

    directory: str  # "" for the root module
    files: list[str] = field(default_factory=list)
    resources: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)
    data: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    module_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)


@dataclass(frozen=True)
class TfResource:
    """A resource (or data source) block of one module instance, or one instance of it.

    `key` is None for the block as written, the `count.index` or `each.key` of one expanded
    instance, or an `Unknown` when how many instances there are is known only after apply (then
    `count` and `each` are bound to unknowns too, so nothing reads as a wrong known value)."""

    kind: str  # "resource" or "data"
    type: str
    name: str
    body: dict[str, Any]
    file: str
    module: ModuleInstance
    key: InstanceKey | Unknown | None = None
    bindings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        local = f"{self.type}.{self.name}" if self.kind == "resource" else \
            f"data.{self.type}.{self.name}"
        if isinstance(self.key, (int, str)):
            local += _key_text(self.key)
        return self.module.prefix + local

    def has(self, attribute: str) -> bool:
        return attribute in self.body

    def evaluate(self, raw: Any, bindings: Mapping[str, Any] | None = None) -> Any:
        """A serialized value from inside this block (a nested block's attribute, say)."""
        return self.module.evaluate(raw, {**self.bindings, **(bindings or {})})

    def value(self, attribute: str, default: Any = None) -> Any:
        """An attribute evaluated; `default` when the block does not set it."""
        if attribute not in self.body:
            return default
        return self.evaluate(self.body[attribute])

    def blocks(self, name: str) -> list[dict[str, Any]]:
        return nested_blocks(self.body, name)

    def expanded_blocks(self, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Static `name` blocks and the blocks `dynamic "name"` generates, each with the
        bindings to evaluate it with (the iterator for a dynamic one). A dynamic block whose
        for_each is only known after apply yields its content once, with an unknown iterator."""
        found: list[tuple[dict[str, Any], dict[str, Any]]] = [
            (b, dict(self.bindings)) for b in self.blocks(name)]
        for dynamic in self.dynamic_blocks(name):
            contents = nested_blocks(dynamic, "content")
            if not contents:
                continue
            # `iterator = t` names the binding after a bare identifier, not a value.
            iterator = expression_text(dynamic["iterator"]) if "iterator" in dynamic else name
            items = self.evaluate(dynamic.get("for_each"))
            if isinstance(items, dict):
                pairs = list(items.items())
            elif isinstance(items, list):
                pairs = [(v, v) if not isinstance(v, (dict, list)) else (i, v)
                         for i, v in enumerate(items)]
            else:
                found.append((contents[0], {**self.bindings,
                                            iterator: Unknown(f"{iterator} of {name}")}))
                continue
            for key, value in pairs:
                found.append((contents[0], {**self.bindings,
                                            iterator: {"key": key, "value": value}}))
        return found

    def dynamic_blocks(self, name: str) -> list[dict[str, Any]]:
        """Bodies of `dynamic "name" { ... }` blocks (for_each and content)."""
        found = []
        for entry in self.body.get("dynamic") or []:
            for label, body in entry.items():
                if unquote(label) == name and isinstance(body, dict):
                    found.append(body)
        return found

    def expression_text(self, attribute: str) -> str:
        raw = self.body.get(attribute)
        return raw if isinstance(raw, str) else ""


def nested_blocks(body: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name)
    if isinstance(value, list):
        return [b for b in value if isinstance(b, dict)]
    return [value] if isinstance(value, dict) else []


class ModuleInstance:
    """One use of a module: the root, or a `module` block calling a local folder (one per key
    of its `count` or `for_each`). It is the `Scope` its expressions are evaluated in."""

    def __init__(self, *, config: TerraformConfig, source: ModuleSource, prefix: str,
                 arguments: Mapping[str, Callable[[], Any]],
                 parent: ModuleInstance | None = None,
                 call: Mapping[str, Any] | None = None,
                 call_bindings: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.source = source
        self.prefix = prefix
        self._arguments = arguments
        # The calling module and the `module` block's arguments as written, to follow a
        # variable back to what the caller passed in.
        self.parent = parent
        self.call = dict(call or {})
        self.call_bindings = dict(call_bindings or {})
        self.children: dict[str, ModuleInstance] = {}
        self._variables: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._evaluating: set[str] = set()

    @property
    def directory(self) -> str:
        return self.source.directory

    @property
    def module_path(self) -> str:
        return self.source.directory or "."

    def evaluate(self, raw: Any, bindings: Mapping[str, Any] | None = None) -> Any:
        """A value as python-hcl2 serialized it, evaluated in this module."""
        return evaluate(raw, self, bindings)

    def expand_local_references(self, raw: Any, *, depth: int = 4) -> str:
        """The expression text with `local.x` replaced by each local's own expression, so a
        rule can see what a value is built from even when it cannot be evaluated."""
        text = expression_text(raw)
        if depth == 0:
            return text
        return re.sub(r"(?<![\w.])local\.([A-Za-z_][\w-]*)",
                      lambda m: "(" + self.expand_local_references(
                          self.source.locals.get(m.group(1), m.group(0)), depth=depth - 1) + ")",
                      text)

    def variable(self, name: str) -> Any:
        if name not in self._variables:
            key = f"var.{name}"
            if key in self._evaluating:
                return Unknown(key)
            self._evaluating.add(key)
            try:
                argument = self._arguments.get(name)
                if argument is not None:
                    value = argument()
                elif name in self.source.variables and "default" in self.source.variables[name]:
                    value = self.evaluate(self.source.variables[name]["default"])
                else:
                    value = Unknown(key)
            finally:
                self._evaluating.discard(key)
            self._variables[name] = value
        return self._variables[name]

    def local(self, name: str) -> Any:
        if name not in self._locals:
            key = f"local.{name}"
            if key in self._evaluating or name not in self.source.locals:
                return Unknown(key)
            self._evaluating.add(key)
            try:
                self._locals[name] = self.evaluate(self.source.locals[name])
            finally:
                self._evaluating.discard(key)
        return self._locals[name]

    def read_file(self, function: str, args: list[Any]) -> Any:
        path = args[0] if args else None
        if not isinstance(path, str):
            return Unknown(f"{function}(...)")
        text = self.config.files.get(posixpath.normpath(path))
        if text is None:
            return Unknown(f"{function}({path!r})")
        if function == "file":
            return text
        # templatefile: the variables are not substituted; its text stays readable.
        return Unknown(f"templatefile({path!r})", text=text)

    def module_output(self, module: str, output: str) -> Any:
        """An output of a child module, evaluated in the child: a list of subnet ids is a list
        of two unknowns, so its length is known where the ids are not."""
        expression = f"module.{module}.{output}"
        child = self.children.get(module)
        declared = child.source.outputs.get(output) if child else None
        if child is None or declared is None or "value" not in declared or \
                expression in self._evaluating:
            return Unknown(expression)
        self._evaluating.add(expression)
        try:
            return child.evaluate(declared["value"])
        finally:
            self._evaluating.discard(expression)

    def resource_value(self, type_: str, name: str) -> Any | None:
        """A counted resource is a list of its instances (a `for_each` one a map), so
        `length(aws_subnet.private)` is known; each instance's attributes are not."""
        block = next((body for t, n, body, _ in self.source.resources
                      if t == type_ and n == name), None)
        if block is None or ("count" not in block and "for_each" not in block):
            return None
        guard = f"{type_}.{name}"
        if guard in self._evaluating:
            return None
        self._evaluating.add(guard)
        try:
            keys = instance_keys(block, self.evaluate)
        finally:
            self._evaluating.discard(guard)
        if keys is None:
            return None
        instances = {key: Unknown(guard + _key_text(key)) for key, _ in keys
                     if key is not None}
        return list(instances.values()) if "count" in block else instances

    def referenced_resource(self, raw: Any, *, depth: int = 16) -> TfResource | None:
        """The resource a reference (`aws_x.name.attr`, `aws_x.name[0].attr`) names, followed
        through module variables and module outputs: what `var.allowed_security_group_id`
        is once the caller's `module.ec2.security_group_id` is traced to its group. None for
        anything else (a literal, a data source, an expression that computes)."""
        text = expression_text(raw).strip()
        if depth == 0:
            return None
        variable = re.fullmatch(r"var\.([A-Za-z_][\w-]*)", text)
        if variable:
            name = variable.group(1)
            if self.parent is None or name not in self.call:
                return None
            return self.parent.referenced_resource(self.call[name], depth=depth - 1)
        output = re.fullmatch(r"module\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)", text)
        if output:
            child = self.children.get(output.group(1))
            found = child.source.outputs.get(output.group(2)) if child else None
            if child is None or found is None or "value" not in found:
                return None
            return child.referenced_resource(found["value"], depth=depth - 1)
        resource = re.fullmatch(r"([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)(?:\[(\d+)\])?"
                                r"(?:\.[A-Za-z_][\w-]*)*", text)
        if resource is None or resource.group(1) in ("var", "local", "data", "module", "path"):
            return None
        type_, name, index = resource.groups()
        found = next((r for r in self.resources() if r.type == type_ and r.name == name), None)
        if found is None or index is None:
            return found
        return next((r for r in self.resource_instances() if r.type == type_
                     and r.name == name and r.key == int(index)), None)

    def resources(self) -> list[TfResource]:
        return [TfResource("resource", t, n, body, f, self)
                for t, n, body, f in self.source.resources]

    def resource_instances(self) -> list[TfResource]:
        """Every resource as apply would create it: one per `count` index or `for_each` key."""
        expanded: list[TfResource] = []
        for t, n, body, f in self.source.resources:
            keys = instance_keys(body, self.evaluate)
            if keys is None:
                unknown = Unknown(f"{self.prefix}{t}.{n} instances")
                expanded.append(TfResource("resource", t, n, body, f, self, key=unknown,
                                           bindings={"count": {"index": unknown},
                                                     "each": unknown}))
                continue
            expanded.extend(TfResource("resource", t, n, body, f, self, key=key,
                                       bindings=bindings) for key, bindings in keys)
        return expanded

    def data_sources(self) -> list[TfResource]:
        return [TfResource("data", t, n, body, f, self) for t, n, body, f in self.source.data]


class TerraformConfig:
    """Every module instance of a rendered Terraform root, evaluated with its tfvars."""

    def __init__(self, parsed: Mapping[str, dict[str, Any]], *, files: Mapping[str, str],
                 tfvars: Mapping[str, Any] | None = None) -> None:
        self.files = {posixpath.normpath(k): v for k, v in files.items()}
        self.sources: dict[str, ModuleSource] = {}
        for path, document in sorted(parsed.items()):
            directory = posixpath.dirname(posixpath.normpath(path))
            source = self.sources.setdefault(directory, ModuleSource(directory))
            _collect(source, document, path)
        self.sources.setdefault("", ModuleSource(""))
        self._tfvars = dict(tfvars or {})
        self.instances: list[ModuleInstance] = []
        self.root = self._instantiate(self.sources[""], prefix="", arguments={
            name: (lambda raw=raw: self.root.evaluate(raw)) for name, raw in self._tfvars.items()
        }, depth=0)

    def _instantiate(self, source: ModuleSource, *, prefix: str,
                     arguments: Mapping[str, Callable[[], Any]], depth: int,
                     parent: ModuleInstance | None = None, call: Mapping[str, Any] | None = None,
                     call_bindings: Mapping[str, Any] | None = None) -> ModuleInstance:
        instance = ModuleInstance(config=self, source=source, prefix=prefix, arguments=arguments,
                                  parent=parent, call=call, call_bindings=call_bindings)
        self.instances.append(instance)
        if depth > 8:  # a module calling itself; Terraform refuses that too
            return instance
        for name, call in source.module_calls.items():
            target = call.get("source")
            location = instance.evaluate(target) if target is not None else None
            if not isinstance(location, str) or not location.startswith(("./", "../")):
                continue
            directory = posixpath.normpath(posixpath.join(source.directory, location))
            directory = "" if directory == "." else directory
            child = self.sources.get(directory)
            if child is None:
                continue
            # A call whose count or for_each is known only after apply is read once, unexpanded,
            # so its resources are still checked.
            keys = instance_keys(call, instance.evaluate) or [(None, {})]
            for key, bindings in keys:
                child_arguments = {
                    argument: (lambda raw=raw, parent=instance, bound=bindings:
                               parent.evaluate(raw, bound))
                    for argument, raw in call.items()
                    if not argument.startswith("__") and argument not in _META_ARGUMENTS
                }
                label = name if key is None else name + _key_text(key)
                instance.children[label] = self._instantiate(
                    child, prefix=f"{prefix}module.{label}.", arguments=child_arguments,
                    depth=depth + 1, parent=instance, call=call, call_bindings=bindings)
        return instance

    def resources(self, *types: str) -> Iterator[TfResource]:
        """Resource blocks as written, once per module instance."""
        for instance in self.instances:
            for resource in instance.resources():
                if not types or resource.type in types:
                    yield resource

    def resource_instances(self, *types: str) -> Iterator[TfResource]:
        """Resources as apply would create them, `count` and `for_each` expanded."""
        for instance in self.instances:
            for resource in instance.resource_instances():
                if not types or resource.type in types:
                    yield resource

    def data_sources(self, *types: str) -> Iterator[TfResource]:
        for instance in self.instances:
            for data in instance.data_sources():
                if not types or data.type in types:
                    yield data

    def find(self, module: ModuleInstance, reference: str) -> TfResource | None:
        """The resource or data source that `reference` (`aws_x.name...` or
        `data.aws_x.name...`) names inside `module`."""
        parts = reference.split(".")
        if parts[0] == "data" and len(parts) >= 3:
            kind, type_, name = "data", parts[1], parts[2]
        elif len(parts) >= 2:
            kind, type_, name = "resource", parts[0], parts[1]
        else:
            return None
        pool = module.data_sources() if kind == "data" else module.resources()
        return next((r for r in pool if r.type == type_ and r.name == name), None)


def _collect(source: ModuleSource, document: Mapping[str, Any], path: str) -> None:
    source.files.append(path)
    for kind in ("resource", "data"):
        for entry in document.get(kind) or []:
            for type_label, named in entry.items():
                for name_label, body in (named or {}).items():
                    target = source.resources if kind == "resource" else source.data
                    target.append((unquote(type_label), unquote(name_label), body, path))
    for entry in document.get("variable") or []:
        for label, body in entry.items():
            source.variables[unquote(label)] = body if isinstance(body, dict) else {}
    for entry in document.get("locals") or []:
        for key, value in entry.items():
            if not key.startswith("__"):
                source.locals[key] = value
    for entry in document.get("output") or []:
        for label, body in entry.items():
            source.outputs[unquote(label)] = body if isinstance(body, dict) else {}
    for entry in document.get("module") or []:
        for label, body in entry.items():
            source.module_calls[unquote(label)] = body if isinstance(body, dict) else {}
    for entry in document.get("provider") or []:
        for label, body in entry.items():
            source.providers.append((unquote(label), body if isinstance(body, dict) else {}, path))
