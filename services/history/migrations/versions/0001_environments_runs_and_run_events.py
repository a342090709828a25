"""environments, runs and run events

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:52:34.987867
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('environment',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('outputs', sa.JSON(), nullable=False),
    sa.Column('cloud', sa.String(length=16), nullable=False),
    sa.Column('cloud_session', sa.String(length=64), nullable=True),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('stack_name', sa.String(length=128), nullable=False),
    sa.Column('stack_id', sa.String(length=512), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_environment'))
    )
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_environment_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_environment_status'), ['status'], unique=False)

    op.create_table('run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('env_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('worker', sa.String(length=128), nullable=True),
    sa.Column('leftovers', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['env_id'], ['environment.id'], name=op.f('fk_run_env_id_environment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run'))
    )
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_env_id'), ['env_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_status'), ['status'], unique=False)

    op.create_table('run_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('logical_id', sa.String(length=255), nullable=False),
    sa.Column('resource_type', sa.String(length=255), nullable=False),
    sa.Column('physical_id', sa.String(length=1024), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], name=op.f('fk_run_event_run_id_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_event')),
    sa.UniqueConstraint('run_id', 'event_key', name='uq_run_event_run_id_event_key')
    )
    with op.batch_alter_table('run_event', schema=None) as batch_op:
        batch_op.create_index('ix_run_event_run_id_occurred_at', ['run_id', 'occurred_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('run_event', schema=None) as batch_op:
        batch_op.drop_index('ix_run_event_run_id_occurred_at')

    op.drop_table('run_event')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_status'))
        batch_op.drop_index(batch_op.f('ix_run_env_id'))

    op.drop_table('run')
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_environment_status'))
        batch_op.drop_index(batch_op.f('ix_environment_owner'))

    op.drop_table('environment')
