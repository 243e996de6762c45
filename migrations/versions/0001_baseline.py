"""Baseline: the schema before the callbacks' status index.

Databases made by create_all before commit f7829db have this schema; 0002 adds the index that
commit added.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# The enums' members as they were then (stored as strings: native_enum=False), not imported
# from the models, whose members may change in later revisions.
PARCELSTATUS = (
    'PICKED_UP', 'IN_TRANSIT', 'OUT_FOR_DELIVERY', 'SIGNED', 'EXCEPTION', 'RETURNED',
)
EXCEPTIONREASON = (
    'WEATHER', 'TRAFFIC_CONTROL', 'BACKLOG', 'ADDRESS_PROBLEM', 'DAMAGED', 'LOST',
)
COMPLAINTCATEGORY = (
    'DAMAGED', 'LOST', 'DELAYED', 'MISSORTED', 'NOT_DELIVERED_TO_DOOR', 'SIGNED_NOT_RECEIVED',
    'COURIER_ATTITUDE', 'WRONG_CHARGES', 'ADDRESS_CHANGE', 'SUGGESTION', 'MESSAGE',
)
TICKETSTATUS = (
    'NEW', 'ASSIGNED', 'FIRST_RESPONSE', 'WAITING_BRANCH', 'RESULT_RECEIVED', 'CUSTOMER_CONFIRMED',
    'CLOSED', 'ESCALATED',
)
DEMAND = (
    'COMPENSATION', 'REDELIVERY', 'REFUND', 'EXPLANATION', 'CALL_BACK', 'NONE',
)
CALLBACKSTATUS = (
    'SCHEDULED', 'DIALLING', 'AWAITING_AGENT', 'RINGING', 'COMPLETED', 'EXPIRED', 'FAILED',
    'CANCELLED',
)


def upgrade() -> None:
    op.create_table(
        'announcements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('carrier', sa.String(length=8), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=False),
        sa.Column('route', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_table(
        'branches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('area', sa.String(length=64), nullable=False),
        sa.Column('postcodes', sa.JSON(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('hours', sa.String(length=32), nullable=False),
        sa.Column('pickup_points', sa.JSON(), nullable=False),
        sa.Column('pickup_capacity', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code')
    )

    op.create_table(
        'call_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('direction', sa.String(length=16), nullable=False),
        sa.Column('from_phone', sa.String(length=20), nullable=False),
        sa.Column('to_phone', sa.String(length=20), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('carrier_status', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=24), nullable=False),
        sa.Column('last_step', sa.String(length=64), nullable=False),
        sa.Column('waybill', sa.String(length=32), nullable=False),
        sa.Column('carrier', sa.String(length=8), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('transcript', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid')
    )
    op.create_index('ix_call_records_started_at', 'call_records', ['started_at'])
    op.create_index('ix_call_records_waybill', 'call_records', ['waybill'])

    op.create_table(
        'do_not_call',
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('phone')
    )

    op.create_table(
        'parcels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('waybill', sa.String(length=32), nullable=False),
        sa.Column('keyed_digits', sa.String(length=32), nullable=False),
        sa.Column('carrier', sa.String(length=8), nullable=False),
        sa.Column('status', sa.Enum(*PARCELSTATUS, name='parcelstatus', native_enum=False, length=24), nullable=False),
        sa.Column('exception_reason', sa.Enum(*EXCEPTIONREASON, name='exceptionreason', native_enum=False, length=24),
                  nullable=True),
        sa.Column('origin', sa.String(length=64), nullable=False),
        sa.Column('destination', sa.String(length=64), nullable=False),
        sa.Column('sender_phone', sa.String(length=20), nullable=False),
        sa.Column('recipient_phone', sa.String(length=20), nullable=False),
        sa.Column('sender_name', sa.String(length=64), nullable=False),
        sa.Column('recipient_name', sa.String(length=64), nullable=False),
        sa.Column('expected_delivery', sa.Date(), nullable=True),
        sa.Column('last_scan_at', sa.DateTime(), nullable=True),
        sa.Column('last_scan_location', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('waybill')
    )
    op.create_index('ix_parcels_keyed_digits', 'parcels', ['keyed_digits'])
    op.create_index('ix_parcels_recipient_phone', 'parcels', ['recipient_phone'])
    op.create_index('ix_parcels_sender_phone', 'parcels', ['sender_phone'])

    op.create_table(
        'saved_addresses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_saved_addresses_phone', 'saved_addresses', ['phone'])

    op.create_table(
        'tariffs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('destination', sa.String(length=16), nullable=False),
        sa.Column('carrier', sa.String(length=8), nullable=False),
        sa.Column('service', sa.String(length=16), nullable=False),
        sa.Column('max_kg', sa.Integer(), nullable=False),
        sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column('transit_days', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('origin', 'destination', 'carrier', 'service', 'max_kg')
    )

    op.create_table(
        'tickets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('category', sa.Enum(*COMPLAINTCATEGORY, name='complaintcategory', native_enum=False, length=32),
                  nullable=False),
        sa.Column('status', sa.Enum(*TICKETSTATUS, name='ticketstatus', native_enum=False, length=24), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('waybill', sa.String(length=32), nullable=False),
        sa.Column('demand', sa.Enum(*DEMAND, name='demand', native_enum=False, length=24), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('first_response_due', sa.DateTime(), nullable=False),
        sa.Column('closure_due', sa.DateTime(), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('first_responded_at', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('escalated_at', sa.DateTime(), nullable=True),
        sa.Column('claim_amount', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('claim_basis', sa.String(length=24), nullable=False),
        sa.Column('survey_score', sa.Integer(), nullable=True),
        sa.Column('recording', sa.String(length=300), nullable=False),
        sa.Column('transcript', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number')
    )
    op.create_index('ix_tickets_created_at', 'tickets', ['created_at'])
    op.create_index('ix_tickets_waybill', 'tickets', ['waybill'])

    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.String(length=256), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('display_name', sa.String(length=64), nullable=False),
        sa.Column('languages', sa.JSON(), nullable=False),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('username')
    )

    op.create_table(
        'callbacks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('slot', sa.String(length=24), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('status', sa.Enum(*CALLBACKSTATUS, name='callbackstatus', native_enum=False, length=16), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('origin_call_sid', sa.String(length=64), nullable=False),
        sa.Column('outbound_call_sid', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=False),
        sa.Column('survey_score', sa.Integer(), nullable=True),
        sa.Column('survey_comment', sa.String(length=1000), nullable=False),
        sa.Column('survey_recording', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_callbacks_due_at', 'callbacks', ['due_at'])
    op.create_index('ix_callbacks_ticket_id', 'callbacks', ['ticket_id'])

    op.create_table(
        'delivery_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('waybill', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=300), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], ),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_delivery_requests_waybill', 'delivery_requests', ['waybill'])

    op.create_table(
        'pickup_orders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=12), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('postcode', sa.String(length=6), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('address_recording', sa.String(length=300), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('window', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number')
    )
    op.create_index('ix_pickup_orders_branch_id', 'pickup_orders', ['branch_id'])
    op.create_index('ix_pickup_orders_day', 'pickup_orders', ['day'])
    op.create_index('ix_pickup_orders_phone', 'pickup_orders', ['phone'])

    op.create_table(
        'scan_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('parcel_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('location', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Enum(*PARCELSTATUS, name='parcelstatus', native_enum=False, length=24), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['parcel_id'], ['parcels.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_scan_events_parcel_id', 'scan_events', ['parcel_id'])

    op.create_table(
        'ticket_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ticket_events_ticket_id', 'ticket_events', ['ticket_id'])

    op.create_table(
        'callback_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('callback_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=24), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['callback_id'], ['callbacks.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('callback_id', 'number')
    )
    op.create_index('ix_callback_attempts_call_sid', 'callback_attempts', ['call_sid'])
    op.create_index('ix_callback_attempts_callback_id', 'callback_attempts', ['callback_id'])


def downgrade() -> None:
    op.drop_table('callback_attempts')
    op.drop_table('ticket_events')
    op.drop_table('scan_events')
    op.drop_table('pickup_orders')
    op.drop_table('delivery_requests')
    op.drop_table('callbacks')
    op.drop_table('users')
    op.drop_table('tickets')
    op.drop_table('tariffs')
    op.drop_table('saved_addresses')
    op.drop_table('parcels')
    op.drop_table('do_not_call')
    op.drop_table('call_records')
    op.drop_table('branches')
    op.drop_table('announcements')
