"""Exactly one schedule, however many processes run: a lease in the history database.

Every process that could run a schedule (each portal process in the threads mode, each `sandbox
scheduler` in the Celery mode) asks for the schedule's lease before a pass; the one holding it
renews it with each pass, the others stand by and take over once it has expired (its holder died
or hangs). Taking and renewing are one conditional statement each, so two processes never both
hold it; it works the same on SQLite and PostgreSQL, which the portal already needs, where an
advisory lock would be PostgreSQL's alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from services.history.models import ScheduleLease, utcnow


def hold(sessions: sessionmaker[Session], *, name: str, holder: str, ttl: timedelta,
         now: datetime | None = None) -> bool:
    """Take or renew the lease `name` for `holder` until now + ttl; False when another holder's
    lease is still running."""
    now = now or utcnow()
    with sessions() as session, session.begin():
        maker = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        created = session.execute(
            maker(ScheduleLease).values(name=name, holder=holder, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["name"])).rowcount
        if created == 1:
            return True
        taken = session.execute(
            update(ScheduleLease)
            .where(ScheduleLease.name == name,
                   or_(ScheduleLease.holder == holder, ScheduleLease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
            .execution_options(synchronize_session=False)).rowcount
        return taken == 1


def release(sessions: sessionmaker[Session], *, name: str, holder: str) -> None:
    """Give the lease up at once (a clean shutdown), so a standby need not wait for it to expire."""
    with sessions() as session, session.begin():
        session.execute(delete(ScheduleLease).where(ScheduleLease.name == name,
                                                    ScheduleLease.holder == holder))


def holder_of(sessions: sessionmaker[Session], name: str) -> str | None:
    with sessions() as session:
        lease = session.get(ScheduleLease, name)
        return lease.holder if lease is not None and lease.expires_at > utcnow() else None
