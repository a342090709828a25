"""environment lease

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:23:30.276800
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_hours', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_environment_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_environment_expires_at'))
        batch_op.drop_column('expires_at')
        batch_op.drop_column('lease_hours')

