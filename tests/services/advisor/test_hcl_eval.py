"""The HCL expression evaluator on its own, against a scope written out by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from services.advisor.hcl_eval import Unknown, evaluate, expression_text, is_known


@dataclass
class HandScope:
    """A scope whose variables, locals, module outputs and counted resources are given."""

    variables: dict[str, Any] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[tuple[str, str], Any] = field(default_factory=dict)
    counted: dict[tuple[str, str], int] = field(default_factory=dict)
    module_path: str = "modules/app"

    def variable(self, name: str) -> Any:
        return self.variables.get(name, Unknown(f"var.{name}"))

    def local(self, name: str) -> Any:
        return self.locals.get(name, Unknown(f"local.{name}"))

    def read_file(self, function: str, args: list[Any]) -> Any:
        return Unknown(f"{function}(...)", text="file text")

    def module_output(self, module: str, output: str) -> Any:
        return self.outputs.get((module, output), Unknown(f"module.{module}.{output}"))

    def resource_value(self, type_: str, name: str) -> Any | None:
        count = self.counted.get((type_, name))
        if count is None:
            return None
        return [Unknown(f"{type_}.{name}[{i}]") for i in range(count)]


SCOPE = HandScope(
    variables={"cidrs": ["10.0.1.0/24", "10.0.2.0/24"], "nodes": 2, "name": "demo"},
    locals={"tags": {"Name": "demo"}},
    outputs={("network", "subnet_ids"): [Unknown("aws_subnet.a[0].id"),
                                         Unknown("aws_subnet.a[1].id")]},
    counted={("aws_subnet", "private"): 2},
)


@pytest.mark.parametrize(("raw", "value"), [
    ('"${var.name}-web"', "demo-web"),
    ("${var.cidrs[count.index]}", "10.0.2.0/24"),
    ('"${each.key}=${each.value}"', "k=v"),
    ("${length(aws_subnet.private)}", 2),
    ("${length(aws_subnet.private[*].id)}", 2),
    ("${length(module.network.subnet_ids)}", 2),
    ('${jsonencode({ b = [1, true], a = "x" })}', '{"a":"x","b":[1,true]}'),
    ("${var.nodes > 1}", True),
    ("${path.module}", "modules/app"),
    ({"tags": "${local.tags}", "__is_block__": True}, {"tags": {"Name": "demo"}}),
    (["${var.nodes}", 3], [2, 3]),
])
def test_known_values(raw: Any, value: Any) -> None:
    bindings = {"count": {"index": 1}, "each": {"key": "k", "value": "v"}}
    assert evaluate(raw, SCOPE, bindings) == value


@pytest.mark.parametrize(("raw", "expression"), [
    # A literal index stays in the expression: which zone a subnet is in can still be read.
    ("${data.aws_availability_zones.available.names[1]}",
     "data.aws_availability_zones.available.names[1]"),
    ("${aws_subnet.private[0].id}", "aws_subnet.private[0].id"),
    ("${aws_vpc.main.id}", "aws_vpc.main.id"),
    ("${module.other.value}", "module.other.value"),
    ("${aws_vpc.main[*].id}", "splat"),
    ("${jsonencode({ id = aws_vpc.main.id })}", "jsonencode(...)"),
    ("${var.missing}", "var.missing"),
    ("${count.index}", "count.index"),
])
def test_values_only_known_after_apply(raw: str, expression: str) -> None:
    value = evaluate(raw, SCOPE)
    assert isinstance(value, Unknown) and value.expression == expression


def test_a_splat_keeps_each_element() -> None:
    value = evaluate("${aws_subnet.private[*].id}", SCOPE)
    assert value == [Unknown("aws_subnet.private[0].id"), Unknown("aws_subnet.private[1].id")]
    assert not is_known(value)


def test_text_that_does_not_parse_stays_unknown_as_written() -> None:
    assert evaluate("${var.name +}", SCOPE) == Unknown("${var.name +}")


def test_expression_text_unwraps_one_interpolation() -> None:
    assert expression_text("${aws_x.y.id}") == "aws_x.y.id"
    assert expression_text('"${a}-${b}"') == "${a}-${b}"
    assert expression_text(["${a.b}", 1]) == "[a.b, 1]"
