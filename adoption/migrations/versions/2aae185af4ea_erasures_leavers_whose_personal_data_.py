"""erasures: leavers whose personal data was erased

One row per leaver whose personal data was erased (adoption/erasure.py): when, why, by whom and
what, with a keyed hash of their HR id. Downgrading drops the record of the erasures (the erased
data itself cannot come back).

Revision ID: 2aae185af4ea
Revises: 17188dc7563f
Create Date: 2026-12-07 07:19:56.247818

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '2aae185af4ea'
down_revision = '17188dc7563f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('hr_id_digest', sa.String(length=64), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('erased_by_id', sa.Integer(), nullable=True),
    sa.Column('erased_at', sa.DateTime(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_erasures_employee_id_employees')),
    sa.ForeignKeyConstraint(['erased_by_id'], ['users.id'], name=op.f('fk_erasures_erased_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures')),
    sa.UniqueConstraint('employee_id', name=op.f('uq_erasures_employee_id'))
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasures_hr_id_digest'), ['hr_id_digest'], unique=False)



def downgrade():
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasures_hr_id_digest'))

    op.drop_table('erasures')
