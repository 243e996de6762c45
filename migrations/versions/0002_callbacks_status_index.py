"""Callbacks indexed by status, for the pacing and recovery queries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_callbacks_status', 'callbacks', ['status'])


def downgrade() -> None:
    op.drop_index('ix_callbacks_status', table_name='callbacks')
