"""Validation of parameters against manifests, and the rendered Terraform and CloudFormation."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.catalog_service import Catalog, TemplateManifest
from services.errors import UnknownTemplateError, ValidationError
from services.render_service import (
    hcl_string_literal,
    portal_tags,
    render,
    validate_parameters,
)

from tests.templates_support import TEMPLATES_DIR, catalog, cfn_parameters
from tests.templates_support import hcl_loads

TAGS = portal_tags(env_id="0123456789", owner="alice", template_id="web-server")


def _render(manifest: TemplateManifest, values: dict) -> object:
    return render(manifest, values, cloudformation_text=manifest.cloudformation_path.read_text(),
                  region="us-east-1", tags=TAGS)


def web_server() -> TemplateManifest:
    return catalog().get_template("web-server")


def test_unknown_template_names_the_field() -> None:
    with pytest.raises(UnknownTemplateError, match="^template: unknown template 'nope'"):
        catalog().get_template("nope")


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"colour": "red"}, "colour", "unknown parameter"),
        ({"vpc_cidr": "10.0.0.0/33"}, "vpc_cidr", "not an IPv4 CIDR"),
        ({"vpc_cidr": "banana"}, "vpc_cidr", "not an IPv4 CIDR"),
        ({"vpc_cidr": "10.0.0.1/16"}, "vpc_cidr", "not an IPv4 CIDR"),
        ({"vpc_cidr": "10.0.0.0"}, "vpc_cidr", "prefix length"),
        ({"public_subnet_cidr": "192.168.1.0/24"}, "public_subnet_cidr", "is not inside vpc_cidr"),
        ({"instance_type": "m5.24xlarge"}, "instance_type", "must be one of"),
        ({"site_title": 'My "site"'}, "site_title", "not allowed"),
        ({"site_title": "line\nbreak"}, "site_title", "line break"),
        ({"site_title": "${file(\"/etc/passwd\")}"}, "site_title", "not allowed"),
        ({"site_title": "%{ if true }x%{ endif }"}, "site_title", "not allowed"),
        ({"site_title": "key: [yaml]"}, "site_title", "must be a value matching"),
        ({"site_title": "x" * 10_000}, "site_title", "at most 256"),
        ({"site_title": 42}, "site_title", "must be text"),
    ],
)
def test_bad_input_gives_a_message_naming_the_field(given: dict, field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_parameters(web_server(), given)
    assert field in caught.value.field_errors
    assert message in caught.value.field_errors[field]
    assert f"{field}:" in str(caught.value)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_parameters(web_server(), {"vpc_cidr": "x", "instance_type": "y", "what": "z"})
    assert set(caught.value.field_errors) == {"vpc_cidr", "instance_type", "what"}


def test_integer_and_range_checks_on_three_tier() -> None:
    manifest = catalog().get_template("three-tier")
    for value, message in (("abc", "whole number"), ("5", "at least"), ("100000", "at most"),
                           ("2.5", "whole number"), (True, "whole number")):
        with pytest.raises(ValidationError) as caught:
            validate_parameters(manifest, {"db_allocated_storage": value})
        assert message in caught.value.field_errors["db_allocated_storage"]
    assert validate_parameters(manifest, {"db_allocated_storage": "30"})["db_allocated_storage"] == 30


def test_overlapping_subnets_are_refused() -> None:
    manifest = catalog().get_template("three-tier")
    names = [p.name for p in manifest.parameters if p.within]
    given = {names[0]: "10.0.1.0/24", names[1]: "10.0.1.0/25"}
    with pytest.raises(ValidationError) as caught:
        validate_parameters(manifest, given)
    assert "overlaps" in caught.value.field_errors[names[1]]


def test_defaults_are_valid_for_every_template() -> None:
    for manifest in catalog().all_templates():
        assert validate_parameters(manifest, {}) == {
            p.name: (str(p.default) if p.type == "cidr" else p.default) for p in manifest.parameters
        }


def test_values_reach_the_code_only_as_variables_and_parameters() -> None:
    manifest = web_server()
    values = validate_parameters(manifest, {"site_title": "Alice web lab", "vpc_cidr": "10.9.0.0/16",
                                            "public_subnet_cidr": "10.9.4.0/24"})
    rendered = _render(manifest, values)
    assert rendered.cloudformation_template == manifest.cloudformation_path.read_text()
    for path, text in rendered.terraform_files.items():
        if path != "terraform.tfvars":
            assert "Alice web lab" not in text and "10.9.4.0/24" not in text, path
    tfvars = hcl_loads(rendered.tfvars)
    assert tfvars["site_title"] == '"Alice web lab"'
    assert tfvars["public_subnet_cidr"] == '"10.9.4.0/24"'
    params = {p["ParameterKey"]: p["ParameterValue"] for p in rendered.cloudformation_parameters}
    assert params["SiteTitle"] == "Alice web lab"
    assert json.loads(rendered.cloudformation_parameters_json) == rendered.cloudformation_parameters


def test_downloads_hold_the_module_with_its_tfvars() -> None:
    manifest = web_server()
    rendered = _render(manifest, validate_parameters(manifest, {}))
    with zipfile.ZipFile(io.BytesIO(rendered.terraform_zip())) as archive:
        names = set(archive.namelist())
        assert {"web-server/terraform.tfvars", "web-server/variables.tf", "web-server/main.tf",
                "web-server/outputs.tf", "web-server/versions.tf"} <= names
        assert 'sandbox:env-id' in archive.read("web-server/terraform.tfvars").decode()
    with zipfile.ZipFile(io.BytesIO(rendered.cloudformation_zip())) as archive:
        assert set(archive.namelist()) == {"web-server/cloudformation.yaml",
                                           "web-server/parameters.json"}


@given(st.text(max_size=300))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_any_string_becomes_exactly_one_hcl_string_literal(value: str) -> None:
    literal = hcl_string_literal(value)
    parsed = hcl_loads(f"a = {literal}\n")
    # One literal, nothing interpolated or cut short: the parser hands back what we wrote.
    assert parsed["a"] == literal
    assert "${" not in literal and "%{" not in literal


def _strings_for(parameter) -> st.SearchStrategy:  # type: ignore[no-untyped-def]
    interesting = st.sampled_from(['"', "'", "\n", "${x}", "%{ if }", "{", "}", ":", "- ", "#",
                                   "&a", "*a", "!Ref", "\\", "`id`", "$(id)", "10.0.0.0/24",
                                   str(parameter.default), "t3.micro"])
    return st.one_of(st.text(max_size=40), st.lists(interesting, max_size=5).map("".join),
                     st.text(min_size=250, max_size=10_240).filter(lambda s: len(s) > 256))


@pytest.mark.parametrize("template_id", [t.id for t in catalog().all_templates()])
@given(data=st.data())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.function_scoped_fixture],
          deadline=None)
def test_random_input_is_refused_or_renders_clean(template_id: str, data: st.DataObject) -> None:
    manifest = catalog().get_template(template_id)
    parameter = data.draw(st.sampled_from(manifest.parameters))
    raw = data.draw(_strings_for(parameter))
    try:
        values = validate_parameters(manifest, {parameter.name: raw})
    except ValidationError as exc:
        assert parameter.name in exc.field_errors
        return
    rendered = _render(manifest, values)
    # Terraform: the tfvars parse and give back the value as a single literal.
    tfvars = hcl_loads(rendered.tfvars)
    assert tfvars[parameter.name] in (values[parameter.name], f'"{values[parameter.name]}"',
                                      str(values[parameter.name]).lower())
    # CloudFormation: the template is untouched (it lints clean, see test_templates) and AWS's
    # own parameter constraints accept what the portal accepted.
    assert rendered.cloudformation_template == manifest.cloudformation_path.read_text()
    declared = cfn_parameters(manifest)[parameter.cfn_name]
    value = next(p["ParameterValue"] for p in rendered.cloudformation_parameters
                 if p["ParameterKey"] == parameter.cfn_name)
    if "AllowedValues" in declared:
        assert value in [str(v).lower() if isinstance(v, bool) else str(v)
                         for v in declared["AllowedValues"]]
    if "AllowedPattern" in declared:
        assert re.fullmatch(declared["AllowedPattern"], value)
    if "MaxLength" in declared:
        assert len(value) <= int(declared["MaxLength"])
    if "MinValue" in declared:
        assert float(value) >= float(declared["MinValue"])
    if "MaxValue" in declared:
        assert float(value) <= float(declared["MaxValue"])


def test_catalog_reads_every_template_folder() -> None:
    ids = {t.id for t in Catalog(TEMPLATES_DIR).all_templates()}
    assert {"web-server", "three-tier"} <= ids


def ha_web() -> TemplateManifest:
    return catalog().get_template("ha-web")


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param({"min_size": 5, "max_size": 2}, {
        "min_size": "min_size 5 is more than desired_capacity 2 and max_size 2",
        "max_size": "max_size 2 is less than min_size 5",
        "desired_capacity": "desired_capacity 2 is less than min_size 5",
    }, id="min-above-max-and-the-default-desired"),
    pytest.param({"min_size": "5", "max_size": "2", "desired_capacity": "3"}, {
        "min_size": "min_size 5 is more than desired_capacity 3 and max_size 2",
        "max_size": "max_size 2 is less than min_size 5 and desired_capacity 3",
        "desired_capacity": "desired_capacity 3 is more than max_size 2 and less than min_size 5",
    }, id="all-three-reversed-as-the-cli-passes-them"),
    pytest.param({"desired_capacity": 6}, {
        "desired_capacity": "desired_capacity 6 is more than max_size 4",
        "max_size": "max_size 4 is less than desired_capacity 6",
    }, id="desired-above-the-default-max"),
    pytest.param({"min_size": 3}, {
        "min_size": "min_size 3 is more than desired_capacity 2",
        "desired_capacity": "desired_capacity 2 is less than min_size 3",
    }, id="min-above-the-default-desired"),
    pytest.param({"max_size": 1}, {
        "max_size": "max_size 1 is less than desired_capacity 2",
        "desired_capacity": "desired_capacity 2 is more than max_size 1",
    }, id="max-below-the-default-desired"),
    pytest.param({"min_size": 0, "max_size": 2}, {"min_size": "must be at least 1"},
                 id="a-field-out-of-its-own-range-gets-only-that-message"),
])
def test_scaling_bounds_out_of_order_name_every_field_involved(given: dict,
                                                               expected: dict) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_parameters(ha_web(), given)
    assert caught.value.field_errors == expected


@pytest.mark.parametrize("given", [
    pytest.param({}, id="defaults-1-2-4"),
    pytest.param({"min_size": 3, "desired_capacity": 3, "max_size": 3}, id="all-equal"),
    pytest.param({"min_size": 1, "desired_capacity": 1, "max_size": 1}, id="one-server"),
    pytest.param({"min_size": 1, "desired_capacity": 10, "max_size": 10}, id="widest"),
    pytest.param({"min_size": "2", "desired_capacity": "2", "max_size": "6"}, id="cli-strings"),
])
def test_scaling_bounds_in_order_pass(given: dict) -> None:
    values = validate_parameters(ha_web(), given)
    assert values["min_size"] <= values["desired_capacity"] <= values["max_size"]


@given(low=st.integers(1, 10), desired=st.integers(1, 10), high=st.integers(1, 10))
@settings(max_examples=200, deadline=None)
def test_scaling_bounds_pass_exactly_when_in_order(low: int, desired: int, high: int) -> None:
    given = {"min_size": low, "desired_capacity": desired, "max_size": high}
    broken = [(a, b) for a, b in (("min_size", "desired_capacity"), ("min_size", "max_size"),
                                  ("desired_capacity", "max_size")) if given[a] > given[b]]
    if not broken:
        assert validate_parameters(ha_web(), given)["desired_capacity"] == desired
        return
    with pytest.raises(ValidationError) as caught:
        validate_parameters(ha_web(), given)
    errors = caught.value.field_errors
    assert set(errors) == {name for pair in broken for name in pair}
    # Each side of a broken pair names itself, the other field and both values; the exact
    # wording is pinned by the named cases above.
    for lower, upper in broken:
        assert errors[lower].startswith(f"{lower} {given[lower]} is ")
        assert "more than" in errors[lower] and f"{upper} {given[upper]}" in errors[lower]
        assert errors[upper].startswith(f"{upper} {given[upper]} is ")
        assert "less than" in errors[upper] and f"{lower} {given[lower]}" in errors[upper]


def _bounded(**specs: dict) -> TemplateManifest:
    parameters = [{"name": name, "type": "integer", "default": 5, "description": name, **spec}
                  for name, spec in specs.items()]
    return TemplateManifest.model_validate({"id": "bounded", "title": "t", "summary": "s",
                                            "parameters": parameters, "outputs": []})


def test_at_least_and_at_most_say_the_same_thing_from_either_side() -> None:
    from_below = _bounded(low={"at_most": "high"}, high={})
    from_above = _bounded(low={}, high={"at_least": ["low"]})
    both = _bounded(low={"at_most": ["high"]}, high={"at_least": "low"})
    assert from_below.orderings == from_above.orderings == both.orderings == [("low", "high")]
    for manifest in (from_below, from_above, both):
        with pytest.raises(ValidationError) as caught:
            validate_parameters(manifest, {"low": 7, "high": 6})
        assert caught.value.field_errors == {"low": "low 7 is more than high 6",
                                             "high": "high 6 is less than low 7"}


@pytest.mark.parametrize(("specs", "message"), [
    pytest.param({"low": {"at_most": "nope"}}, "'at_most' names unknown 'nope'", id="unknown"),
    pytest.param({"low": {"at_least": "low"}}, "names the parameter itself", id="itself"),
    pytest.param({"low": {"at_most": "name"}, "name": {"type": "string", "default": "x"}},
                 "compares integer parameters only", id="not-an-integer"),
])
def test_a_manifest_with_a_broken_ordering_does_not_load(specs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _bounded(**specs)
