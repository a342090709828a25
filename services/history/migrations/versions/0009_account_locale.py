"""the language each account reads the portal in

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 10:00:00

Empty for every account until its owner picks a language in the sidebar; until then the
browser's language decides.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('account') as batch:
        batch.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('account') as batch:
        batch.drop_column('locale')
