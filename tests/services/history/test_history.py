"""The history code on a real SQLite file, and on PostgreSQL when PORTAL_TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from services.history.database import make_engine, session_factory, upgrade_schema
from services.history.models import Base, Environment, Run, RunEvent, utcnow


def _urls() -> list:
    urls = [pytest.param("sqlite", id="sqlite")]
    urls.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return urls


@pytest.fixture(params=_urls())
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'history.db'}")
        upgrade_schema(engine)
        yield engine
        engine.dispose()
        return
    engine = make_engine(request.getfixturevalue("postgres_url"))
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def test_migration_creates_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert {"environment", "run", "run_event", "alembic_version"} <= set(
        inspect(engine).get_table_names())


def _environment(env_id: str, owner: str = "alice") -> Environment:
    return Environment(id=env_id, template_id="web-server", owner=owner, status="launching",
                       parameters={"instance_type": "t3.micro"}, outputs={}, cloud="embedded",
                       region="us-east-1", deployment_name=f"sbx-{env_id}")


def test_environment_runs_and_events_round_trip_with_utc_times(engine: Engine) -> None:
    sessions = session_factory(engine)
    started = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    with sessions() as session, session.begin():
        env = _environment("e1")
        run = Run(environment=env, kind="launch", status="running", started_at=started,
                  deadline_at=started + timedelta(minutes=30), worker="host:1")
        run.events = [
            RunEvent(event_key=f"k{i}", occurred_at=started + timedelta(seconds=i),
                     logical_id=f"R{i}", resource_type="AWS::EC2::VPC", status="CREATE_COMPLETE")
            for i in range(3)
        ]
        session.add(env)
    with sessions() as session:
        stored = session.get(Environment, "e1")
        assert stored.parameters == {"instance_type": "t3.micro"}
        run = stored.runs[0]
        assert run.started_at == started and run.started_at.tzinfo is not None
        assert [e.logical_id for e in run.events] == ["R0", "R1", "R2"]
        assert stored.created_at <= utcnow()


def test_an_event_is_stored_once_per_run(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        env = _environment("e2")
        run = Run(environment=env, kind="launch", status="running", started_at=utcnow(),
                  deadline_at=utcnow())
        session.add(env)
        session.flush()
        run_id = run.id
    with pytest.raises(IntegrityError):
        with sessions() as session, session.begin():
            for _ in range(2):
                session.add(RunEvent(run_id=run_id, event_key="same", occurred_at=utcnow(),
                                     logical_id="x", resource_type="t", status="s"))


def test_deleting_an_environment_removes_its_runs_and_events(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        env = _environment("e3")
        run = Run(environment=env, kind="launch", status="succeeded", started_at=utcnow(),
                  deadline_at=utcnow())
        run.events = [RunEvent(event_key="a", occurred_at=utcnow(), logical_id="x",
                               resource_type="t", status="s")]
        session.add(env)
    with sessions() as session, session.begin():
        session.delete(session.get(Environment, "e3"))
    with sessions() as session:
        assert session.scalars(select(Run)).all() == []
        assert session.scalars(select(RunEvent)).all() == []


def test_naive_times_are_refused(engine: Engine) -> None:
    sessions = session_factory(engine)
    with pytest.raises(Exception, match="naive datetime"):
        with sessions() as session, session.begin():
            env = _environment("e4")
            env.created_at = datetime(2026, 1, 1)
            session.add(env)
