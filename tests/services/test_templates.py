"""Every built-in template: its manifest, Terraform and CloudFormation agree, parse and lint clean."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import lint_file

from services.advisor.network import is_world_cidr
from services.catalog_service import TemplateManifest
from services.render_service import portal_tags, render, validate_parameters
from services.template_model import resolve_template

from tests.templates_support import catalog, cfn_document
from tests.templates_support import hcl_load, hcl_loads

TEMPLATE_IDS = [t.id for t in catalog().all_templates()]
PORTAL_VARIABLES = {"region", "tags"}
CFN_TYPES = {"string": "String", "cidr": "String", "integer": "Number", "boolean": "String"}


def _unquote(value: object) -> object:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _variables(manifest: TemplateManifest) -> dict[str, dict]:
    parsed = hcl_load(manifest.terraform_dir / "variables.tf")
    variables: dict[str, dict] = {}
    for block in parsed.get("variable", []):
        for name, body in block.items():
            variables[_unquote(name)] = body
    return variables


def _outputs(manifest: TemplateManifest) -> set[str]:
    parsed = hcl_load(manifest.terraform_dir / "outputs.tf")
    return {_unquote(name) for block in parsed.get("output", []) for name in block}


def test_both_built_in_templates_exist() -> None:
    assert {"web-server", "three-tier"} <= set(TEMPLATE_IDS)


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_manifest_variables_and_cloudformation_parameters_agree(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    variables = _variables(manifest)
    cfn = cfn_document(manifest)
    assert set(variables) - PORTAL_VARIABLES == {p.name for p in manifest.parameters}
    assert set(cfn["Parameters"]) == {p.cfn_name for p in manifest.parameters}
    for parameter in manifest.parameters:
        variable, declared = variables[parameter.name], cfn["Parameters"][parameter.cfn_name]
        assert _unquote(variable["default"]) == parameter.default, parameter.name
        assert variable.get("description"), f"{parameter.name} has no description"
        assert str(declared["Default"]).lower() == str(parameter.default).lower(), parameter.name
        if parameter.name != "ami_parameter":
            assert declared["Type"] == CFN_TYPES[parameter.type], parameter.name
        if parameter.allowed:
            assert [str(v) for v in declared["AllowedValues"]] == [str(v) for v in parameter.allowed]
        if parameter.pattern:
            assert declared["AllowedPattern"] == parameter.pattern, parameter.name
        if parameter.min is not None:
            assert int(declared["MinValue"]) == parameter.min
        if parameter.max is not None:
            assert int(declared["MaxValue"]) == parameter.max
        if parameter.allowed or parameter.pattern or parameter.type == "cidr" or \
                parameter.min is not None:
            assert variable.get("validation"), f"{parameter.name} has no validation block"


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_outputs_agree(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    names = {o.name for o in manifest.outputs}
    assert names <= _outputs(manifest)
    assert {o.cfn_name for o in manifest.outputs} <= set(cfn_document(manifest)["Outputs"])


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_cloudformation_lints_clean(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    matches = lint_file(Path(manifest.cloudformation_path))
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert not errors, "\n".join(str(m) for m in errors)


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_terraform_file_and_the_rendered_tfvars_parse(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    values = validate_parameters(manifest, {})
    rendered = render(manifest, values, cloudformation_text=manifest.cloudformation_path.read_text(),
                      region="ap-northeast-2",
                      tags=portal_tags(env_id="abc", owner="bob", template_id=template_id))
    for path, text in rendered.terraform_files.items():
        if path.endswith((".tf", ".tfvars")):
            hcl_loads(text)
    tfvars = hcl_loads(rendered.tfvars)
    assert tfvars["region"] == '"ap-northeast-2"'
    assert {"region", "tags"} <= set(tfvars)


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_instances_are_replaced_when_user_data_changes(template_id: str) -> None:
    """A lone instance is replaced when its user data changes; an Auto Scaling group's instances
    are refreshed when its launch template gets a new version."""
    manifest = catalog().get_template(template_id)
    texts = [p.read_text() for p in manifest.terraform_dir.rglob("*.tf")]
    instances = [t for t in texts if 'resource "aws_instance"' in t]
    groups = [t for t in texts if 'resource "aws_autoscaling_group"' in t]
    assert instances or groups
    for text in instances:
        assert "user_data_replace_on_change = true" in text
    for text in groups:
        assert "instance_refresh {" in text and ".latest_version" in text
    assert any("templatefile(" in t for t in texts)


def test_three_tier_is_built_from_modules_and_never_handles_a_password() -> None:
    manifest = catalog().get_template("three-tier")
    root = hcl_load(manifest.terraform_dir / "main.tf")
    modules = {_unquote(name) for block in root.get("module", []) for name in block}
    assert {"vpc", "ec2", "db"} <= modules
    every_tf = "\n".join(p.read_text() for p in manifest.terraform_dir.rglob("*.tf"))
    assert "manage_master_user_password = true" in every_tf
    assert "password" not in {p.name for p in manifest.parameters}
    cfn = cfn_document(manifest)
    db = next(r for r in cfn["Resources"].values() if r["Type"] == "AWS::RDS::DBInstance")
    assert db["Properties"].get("ManageMasterUserPassword") is True
    assert "MasterUserPassword" not in db["Properties"]
    assert not any("Password" in name for name in cfn["Parameters"])


def test_three_tier_database_admits_only_the_web_security_group() -> None:
    cfn = cfn_document(catalog().get_template("three-tier"))
    rules = []
    for resource in cfn["Resources"].values():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            rules += [r for r in resource["Properties"].get("SecurityGroupIngress", [])
                      if int(r.get("FromPort", -1)) == 3306]
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress" and \
                int(resource["Properties"].get("FromPort", -1)) == 3306:
            rules.append(resource["Properties"])
    assert rules
    for rule in rules:
        assert "SourceSecurityGroupId" in rule and "CidrIp" not in rule


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_ssh_is_not_open_to_the_world_by_default(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    ssh_cidr = manifest.parameter("ssh_cidr")
    if ssh_cidr is not None:
        assert not is_world_cidr(ssh_cidr.default)
    resolved = resolve_template(cfn_document(manifest), {}, region="us-east-1")
    for resource in resolved.of_type("AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"):
        rules = resource.properties.get("SecurityGroupIngress", [resource.properties])
        for rule in rules:
            covers_ssh = str(rule.get("IpProtocol")) == "-1" or \
                int(rule.get("FromPort", -1)) <= 22 <= int(rule.get("ToPort", -1))
            cidrs = [c for c in (rule.get("CidrIp"), rule.get("CidrIpv6")) if isinstance(c, str)]
            assert not (covers_ssh and any(is_world_cidr(c) for c in cidrs)), resource.logical_id


# An Auto Scaling group's bounds, lowest first. A template that asks for any two of them must
# declare their order in its manifest (`at_most`/`at_least`), so validation refuses min_size 5
# with max_size 2 instead of AWS, minutes into the launch.
SCALING_BOUNDS = ("min_size", "desired_capacity", "max_size")


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_scaling_bounds_declare_their_order(template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    present = [name for name in SCALING_BOUNDS if manifest.parameter(name) is not None]
    wanted = {(low, high) for i, low in enumerate(present) for high in present[i + 1:]}
    assert wanted <= set(manifest.orderings)
