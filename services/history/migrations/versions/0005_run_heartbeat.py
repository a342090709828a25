"""the heartbeat of a run's worker

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
    # Runs recorded before heartbeats existed count as claimed now: reconcile gives a worker
    # that is still running one of them the usual time to prove it is alive.
    op.execute(sa.text("UPDATE run SET heartbeat_at = CURRENT_TIMESTAMP WHERE status = 'running'"))


def downgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
