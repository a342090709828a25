"""Uploads read safely, checked by cfn-lint, python-hcl2 and the real Terraform's `fmt -check`,
and the launch form derived from CloudFormation Parameters and Terraform variables."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from services.catalog_service import ParameterSpec, TemplateManifest
from services.engines.base import EngineName
from services.errors import ValidationError
from services.render_service import SECRET_MASK, portal_tags, render, validate_parameters
from services.settings import Settings
from services.template_import import InvalidTemplateError, TemplateSource, check
from services.template_import.source import MAX_CLOUDFORMATION_BYTES, MAX_MODULE_FILE_BYTES

IMPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
NETWORK_LAB = IMPORTS / "cloudformation" / "network-lab.yaml"
EVERY_PARAMETER = IMPORTS / "cloudformation" / "every-parameter.json"
GREETER = IMPORTS / "terraform" / "greeter"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _manifest(source: TemplateSource, settings: Settings) -> TemplateManifest:
    derived = check(source, settings=settings)
    return TemplateManifest(id="imported", title="Imported", summary="",
                            parameters=derived.parameters, outputs=derived.outputs,
                            engines=(source.engine,),
                            portal_variables=derived.portal_variables)


def _by_name(manifest: TemplateManifest) -> dict[str, ParameterSpec]:
    return {p.name: p for p in manifest.parameters}


def _zip(files: dict[str, bytes | str], *, links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _module_zip(prefix: str = "greeter/") -> bytes:
    return _zip({f"{prefix}{path.relative_to(GREETER).as_posix()}": path.read_text()
                 for path in GREETER.rglob("*") if path.is_file()})


# -- CloudFormation -------------------------------------------------------------------------------
def test_cloudformation_parameters_become_the_form_with_their_own_names(
        settings: Settings) -> None:
    manifest = _manifest(TemplateSource.from_path(NETWORK_LAB), settings)
    specs = _by_name(manifest)

    assert list(specs) == ["EnvironmentName", "Tier", "VpcCidr", "SubnetCidr", "SshPort",
                           "WebPorts", "PeerVpc", "AdminPassword"]
    assert all(p.cfn_name == p.name for p in manifest.parameters)
    name = specs["EnvironmentName"]
    assert (name.type, name.default, name.pattern, name.min_length, name.max_length) == (
        "string", "lab", "^[a-z][a-z0-9-]*$", 2, 12)
    assert name.pattern_message == ("lower-case letters, digits and dashes, starting with a "
                                    "letter.")
    assert specs["Tier"].allowed == ("web", "app")
    assert (specs["SshPort"].type, specs["SshPort"].min, specs["SshPort"].max,
            specs["SshPort"].default) == ("number", 1, 65535, 22)
    assert (specs["WebPorts"].type, specs["WebPorts"].item_type,
            specs["WebPorts"].default) == ("list", "string", ("80", "443"))
    assert (specs["PeerVpc"].type, specs["PeerVpc"].aws_type, specs["PeerVpc"].default) == (
        "aws", "AWS::EC2::VPC::Id", None)
    assert specs["AdminPassword"].secret and specs["AdminPassword"].default is None
    assert [(o.name, o.label, o.kind) for o in manifest.outputs] == [
        ("VpcId", "The VPC's id", "text"), ("SubnetId", "The subnet's id", "text"),
        ("WebsiteUrl", "Where the lab's site would answer", "url")]
    assert manifest.engines == (EngineName.CLOUDFORMATION,)


def test_aws_specific_and_numeric_types_become_pickers_and_numbers(settings: Settings) -> None:
    specs = _by_name(_manifest(TemplateSource.from_path(EVERY_PARAMETER), settings))

    assert (specs["Subnets"].type, specs["Subnets"].aws_type, specs["Subnets"].is_list) == (
        "aws", "List<AWS::EC2::Subnet::Id>", True)
    assert specs["KeyName"].aws_type == "AWS::EC2::KeyPair::KeyName"
    assert specs["ImageParameter"].aws_type == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert specs["ImageParameter"].default.startswith("/aws/service/")
    assert (specs["Ratio"].type, specs["Ratio"].default, specs["Ratio"].min,
            specs["Ratio"].max) == ("number", 0.5, 0, 1)
    assert (specs["Weights"].item_type, specs["Weights"].default) == ("number", (1, 2, 3))
    assert specs["Size"].allowed == (1, 2, 4)


def test_the_derived_form_validates_what_cloudformation_would(settings: Settings) -> None:
    manifest = _manifest(TemplateSource.from_path(NETWORK_LAB), settings)
    good = {"PeerVpc": "vpc-0abc123", "AdminPassword": "Secret123", "WebPorts": "8080, 8443",
            "SshPort": "2222"}

    values = validate_parameters(manifest, good)

    assert values["WebPorts"] == ["8080", "8443"] and values["SshPort"] == 2222
    with pytest.raises(ValidationError) as refused:
        validate_parameters(manifest, {
            "PeerVpc": "subnet-0abc", "AdminPassword": "short", "EnvironmentName": "Lab!",
            "Tier": "db", "SshPort": "70000"})
    errors = refused.value.field_errors
    assert "existing AWS::EC2::VPC::Id" in errors["PeerVpc"]
    assert errors["AdminPassword"] == "is shorter than 8 characters"
    assert "lower-case letters, digits and dashes" in errors["EnvironmentName"]
    assert errors["Tier"] == "must be one of web, app"
    assert errors["SshPort"] == "must be at most 65535"
    with pytest.raises(ValidationError) as missing:
        validate_parameters(manifest, {"AdminPassword": "Secret123"})
    assert missing.value.field_errors == {"PeerVpc": "is required"}


def test_a_secret_is_masked_in_everything_rendered(settings: Settings) -> None:
    manifest = _manifest(TemplateSource.from_path(NETWORK_LAB), settings)
    values = validate_parameters(manifest, {"PeerVpc": "vpc-0abc123",
                                            "AdminPassword": "Hunter2Secret"})

    rendered = render(manifest, values, cloudformation_text=NETWORK_LAB.read_text(),
                      region="us-east-1", tags=portal_tags(env_id="e", owner="o",
                                                           template_id="imported"))

    assert {"ParameterKey": "AdminPassword", "ParameterValue": SECRET_MASK} in \
        rendered.cloudformation_parameters
    assert "Hunter2Secret" not in rendered.cloudformation_parameters_json
    assert "Hunter2Secret" not in rendered.cloudformation_zip().decode("latin-1")
    # Deployed by CloudFormation alone: no Terraform to show.
    assert rendered.terraform_files == {}


def test_cloudformation_that_cfn_lint_rejects_is_refused_with_its_message(
        settings: Settings) -> None:
    source = TemplateSource.from_path(IMPORTS / "cloudformation" / "invalid-property.yaml")

    with pytest.raises(InvalidTemplateError) as refused:
        check(source, settings=settings)

    message = refused.value.field_errors["template"]
    assert message.startswith("cfn-lint E3002 at line 7:")
    assert "'BucketNam' was unexpected" in message
    assert str(refused.value).startswith("template refused: template: cfn-lint E3002")


def test_cfn_lint_warnings_are_kept_as_findings_without_refusing(settings: Settings) -> None:
    derived = check(TemplateSource.from_path(EVERY_PARAMETER), settings=settings)

    assert any(f.startswith("cfn-lint W") for f in derived.findings), derived.findings
    assert derived.summary.startswith("Parameters of every kind")


# -- Terraform ------------------------------------------------------------------------------------
def test_terraform_variables_become_the_form_with_their_validations(settings: Settings) -> None:
    manifest = _manifest(TemplateSource.from_path(GREETER), settings)
    specs = _by_name(manifest)

    assert list(specs) == ["greeting", "size", "replicas", "label", "enabled", "names", "token"]
    assert (specs["greeting"].pattern, specs["greeting"].pattern_message) == (
        "^[A-Za-z ]+$", "Letters and spaces only.")
    assert specs["size"].allowed == ("small", "large")
    assert (specs["replicas"].type, specs["replicas"].min, specs["replicas"].max) == (
        "number", 1, 3)
    assert specs["label"].max_length == 20
    assert (specs["enabled"].type, specs["enabled"].default) == ("boolean", True)
    assert (specs["names"].type, specs["names"].default) == ("list", ("a", "b"))
    assert specs["token"].secret and specs["token"].default is None
    # The portal sets region and tags; a map has no field and keeps its default.
    assert manifest.portal_variables == ("region", "tags")
    assert [(o.name, o.kind) for o in manifest.outputs] == [
        ("message", "text"), ("site_url", "url"), ("label", "text")]
    derived = check(TemplateSource.from_path(GREETER), settings=settings)
    assert any("settings" in f and "keeps its default" in f for f in derived.findings)
    assert any("startswith" in f and "checked by Terraform" in f for f in derived.findings)


@pytest.mark.parametrize(("declaration", "expected"), [
    pytest.param('type = string\n  validation {\n    condition     = can(regex("[0-9]", var.v))'
                 '\n    error_message = "A digit somewhere."\n  }',
                 {"pattern": "(?s:.*(?:[0-9]).*)", "pattern_message": "A digit somewhere."},
                 id="an-unanchored-regex-matches-anywhere-as-terraform-does"),
    pytest.param('type = number\n  validation {\n    condition     = 10 <= var.v && var.v <= 20'
                 '\n    error_message = "10 to 20."\n  }', {"min": 10, "max": 20},
                 id="bounds-written-either-way-round"),
    pytest.param('type = string\n  validation {\n    condition     = length(var.v) >= 3'
                 '\n    error_message = "Three at least."\n  }', {"min_length": 3},
                 id="a-length"),
    pytest.param('type = string\n  validation {\n    condition     = contains(["a"], var.v) || '
                 'var.v == "b"\n    error_message = "a or b."\n  }', {"allowed": None},
                 id="an-or-is-left-to-terraform"),
])
def test_simple_validations_become_form_checks(settings: Settings, declaration: str,
                                               expected: dict) -> None:
    text = f'variable "v" {{\n  {declaration}\n}}\n'
    derived = check(TemplateSource.terraform({"main.tf": text}, name="v"), settings=settings)

    spec = derived.parameters[0]
    assert {key: getattr(spec, key) for key in expected} == expected


def test_a_module_not_formatted_is_refused_naming_the_file(settings: Settings) -> None:
    with pytest.raises(InvalidTemplateError) as refused:
        check(TemplateSource.from_path(IMPORTS / "terraform" / "unformatted"), settings=settings)

    message = refused.value.field_errors["source"]
    assert message.startswith("not formatted as `terraform fmt` writes it: main.tf;")
    assert "outputs.tf" not in message


def test_a_module_that_does_not_parse_is_refused_naming_the_file(settings: Settings) -> None:
    with pytest.raises(InvalidTemplateError) as refused:
        check(TemplateSource.from_path(IMPORTS / "terraform" / "broken"), settings=settings)

    assert refused.value.field_errors["source"].startswith("main.tf does not parse:")


@pytest.mark.parametrize(("text", "message"), [
    pytest.param('variable "o" {\n  type = object({ a = string })\n}\n',
                 "variable o is a object({a=string}) without a default",
                 id="a-structure-the-form-cannot-fill"),
    pytest.param('variable "tags" {\n  type = list(string)\n}\n',
                 "variable tags is set by the portal", id="tags-of-another-type"),
    pytest.param('terraform {\n  backend "s3" {}\n}\n', "declares a backend", id="a-backend"),
])
def test_modules_the_portal_cannot_launch_are_refused(settings: Settings, text: str,
                                                      message: str) -> None:
    with pytest.raises(InvalidTemplateError) as refused:
        check(TemplateSource.terraform({"main.tf": text}, name="m"), settings=settings)

    assert message in str(refused.value)


def test_a_zip_of_the_module_folder_is_the_module() -> None:
    source = TemplateSource.from_upload("greeter.zip", _module_zip())

    assert source.engine is EngineName.TERRAFORM
    assert set(source.files) == {"main.tf", "variables.tf", "outputs.tf",
                                 "modules/label/main.tf"}
    assert source.files["main.tf"] == (GREETER / "main.tf").read_text()


def test_hidden_files_and_an_archivers_own_are_left_out() -> None:
    data = _zip({"main.tf": 'variable "a" {}\n', ".terraform/providers/x": "binary",
                 "__MACOSX/._main.tf": "junk", ".git/config": "x"})

    assert set(TemplateSource.from_upload("m.zip", data).files) == {"main.tf"}


@pytest.mark.parametrize(("filename", "data", "message"), [
    pytest.param("evil.zip", _zip({"main.tf": "", "../../etc/cron.d/x": "x"}),
                 "points outside the module's folder", id="zip-slip"),
    pytest.param("evil.zip", _zip({"main.tf": "", "/etc/x.tf": "x"}),
                 "is not a relative path inside the module", id="an-absolute-path"),
    pytest.param("evil.zip", _zip({"main.tf": ""}, links=("link.tf",)),
                 "is a symbolic link", id="a-symbolic-link"),
    pytest.param("big.zip", _zip({"main.tf": "#" * (MAX_MODULE_FILE_BYTES + 1)}),
                 "larger than", id="a-file-too-large"),
    pytest.param("vars.zip", _zip({"main.tf": "", "terraform.tfvars": 'a = "b"'}),
                 "override the launch form's values", id="a-tfvars-file"),
    pytest.param("state.zip", _zip({"main.tf": "", "terraform.tfstate": "{}"}),
                 "state files", id="a-state-file"),
    pytest.param("docs.zip", _zip({"README.md": "no module here"}),
                 "holds no .tf file at its top", id="no-terraform"),
    pytest.param("image.zip", _zip({"main.tf": "", "logo.png": b"\x89PNG\r\n\x1a\n\xff\xfe"}),
                 "is not UTF-8 text", id="a-binary-file"),
    pytest.param("notes.zip", b"not a zip at all", "is not a zip archive", id="not-a-zip"),
    pytest.param("setup.exe", b"MZ", "upload a CloudFormation template", id="another-kind"),
    pytest.param("huge.yaml", b"Resources: {}\n" + b"#" * MAX_CLOUDFORMATION_BYTES,
                 "at most 51,200 bytes", id="a-template-cloudformation-cannot-take"),
])
def test_unsafe_or_unusable_uploads_are_refused(filename: str, data: bytes,
                                                message: str) -> None:
    with pytest.raises(InvalidTemplateError) as refused:
        TemplateSource.from_upload(filename, data)

    assert message in refused.value.field_errors["source"]


def test_a_folder_with_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('variable "a" {}\n')
    (tmp_path / "secrets.tf").symlink_to("/etc/hostname")

    with pytest.raises(InvalidTemplateError, match="is a symbolic link"):
        TemplateSource.from_path(tmp_path)


def test_built_in_manifests_keep_their_snake_case_rule() -> None:
    with pytest.raises(ValueError, match="not snake_case"):
        ParameterSpec(name="InstanceType", type="string", default="t3.micro", description="d")
    imported = ParameterSpec(name="InstanceType", cfn_key="InstanceType", type="string",
                             default="t3.micro", description="d")
    assert imported.cfn_name == "InstanceType"


def test_a_refused_secret_is_not_quoted_in_its_message(settings: Settings) -> None:
    manifest = _manifest(TemplateSource.from_path(NETWORK_LAB), settings)

    with pytest.raises(ValidationError) as refused:
        validate_parameters(manifest, {"PeerVpc": "vpc-0abc123", "AdminPassword": "pa$$word%1"})

    assert refused.value.field_errors["AdminPassword"] == (
        "contains characters that are not allowed here")


def test_a_secret_number_is_refused_because_its_mask_is_no_number(settings: Settings) -> None:
    text = ("Parameters:\n  Pin:\n    Type: Number\n    NoEcho: true\n    Description: A pin.\n"
            "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n"
            "      DisplayName: !Ref Pin\n")

    with pytest.raises(InvalidTemplateError, match="NoEcho on a Number parameter"):
        check(TemplateSource.cloudformation(text), settings=settings)
