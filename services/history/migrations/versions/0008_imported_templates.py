"""templates instructors import, their versions, and the version each environment launched

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 10:00:00

Environments recorded before imports existed were launched from built-in templates, which have
no version: their `template_version` stays empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imported_template',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('learning_goals', sa.JSON(), nullable=False),
    sa.Column('engine', sa.String(length=32), nullable=False),
    sa.Column('courses', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_template'))
    )
    op.create_table('imported_template_version',
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('manifest', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['imported_template.id'],
                            name=op.f('fk_imported_template_version_template_id_imported_template'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('template_id', 'version', name=op.f('pk_imported_template_version'))
    )
    with op.batch_alter_table('environment') as batch:
        batch.add_column(sa.Column('template_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('environment') as batch:
        batch.drop_column('template_version')
    op.drop_table('imported_template_version')
    op.drop_table('imported_template')
