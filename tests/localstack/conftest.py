"""One LocalStack for the run, started through the portal's own service code.

The tests that need it are skipped, saying why, unless LocalStack is installed (`make
localstack`) or PORTAL_TEST_LOCALSTACK=1 asks for them; with PORTAL_TEST_LOCALSTACK=1 a LocalStack
that cannot start fails them (CI sets it, so there they must run). Tests that need no running
LocalStack (status of a target that is down, AWS without credentials) always run.

Its data directory is one per test run, shared by pytest-xdist's workers: the first worker to ask
starts LocalStack and the others find it, through the same record `connect` reads (the portal's
"never a second one"). Each worker counts itself in and out; the last one out stops it. With
pytest 9, `--dist loadgroup` no longer keeps an xdist_group on one worker (see tests/services/
conftest.py), so this is what keeps a run to one LocalStack (several hundred MB) rather than
one per worker.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from services import context as context_module
from services import settings as settings_module
from services.clouds import localstack, status
from services.context import PortalContext
from services.errors import TargetUnavailableError
from services.identity import Actor, Role
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-northeast-2"  # the region of the Terraform lab on LocalStack the portal comes from
OPERATOR = Actor("operator", Role.INSTRUCTOR, is_admin=True)
# What the portal and boto3 read that would point these tests elsewhere.
VARIABLES = ("PORTAL_DATA_DIR", "PORTAL_DATABASE_URL", "PORTAL_CLOUD", "PORTAL_REGION",
             "PORTAL_TEMPLATES_DIR", "PORTAL_LOCALSTACK_ENDPOINT", "PORTAL_LOCALSTACK_PYTHON",
             "PORTAL_LOCALSTACK_PORT", "PORTAL_COLLECT_INTERVAL_S",
             "PORTAL_BUDGET_CHECK_INTERVAL_S", "PORTAL_MAX_RUNNING_ENVS", "AWS_ENDPOINT_URL",
             "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_SESSION_TOKEN")


def required() -> bool:
    return os.environ.get("PORTAL_TEST_LOCALSTACK") == "1"


def python_for_tests() -> str:
    """The LocalStack interpreter the tests run: `make localstack`'s unless told otherwise."""
    return os.environ.get("PORTAL_LOCALSTACK_PYTHON") or str(
        ROOT / Settings.model_fields["localstack_python"].default)


def _unavailable(message: str) -> None:
    if required():
        pytest.fail(f"{message} (PORTAL_TEST_LOCALSTACK=1 requires LocalStack)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def localstack_data_dir(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pytest-xdist's workers each have a temporary root of their own inside the run's one.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if hasattr(request.config, "workerinput") else base
    return shared / "localstack-data"


@contextmanager
def _workers(data_dir: Path) -> Iterator[Path]:
    """Hold the run's lock on its data dir; yields the file counting the workers using it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(data_dir / "workers.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield data_dir / "workers.json"


def _add(count_file: Path, change: int) -> int:
    count = (json.loads(count_file.read_text()) if count_file.exists() else 0) + change
    count_file.write_text(json.dumps(count))
    return count


@pytest.fixture(scope="session")
def localstack_settings(localstack_data_dir: Path) -> Iterator[Settings]:
    """Settings whose LocalStack runs: started here (or by another worker) on a free port."""
    settings = Settings(data_dir=localstack_data_dir, region=REGION, cloud="localstack",
                        localstack_python=python_for_tests())
    if not localstack.installed(settings):
        _unavailable(f"LocalStack is not installed ({settings.localstack_python} is missing): "
                     "run `make localstack` to run these tests")
    failure = None
    with _workers(localstack_data_dir) as count_file:
        try:
            localstack.ensure_running(settings)
        except TargetUnavailableError as exc:
            failure = str(exc)
        else:
            _add(count_file, +1)
    if failure is not None:
        _unavailable(f"LocalStack did not start: {failure}")
    yield settings
    with _workers(localstack_data_dir) as count_file:
        if _add(count_file, -1) == 0:
            localstack.stop(settings)


@pytest.fixture
def localstack_ctx(localstack_settings: Settings, monkeypatch: pytest.MonkeyPatch,
                   tmp_path: Path) -> Iterator[PortalContext]:
    """The portal as `PORTAL_CLOUD=localstack` configures it: the run's LocalStack, found through
    its record in the data dir, and a history database of this test's own."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "PORTAL_DATA_DIR": str(localstack_settings.data_dir),
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'history.db'}",
        "PORTAL_CLOUD": "localstack",
        "PORTAL_REGION": REGION,
        "PORTAL_LOCALSTACK_PYTHON": localstack_settings.localstack_python,
        "PORTAL_COLLECT_INTERVAL_S": "0",
        "PORTAL_BUDGET_CHECK_INTERVAL_S": "0",
        "PORTAL_MAX_RUNNING_ENVS": "10",
    }.items():
        monkeypatch.setenv(name, value)
    settings_module.get_settings.cache_clear()
    context_module._context = None
    status.forget_cached()
    yield context_module.get_context()
    settings_module.get_settings.cache_clear()
    context_module._context = None
    status.forget_cached()


