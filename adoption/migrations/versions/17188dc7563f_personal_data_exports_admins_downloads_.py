"""personal data exports: admins' downloads of someone's data

One row each time an admin downloads a person's data (Admin -> Personal data), for audit.
Downgrading drops the record of them.

Revision ID: 17188dc7563f
Revises: 629cf521f5ea
Create Date: 2026-12-07 05:25:47.641566

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '17188dc7563f'
down_revision = '629cf521f5ea'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('personal_data_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('exported_by_id', sa.Integer(), nullable=True),
    sa.Column('exported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_personal_data_exports_employee_id_employees')),
    sa.ForeignKeyConstraint(['exported_by_id'], ['users.id'], name=op.f('fk_personal_data_exports_exported_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_data_exports_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_exports'))
    )
    with op.batch_alter_table('personal_data_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_exports_employee_id'), ['employee_id'], unique=False)



def downgrade():
    with op.batch_alter_table('personal_data_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_data_exports_employee_id'))

    op.drop_table('personal_data_exports')
