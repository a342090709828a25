"""What reconcile does with lost environments whose lease has ended: close the record of one held by
an embedded cloud that is gone, hand one whose cloud still runs to a destroy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from services import environment_service as environments
from services.context import PortalContext
from services.cost_meter import spend_by_student
from services.history.models import AuditEntry, Environment, Run, utcnow
from services.identity import Actor, Role
from services.incidents import student_text
from services.reconcile_service import LEASE_CLOSED_MARK, reconcile, start_cleanups

ALICE = Actor("alice", Role.STUDENT)
LOST_REASON = ("the embedded cloud that held this environment stopped and its memory is gone "
               "(emulator an-earlier-boot is no longer running); nothing of it exists any more")

pytestmark = pytest.mark.xdist_group("embedded-cloud")


def _lost(ctx: PortalContext, env_id: str, *, boot_id: str, now: datetime,
          lease_left: timedelta) -> None:
    """A web-server launched 5 h before `now`, found lost 4 h before, at $1 an hour."""
    launched, found_lost = now - timedelta(hours=5), now - timedelta(hours=4)
    with ctx.sessions() as session, session.begin():
        session.add(Environment(
            id=env_id, template_id="web-server", owner=ALICE.name, course="default",
            status="lost", status_reason=LOST_REASON, parameters={}, outputs={},
            cloud="embedded", cloud_session=boot_id, region="us-east-1",
            deployment_name=f"sbx-{env_id}", created_at=launched, updated_at=found_lost,
            lease_hours=2, expires_at=now + lease_left, hourly_cost_usd=1.0))
        session.add(Run(env_id=env_id, kind="launch", status="succeeded", started_at=launched,
                        ended_at=launched + timedelta(minutes=1), reason="requested by alice",
                        deadline_at=launched + timedelta(minutes=30)))


def test_a_lost_environments_lease_end_closes_its_record_and_adds_no_cost(
        ctx: PortalContext) -> None:
    now = utcnow()
    current = ctx.connection.cloud_session  # the shared emulator answering now
    _lost(ctx, "gone1", boot_id="an-earlier-boot", now=now, lease_left=timedelta(hours=-3))
    _lost(ctx, "gone2", boot_id="an-earlier-boot", now=now, lease_left=timedelta(hours=1))
    # Lost while its emulator still runs (a stack moto dropped, say): tagged resources may
    # remain in it, so its lease end is a real destroy.
    _lost(ctx, "vanished", boot_id=current, now=now, lease_left=timedelta(hours=-3))
    spent = spend_by_student(ctx, course="default", now=now)[ALICE.name].spent_usd
    assert spent == pytest.approx(3.0)  # 1 h each until found lost

    report = reconcile(ctx)
    assert report.closed == ["gone1"]
    assert report.expired == ["vanished"]
    assert report.lost_envs == [] and report.cloud_not_answering is None
    with ctx.sessions() as session:
        closed = session.get(Environment, "gone1")
        assert closed.status == "lost"
        assert closed.status_reason == f"{LOST_REASON}; {LEASE_CLOSED_MARK}"
        # The moment it was found lost, which is where the cost meter ends its cost.
        assert closed.updated_at == now - timedelta(hours=4)
        assert session.get(Environment, "gone2").status_reason == LOST_REASON  # lease runs on
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.target == "gone1")).all()
        assert (entry.actor, entry.action, entry.detail) == ("portal", "lease.end",
                                                            LEASE_CLOSED_MARK)
    assert spend_by_student(ctx, course="default", now=now)[ALICE.name].spent_usd == \
        pytest.approx(spent)
    # The portal's own wording, shown to the student as it is.
    assert student_text(closed.status_reason, context="environment gone1 status") == \
        closed.status_reason

    again = reconcile(ctx)
    assert again.closed == [] and "gone1" not in again.expired

    for run_id in start_cleanups(ctx, report):
        environments.run_destroy(ctx, run_id=run_id)
    assert environments.get_environment(ctx, actor=ALICE, env_id="vanished").status == \
        "destroyed"
