"""round groups keep the sums of shown groups; closed rounds are prepared again

A shown group's statistics are now summed over its subtree when the round is prepared and kept
on its ``round_groups`` row (surveys/results.py), instead of being summed at every read. Rounds
prepared before this revision have no such sums, so the upgrade marks them unprepared: the next
dashboard request, results API call or daily ``flask --app wsgi schedule-surveys`` prepares them again
from their stored answers (a few seconds per large round), with the same disclosure rules.

Revision ID: 05ae39901e57
Revises: 5b68ec7bd64d
Create Date: 2026-11-23 19:40:12.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '05ae39901e57'
down_revision = '5b68ec7bd64d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sums', sa.JSON(), nullable=True))
    op.execute("UPDATE survey_rounds SET results_ready_at = NULL")


def downgrade():
    # Reads without the stored sums sum the per-unit statistics, which are kept: nothing to redo.
    with op.batch_alter_table('round_groups', schema=None) as batch_op:
        batch_op.drop_column('sums')
