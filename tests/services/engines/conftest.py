"""Fixtures of the engines' tests: a Terraform engine on a data directory of the test's own, the
provider-free fixture template, and a connection to an embedded cloud that is never started
(the fixture module calls no cloud)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.catalog_service import Catalog, TemplateManifest
from services.clouds import CloudConnection, new_session
from services.engines.base import DeploymentRequest
from services.engines.terraform_engine import TerraformEngine
from services.render_service import portal_tags, validate_parameters
from services.settings import CloudTarget, Settings

FIXTURE_TEMPLATES = Path(__file__).resolve().parents[2] / "fixtures" / "templates"
# Nothing listens there: the fixture module never calls the cloud, and a test that did would
# fail at once instead of reaching a real account.
UNUSED_ENDPOINT = "http://127.0.0.1:9"


@pytest.fixture
def terraform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Terraform setting or variable of the machine running the tests reaches them."""
    for name in list(os.environ):
        if name.startswith(("PORTAL_TERRAFORM_", "TF_")):
            monkeypatch.delenv(name)


@pytest.fixture
def make_engine(terraform_env: None, tmp_path: Path
                ) -> Callable[..., TerraformEngine]:
    """`make_engine(target=..., **settings)`: a Terraform engine whose data directory is the
    test's own."""

    def make(*, target: CloudTarget = CloudTarget.EMBEDDED, **settings: Any) -> TerraformEngine:
        connection = CloudConnection(
            target=target, region="us-east-1",
            endpoint_url=None if target is CloudTarget.AWS else UNUSED_ENDPOINT,
            session=new_session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name="us-east-1"))
        return TerraformEngine(connection, Settings(data_dir=tmp_path / "data", **settings))

    return make


@pytest.fixture
def engine(make_engine: Callable[..., TerraformEngine]) -> TerraformEngine:
    return make_engine()


@pytest.fixture
def fixture_templates() -> Path:
    return FIXTURE_TEMPLATES


@pytest.fixture
def fixture_manifest(fixture_templates: Path) -> TemplateManifest:
    return Catalog(fixture_templates).get_template("terraform-only")


@pytest.fixture
def deployment(fixture_manifest: TemplateManifest) -> Callable[..., DeploymentRequest]:
    """`deployment(name, **values)`: a request for the fixture template, values validated."""

    def make(name: str, **values: Any) -> DeploymentRequest:
        return DeploymentRequest(
            env_id=name, deployment_name=name, manifest=fixture_manifest,
            values=validate_parameters(fixture_manifest, values),
            tags=portal_tags(env_id=name, owner="alice", template_id=fixture_manifest.id),
            region="us-east-1")

    return make
