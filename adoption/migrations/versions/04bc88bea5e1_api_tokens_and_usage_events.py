"""api tokens and usage events

Tables api_tokens (bearer tokens, stored as SHA-256) and usage_events (CRM telemetry, unique
event_id for permanent idempotency).

Revision ID: 04bc88bea5e1
Revises: ee04b97798f1
Create Date: 2026-11-23 10:08:36.762294

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '04bc88bea5e1'
down_revision = 'ee04b97798f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("scope IN ('events:write', 'outcomes:write', 'read')", name=op.f('ck_api_tokens_known_scope')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_tokens_prefix')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('usage_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('occurred_at_raw', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=True),
    sa.Column('client', sa.String(length=16), nullable=True),
    sa.Column('properties', sa.JSON(), nullable=True),
    sa.Column('user_email', sa.String(length=320), nullable=True),
    sa.Column('crm_user_id', sa.String(length=64), nullable=True),
    sa.Column('crm_username', sa.String(length=320), nullable=True),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('qualifying', sa.Boolean(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_usage_events_employee_id_employees')),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_usage_events_token_id_api_tokens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_usage_events_event_id'))
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index('ix_usage_events_employee_occurred', ['employee_id', 'occurred_at'], unique=False)


def downgrade():
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_events_employee_occurred')

    op.drop_table('usage_events')
    op.drop_table('api_tokens')
