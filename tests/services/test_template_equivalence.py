"""Every built-in template's Terraform and CloudFormation launch the same resources: for its
defaults, for parameter combinations drawn from its manifest, and the comparison notices a copy of
a template whose two sides were made to disagree."""

from __future__ import annotations

import ipaddress
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.advisor.equivalence import (
    AFTER_APPLY,
    Description,
    Difference,
    NormalResource,
    compare,
    compare_descriptions,
    describe,
)
from services.catalog_service import Catalog, ParameterSpec, TemplateManifest
from services.errors import ValidationError
from services.render_service import cloudformation_parameters, validate_parameters
from services.template_model import load_template, resolve_template
from tests.templates_support import TEMPLATES_DIR, catalog

TEMPLATE_IDS = [t.id for t in catalog().all_templates()]
PRIVATE_RANGES = [ipaddress.IPv4Network(r) for r in ("10.0.0.0/8", "172.16.0.0/12",
                                                     "192.168.0.0/16")]


def defaults(manifest: TemplateManifest) -> dict[str, Any]:
    return validate_parameters(manifest, {})


# -------------------------------------------------------------------------------- the built-ins


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_defaults_launch_the_same_resources(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    assert compare(manifest, defaults(manifest)) == []


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_resource_is_described_on_both_sides(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    values = defaults(manifest)
    cloudformation, terraform = describe(manifest, values)
    for side in (cloudformation, terraform):
        unmapped = [(r.type, r.name) for r in side.resources if "mapping" in r.properties]
        assert unmapped == [], side.source
    parameters = {p["ParameterKey"]: p["ParameterValue"]
                  for p in cloudformation_parameters(manifest, values)}
    template = resolve_template(load_template(manifest.cloudformation_path.read_text()),
                                parameters, region="us-east-1")
    # Everything CloudFormation creates is described, but a database password's own secret,
    # which is described as the database's.
    secrets = template.of_type("AWS::SecretsManager::Secret")
    assert len(cloudformation.resources) == len(template.resources) - len(secrets)
    assert len(terraform.resources) == len(cloudformation.resources)
    assert cloudformation.types == terraform.types


def _only(side: Description, resource_type: str) -> dict[str, Any]:
    (resource,) = side.of_type(resource_type)
    return dict(resource.properties)


def test_the_descriptions_hold_the_values_the_parameters_set() -> None:
    # Agreement proves little if both sides read nothing: these are the values themselves.
    manifest = catalog().get_template("ha-web")
    values = validate_parameters(manifest, {"min_size": 2, "desired_capacity": 3, "max_size": 6,
                                            "cache_nodes": 1, "enable_nat_gateway": True,
                                            "admin_path": "/staff/"})
    for side in describe(manifest, values):
        group = _only(side, "AWS::AutoScaling::AutoScalingGroup")
        assert (group["min_size"], group["desired_capacity"], group["max_size"]) == (2, 3, 6)
        cache = _only(side, "AWS::ElastiCache::ReplicationGroup")
        assert (cache["num_cache_clusters"], cache["automatic_failover"]) == (1, False)
        assert _only(side, "AWS::RDS::DBInstance")["engine_version"] == "10.11"
        assert len(side.of_type("AWS::EC2::NatGateway")) == 1
        acl = _only(side, "AWS::WAFv2::WebACL")
        assert acl["rules"] == ("0 AWSManagedRulesCommonRuleSet",
                                "1 AWSManagedRulesKnownBadInputsRuleSet",
                                "2 AWSManagedRulesAdminProtectionRuleSet")
        assert '"searchstring":"/staff/"' in acl["rule AWSManagedRulesAdminProtectionRuleSet"]
        subnets = sorted(r.properties["cidr_block"] for r in side.of_type("AWS::EC2::Subnet"))
        assert subnets == ["10.0.1.0/24", "10.0.11.0/24", "10.0.12.0/24", "10.0.2.0/24"]

    manifest = catalog().get_template("three-tier")
    for side in describe(manifest, defaults(manifest)):
        groups = {r.properties["description"]: r.properties
                  for r in side.of_type("AWS::EC2::SecurityGroup")}
        database = groups["Database tier - MySQL only from the web tier security group"]
        assert database["ingress"] == (
            "tcp 3306 from security group "
            "'Web tier - HTTP from anywhere, SSH from one address'",)


# ------------------------------------------------------------------- parameters drawn by Hypothesis


def _network_in(outer: ipaddress.IPv4Network, prefix: int, index: int) -> str:
    size = 2 ** (32 - prefix)
    return str(ipaddress.IPv4Network((int(outer.network_address) + index * size, prefix)))


@st.composite
def _cidr_family(draw: st.DrawFn, children: int) -> tuple[str, list[str]]:
    """A VPC range AWS accepts (/16 to /24 here, leaving room) and `children` subnets inside it
    that do not overlap."""
    block = draw(st.sampled_from(PRIVATE_RANGES))
    prefix = draw(st.integers(max(16, block.prefixlen), 24))
    parent = _network_in(block, prefix,
                         draw(st.integers(0, 2 ** (prefix - block.prefixlen) - 1)))
    if not children:
        return parent, []
    sub_prefix = draw(st.integers(prefix + math.ceil(math.log2(children)) if children > 1
                                  else prefix, 28))
    slots = draw(st.lists(st.integers(0, 2 ** (sub_prefix - prefix) - 1), min_size=children,
                          max_size=children, unique=True))
    network = ipaddress.IPv4Network(parent)
    return parent, [_network_in(network, sub_prefix, slot) for slot in slots]


def _any_cidr() -> st.SearchStrategy[str]:
    return st.builds(lambda address, prefix: str(ipaddress.IPv4Network((address, prefix),
                                                                       strict=False)),
                     st.integers(0, 2 ** 32 - 1), st.integers(0, 32))


def _accepted(manifest: TemplateManifest, parameter: ParameterSpec) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        try:
            validate_parameters(manifest, {parameter.name: value})
        except ValidationError as exc:
            return parameter.name not in exc.field_errors
        return True

    return check


def _in_order(manifest: TemplateManifest) -> list[str]:
    """The integer parameters of `at_most`/`at_least` orderings, each after all it must not
    fall below."""
    pairs = manifest.orderings
    names = [p.name for p in manifest.parameters if any(p.name in pair for pair in pairs)]
    ordered: list[str] = []
    while names:
        ready = next(n for n in names if all(low in ordered for low, high in pairs if high == n))
        ordered.append(ready)
        names.remove(ready)
    return ordered


@st.composite
def parameter_values(draw: st.DrawFn, manifest: TemplateManifest) -> dict[str, Any]:
    """Values for every parameter that `validate_parameters` accepts: allowed lists, integer
    bounds with orderings kept, CIDR blocks with `within` kept and no overlaps, patterns."""
    values: dict[str, Any] = {}
    ordered = _in_order(manifest)
    if ordered:
        specs = [manifest.parameter(name) for name in ordered]
        low = max(s.min for s in specs if s and s.min is not None)
        high = min(s.max for s in specs if s and s.max is not None)
        drawn = sorted(draw(st.lists(st.integers(low, high), min_size=len(ordered),
                                     max_size=len(ordered))))
        values.update(zip(ordered, drawn))
    children: dict[str, list[str]] = {}
    for parameter in manifest.parameters:
        if parameter.within:
            children.setdefault(parameter.within, []).append(parameter.name)
    for parameter in manifest.parameters:
        name = parameter.name
        if name in values or parameter.within:
            continue
        if parameter.allowed:
            values[name] = draw(st.sampled_from(parameter.allowed))
        elif parameter.type == "boolean":
            values[name] = draw(st.booleans())
        elif parameter.type == "integer":
            values[name] = draw(st.integers(parameter.min, parameter.max))
        elif parameter.type == "cidr" and name in children:
            parent, subnets = draw(_cidr_family(len(children[name])))
            values[name] = parent
            values.update(zip(children[name], subnets))
        elif parameter.type == "cidr":
            values[name] = draw(_any_cidr())
        elif parameter.pattern:
            values[name] = draw(st.from_regex(parameter.pattern, fullmatch=True)
                                .filter(_accepted(manifest, parameter)))
        else:
            values[name] = parameter.default
    return values


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
@given(data=st.data())
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_drawn_parameters_launch_the_same_resources(template_id: str,
                                                     data: st.DataObject) -> None:
    manifest = catalog().get_template(template_id)
    drawn = data.draw(parameter_values(manifest))
    # The strategy draws only what a launch may use: a refusal here is the strategy's fault.
    values = validate_parameters(manifest, drawn)
    assert compare(manifest, values) == []


# ------------------------------------------------------------------ a comparison that notices


@pytest.fixture
def altered(tmp_path: Path) -> Callable[..., TemplateManifest]:
    """`altered(template_id, file, old, new)`: a copy of a built-in template with one text
    replaced in one of its files (`cloudformation.yaml` or a path under `terraform/`)."""

    def make(template_id: str, relative: str, old: str, new: str) -> TemplateManifest:
        folder = tmp_path / template_id
        if not folder.exists():
            shutil.copytree(TEMPLATES_DIR / template_id, folder)
        path = folder / relative
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} must occur once in {relative}"
        path.write_text(text.replace(old, new))
        return Catalog(tmp_path).get_template(template_id)

    return make


def test_a_changed_port_is_named_with_both_sides(altered: Callable[..., TemplateManifest]) -> None:
    manifest = altered("web-server", "terraform/main.tf",
                       '  from_port         = 80\n  to_port           = 80\n',
                       '  from_port         = 8080\n  to_port           = 8080\n')
    assert compare(manifest, defaults(manifest)) == [Difference(
        "AWS::EC2::SecurityGroup", "ingress",
        ("tcp 22 from 203.0.113.10/32", "tcp 80 from 0.0.0.0/0"),
        ("tcp 22 from 203.0.113.10/32", "tcp 8080 from 0.0.0.0/0"),
        resource="description 'Web server - HTTP from anywhere, SSH from one address'")]


def test_a_changed_cidr_is_named_with_both_sides(altered: Callable[..., TemplateManifest]) -> None:
    manifest = altered("three-tier", "cloudformation.yaml",
                       "CidrBlock: !Ref DbSubnetBCidr", "CidrBlock: 10.0.99.0/24")
    values = defaults(manifest)
    assert compare(manifest, values) == [Difference(
        "AWS::EC2::Subnet", "cidr_block",
        ("10.0.1.0/24", "10.0.11.0/24", "10.0.99.0/24"),
        ("10.0.1.0/24", "10.0.11.0/24", "10.0.12.0/24"))]


def test_a_changed_scaling_bound_is_named_with_both_sides(
        altered: Callable[..., TemplateManifest]) -> None:
    manifest = altered("ha-web", "terraform/modules/app/main.tf",
                       "max_size         = var.max_size", "max_size         = var.max_size + 1")
    values = validate_parameters(manifest, {"max_size": 6})
    assert compare(manifest, values) == [
        Difference("AWS::AutoScaling::AutoScalingGroup", "max_size", 6, 7)]


def test_a_dropped_waf_rule_is_named(altered: Callable[..., TemplateManifest]) -> None:
    rule = """        - Name: AWSManagedRulesKnownBadInputsRuleSet
          Priority: 1
          OverrideAction:
            None: {}
          Statement:
            ManagedRuleGroupStatement:
              VendorName: AWS
              Name: AWSManagedRulesKnownBadInputsRuleSet
          VisibilityConfig:
            SampledRequestsEnabled: true
            CloudWatchMetricsEnabled: true
            MetricName: known-bad-inputs
"""
    manifest = altered("ha-web", "cloudformation.yaml", rule, "")
    differences = compare(manifest, defaults(manifest))
    assert [(d.resource_type, d.property) for d in differences] == [
        ("AWS::WAFv2::WebACL", "rule AWSManagedRulesKnownBadInputsRuleSet"),
        ("AWS::WAFv2::WebACL", "rules")]
    dropped, rules = differences
    assert dropped.cloudformation is None and '"metricname":"known-bad-inputs"' in dropped.terraform
    assert rules.cloudformation == ("0 AWSManagedRulesCommonRuleSet",
                                    "2 AWSManagedRulesAdminProtectionRuleSet")
    assert rules.terraform == ("0 AWSManagedRulesCommonRuleSet",
                               "1 AWSManagedRulesKnownBadInputsRuleSet",
                               "2 AWSManagedRulesAdminProtectionRuleSet")


@pytest.mark.parametrize(("template_id", "relative", "old", "new", "expected"), [
    pytest.param("ha-web", "terraform/modules/edge/main.tf",
                 "    path                = var.health_check_path\n",
                 '    path                = "/"\n',
                 Difference("AWS::ElasticLoadBalancingV2::TargetGroup", "health_check_path",
                            "/health/", "/"), id="health-check-path"),
    pytest.param("ha-web", "cloudformation.yaml",
                 "      Protocol: HTTP\n      Port: 80\n      DefaultActions:",
                 "      Protocol: HTTP\n      Port: 8080\n      DefaultActions:",
                 Difference("AWS::ElasticLoadBalancingV2::Listener", "port", 8080, 80),
                 id="listener-port"),
    pytest.param("three-tier", "terraform/modules/db/main.tf",
                 'engine_version    = "8.4"', 'engine_version    = "8.0"',
                 Difference("AWS::RDS::DBInstance", "engine_version", "8.4", "8.0"),
                 id="engine-version"),
    pytest.param("ha-web", "terraform/modules/data/main.tf",
                 'engine_version       = "7.1"', 'engine_version       = "6.2"',
                 Difference("AWS::ElastiCache::ReplicationGroup", "engine_version", "7.1", "6.2"),
                 id="cache-engine-version"),
    pytest.param("three-tier", "cloudformation.yaml",
                 "      DBInstanceClass: !Ref DbInstanceClass",
                 "      DBInstanceClass: db.m6g.large",
                 Difference("AWS::RDS::DBInstance", "instance_class", "db.m6g.large",
                            "db.t3.micro"), id="db-instance-class"),
    pytest.param("web-server", "terraform/main.tf",
                 "  instance_type               = var.instance_type",
                 '  instance_type               = "t3.small"',
                 Difference("AWS::EC2::Instance", "instance_type", "t3.micro", "t3.small"),
                 id="instance-type"),
])
def test_a_changed_key_property_is_named_with_both_sides(
        altered: Callable[..., TemplateManifest], template_id: str, relative: str, old: str,
        new: str, expected: Difference) -> None:
    manifest = altered(template_id, relative, old, new)
    assert compare(manifest, defaults(manifest)) == [expected]


def test_a_resource_only_one_side_creates_is_counted(
        altered: Callable[..., TemplateManifest]) -> None:
    manifest = altered("ha-web", "terraform/modules/network/main.tf",
                       'resource "aws_eip" "nat" {\n  count = var.enable_nat_gateway ? 1 : 0\n',
                       'resource "aws_eip" "nat" {\n  count = 1\n')
    assert compare(manifest, defaults(manifest)) == [
        Difference("AWS::EC2::EIP", "count", 0, 1),
        Difference("AWS::EC2::EIP", "domain", (), ("vpc",))]


def test_a_security_group_that_loses_aws_default_egress_is_named(
        altered: Callable[..., TemplateManifest]) -> None:
    # Terraform drops the allow-all egress AWS gives a new group; CloudFormation keeps it.
    manifest = altered("three-tier", "terraform/modules/db/main.tf",
                       'resource "aws_vpc_security_group_egress_rule" "all" {',
                       'resource "aws_vpc_security_group_egress_rule" "all" {\n  count = 0')
    assert compare(manifest, defaults(manifest)) == [Difference(
        "AWS::EC2::SecurityGroup", "egress", ("all to 0.0.0.0/0",), (),
        resource="description 'Database tier - MySQL only from the web tier security group'")]


def test_a_value_known_only_after_apply_on_one_side_is_a_difference() -> None:
    cloudformation = Description("cloudformation", (
        NormalResource("AWS::EC2::Subnet", "A", {"cidr_block": "10.0.1.0/24"}),))
    terraform = Description("terraform", (
        NormalResource("AWS::EC2::Subnet", "aws_subnet.a", {"cidr_block": AFTER_APPLY}),))
    assert compare_descriptions(cloudformation, terraform) == [
        Difference("AWS::EC2::Subnet", "cidr_block", "10.0.1.0/24", AFTER_APPLY)]
