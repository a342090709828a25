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


NETWORK_ROOT = '''
variable "cidrs" {
  type = list(string)
}
variable "nat" {
  type = bool
}
module "network" {
  source = "./modules/network"
  cidrs  = var.cidrs
  nat    = var.nat
}
module "app" {
  source     = "./modules/app"
  count      = 2
  name       = "app-${count.index}"
  subnet_ids = module.network.subnet_ids
  group_id   = module.network.group_id
}
'''

NETWORK = '''
variable "cidrs" {
  type = list(string)
}
variable "nat" {
  type = bool
}
resource "aws_security_group" "web" {
  description = "web"
}
resource "aws_subnet" "this" {
  count      = length(var.cidrs)
  cidr_block = var.cidrs[count.index]
}
resource "aws_route_table_association" "this" {
  count     = length(aws_subnet.this)
  subnet_id = aws_subnet.this[count.index].id
}
resource "aws_eip" "nat" {
  count = var.nat ? 1 : 0
}
resource "aws_iam_role_policy_attachment" "managed" {
  for_each   = toset(["ReadOnly", "Logs"])
  policy_arn = "arn:aws:iam::aws:policy/${each.key}"
}
resource "aws_route" "later" {
  count = length(aws_vpc.main.ipv6_cidr_block)
}
output "subnet_ids" {
  value = aws_subnet.this[*].id
}
output "group_id" {
  value = aws_security_group.web.id
}
'''

NETWORK_APP = '''
variable "name" {
  type = string
}
variable "subnet_ids" {
  type = list(string)
}
variable "group_id" {
  type = string
}
resource "aws_instance" "web" {
  count                  = length(var.subnet_ids)
  subnet_id              = var.subnet_ids[count.index]
  vpc_security_group_ids = [var.group_id]
  tags = {
    Name = var.name
  }
}
'''


@pytest.fixture
def network() -> TerraformConfig:
    files = {"main.tf": NETWORK_ROOT, "modules/network/main.tf": NETWORK,
             "modules/app/main.tf": NETWORK_APP}
    tfvars = 'cidrs = ["10.0.1.0/24", "10.0.2.0/24"]\nnat = false\n'
    parsed = {path: parse_hcl(text) for path, text in files.items()}
    return TerraformConfig(parsed, files=files, tfvars=parse_hcl(tfvars))


def test_count_and_for_each_expand_into_instances(network: TerraformConfig) -> None:
    subnets = list(network.resource_instances("aws_subnet"))
    assert [(s.address, s.value("cidr_block")) for s in subnets] == [
        ("module.network.aws_subnet.this[0]", "10.0.1.0/24"),
        ("module.network.aws_subnet.this[1]", "10.0.2.0/24")]
    # A count over a counted resource: its length is known before its ids are.
    associations = list(network.resource_instances("aws_route_table_association"))
    assert [a.value("subnet_id") for a in associations] == [
        Unknown("aws_subnet.this[0].id"), Unknown("aws_subnet.this[1].id")]
    assert list(network.resource_instances("aws_eip")) == []
    attachments = list(network.resource_instances("aws_iam_role_policy_attachment"))
    assert sorted((a.key, a.value("policy_arn")) for a in attachments) == [
        ("Logs", "arn:aws:iam::aws:policy/Logs"), ("ReadOnly", "arn:aws:iam::aws:policy/ReadOnly")]
    # Rules still read each block once, as written.
    assert [r.address for r in network.resources("aws_subnet")] == [
        "module.network.aws_subnet.this"]


def test_a_count_known_only_after_apply_leaves_one_unknown_instance(
        network: TerraformConfig) -> None:
    (route,) = list(network.resource_instances("aws_route"))
    assert isinstance(route.key, Unknown)
    assert route.address == "module.network.aws_route.later"


def test_a_counted_module_is_one_instance_per_index_and_reads_outputs(
        network: TerraformConfig) -> None:
    instances = list(network.resource_instances("aws_instance"))
    assert [(i.address, i.value("tags")) for i in instances] == [
        ("module.app[0].aws_instance.web[0]", {"Name": "app-0"}),
        ("module.app[0].aws_instance.web[1]", {"Name": "app-0"}),
        ("module.app[1].aws_instance.web[0]", {"Name": "app-1"}),
        ("module.app[1].aws_instance.web[1]", {"Name": "app-1"})]
    assert instances[1].value("subnet_id") == Unknown("aws_subnet.this[1].id")


def test_a_reference_is_followed_through_variables_and_outputs(network: TerraformConfig) -> None:
    web = next(iter(network.resource_instances("aws_instance")))
    (group_id,) = web.body["vpc_security_group_ids"]
    group = web.module.referenced_resource(group_id)
    assert group is not None and group.address == "module.network.aws_security_group.web"
    association = next(iter(network.resource_instances("aws_route_table_association")))
    assert association.module.referenced_resource("${aws_subnet.this[1].id}").address == \
        "module.network.aws_subnet.this[1]"
    assert web.module.referenced_resource("${var.name}") is None
