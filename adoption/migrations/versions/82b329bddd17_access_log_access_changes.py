"""access log: access_changes

One row per change to an account's access (created, role, disabled or enabled, locked or
unlocked, password links and passwords set through them) or to an API token (issued, revoked),
with when and by whom (adoption/access_changes.py). The log starts empty: changes made before
this revision are not known. Downgrading drops the log.

Revision ID: 82b329bddd17
Revises: 2aae185af4ea
Create Date: 2026-12-07 10:32:20.975458

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '82b329bddd17'
down_revision = '2aae185af4ea'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.String(length=32), nullable=True),
    sa.Column('after', sa.String(length=32), nullable=True),
    sa.CheckConstraint("action IN ('account_created', 'role_changed', 'disabled', 'enabled', 'locked', 'unlocked', 'invited', 'reset_link', 'password_set', 'token_issued', 'token_revoked')", name=op.f('ck_access_changes_known_action')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_access_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_access_changes_token_id_api_tokens'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_changes'))
    )
    with op.batch_alter_table('access_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_changes_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_changes_at'), ['at'], unique=False)
        batch_op.create_index('ix_access_changes_user_id_id', ['user_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('access_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_access_changes_user_id_id')
        batch_op.drop_index(batch_op.f('ix_access_changes_at'))
        batch_op.drop_index(batch_op.f('ix_access_changes_actor_id'))

    op.drop_table('access_changes')
