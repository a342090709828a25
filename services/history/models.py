"""SQLAlchemy models of the run history. The same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false as sa_false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zone type and hands back naive values; without this, a value written as
    aware would come back naive and comparisons with `utcnow()` would raise.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the history database; use UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EnvironmentStatus(str, enum.Enum):
    LAUNCHING = "launching"
    READY = "ready"
    FAILED = "failed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    LOST = "lost"


# Statuses in which the environment may still own resources in somebody's cloud account.
HOLDS_RESOURCES = {
    EnvironmentStatus.LAUNCHING,
    EnvironmentStatus.READY,
    EnvironmentStatus.DESTROYING,
    EnvironmentStatus.FAILED,
    EnvironmentStatus.LOST,
}


class RunKind(str, enum.Enum):
    LAUNCH = "launch"
    DESTROY = "destroy"


class RunStatus(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Environment(Base):
    __tablename__ = "environment"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(64), index=True)
    # The course the environment was launched for; one default course until courses exist.
    course: Mapped[str] = mapped_column(String(64), default="default", server_default="default",
                                        index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # The imported template's version it was launched from (services/template_library.py);
    # None for a built-in template.
    template_version: Mapped[int | None] = mapped_column()
    # Parameter values as the user gave them, except a secret parameter's (NoEcho, sensitive):
    # its value is never stored, only a marker saying so (services/environment_service.py).
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cloud: Mapped[str] = mapped_column(String(16))
    # Which life of the embedded emulator holds the resources; see clouds.embedded.
    cloud_session: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(32))
    # The engine that deployed it (services/engines) and its reference for the deployment: a
    # name the portal chose (a stack name, a Terraform working directory) and the id the engine
    # gave it once made (a stack ARN, a Terraform state's lineage).
    engine: Mapped[str] = mapped_column(String(32), default="cloudformation",
                                        server_default="cloudformation")
    deployment_name: Mapped[str] = mapped_column(String(128))
    deployment_id: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The lease the environment was launched for; at `expires_at` the portal destroys it.
    lease_hours: Mapped[int | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # What the environment costs per hour while it runs, priced at launch from its template and
    # parameters; cost so far is metered from it (see services/cost_meter.py).
    hourly_cost_usd: Mapped[float | None] = mapped_column()

    runs: Mapped[list[Run]] = relationship(
        back_populates="environment", order_by="Run.id", cascade="all, delete-orphan"
    )


class Run(Base):
    __tablename__ = "run"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    env_id: Mapped[str] = mapped_column(ForeignKey("environment.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The worker that claimed the run (host:pid:random, services/run_state.py) and its last
    # heartbeat: a run whose heartbeat went stale has lost its worker. Never claimed: None.
    worker: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leftovers: Mapped[list[str] | None] = mapped_column(JSON)
    # Who or what asked for the run and why: "requested by alice", "lease ended",
    # "budget of course x exceeded: spent $52.10 of $50.00".
    reason: Mapped[str | None] = mapped_column(Text)

    environment: Mapped[Environment] = relationship(back_populates="runs")
    events: Mapped[list[RunEvent]] = relationship(
        back_populates="run", order_by="RunEvent.occurred_at", cascade="all, delete-orphan"
    )


class RunEvent(Base):
    __tablename__ = "run_event"
    __table_args__ = (
        UniqueConstraint("run_id", "event_key", name="uq_run_event_run_id_event_key"),
        Index("ix_run_event_run_id_occurred_at", "run_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    # AWS's EventId for stack events, a portal-made key for the portal's own steps.
    event_key: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    logical_id: Mapped[str] = mapped_column(String(255))
    resource_type: Mapped[str] = mapped_column(String(255))
    physical_id: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)

    run: Mapped[Run] = relationship(back_populates="events")


# ---------------------------------------------------------------------------------------------
# Monitoring: what the collector (services/monitoring/collector.py) reads from CloudWatch,
# Auto Scaling and CodeDeploy for each environment.


class MetricSeries(Base):
    """One CloudWatch metric of one resource of one environment, at one statistic."""

    __tablename__ = "metric_series"
    __table_args__ = (
        UniqueConstraint("env_id", "namespace", "metric_name", "resource_id", "stat",
                         name="uq_metric_series_identity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    env_id: Mapped[str] = mapped_column(ForeignKey("environment.id", ondelete="CASCADE"),
                                        index=True)
    # instance | load_balancer | target_group (HealthyHostCount is per target group) | db_instance
    resource_kind: Mapped[str] = mapped_column(String(32))
    # Instance id, ALB dimension value (app/name/hash) or DB instance identifier.
    resource_id: Mapped[str] = mapped_column(String(255))
    namespace: Mapped[str] = mapped_column(String(64))
    metric_name: Mapped[str] = mapped_column(String(64))
    stat: Mapped[str] = mapped_column(String(16))
    dimensions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The instance type of an instance, so credit charts can draw its baseline.
    instance_type: Mapped[str | None] = mapped_column(String(32))
    period_s: Mapped[int] = mapped_column(default=300)
    # Start of the newest period already fetched; the next pass asks only for what follows.
    fetched_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MetricPoint(Base):
    """A raw sample: one period of one series, as GetMetricData returned it."""

    __tablename__ = "metric_point"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value: Mapped[float] = mapped_column()


class MetricRollup(Base):
    """Aggregates of a series' raw points per hour or per day: what class-wide views read."""

    __tablename__ = "metric_rollup"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("metric_series.id", ondelete="CASCADE"), primary_key=True)
    resolution_s: Mapped[int] = mapped_column(primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column()
    sum: Mapped[float] = mapped_column()
    min: Mapped[float] = mapped_column()
    max: Mapped[float] = mapped_column()
    # The value of the bucket's newest point (a balance at the end of the hour).
    last: Mapped[float] = mapped_column()


class ScalingActivity(Base):
    """One Auto Scaling activity of a group belonging to an environment."""

    __tablename__ = "scaling_activity"
    __table_args__ = (Index("ix_scaling_activity_env_id_start_time", "env_id", "start_time"),)

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    env_id: Mapped[str] = mapped_column(ForeignKey("environment.id", ondelete="CASCADE"))
    group_name: Mapped[str] = mapped_column(String(255))
    status_code: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Deployment(Base):
    """One CodeDeploy deployment to a deployment group of an environment."""

    __tablename__ = "deployment"
    __table_args__ = (Index("ix_deployment_env_id_created_at", "env_id", "created_at"),)

    deployment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    env_id: Mapped[str] = mapped_column(ForeignKey("environment.id", ondelete="CASCADE"))
    application_name: Mapped[str] = mapped_column(String(255))
    group_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class CollectorPass(Base):
    """One pass of the collector over every running environment: when, how much, how many calls."""

    __tablename__ = "collector_pass"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    environments: Mapped[int] = mapped_column(default=0)
    series: Mapped[int] = mapped_column(default=0)
    metric_queries: Mapped[int] = mapped_column(default=0)
    metric_calls: Mapped[int] = mapped_column(default=0)
    points_stored: Mapped[int] = mapped_column(default=0)
    activities_stored: Mapped[int] = mapped_column(default=0)
    deployments_stored: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------------------------------------
# Accounts, courses and the audit log: who may sign in, what each course allows its students,
# and what everyone did (services/accounts.py, services/courses.py, services/audit.py).


class Account(Base):
    """A person who signs in. The role belongs to the account; nobody picks it at sign-in."""

    __tablename__ = "account"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Unique when set: OIDC sign-in maps the provider's e-mail to this account.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    # An admin may create instructors and sees every course.
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # argon2id hash (PHC string); None until the person sets a password with their one-time code.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 of a one-time code that lets an imported student set their own password.
    setup_code_hash: Mapped[str | None] = mapped_column(String(64))
    setup_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The language picked in the sidebar (services/i18n.py); None: the browser's decides.
    locale: Mapped[str | None] = mapped_column(String(8))


class WebSession(Base):
    """A browser's sign-in: the cookie carries a random token, the database only its hash."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_name: Mapped[str] = mapped_column(
        ForeignKey("account.name", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Touched while the person uses the portal; idle longer than the setting and it has ended.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """A failed password: recent ones slow further attempts on the same name or from the same
    client down, in every portal process alike."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_login_at", "login", "at"),
                      Index("ix_sign_in_failure_client_at", "client", "at"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class BudgetAction(str, enum.Enum):
    # Destroy a student's running environments once their metered spend crosses the budget.
    STOP = "stop"
    NOTIFY = "notify"


class Course(Base):
    """What a course's students may launch, for how long and for how much."""

    __tablename__ = "course"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # Templates students may launch; None allows every template of the catalog.
    templates: Mapped[list[str] | None] = mapped_column(JSON)
    # EC2 instance types and RDS classes allowed, narrower than each template's own list;
    # None keeps the template's list.
    instance_types: Mapped[list[str] | None] = mapped_column(JSON)
    db_classes: Mapped[list[str] | None] = mapped_column(JSON)
    max_running_envs: Mapped[int] = mapped_column()
    budget_usd: Mapped[float] = mapped_column()
    budget_action: Mapped[str] = mapped_column(String(16), default=BudgetAction.STOP.value)
    max_lease_hours: Mapped[int] = mapped_column()
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class EnrolmentRole(str, enum.Enum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"


class Enrolment(Base):
    """A person in a course, as a student or as one of its instructors."""

    __tablename__ = "enrolment"

    course_id: Mapped[str] = mapped_column(
        ForeignKey("course.id", ondelete="CASCADE"), primary_key=True)
    account_name: Mapped[str] = mapped_column(
        ForeignKey("account.name", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LaunchGuard(Base):
    """One row per student and course, updated first in every launch of theirs: the row lock
    (PostgreSQL) or write lock (SQLite) it takes makes the count-then-insert of a launch one
    serial step, so simultaneous launches cannot all see room under the limit."""

    __tablename__ = "launch_guard"

    course_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    launches: Mapped[int] = mapped_column(default=0)


class AuditEntry(Base):
    """Who did what, when, and whether the portal let them."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    # sign_in, sign_out, account.create, course.update, enrol, launch, destroy, lease.extend, ...
    action: Mapped[str] = mapped_column(String(32), index=True)
    # succeeded | refused | failed
    outcome: Mapped[str] = mapped_column(String(16))
    course_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # What was acted on: an environment id, an account name, a course id.
    target: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(64))


class ScheduleLease(Base):
    """Who runs a schedule now. However many portal, worker and scheduler processes run, one
    holds each schedule's lease and renews it while it lives; another takes it over only after
    it has expired (services/schedule_lease.py)."""

    __tablename__ = "schedule_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ImportedTemplate(Base):
    """A template an instructor brought: its details and where its versions stand. The id is
    unique among built-in templates too (services/template_library.py checks)."""

    __tablename__ = "imported_template"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    learning_goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    # cloudformation | terraform: the engine that deploys every version of it.
    engine: Mapped[str] = mapped_column(String(32))
    # The courses whose students are offered it.
    courses: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current_version: Mapped[int] = mapped_column()
    # Grows by one with every change of the row: changes are compare-and-set on it, and the
    # catalog of every process sees from it that its copy is stale.
    revision: Mapped[int] = mapped_column(default=1)


class ImportedTemplateVersion(Base):
    """One upload of an imported template, kept for the environments launched from it."""

    __tablename__ = "imported_template_version"

    template_id: Mapped[str] = mapped_column(
        ForeignKey("imported_template.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    # The CloudFormation template's text, or a JSON object {relative path: text} of the
    # Terraform module's files.
    source: Mapped[str] = mapped_column(Text)
    # SHA-256 of `source`: names the folder it is written out to, so that a data directory
    # shared by several databases (tests, a restored backup) never mixes two sources.
    source_sha256: Mapped[str] = mapped_column(String(64))
    # The TemplateManifest derived from the source (parameters, outputs, engines), as JSON.
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the linter warned about without refusing the upload.
    findings: Mapped[list[str]] = mapped_column(JSON, default=list)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
