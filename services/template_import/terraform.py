"""An uploaded Terraform module: every `.tf` file parsed (python-hcl2), the module formatted as
`terraform fmt` writes it (checked by the portal's own Terraform), and its launch form derived
from the root module's `variable` blocks, its outputs from its `output` blocks.

Variables keep their names. Terraform checks every `validation` block itself when it plans a
launch; the simple ones are also turned into the form's own checks (`_conditions`), so a
student sees the mistake in the form rather than minutes later in a failed run.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Mapping
from typing import Any

from services.advisor.hcl_eval import Unknown, evaluate, expression_text, unquote
from services.advisor.terraform_model import parse_hcl
from services.catalog_service import OutputSpec, ParameterSpec
from services.data_dir import ensure_private_dir, private_opener
from services.i18n import _
from services.settings import Settings
from services.template_import.model import Derived, InvalidTemplateError

# `terraform fmt` reads a module in well under a second; the rest is the child's start.
FMT_TIMEOUT_S = 60.0
PORTAL_VARIABLES = ("region", "tags")
_URL_NAME = re.compile(r"(url|uri|website)$", re.IGNORECASE)
_SIMPLE_TYPES = {
    "string": {"type": "string"}, "number": {"type": "number"}, "bool": {"type": "boolean"},
    "list(string)": {"type": "list", "item_type": "string"},
    "set(string)": {"type": "list", "item_type": "string"},
    "list(number)": {"type": "list", "item_type": "number"},
    "set(number)": {"type": "list", "item_type": "number"},
}


class _Literals:
    """The scope a variable's default and a validation's literal list are evaluated in: they
    may refer to nothing, so every reference stays unknown."""

    module_path = "."

    def variable(self, name: str) -> Any:
        return Unknown(f"var.{name}")

    def local(self, name: str) -> Any:
        return Unknown(f"local.{name}")

    def read_file(self, function: str, args: list[Any]) -> Any:
        return Unknown(f"{function}(...)")

    def module_output(self, module: str, output: str) -> Any:
        return Unknown(f"module.{module}.{output}")

    def resource_value(self, type_: str, name: str) -> Any | None:
        return None


def _literal(raw: Any) -> Any:
    return evaluate(raw, _Literals())


def parse(files: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every `.tf` file parsed; raises ValidationError naming each file that does not parse."""
    parsed: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for path, text in sorted(files.items()):
        if not path.endswith(".tf"):
            continue
        try:
            parsed[path] = parse_hcl(text)
        except Exception as exc:  # python-hcl2 raises lark's many error types on bad input
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            errors.append(_("{path} does not parse: {error}").format(path=path, error=first))
    if errors:
        raise InvalidTemplateError({"source": "; ".join(errors)})
    return parsed


def check_formatted(files: Mapping[str, str], *, settings: Settings) -> None:
    """`terraform fmt -check` on the module, with the portal's Terraform; raises
    ValidationError naming the files it would change, or Terraform's own error."""
    from services.engines.terraform_runner import TerraformError, TerraformRunner

    scratch = ensure_private_dir(ensure_private_dir(settings.data_dir / "terraform")
                                 / ".imports") / uuid.uuid4().hex[:12]
    ensure_private_dir(scratch)
    try:
        for relative, text in files.items():
            target = scratch / relative
            ensure_private_dir(target.parent)
            with open(target, "w", encoding="utf-8", opener=private_opener) as handle:
                handle.write(text)
        try:
            result = TerraformRunner(settings).run(
                ["fmt", "-check", "-list=true", "-recursive", "-no-color"], cwd=scratch,
                deadline=time.monotonic() + FMT_TIMEOUT_S)
        except TerraformError as exc:
            raise InvalidTemplateError({"source": _("the module cannot be checked: {reason}")
                                        .format(reason=exc.reason)}) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if result.ok:
        return
    unformatted = sorted(line.strip() for line in result.lines if line.strip())
    if result.returncode == 3 and unformatted:
        raise InvalidTemplateError({"source": _(
            "not formatted as `terraform fmt` writes it: {files}; run `terraform fmt "
            "-recursive` in the module's folder and upload it again").format(
                files=", ".join(unformatted))})
    raise InvalidTemplateError({"source": f"terraform fmt: {result.reason()}"})


def _blocks(parsed: Mapping[str, dict[str, Any]], kind: str, *, root_only: bool = True
            ) -> list[tuple[str, dict[str, Any], str]]:
    found: list[tuple[str, dict[str, Any], str]] = []
    for path, document in parsed.items():
        if root_only and "/" in path:
            continue
        for entry in document.get(kind) or []:
            for label, body in entry.items():
                if isinstance(body, dict):
                    found.append((unquote(label), body, path))
    return found


def _type_text(body: Mapping[str, Any]) -> str | None:
    if "type" not in body:
        return None
    return re.sub(r"\s+", "", expression_text(body["type"]))


def _split_and(condition: str) -> list[str] | None:
    """The conjuncts of `a && b && c` at the top level; None for a condition with `||`, which
    no part of says anything on its own."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(condition):
        char = condition[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and condition.startswith("&&", i):
            parts.append(condition[start:i])
            start = i + 2
            i += 1
        elif depth == 0 and condition.startswith("||", i):
            return None
        i += 1
    parts.append(condition[start:])
    return [_unwrap(p.strip()) for p in parts if p.strip()]


def _unwrap(text: str) -> str:
    while text.startswith("(") and text.endswith(")"):
        inner = text[1:-1]
        if _split_depth_ok(inner):
            text = inner.strip()
        else:
            break
    return text


def _split_depth_ok(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _regex_for_form(pattern: str) -> str:
    """Terraform's `regex` finds a match anywhere in the value; the form matches the whole
    value, so a pattern not anchored at both ends may have anything around it."""
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f"(?s:.*(?:{pattern}).*)"


def _conditions(name: str, spec: dict[str, Any], validations: list[dict[str, Any]],
                findings: list[str]) -> None:
    """Turn the simple `validation` conditions of variable `name` into the form's checks:
    `contains([...], var.x)` -> allowed, `can(regex("...", var.x))` -> pattern (its
    error_message the form's message), `var.x >= N` and `var.x <= N` -> min and max,
    `length(var.x) >= N` and `<= N` -> the lengths of a string. Only whole conjuncts of a
    top-level `&&` are taken, each of which the condition implies; Terraform checks the whole
    condition again at launch, so what is left out is still checked, a few minutes later."""
    ref = rf"var\.{re.escape(name)}"
    scalar = spec["type"] in ("string", "number")
    for validation in validations:
        condition = expression_text(validation.get("condition", ""))
        message = _literal(validation.get("error_message"))
        parts = _split_and(condition)
        left = parts is None
        for part in parts or []:
            if not _condition(part, ref, spec, scalar, message):
                left = True
        if left:
            findings.append(f"variable {name}: validation `{condition}` is checked by Terraform "
                            "at launch")


def _condition(part: str, ref: str, spec: dict[str, Any], scalar: bool, message: Any) -> bool:
    contains = re.fullmatch(rf"contains\((\[.*\]),\s*{ref}\)", part, re.DOTALL)
    if contains and scalar:
        values = _literal("${" + contains.group(1) + "}")
        if isinstance(values, list) and values and all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            spec["allowed"] = tuple(values)
            return True
        return False
    regex = re.fullmatch(rf'can\(regex\(("(?:[^"\\]|\\.)*"),\s*{ref}\)\)', part, re.DOTALL)
    if regex and spec["type"] == "string":
        pattern = _literal(regex.group(1))
        if not isinstance(pattern, str):
            return False
        try:
            re.compile(pattern)
        except re.error:
            return False
        spec["pattern"] = _regex_for_form(pattern)
        if isinstance(message, str) and message:
            spec["pattern_message"] = message
        return True
    number = r"(-?\d+(?:\.\d+)?)"
    for subject, field_low, field_high, applies in (
            (ref, "min", "max", spec["type"] == "number"),
            (rf"length\({ref}\)", "min_length", "max_length", spec["type"] == "string")):
        if not applies:
            continue
        bound = re.fullmatch(rf"{subject}\s*(>=|<=)\s*{number}", part) or \
            re.fullmatch(rf"{number}\s*(>=|<=)\s*{subject}", part)
        if bound is None:
            continue
        if bound.re.pattern.startswith(subject):
            operator, value = bound.group(1), bound.group(2)
        else:
            value, operator = bound.group(1), {"<=": ">=", ">=": "<="}[bound.group(2)]
        number_value = float(value) if "." in value else int(value)
        if field_low == "min_length" and (not isinstance(number_value, int)
                                          or number_value < 0
                                          or (operator == "<=" and number_value == 0)):
            return False
        spec[field_low if operator == ">=" else field_high] = number_value
        return True
    return False


def _kind(name: str, type_text: str | None, default: Any) -> dict[str, Any] | None:
    """The form's type for a variable; None for one the form cannot fill (a map, an object)."""
    if type_text in _SIMPLE_TYPES:
        return dict(_SIMPLE_TYPES[type_text])
    if type_text not in (None, "any"):
        return None
    # Untyped: what its default is.
    if isinstance(default, bool):
        return {"type": "boolean"}
    if isinstance(default, (int, float)):
        return {"type": "number"}
    if isinstance(default, list):
        numeric = default and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                  for v in default)
        if all(isinstance(v, str) for v in default) or numeric:
            return {"type": "list", "item_type": "number" if numeric else "string"}
        return None
    if isinstance(default, dict):
        return None
    return {"type": "string"}


def _variable(name: str, body: dict[str, Any], findings: list[str]) -> ParameterSpec | None:
    type_text = _type_text(body)
    has_default = "default" in body
    default = _literal(body["default"]) if has_default else None
    kind = _kind(name, type_text, default)
    if kind is None:
        if has_default:
            findings.append(f"variable {name} ({type_text or 'a structure'}) keeps its default: "
                            "the launch form has no field for it")
            return None
        raise InvalidTemplateError({"parameters": _(
            "variable {name} is a {type} without a default, which the launch form cannot fill: "
            "give it a default or make it a string, number, bool or list").format(
                name=name, type=type_text or "structure")})
    if has_default and default is None:
        findings.append(f"variable {name} keeps its default null: the launch form has no "
                        "field for an empty value")
        return None
    if isinstance(default, Unknown):
        raise InvalidTemplateError({"parameters": _("variable {name}: its default is not a "
                                                    "value").format(name=name)})
    spec: dict[str, Any] = {
        "name": name, "cfn_key": name, **kind, "secret": body.get("sensitive") is True,
        "description": str(_literal(body.get("description")) or f"Variable {name} of the module."),
        "default": tuple(default) if isinstance(default, list) else default,
    }
    _conditions(name, spec, [v for v in body.get("validation") or [] if isinstance(v, dict)],
                findings)
    try:
        return ParameterSpec.model_validate(spec)
    except ValueError as exc:
        raise InvalidTemplateError({"parameters": _("variable {name}: {error}").format(
            name=name, error=exc)}) from None


def _portal_variable(name: str, body: Mapping[str, Any]) -> None:
    """`region` and `tags` are set by the portal: they must take what it sets."""
    type_text = _type_text(body)
    if name == "region" and type_text not in (None, "any", "string"):
        raise InvalidTemplateError({"parameters": _("variable region is set by the portal to "
                                                    "the launch's region: declare it as a "
                                                    "string")})
    if name == "tags" and not (type_text in (None, "any") or type_text.startswith("map(")):
        raise InvalidTemplateError({"parameters": _("variable tags is set by the portal to the "
                                                    "environment's tags: declare it as "
                                                    "map(string)")})


def derive(files: Mapping[str, str]) -> Derived:
    """The form and outputs of a module that parses."""
    parsed = parse(files)
    findings: list[str] = []
    settings_blocks = [(path, block) for path, document in parsed.items()
                       for block in document.get("terraform") or [] if isinstance(block, dict)]
    for path, block in settings_blocks:
        if "backend" in block:
            raise InvalidTemplateError({"source": _(
                "{path} declares a backend: the portal keeps each environment's state itself "
                "(locally, or in S3 on AWS); remove the backend block").format(path=path)})
    for name, body, path in _blocks(parsed, "module", root_only=False):
        source = str(_literal(body.get("source")) or "")
        if not source.startswith(("./", "../")):
            findings.append(f"module {name} ({path}) comes from {source}: Terraform downloads "
                            "it at each launch, which needs the internet")
    parameters: list[ParameterSpec] = []
    portal_variables: list[str] = []
    seen: set[str] = set()
    for name, body, _path in _blocks(parsed, "variable"):
        if name in seen:
            raise InvalidTemplateError({"parameters": _("variable {name} is declared twice")
                                        .format(name=name)})
        seen.add(name)
        if name in PORTAL_VARIABLES:
            _portal_variable(name, body)
            portal_variables.append(name)
            continue
        spec = _variable(name, body, findings)
        if spec is not None:
            parameters.append(spec)
    outputs = [OutputSpec(name=name, cfn_key=name,
                          label=str(_literal(body.get("description")) or name)[:200],
                          kind="url" if _URL_NAME.search(name) else "text")
               for name, body, _ in _blocks(parsed, "output")]
    return Derived(parameters=tuple(parameters), outputs=tuple(outputs), summary=None,
                   findings=tuple(findings),
                   portal_variables=tuple(v for v in PORTAL_VARIABLES if v in portal_variables))

