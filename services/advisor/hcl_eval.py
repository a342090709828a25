"""HCL expressions as python-hcl2 serializes them, evaluated.

python-hcl2 hands back every expression as source text (`"${var.x}-web"`, `${length(var.y)}`);
this module parses and evaluates that text against a `Scope` that answers `var.`, `local.`,
`path.module`, file reads and references to resources. Whatever cannot be known before `apply` (a
resource attribute, a data source, a function this evaluator does not implement) evaluates to
`Unknown`, which keeps its expression and, where it can, its readable text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class Unknown:
    """A value known only after apply. `text` keeps what is readable of it (a template file's
    source, say), so rules can still look inside user data they cannot fully evaluate."""

    __slots__ = ("expression", "text")

    def __init__(self, expression: str, text: str | None = None) -> None:
        self.expression = expression
        self.text = text

    def __repr__(self) -> str:
        return f"Unknown({self.expression!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.expression == self.expression

    def __hash__(self) -> int:
        return hash(self.expression)


def is_known(value: Any) -> bool:
    if isinstance(value, Unknown):
        return False
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    return True


def readable_text(value: Any) -> str | None:
    """The text of a string value, or what is readable of an unknown one."""
    if isinstance(value, str):
        return value
    if isinstance(value, Unknown):
        return value.text
    return None


def unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


class Scope(Protocol):
    """What an expression may refer to: one Terraform module instance, for the wiring."""

    @property
    def module_path(self) -> str: ...

    def variable(self, name: str) -> Any: ...

    def local(self, name: str) -> Any: ...

    def read_file(self, function: str, args: list[Any]) -> Any: ...

    def module_output(self, module: str, output: str) -> Any:
        """`module.NAME.OUTPUT`: the output's value as its module computes it."""

    def resource_value(self, type_: str, name: str) -> Any | None:
        """What `type_.name` stands for before apply when the scope knows more than "a
        resource" (the instances of a counted one); None leaves it `Unknown`."""


def evaluate(raw: Any, scope: Scope, bindings: Mapping[str, Any] | None = None) -> Any:
    """A value as python-hcl2 serialized it (nested dicts and lists of expression text),
    evaluated in `scope`. `bindings` name iterators: `count`, `each`, a dynamic block's."""
    if isinstance(raw, dict):
        return {unquote(k): evaluate(v, scope, bindings) for k, v in raw.items()
                if not k.startswith("__")}
    if isinstance(raw, list):
        return [evaluate(v, scope, bindings) for v in raw]
    if not isinstance(raw, str):
        return raw
    source = raw[2:-1] if raw.startswith("${") and wraps_whole(raw) else raw
    try:
        return _Parser(source, scope, bindings).parse()
    except (_ParseError, RecursionError):
        return Unknown(raw)


# -- expressions ----------------------------------------------------------------------------------

class _ParseError(Exception):
    pass


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<op>\.\.\.|==|!=|>=|<=|&&|\|\||=>|[-+*/%<>!?:.,()\[\]{}=])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


@dataclass
class _Token:
    kind: str  # number, ident, op, string, end
    value: Any
    text: str


def _scan_template(source: str, start: int) -> tuple[list[Any], int, bool]:
    """Parts of the quoted template starting after the quote at `start`: literal strings and
    ("expr", text) pairs; returns the parts, the index after the closing quote, and whether a
    `%{` directive (not evaluated here) occurs."""
    parts: list[Any] = []
    literal: list[str] = []
    directive = False
    i = start
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            code = source[i + 1]
            if code in _ESCAPES:
                literal.append(_ESCAPES[code])
                i += 2
                continue
            if code in "uU":
                width = 4 if code == "u" else 8
                digits = source[i + 2:i + 2 + width]
                if re.fullmatch(r"[0-9A-Fa-f]+", digits or "x") and len(digits) == width:
                    literal.append(chr(int(digits, 16)))
                    i += 2 + width
                    continue
            literal.append(char)
            i += 1
            continue
        if source.startswith("$${", i) or source.startswith("%%{", i):
            literal.append(source[i + 1:i + 3])
            i += 3
            continue
        if source.startswith("${", i) or source.startswith("%{", i):
            end = _matching_brace(source, i + 1)
            if char == "%":
                directive = True
            else:
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(("expr", source[i + 2:end].strip().strip("~").strip()))
            i = end + 1
            continue
        if char == '"':
            if literal:
                parts.append("".join(literal))
            return parts, i + 1, directive
        literal.append(char)
        i += 1
    raise _ParseError("unterminated string")


def _matching_brace(source: str, open_index: int) -> int:
    depth = 0
    i = open_index
    while i < len(source):
        char = source[i]
        if char == '"':
            _, i, _ = _scan_template(source, i + 1)
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _ParseError("unbalanced braces")


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        if source[i] == '"':
            parts, end, directive = _scan_template(source, i + 1)
            tokens.append(_Token("string", (parts, directive), source[i:end]))
            i = end
            continue
        match = _TOKEN.match(source, i)
        if not match:
            raise _ParseError(f"unexpected {source[i]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            text = match.group()
            value: Any = text
            if kind == "number":
                value = float(text) if any(c in text for c in ".eE") else int(text)
            tokens.append(_Token(kind, value, text))
        i = match.end()
    tokens.append(_Token("end", None, ""))
    return tokens


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _functions() -> dict[str, Callable[..., Any]]:
    def length(value: Any) -> Any:
        return len(value) if isinstance(value, (str, list, dict)) else Unknown("length(...)")

    def lookup(mapping: Any, key: Any, *default: Any) -> Any:
        if isinstance(mapping, dict) and isinstance(key, str):
            if key in mapping:
                return mapping[key]
            return default[0] if default else Unknown(f"lookup(..., {key!r})")
        return Unknown("lookup(...)")

    def merge(*maps: Any) -> Any:
        merged: dict[str, Any] = {}
        for mapping in maps:
            if not isinstance(mapping, dict):
                return Unknown("merge(...)")
            merged.update(mapping)
        return merged

    def concat(*lists: Any) -> Any:
        if all(isinstance(item, list) for item in lists):
            return [v for item in lists for v in item]
        return Unknown("concat(...)")

    def coalesce(*values: Any) -> Any:
        for value in values:
            if isinstance(value, Unknown):
                return Unknown("coalesce(...)")
            if value not in (None, ""):
                return value
        return None

    def tonumber(value: Any) -> Any:
        if _is_number(value):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            try:
                return float(value)
            except (TypeError, ValueError):
                return Unknown("tonumber(...)")

    def tobool(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        return Unknown("tobool(...)")

    def tostring(value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else (str(value) if _is_number(value)
                                                     else Unknown("tostring(...)"))

    def join(separator: Any, items: Any) -> Any:
        if isinstance(separator, str) and isinstance(items, list) and \
                all(isinstance(i, str) for i in items):
            return separator.join(items)
        return Unknown("join(...)")

    def jsonencode(value: Any) -> Any:
        # Terraform writes objects with their keys sorted and no spaces.
        if not is_known(value):
            return Unknown("jsonencode(...)")
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    return {
        "length": length, "lookup": lookup, "merge": merge, "concat": concat,
        "coalesce": coalesce, "tonumber": tonumber, "tobool": tobool, "tostring": tostring,
        "join": join, "jsonencode": jsonencode,
        "lower": lambda v: v.lower() if isinstance(v, str) else Unknown("lower(...)"),
        "upper": lambda v: v.upper() if isinstance(v, str) else Unknown("upper(...)"),
        "contains": lambda items, v: (v in items) if isinstance(items, list) and is_known(v)
        else Unknown("contains(...)"),
        "toset": lambda v: v, "tolist": lambda v: v, "tomap": lambda v: v,
        "startswith": lambda v, p: v.startswith(p) if isinstance(v, str) and isinstance(p, str)
        else Unknown("startswith(...)"),
        "endswith": lambda v, p: v.endswith(p) if isinstance(v, str) and isinstance(p, str)
        else Unknown("endswith(...)"),
        "trimspace": lambda v: v.strip() if isinstance(v, str) else Unknown("trimspace(...)"),
    }


_FUNCTIONS = _functions()


class _Parser:
    """Evaluates one HCL expression while parsing it (precedence climbing)."""

    def __init__(self, source: str, scope: Scope,
                 bindings: Mapping[str, Any] | None = None) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.position = 0
        self.scope = scope
        # Iterators bound while a block is evaluated: `count.index`, `each.key`, a dynamic
        # block's `tag.value`.
        self.bindings = dict(bindings or {})

    # token helpers
    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.position + offset, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.position += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token.kind == "op" and token.text == text:
            self.position += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise _ParseError(f"expected {text!r} at {self.peek().text!r}")

    def parse(self) -> Any:
        value = self.conditional()
        if self.peek().kind != "end":
            raise _ParseError(f"unexpected {self.peek().text!r}")
        return value

    # grammar
    def conditional(self) -> Any:
        condition = self.binary(0)
        if not self.accept("?"):
            return condition
        when_true = self.conditional()
        self.expect(":")
        when_false = self.conditional()
        if isinstance(condition, bool):
            return when_true if condition else when_false
        if is_known(when_true) and when_true == when_false:
            return when_true
        return Unknown(f"conditional on {condition!r}")

    _LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"),
    )

    def binary(self, level: int) -> Any:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in self._LEVELS[level]:
            operator = self.take().text
            right = self.binary(level + 1)
            left = _apply(operator, left, right)
        return left

    def unary(self) -> Any:
        if self.accept("!"):
            value = self.unary()
            return (not value) if isinstance(value, bool) else Unknown("!")
        if self.accept("-"):
            value = self.unary()
            return -value if _is_number(value) else Unknown("-")
        return self.postfix(self.primary())

    def postfix(self, value: Any) -> Any:
        while True:
            if self.accept("."):
                token = self.take()
                if token.kind == "op" and token.text == "*":
                    value = self.splat(value)
                    continue
                value = _index(value, token.value)
            elif self.peek().kind == "op" and self.peek().text == "[":
                if self.peek(1).text == "*" and self.peek(2).text == "]":
                    self.position += 3
                    value = self.splat(value)
                    continue
                self.take()
                key = self.conditional()
                self.expect("]")
                value = _index(value, key)
            else:
                return value

    def splat(self, value: Any) -> Any:
        """`list[*].attr`: the attribute of every element. Only a known list is mapped (the
        instances of a counted resource, say); anything else stays unknown."""
        names: list[str] = []
        while self.peek().kind == "op" and self.peek().text == "." and \
                self.peek(1).kind == "ident":
            self.take()
            names.append(self.take().text)
        if not isinstance(value, list):
            return Unknown("splat")
        mapped = []
        for item in value:
            for name in names:
                item = _index(item, name)
            mapped.append(item)
        return mapped

    def primary(self) -> Any:
        token = self.take()
        if token.kind == "number":
            return token.value
        if token.kind == "string":
            return self.template(token)
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return token.text == "true"
            if token.text == "null":
                return None
            if self.peek().text == "(" and self.peek().kind == "op":
                return self.call(token.text)
            return self.reference(token.text)
        if token.kind == "op":
            if token.text == "(":
                value = self.conditional()
                self.expect(")")
                return value
            if token.text == "[":
                return self.sequence()
            if token.text == "{":
                return self.mapping()
        raise _ParseError(f"unexpected {token.text!r}")

    def template(self, token: _Token) -> Any:
        parts, directive = token.value
        if directive:
            return Unknown("template directive", text=token.text[1:-1])
        values: list[Any] = []
        for part in parts:
            values.append(part if isinstance(part, str) else
                          _Parser(part[1], self.scope, self.bindings).parse())
        if len(values) == 1 and not isinstance(parts[0], str):
            return values[0]  # "${x}" is x itself, whatever its type
        if all(isinstance(v, (str, int, float, bool)) for v in values):
            return "".join(_as_text(v) for v in values)
        readable = "".join(_as_text(v) if isinstance(v, (str, int, float, bool))
                           else "${...}" for v in values)
        return Unknown("template", text=readable)

    def skip_to(self, closer: str) -> None:
        depth = 1
        openers = {")": "(", "]": "[", "}": "{"}
        while depth:
            token = self.take()
            if token.kind == "end":
                raise _ParseError(f"missing {closer!r}")
            if token.kind == "op" and token.text in ("(", "[", "{"):
                depth += 1
            elif token.kind == "op" and token.text in openers:
                depth -= 1

    def sequence(self) -> Any:
        if self.peek().kind == "ident" and self.peek().text == "for":
            self.skip_to("]")
            return Unknown("for expression")
        items: list[Any] = []
        while not self.accept("]"):
            items.append(self.conditional())
            if not self.accept(","):
                self.expect("]")
                break
        return items

    def mapping(self) -> Any:
        if self.peek().kind == "ident" and self.peek().text == "for":
            self.skip_to("}")
            return Unknown("for expression")
        result: dict[str, Any] = {}
        while not self.accept("}"):
            key_token = self.peek()
            if key_token.kind == "ident" and self.peek(1).text in ("=", ":"):
                self.take()
                key: Any = key_token.text
            else:
                key = self.conditional()
            if not (self.accept("=") or self.accept(":")):
                raise _ParseError("expected = in object")
            value = self.conditional()
            result[key if isinstance(key, str) else repr(key)] = value
            self.accept(",")
        return result

    def call(self, name: str) -> Any:
        self.expect("(")
        args: list[Any] = []
        while not self.accept(")"):
            args.append(self.conditional())
            self.accept("...")
            if not self.accept(","):
                self.expect(")")
                break
        if name in ("file", "templatefile"):
            return self.scope.read_file(name, args)
        if name in ("base64encode", "base64gzip"):
            # Kept as its text, like Fn::Base64 in the CloudFormation model: user data readable.
            return args[0] if args else Unknown(name)
        function = _FUNCTIONS.get(name)
        if function is None:
            readable = next((a.text for a in args if isinstance(a, Unknown) and a.text), None)
            return Unknown(f"{name}(...)", text=readable)
        if any(isinstance(a, Unknown) for a in args) and name not in ("coalesce", "merge"):
            readable = next((a.text for a in args if isinstance(a, Unknown) and a.text), None)
            return Unknown(f"{name}(...)", text=readable)
        try:
            return function(*args)
        except (TypeError, ValueError, IndexError, KeyError):
            return Unknown(f"{name}(...)")

    def reference(self, root: str) -> Any:
        # Collect the traversal first: `aws_launch_template.web.id` names a thing that only
        # exists after apply; `var.x` and `local.x` are looked up.
        names = [root]
        while self.peek().kind == "op" and self.peek().text == "." and \
                self.peek(1).kind == "ident":
            self.take()
            names.append(self.take().text)
        if root in self.bindings:
            value = self.bindings[root]
            for name in names[1:]:
                value = _index(value, name)
            return value
        if root == "var" and len(names) >= 2:
            value = self.scope.variable(names[1])
            for name in names[2:]:
                value = _index(value, name)
            return value
        if root == "local" and len(names) >= 2:
            value = self.scope.local(names[1])
            for name in names[2:]:
                value = _index(value, name)
            return value
        if names[:2] == ["path", "module"]:
            return self.scope.module_path
        if names[:2] in (["path", "root"], ["path", "cwd"]):
            return "."
        if root == "module" and len(names) >= 3:
            value = self.scope.module_output(names[1], names[2])
            for name in names[3:]:
                value = _index(value, name)
            return value
        if len(names) >= 2 and root not in ("data", "module", "path", "terraform", "self", "count",
                                             "each"):
            value = self.scope.resource_value(root, names[1])
            if value is not None:
                for name in names[2:]:
                    value = _index(value, name)
                return value
        return Unknown(".".join(names))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Unknown) or isinstance(key, Unknown):
        expression = value.expression if isinstance(value, Unknown) else "value"
        if isinstance(key, str):
            return Unknown(f"{expression}.{key}")
        # A literal index stays readable: `names[1]` says which zone, `names[...]` would not.
        return Unknown(f"{expression}[{int(key)}]" if _is_number(key) else f"{expression}[...]")
    if isinstance(value, dict) and isinstance(key, str) and key in value:
        return value[key]
    if isinstance(value, list) and _is_number(key) and 0 <= int(key) < len(value):
        return value[int(key)]
    return Unknown(f"[{key!r}]")


def _apply(operator: str, left: Any, right: Any) -> Any:
    if operator == "&&":
        if left is False or right is False:
            return False
        return left and right if isinstance(left, bool) and isinstance(right, bool) \
            else Unknown("&&")
    if operator == "||":
        if left is True or right is True:
            return True
        return left or right if isinstance(left, bool) and isinstance(right, bool) \
            else Unknown("||")
    if not (is_known(left) and is_known(right)):
        return Unknown(operator)
    if operator == "==":
        return left == right
    if operator == "!=":
        return left != right
    if not (_is_number(left) and _is_number(right)):
        return Unknown(operator)
    if operator == "/" and right == 0:
        return Unknown(operator)
    return {
        "<": lambda: left < right, "<=": lambda: left <= right,
        ">": lambda: left > right, ">=": lambda: left >= right,
        "+": lambda: left + right, "-": lambda: left - right,
        "*": lambda: left * right, "/": lambda: left / right, "%": lambda: left % right,
    }[operator]()


def wraps_whole(raw: str) -> bool:
    """Whether `raw` is one `${...}` interpolation from start to end."""
    try:
        return _matching_brace(raw, 1) == len(raw) - 1
    except _ParseError:
        return False


def expression_text(raw: Any) -> str:
    """Source-like text of a serialized value, for messages: `${aws_x.y.id}` -> `aws_x.y.id`."""
    if isinstance(raw, list):
        return "[" + ", ".join(expression_text(v) for v in raw) + "]"
    if isinstance(raw, str):
        if raw.startswith("${") and wraps_whole(raw):
            return raw[2:-1]
        return unquote(raw)
    return str(raw)


def reference_names(expression: str, resource_type: str) -> list[str]:
    """Names of `resource_type` resources an expression refers to (`aws_x.NAME.attr`)."""
    return re.findall(rf"(?<![\w.]){re.escape(resource_type)}\.([A-Za-z_][\w-]*)", expression)
