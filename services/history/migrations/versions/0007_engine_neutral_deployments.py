"""environments name their engine and an engine-neutral deployment reference

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:20:00

Every environment recorded before engines existed was a CloudFormation stack: it keeps its stack
name and id as its deployment's name and id, under the engine `cloudformation`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('environment') as batch:
        batch.add_column(sa.Column('engine', sa.String(length=32), nullable=False,
                                   server_default='cloudformation'))
        batch.alter_column('stack_name', new_column_name='deployment_name',
                           existing_type=sa.String(length=128), existing_nullable=False)
        batch.alter_column('stack_id', new_column_name='deployment_id',
                           existing_type=sa.String(length=512), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('environment') as batch:
        batch.alter_column('deployment_id', new_column_name='stack_id',
                           existing_type=sa.String(length=512), existing_nullable=True)
        batch.alter_column('deployment_name', new_column_name='stack_name',
                           existing_type=sa.String(length=128), existing_nullable=False)
        batch.drop_column('engine')
