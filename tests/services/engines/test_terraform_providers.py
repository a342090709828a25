"""What a module's providers are, and whether Terraform can install them here: read from the
module's files, matched against a plugin directory or asked of Terraform's own `init`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.engines.terraform_engine import TerraformEngine
from services.engines.terraform_providers import (
    OPENTOFU_REGISTRY,
    ProviderRequirement,
    mirror_versions,
    required_providers,
    satisfies,
)

from tests.templates_support import catalog

TEMPLATE_IDS = [t.id for t in catalog().all_templates()]
AWS = "registry.terraform.io/hashicorp/aws"


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_the_built_in_templates_need_the_aws_provider(template_id: str) -> None:
    module = catalog().get_template(template_id).terraform_dir
    assert required_providers(module) == (ProviderRequirement(AWS, ("~> 5.8",)),)


def test_providers_are_read_from_requirements_blocks_and_resource_types(tmp_path: Path) -> None:
    module = _write(tmp_path, {
        "versions.tf": """
            terraform {
              required_providers {
                # a comment with a brace { and a "quote
                aws = {
                  source  = "hashicorp/aws" // 5.8: insecure_value
                  version = ">= 5.8, < 7"
                }
                thing = { source = "Example.COM/MyCorp/Thing" }
                legacy = "~> 1.0"
              }
            }
            /* resource "nothere_x" "y" {} */
            """,
        "main.tf": """
            resource "aws_vpc" "this" {}
            data "random_string" "x" {}
            resource "terraform_data" "builtin" {}
            resource "thing_widget" "w" {}
            """,
        # A child module has its own local names: here `aws` means someone else's provider.
        "modules/child/main.tf": """
            terraform {
              required_providers {
                aws = { source = "someone/aws", version = "2.0.0" }
              }
            }
            resource "aws_thing" "t" {}
            provider "google" {}
            """,
        ".terraform/modules/ignored/main.tf": 'resource "ignored_x" "y" {}',
    })
    assert required_providers(module) == (
        ProviderRequirement("example.com/mycorp/thing"),
        ProviderRequirement(AWS, (">= 5.8, < 7",)),
        ProviderRequirement("registry.terraform.io/hashicorp/google"),
        ProviderRequirement("registry.terraform.io/hashicorp/legacy", ("~> 1.0",)),
        ProviderRequirement("registry.terraform.io/hashicorp/random"),
        ProviderRequirement("registry.terraform.io/someone/aws", ("2.0.0",)),
    )
    # OpenTofu's registry is the default host when tofu runs.
    assert ProviderRequirement(f"{OPENTOFU_REGISTRY}/hashicorp/aws", (">= 5.8, < 7",)) in \
        required_providers(module, default_host=OPENTOFU_REGISTRY)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    module = _write(tmp_path, {"main.tf": 'resource "aws_vpc" "this" {}\n'})
    assert [r.source for r in required_providers(module)] == [AWS]
    time.sleep(0.01)
    _write(tmp_path, {"main.tf": 'resource "terraform_data" "this" {}\n'})
    assert required_providers(module) == ()


@pytest.mark.parametrize(("version", "constraint", "expected"), [
    ("5.8.0", "~> 5.8", True),
    ("5.100.2", "~> 5.8", True),
    ("5.7.9", "~> 5.8", False),
    ("6.0.0", "~> 5.8", False),
    ("5.8.3", "~> 5.8.1", True),
    ("5.9.0", "~> 5.8.1", False),
    ("1.9.0", ">= 1.0, < 2.0", True),
    ("2.0.0", ">= 1.0, < 2.0", False),
    ("1.2.3", "!= 1.2.3", False),
    ("1.2.3", "1.2.3", True),
    ("1.2.4", "= 1.2.3", False),
    ("6.0.0-beta1", ">= 5.0", False),
    ("6.0.0-beta1", "= 6.0.0-beta1", True),
    # What this cannot read is left to `terraform init` to judge.
    ("1.0.0", "whatever", True),
])
def test_versions_are_matched_by_terraforms_rules(version: str, constraint: str,
                                                  expected: bool) -> None:
    assert satisfies(version, [constraint]) is expected


def test_both_plugin_directory_layouts_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "registry.terraform.io" / "hashicorp" / "aws"
    (folder / "5.10.0" / "linux_amd64").mkdir(parents=True)
    (folder / "5.11.0" / "darwin_arm64").mkdir(parents=True)
    (folder / "terraform-provider-aws_5.9.0_linux_amd64.zip").write_bytes(b"")
    (folder / "terraform-provider-aws_5.12.0_windows_amd64.zip").write_bytes(b"")
    assert set(mirror_versions(tmp_path, AWS, platform="linux_amd64")) == {"5.9.0", "5.10.0"}
    assert mirror_versions(tmp_path, "registry.terraform.io/hashicorp/google",
                           platform="linux_amd64") == []


@pytest.mark.slow
@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_without_the_provider_a_built_in_template_is_unavailable_with_how_to_install_it(
        make_engine: Callable[..., TerraformEngine], tmp_path: Path, template_id: str) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    engine = make_engine(terraform_plugin_dir=str(plugins))
    manifest = catalog().get_template(template_id)
    answer = engine.availability(manifest)
    assert not answer.available
    reason = answer.reason or ""
    assert "holds no hashicorp/aws ~> 5.8" in reason
    assert "terraform providers mirror" in reason
    assert "PORTAL_TERRAFORM_PLUGIN_DIR=DIR" in reason
    assert str(manifest.terraform_dir) in reason and template_id in reason
    # Terraform itself runs: only the provider is missing.
    assert engine.availability(None).available


@pytest.mark.slow
def test_a_plugin_directory_with_a_matching_provider_makes_a_template_available(
        make_engine: Callable[..., TerraformEngine], tmp_path: Path) -> None:
    platform = f"linux_{ {'x86_64': 'amd64', 'aarch64': 'arm64'}[os.uname().machine] }"
    manifest = catalog().get_template("web-server")
    too_old = tmp_path / "old" / "registry.terraform.io" / "hashicorp" / "aws"
    too_old.mkdir(parents=True)
    (too_old / f"terraform-provider-aws_4.67.0_{platform}.zip").write_bytes(b"")
    answer = make_engine(terraform_plugin_dir=str(tmp_path / "old")).availability(manifest)
    assert not answer.available and "hashicorp/aws ~> 5.8" in (answer.reason or "")
    matching = tmp_path / "new" / "registry.terraform.io" / "hashicorp" / "aws"
    (matching / "5.9.0" / platform).mkdir(parents=True)
    assert make_engine(terraform_plugin_dir=str(tmp_path / "new")).availability(manifest).available


@pytest.mark.slow
def test_a_cli_configuration_is_asked_of_terraform_once(
        make_engine: Callable[..., TerraformEngine], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    config = tmp_path / "terraform.rc"
    config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n'
                      f'    path = "{mirror}"\n  }}\n}}\n')
    engine = make_engine(terraform_cli_config=str(config))
    commands: list[str] = []
    real_run = engine.runner.run
    monkeypatch.setattr(engine.runner, "run",
                        lambda args, **kw: commands.append(args[0]) or real_run(args, **kw))
    for template_id in TEMPLATE_IDS:
        answer = engine.availability(catalog().get_template(template_id))
        assert not answer.available
        # Terraform's own reason names where it looked.
        assert str(mirror) in (answer.reason or "")
        assert "terraform providers mirror" in (answer.reason or "")
    # One `version`, one scratch `init`: every template needs the same provider.
    assert commands == ["version", "init"]
