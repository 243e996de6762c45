"""Tickets and call records indexed by phone, for the queue's priority check as each caller
joins (an escalated ticket of theirs, a call of theirs in the last 24 h), which otherwise scans
every ticket and a day of calls.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tickets_phone', 'tickets', ['phone'])
    op.create_index('ix_call_records_from_phone_started_at', 'call_records', ['from_phone', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_call_records_from_phone_started_at', table_name='call_records')
    op.drop_index('ix_tickets_phone', table_name='tickets')
