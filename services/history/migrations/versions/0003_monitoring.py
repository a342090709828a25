"""monitoring: metric series, raw points, rollups, scaling activities, deployments, collector passes; course and metered hourly cost of environments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:11:20.321314
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collector_pass',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('environments', sa.Integer(), nullable=False),
    sa.Column('series', sa.Integer(), nullable=False),
    sa.Column('metric_queries', sa.Integer(), nullable=False),
    sa.Column('metric_calls', sa.Integer(), nullable=False),
    sa.Column('points_stored', sa.Integer(), nullable=False),
    sa.Column('activities_stored', sa.Integer(), nullable=False),
    sa.Column('deployments_stored', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collector_pass'))
    )
    with op.batch_alter_table('collector_pass', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collector_pass_started_at'), ['started_at'], unique=False)

    op.create_table('deployment',
    sa.Column('deployment_id', sa.String(length=64), nullable=False),
    sa.Column('env_id', sa.String(length=32), nullable=False),
    sa.Column('application_name', sa.String(length=255), nullable=False),
    sa.Column('group_name', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['env_id'], ['environment.id'], name=op.f('fk_deployment_env_id_environment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('deployment_id', name=op.f('pk_deployment'))
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index('ix_deployment_env_id_created_at', ['env_id', 'created_at'], unique=False)

    op.create_table('metric_series',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('env_id', sa.String(length=32), nullable=False),
    sa.Column('resource_kind', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.String(length=255), nullable=False),
    sa.Column('namespace', sa.String(length=64), nullable=False),
    sa.Column('metric_name', sa.String(length=64), nullable=False),
    sa.Column('stat', sa.String(length=16), nullable=False),
    sa.Column('dimensions', sa.JSON(), nullable=False),
    sa.Column('instance_type', sa.String(length=32), nullable=True),
    sa.Column('period_s', sa.Integer(), nullable=False),
    sa.Column('fetched_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['env_id'], ['environment.id'], name=op.f('fk_metric_series_env_id_environment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_series')),
    sa.UniqueConstraint('env_id', 'namespace', 'metric_name', 'resource_id', 'stat', name='uq_metric_series_identity')
    )
    with op.batch_alter_table('metric_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_series_env_id'), ['env_id'], unique=False)

    op.create_table('scaling_activity',
    sa.Column('activity_id', sa.String(length=64), nullable=False),
    sa.Column('env_id', sa.String(length=32), nullable=False),
    sa.Column('group_name', sa.String(length=255), nullable=False),
    sa.Column('status_code', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['env_id'], ['environment.id'], name=op.f('fk_scaling_activity_env_id_environment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', name=op.f('pk_scaling_activity'))
    )
    with op.batch_alter_table('scaling_activity', schema=None) as batch_op:
        batch_op.create_index('ix_scaling_activity_env_id_start_time', ['env_id', 'start_time'], unique=False)

    op.create_table('metric_point',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['metric_series.id'], name=op.f('fk_metric_point_series_id_metric_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'at', name=op.f('pk_metric_point'))
    )
    op.create_table('metric_rollup',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('resolution_s', sa.Integer(), nullable=False),
    sa.Column('bucket_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum', sa.Double(), nullable=False),
    sa.Column('min', sa.Double(), nullable=False),
    sa.Column('max', sa.Double(), nullable=False),
    sa.Column('last', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['metric_series.id'], name=op.f('fk_metric_rollup_series_id_metric_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'resolution_s', 'bucket_start', name=op.f('pk_metric_rollup'))
    )
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('course', sa.String(length=64), server_default='default', nullable=False))
        batch_op.add_column(sa.Column('hourly_cost_usd', sa.Double(), nullable=True))
        batch_op.create_index(batch_op.f('ix_environment_course'), ['course'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('environment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_environment_course'))
        batch_op.drop_column('hourly_cost_usd')
        batch_op.drop_column('course')

    op.drop_table('metric_rollup')
    op.drop_table('metric_point')
    with op.batch_alter_table('scaling_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_scaling_activity_env_id_start_time')

    op.drop_table('scaling_activity')
    with op.batch_alter_table('metric_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_series_env_id'))

    op.drop_table('metric_series')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index('ix_deployment_env_id_created_at')

    op.drop_table('deployment')
    with op.batch_alter_table('collector_pass', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collector_pass_started_at'))

    op.drop_table('collector_pass')
