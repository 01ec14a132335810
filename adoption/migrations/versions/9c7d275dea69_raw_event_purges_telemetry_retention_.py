"""raw event purges: telemetry retention runs

One row per run of `flask purge-telemetry`, which deletes raw CRM events older than
UPTAKE_TELEMETRY_RETENTION_DAYS; the latest `purged_before` is the day before which ingest
refuses events and rollups are never rebuilt. Downgrading drops the log (the deleted events
stay deleted).

Revision ID: 9c7d275dea69
Revises: bf57a6e72a35
Create Date: 2026-12-07 04:16:37.799817

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9c7d275dea69'
down_revision = 'bf57a6e72a35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('raw_event_purges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purged_before', sa.Date(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('events_deleted', sa.BigInteger(), nullable=False),
    sa.Column('unmatched_deleted', sa.BigInteger(), nullable=False),
    sa.Column('files_deleted', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_event_purges'))
    )
    with op.batch_alter_table('raw_event_purges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_event_purges_purged_before'), ['purged_before'], unique=False)



def downgrade():
    with op.batch_alter_table('raw_event_purges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_event_purges_purged_before'))

    op.drop_table('raw_event_purges')
