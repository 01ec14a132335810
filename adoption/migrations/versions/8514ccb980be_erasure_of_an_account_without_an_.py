"""erasures of accounts without an employee record

An erasure now names either the employee (as before) or, for an account with no employee record
(an admin, an outside consultant), the account: ``erasures.user_id``, with ``employee_id`` and
``hr_id_digest`` then empty; exactly one of the two subjects is set. Downgrading deletes the
records of account erasures (the accounts stay erased).

Revision ID: 8514ccb980be
Revises: af5f697907fe
Create Date: 2026-12-07 22:57:24.164431

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8514ccb980be'
down_revision = 'af5f697907fe'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.alter_column('employee_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column('hr_id_digest', existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_erasures_user_id'), ['user_id'])
        batch_op.create_foreign_key(batch_op.f('fk_erasures_user_id_users'), 'users', ['user_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_erasures_one_subject'),
                                         '(employee_id IS NULL) <> (user_id IS NULL)')


def downgrade():
    op.execute("DELETE FROM erasures WHERE employee_id IS NULL")
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_erasures_one_subject'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_erasures_user_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_erasures_user_id'), type_='unique')
        batch_op.alter_column('hr_id_digest', existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.alter_column('employee_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('user_id')
