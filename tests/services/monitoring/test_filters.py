"""Which environments a dashboard shows: chosen by course, student and template, alive in the
window, and only their own for a student."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.context import PortalContext
from services.errors import ValidationError
from services.history.models import Environment
from services.identity import Actor, Role
from services.monitoring.filters import DashboardFilter

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _env(env_id: str, *, owner: str = "alice", status: str = "ready", created: timedelta,
         settled: timedelta | None = None, course: str = "default",
         template: str = "web-server") -> Environment:
    updated = NOW - (settled if settled is not None else created)
    return Environment(id=env_id, template_id=template, owner=owner, course=course,
                       status=status, parameters={}, outputs={}, cloud="embedded",
                       region="us-east-1", deployment_name=f"sbx-{env_id}",
                       created_at=NOW - created, updated_at=updated)


@pytest.fixture
def shown(ctx: PortalContext):  # type: ignore[no-untyped-def]
    with ctx.sessions() as session, session.begin():
        session.add_all([
            # Launched long before the window and still running: it runs in the window.
            _env("oldready", created=timedelta(days=20)),
            _env("destroyedlong", status="destroyed", created=timedelta(days=20),
                 settled=timedelta(days=10)),
            _env("destroyedin", status="destroyed", created=timedelta(days=20),
                 settled=timedelta(days=1)),
            _env("failedlong", status="failed", created=timedelta(days=9),
                 settled=timedelta(days=9)),
            _env("future", created=-timedelta(hours=1)),
            _env("bobs", owner="bob", created=timedelta(hours=2), course="cloud-102",
                 template="ha-web"),
        ])

    def ids(chosen: DashboardFilter, actor: Actor | None = None) -> set[str]:
        scope = chosen.for_actor(actor) if actor else chosen
        with ctx.sessions() as session:
            return set(session.scalars(select(Environment.id)
                                       .where(scope.environment_clause())))
    return ids


def test_the_window_keeps_what_was_alive_in_it(shown) -> None:  # type: ignore[no-untyped-def]
    assert shown(DashboardFilter.last(7, now=NOW)) == {"oldready", "destroyedin", "bobs"}
    assert shown(DashboardFilter.last(14, now=NOW)) == {
        "oldready", "destroyedlong", "destroyedin", "failedlong", "bobs"}


def test_course_student_and_template_choices_narrow_it(shown) -> None:  # type: ignore[no-untyped-def]
    assert shown(DashboardFilter.last(7, now=NOW, courses=("cloud-102",))) == {"bobs"}
    assert shown(DashboardFilter.last(7, now=NOW, owners=("alice",))) == {
        "oldready", "destroyedin"}
    assert shown(DashboardFilter.last(7, now=NOW, templates=("ha-web", "web-server"))) == {
        "oldready", "destroyedin", "bobs"}


def test_a_student_sees_their_own_whatever_they_chose(shown) -> None:  # type: ignore[no-untyped-def]
    bob = Actor(name="bob", role=Role.STUDENT)
    teacher = Actor(name="ms-lee", role=Role.INSTRUCTOR)
    assert shown(DashboardFilter.last(7, now=NOW, owners=("alice",)), bob) == {"bobs"}
    assert shown(DashboardFilter.last(7, now=NOW), bob) == {"bobs"}
    assert shown(DashboardFilter.last(7, now=NOW), teacher) == {"oldready", "destroyedin", "bobs"}


def test_a_window_must_run_forwards_and_not_too_long() -> None:
    with pytest.raises(ValidationError) as backwards:
        DashboardFilter(start=NOW, end=NOW - timedelta(hours=1))
    assert "window" in backwards.value.field_errors
    with pytest.raises(ValidationError):
        DashboardFilter.last(90, now=NOW)
    with pytest.raises(ValueError):
        DashboardFilter(start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
