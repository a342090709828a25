"""The Terraform model: modules wired to callers, expressions evaluated as far as tfvars go."""

from __future__ import annotations

import pytest

from services.advisor.terraform_model import TerraformConfig, Unknown, parse_hcl, readable_text

ROOT = '''
variable "name" {
  type    = string
  default = "demo"
}
variable "nodes" {
  type = number
}
variable "tags" {
  type    = map(string)
  default = {}
}
variable "cidrs" {
  type    = list(string)
  default = ["10.0.1.0/24", "10.0.2.0/24"]
}
locals {
  prefix = "sbx-${lookup(var.tags, "sandbox:env-id", "local")}"
  many   = var.nodes >= 2
}
module "app" {
  source = "./modules/app"
  label  = "${local.prefix}-app"
  nodes  = var.nodes
  vpc_id = aws_vpc.main.id
}
'''

APP = '''
variable "label" {
  type = string
}
variable "nodes" {
  type = number
}
variable "vpc_id" {
  type = string
}
resource "aws_instance" "web" {
  user_data = templatefile("${path.module}/boot.sh.tftpl", { label = var.label })
  tags = {
    Name = var.label
  }
}
'''

TFVARS = 'nodes = 3\ntags = {\n  "sandbox:env-id" = "e1"\n}\n'


@pytest.fixture
def config() -> TerraformConfig:
    files = {"main.tf": ROOT, "modules/app/main.tf": APP,
             "modules/app/boot.sh.tftpl": "#!/bin/bash\necho ${label}\n",
             "terraform.tfvars": TFVARS}
    parsed = {path: parse_hcl(text) for path, text in files.items() if path.endswith(".tf")}
    return TerraformConfig(parsed, files=files, tfvars=parse_hcl(TFVARS))


@pytest.mark.parametrize(("expression", "value"), [
    ('"plain"', "plain"),
    ('"a\\n\\"b\\" \\u00e9"', 'a\n"b" é'),
    ('"$${literal}"', "${literal}"),
    ("var.nodes", 3),
    ("var.name", "demo"),
    ("var.cidrs[1]", "10.0.2.0/24"),
    ("local.prefix", "sbx-e1"),
    ("local.many", True),
    ('var.nodes > 2 ? "big" : "small"', "big"),
    ("!local.many || var.nodes == 3", True),
    ("-var.nodes + 1", -2),
    ('upper("${var.name}-x")', "DEMO-X"),
    ('contains(["a", "b"], "b")', True),
    ('merge(var.tags, { Name = "n" })', {"sandbox:env-id": "e1", "Name": "n"}),
    ('length([for c in var.cidrs : c]) > 0 ? 1 : 1', 1),
    ("null", None),
    ("1.5", 1.5),
])
def test_known_values(config: TerraformConfig, expression: str, value: object) -> None:
    assert config.root.evaluate(f"${{{expression}}}" if not expression.startswith('"')
                                else expression) == value


@pytest.mark.parametrize(("expression", "unknown"), [
    ("aws_vpc.main.id", "aws_vpc.main.id"),
    ("data.aws_ssm_parameter.ami.insecure_value", "data.aws_ssm_parameter.ami.insecure_value"),
    ("[for c in var.cidrs : upper(c)]", "for expression"),
    ("var.undeclared", "var.undeclared"),
    ('aws_vpc.main.id == "x" ? 1 : 2', "conditional on Unknown('==')"),
])
def test_values_only_known_after_apply(config: TerraformConfig, expression: str,
                                       unknown: str) -> None:
    value = config.root.evaluate(f"${{{expression}}}")
    assert isinstance(value, Unknown)
    assert value.expression == unknown


def test_a_module_sees_its_callers_values(config: TerraformConfig) -> None:
    (web,) = list(config.resources("aws_instance"))
    assert web.address == "module.app.aws_instance.web"
    assert web.value("tags") == {"Name": "sbx-e1-app"}
    assert web.module.variable("nodes") == 3
    assert isinstance(web.module.variable("vpc_id"), Unknown)
    # templatefile is not rendered, but its text stays readable for rules that scan user data.
    user_data = web.value("user_data")
    assert isinstance(user_data, Unknown)
    assert readable_text(user_data) == "#!/bin/bash\necho ${label}\n"


def test_dynamic_blocks_expand_with_their_iterator() -> None:
    text = '''
    resource "aws_autoscaling_group" "g" {
      dynamic "tag" {
        for_each = { a = "1", b = "2" }
        content {
          key                 = tag.key
          value               = tag.value
          propagate_at_launch = true
        }
      }
      tag {
        key   = "static"
        value = "s"
      }
      dynamic "tag" {
        for_each = ["x"]
        iterator = t
        content {
          key   = t.value
          value = "${t.key}!"
        }
      }
    }
    '''
    config = TerraformConfig({"main.tf": parse_hcl(text)}, files={"main.tf": text})
    (group,) = list(config.resources())
    expanded = [(group.module.evaluate(block["key"], bindings),
                 group.module.evaluate(block["value"], bindings))
                for block, bindings in group.expanded_blocks("tag")]
    assert expanded == [("static", "s"), ("a", "1"), ("b", "2"), ("x", "x!")]
