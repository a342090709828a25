"""The files a Terraform launch writes: every rendered module is as `terraform fmt` writes it
(checked by the engine's own Terraform), and the portal's override files point the AWS provider
and the state where each target needs them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.catalog_service import TemplateManifest
from services.engines.terraform_engine import (
    BACKEND_OVERRIDE,
    EMULATOR_ENDPOINTS,
    PROVIDER_OVERRIDE,
    TerraformEngine,
)
from services.render_service import portal_tags, terraform_files, validate_parameters
from services.settings import CloudTarget

from tests.templates_support import catalog

TEMPLATE_IDS = [t.id for t in catalog().all_templates()]


def other_values(manifest: TemplateManifest, *, low: bool) -> dict[str, Any]:
    """Values other than the defaults, so a value's form and length change: each choice's first
    other option (`low`) or its last, each switch flipped, each number at its min or max."""
    values: dict[str, Any] = {}
    for parameter in manifest.parameters:
        if parameter.allowed:
            others = [v for v in parameter.allowed if v != parameter.default]
            values[parameter.name] = others[0] if low else others[-1]
        elif parameter.type == "boolean":
            values[parameter.name] = not parameter.default
        elif parameter.type == "integer":
            bound = parameter.min if low else parameter.max
            if bound is not None:
                values[parameter.name] = bound
    return values


def write(files: dict[str, str], folder: Path) -> Path:
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder


def unformatted(engine: TerraformEngine, folder: Path) -> list[str]:
    """The files `terraform fmt -check` would change (and fails on)."""
    result = engine.runner.run(["fmt", "-check", "-recursive", "-no-color"], cwd=folder,
                               deadline=time.monotonic() + 60)
    assert result.returncode in (0, 3), result.reason()  # 3: some file is not formatted
    return [line for line in result.lines if line.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_rendered_module_is_as_terraform_fmt_writes_it(
        engine: TerraformEngine, tmp_path: Path, template_id: str) -> None:
    manifest = catalog().get_template(template_id)
    cases = {"defaults": {}, "low": other_values(manifest, low=True),
             "high": other_values(manifest, low=False)}
    for case, given in cases.items():
        values = validate_parameters(manifest, given)
        tags = portal_tags(env_id="0123456789", owner=f"owner with spaces {case}",
                           template_id=template_id)
        files = terraform_files(manifest, values, region="eu-central-1", tags=tags)
        files.update(engine.generated_files(manifest, f"sbx-{case}", tags=tags))
        folder = write(files, tmp_path / case)
        assert unformatted(engine, folder) == [], f"{template_id} with {case} values"
    # The values of the cases differ, so the check saw more than one layout.
    assert len({tuple(sorted(validate_parameters(manifest, g).items()))
                for g in cases.values()}) == len(cases)


@pytest.mark.slow
def test_a_misaligned_file_is_found(engine: TerraformEngine, tmp_path: Path) -> None:
    # The check above passes only because fmt reports what it would change.
    folder = write({"terraform.tfvars": 'a = 1\nlonger = 2\n'}, tmp_path)
    assert unformatted(engine, folder) == ["terraform.tfvars"]


@pytest.mark.parametrize("target", [CloudTarget.EMBEDDED, CloudTarget.LOCALSTACK])
def test_on_an_emulator_the_aws_provider_is_pointed_at_it(
        make_engine: Callable[..., TerraformEngine], target: CloudTarget) -> None:
    engine = make_engine(target=target)
    files = engine.generated_files(catalog().get_template("web-server"), "sbx-x")
    assert list(files) == [PROVIDER_OVERRIDE]
    flat = " ".join(files[PROVIDER_OVERRIDE].split())
    for service in EMULATOR_ENDPOINTS:
        assert f'{service} = "{engine.connection.endpoint_url}"' in flat, service
    for setting in ('access_key = "testing"', 'secret_key = "testing"',
                    "skip_credentials_validation = true", "skip_requesting_account_id = true",
                    "skip_metadata_api_check = true", "s3_use_path_style = true"):
        assert setting in flat, setting


@pytest.mark.parametrize("target", list(CloudTarget))
def test_on_every_target_whatever_the_module_makes_carries_the_portals_tags(
        make_engine: Callable[..., TerraformEngine], target: CloudTarget) -> None:
    tags = portal_tags(env_id="0123456789", owner="alice", template_id="web-server")
    files = make_engine(target=target).generated_files(
        catalog().get_template("web-server"), "sbx-x", tags=tags)
    assert list(files) == [PROVIDER_OVERRIDE]
    flat = " ".join(files[PROVIDER_OVERRIDE].split())
    assert "default_tags { tags = {" in flat
    for key, value in tags.items():
        assert f'"{key}" = "{value}"' in flat, key
    # On AWS the provider keeps its own credentials and endpoints.
    assert ("access_key" in flat) is (target is not CloudTarget.AWS)


def test_on_aws_the_provider_is_left_alone_and_the_state_may_go_to_s3(
        make_engine: Callable[..., TerraformEngine]) -> None:
    manifest = catalog().get_template("web-server")
    assert make_engine(target=CloudTarget.AWS).generated_files(manifest, "sbx-x") == {}
    engine = make_engine(target=CloudTarget.AWS, terraform_state_bucket="class-states",
                         terraform_state_key_prefix="/portal/", terraform_state_region="eu-west-1")
    files = engine.generated_files(manifest, "sbx-x")
    assert list(files) == [BACKEND_OVERRIDE]
    flat = " ".join(files[BACKEND_OVERRIDE].split())
    for setting in ('backend "s3"', 'bucket = "class-states"',
                    'key = "portal/sbx-x/terraform.tfstate"', 'region = "eu-west-1"',
                    "use_lockfile = true"):
        assert setting in flat, setting
    # The bucket is for the aws target only: an emulator's state stays in the data directory.
    emulated = make_engine(target=CloudTarget.EMBEDDED, terraform_state_bucket="class-states")
    assert BACKEND_OVERRIDE not in emulated.generated_files(manifest, "sbx-x")


def test_a_module_without_the_aws_provider_gets_nothing_added(
        make_engine: Callable[..., TerraformEngine],
        fixture_manifest: TemplateManifest) -> None:
    assert make_engine().generated_files(fixture_manifest, "sbx-x") == {}
