"""xapi learner aliases: external learner identifiers mapped to employees

An admin maps an xAPI actor identifier that matches no one on the roster (a personal e-mail, an
LMS account name) to an employee; the statements naming it are attributed to them. Downgrading
drops the aliases and leaves the statements attributed.

Revision ID: 629cf521f5ea
Revises: 9c7d275dea69
Create Date: 2026-12-07 04:30:26.057714

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '629cf521f5ea'
down_revision = '9c7d275dea69'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('xapi_learner_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_key', sa.String(length=700), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_xapi_learner_aliases_created_by_id_users')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_xapi_learner_aliases_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_learner_aliases')),
    sa.UniqueConstraint('actor_key', name=op.f('uq_xapi_learner_aliases_actor_key'))
    )
    with op.batch_alter_table('xapi_learner_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_xapi_learner_aliases_employee_id'), ['employee_id'], unique=False)



def downgrade():
    with op.batch_alter_table('xapi_learner_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_xapi_learner_aliases_employee_id'))

    op.drop_table('xapi_learner_aliases')
