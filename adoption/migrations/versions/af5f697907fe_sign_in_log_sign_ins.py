"""sign-in log: sign_ins

One row per attempt to sign in with a password: when, which account (none when the address
typed names no account), the outcome, and the client's address (adoption/sign_ins.py). Kept
UPTAKE_SIGN_IN_LOG_DAYS days. The log starts empty: attempts made before this revision are not
known. Downgrading drops the log.

Revision ID: af5f697907fe
Revises: 82b329bddd17
Create Date: 2026-12-07 19:14:14.883444

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'af5f697907fe'
down_revision = '82b329bddd17'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.CheckConstraint("outcome IN ('signed_in', 'wrong_password', 'locked', 'disabled', 'no_password', 'unknown_account')", name=op.f('ck_sign_ins_known_outcome')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_ins_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_ins'))
    )
    with op.batch_alter_table('sign_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_ins_at'), ['at'], unique=False)
        batch_op.create_index('ix_sign_ins_user_id_at', ['user_id', 'at'], unique=False)



def downgrade():
    with op.batch_alter_table('sign_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_ins_user_id_at')
        batch_op.drop_index(batch_op.f('ix_sign_ins_at'))

    op.drop_table('sign_ins')
