"""Shared fixtures: one embedded cloud for the whole run, a fresh SQLite history file per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import settings as settings_module
from services import context as context_module
from services.context import PortalContext

PORTAL_VARIABLES = ("PORTAL_DATA_DIR", "PORTAL_DATABASE_URL", "PORTAL_CLOUD", "PORTAL_REGION",
                    "PORTAL_OPERATION_TIMEOUT_S", "PORTAL_TEMPLATES_DIR",
                    "PORTAL_COLLECT_INTERVAL_S", "PORTAL_COLLECT_LAG_S",
                    "PORTAL_BUDGET_CHECK_INTERVAL_S", "PORTAL_MAX_RUNNING_ENVS",
                    "PORTAL_SESSION_IDLE_MINUTES", "PORTAL_STUDENT_BUDGET_USD", "AWS_PROFILE",
                    "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")


@pytest.fixture(scope="session")
def cloud_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The data dir whose embedded cloud every test shares: starting one takes seconds."""
    data_dir = tmp_path_factory.mktemp("cloud")
    yield data_dir
    from services.settings import Settings
    from services.clouds import embedded

    embedded.stop(Settings(data_dir=data_dir))


@pytest.fixture
def portal_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
               cloud_data_dir: Path) -> Iterator[dict[str, str]]:
    """A clean environment for the portal: the shared emulator, this test's own database."""
    for name in PORTAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    values = {
        "PORTAL_DATA_DIR": str(cloud_data_dir),
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'history.db'}",
        "PORTAL_CLOUD": "embedded",
        "PORTAL_REGION": "us-east-1",
        # No background monitoring pass: a test runs the passes it means to, when it means to.
        "PORTAL_COLLECT_INTERVAL_S": "0",
        "PORTAL_BUDGET_CHECK_INTERVAL_S": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings_module.get_settings.cache_clear()
    context_module._context = None
    yield values
    settings_module.get_settings.cache_clear()
    context_module._context = None


@pytest.fixture
def ctx(portal_env: dict[str, str]) -> PortalContext:
    return context_module.get_context()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of PORTAL_TEST_DATABASE_URL's server whose connections live in a schema of their own,
    so parallel tests and earlier runs never meet; skipped when the variable is not set."""
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not url:
        pytest.skip("PORTAL_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = os.environ.get("PORTAL_TEST_DATABASE_URL")
    return [f"history tests also on: {url}" if url else
            "history tests on SQLite only (set PORTAL_TEST_DATABASE_URL for PostgreSQL)"]


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without AWS credentials anywhere boto3 looks, instance role included."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        empty = tmp_path / name.lower()
        empty.write_text("")
        monkeypatch.setenv(name, str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Answers about the targets are cached for a few seconds; this machine is another one.
    from services.clouds import status

    status.forget_cached()
