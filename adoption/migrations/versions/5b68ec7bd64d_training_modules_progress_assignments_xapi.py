"""training: modules, steps, check questions, enrollments, attempts, commitments, assignments, xAPI

Training records are new tables only; nothing existing changes.

Revision ID: 5b68ec7bd64d
Revises: b0795095d4f1
Create Date: 2026-11-23 19:15:54.264225

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b68ec7bd64d'
down_revision = 'b0795095d4f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('audience', sa.Text(), nullable=False),
    sa.Column('estimated_minutes', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('key_behaviours', sa.JSON(), nullable=False),
    sa.Column('reaction_question', sa.String(length=300), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'published', 'retired')", name=op.f('ck_training_modules_known_module_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_modules_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_modules')),
    sa.UniqueConstraint('slug', name=op.f('uq_training_modules_slug'))
    )
    with op.batch_alter_table('training_modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_modules_status'), ['status'], unique=False)

    op.create_table('module_enrollments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('module_version', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('current_position', sa.SmallInteger(), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('reaction_score', sa.SmallInteger(), nullable=True),
    sa.Column('reaction_comment', sa.Text(), nullable=False),
    sa.CheckConstraint('reaction_score IS NULL OR reaction_score BETWEEN 1 AND 5', name=op.f('ck_module_enrollments_reaction_1_to_5')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_module_enrollments_employee_id_employees')),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_module_enrollments_module_id_training_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_module_enrollments')),
    sa.UniqueConstraint('employee_id', 'module_id', name='one_enrollment_per_module')
    )
    with op.batch_alter_table('module_enrollments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_module_enrollments_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_module_enrollments_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_module_enrollments_module_id'), ['module_id'], unique=False)

    op.create_table('module_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('commentary', sa.Text(), nullable=False),
    sa.Column('discussion', sa.JSON(), nullable=False),
    sa.Column('pass_mark_pct', sa.SmallInteger(), nullable=True),
    sa.Column('attempts_allowed', sa.SmallInteger(), nullable=True),
    sa.CheckConstraint("kind IN ('lesson', 'case_study', 'check', 'commitment')", name=op.f('ck_module_steps_known_step_kind')),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_module_steps_module_id_training_modules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_module_steps')),
    sa.UniqueConstraint('module_id', 'key', name='unique_step_key'),
    sa.UniqueConstraint('module_id', 'position', name='one_step_per_position')
    )
    with op.batch_alter_table('module_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_module_steps_module_id'), ['module_id'], unique=False)

    op.create_table('training_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('joiner_days', sa.SmallInteger(), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=True),
    sa.Column('assigned_on', sa.Date(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_assignments_created_by_id_users')),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_assignments_module_id_training_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_assignments'))
    )
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_assignments_module_id'), ['module_id'], unique=False)

    op.create_table('xapi_statements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('verb', sa.String(length=200), nullable=False),
    sa.Column('activity', sa.String(length=500), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=True),
    sa.Column('timestamp', sa.DateTime(), nullable=False),
    sa.Column('stored', sa.DateTime(), nullable=False),
    sa.Column('statement', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_xapi_statements_employee_id_employees')),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_xapi_statements_module_id_training_modules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_statements'))
    )
    with op.batch_alter_table('xapi_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_xapi_statements_activity'), ['activity'], unique=False)
        batch_op.create_index(batch_op.f('ix_xapi_statements_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_xapi_statements_module_id'), ['module_id'], unique=False)
        batch_op.create_index('ix_xapi_statements_stored_id', ['stored', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_xapi_statements_verb'), ['verb'], unique=False)

    op.create_table('assigned_trainings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('assigned_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('as_joiner', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['training_assignments.id'], name=op.f('fk_assigned_trainings_assignment_id_training_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_assigned_trainings_employee_id_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assigned_trainings')),
    sa.UniqueConstraint('assignment_id', 'employee_id', name='one_assignee_per_assignment')
    )
    with op.batch_alter_table('assigned_trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assigned_trainings_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assigned_trainings_employee_id'), ['employee_id'], unique=False)

    op.create_table('case_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['module_enrollments.id'], name=op.f('fk_case_answers_enrollment_id_module_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['module_steps.id'], name=op.f('fk_case_answers_step_id_module_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_answers')),
    sa.UniqueConstraint('enrollment_id', 'step_id', name='one_answer_per_case')
    )
    with op.batch_alter_table('case_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_answers_enrollment_id'), ['enrollment_id'], unique=False)

    op.create_table('check_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.SmallInteger(), nullable=False),
    sa.Column('score_pct', sa.Float(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['module_enrollments.id'], name=op.f('fk_check_attempts_enrollment_id_module_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['module_steps.id'], name=op.f('fk_check_attempts_step_id_module_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_attempts')),
    sa.UniqueConstraint('enrollment_id', 'step_id', 'number', name='one_attempt_per_number')
    )
    with op.batch_alter_table('check_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_attempts_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_attempts_step_id'), ['step_id'], unique=False)

    op.create_table('check_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('correct', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('single', 'multiple')", name=op.f('ck_check_questions_known_question_kind')),
    sa.ForeignKeyConstraint(['step_id'], ['module_steps.id'], name=op.f('fk_check_questions_step_id_module_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_questions')),
    sa.UniqueConstraint('step_id', 'position', name='one_question_per_position')
    )
    with op.batch_alter_table('check_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_questions_step_id'), ['step_id'], unique=False)

    op.create_table('commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('key_behaviour', sa.String(length=64), nullable=True),
    sa.Column('committed_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_commitments_employee_id_employees')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['module_enrollments.id'], name=op.f('fk_commitments_enrollment_id_module_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_commitments_module_id_training_modules')),
    sa.ForeignKeyConstraint(['step_id'], ['module_steps.id'], name=op.f('fk_commitments_step_id_module_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitments')),
    sa.UniqueConstraint('enrollment_id', 'step_id', name='one_commitment_per_step')
    )
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitments_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitments_module_id'), ['module_id'], unique=False)

    op.create_table('step_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['module_enrollments.id'], name=op.f('fk_step_completions_enrollment_id_module_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['module_steps.id'], name=op.f('fk_step_completions_step_id_module_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_completions')),
    sa.UniqueConstraint('enrollment_id', 'step_id', name='one_completion_per_step')
    )
    with op.batch_alter_table('step_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_completions_enrollment_id'), ['enrollment_id'], unique=False)

    op.create_table('training_assignment_units',
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['training_assignments.id'], name=op.f('fk_training_assignment_units_assignment_id_training_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_training_assignment_units_unit_id_org_units')),
    sa.PrimaryKeyConstraint('assignment_id', 'unit_id', name=op.f('pk_training_assignment_units'))
    )
    op.create_table('check_attempt_answers',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('chosen', sa.JSON(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['check_attempts.id'], name=op.f('fk_check_attempt_answers_attempt_id_check_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['check_questions.id'], name=op.f('fk_check_attempt_answers_question_id_check_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'question_id', name=op.f('pk_check_attempt_answers'))
    )
    op.create_table('commitment_follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('day_offset', sa.SmallInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IS NULL OR status IN ('done', 'partly', 'not_yet')", name=op.f('ck_commitment_follow_ups_known_follow_up_status')),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitments.id'], name=op.f('fk_commitment_follow_ups_commitment_id_commitments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_follow_ups')),
    sa.UniqueConstraint('commitment_id', 'day_offset', name='one_follow_up_per_offset')
    )
    with op.batch_alter_table('commitment_follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_follow_ups_commitment_id'), ['commitment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commitment_follow_ups_due_on'), ['due_on'], unique=False)

    op.create_table('training_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assigned_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.CheckConstraint("kind IN ('before_due', 'overdue')", name=op.f('ck_training_reminders_known_training_reminder_kind')),
    sa.ForeignKeyConstraint(['assigned_id'], ['assigned_trainings.id'], name=op.f('fk_training_reminders_assigned_id_assigned_trainings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_reminders')),
    sa.UniqueConstraint('assigned_id', 'kind', name='one_training_reminder_per_kind')
    )
    with op.batch_alter_table('training_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_reminders_assigned_id'), ['assigned_id'], unique=False)



def downgrade():
    with op.batch_alter_table('training_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_reminders_assigned_id'))

    op.drop_table('training_reminders')
    with op.batch_alter_table('commitment_follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitment_follow_ups_due_on'))
        batch_op.drop_index(batch_op.f('ix_commitment_follow_ups_commitment_id'))

    op.drop_table('commitment_follow_ups')
    op.drop_table('check_attempt_answers')
    op.drop_table('training_assignment_units')
    with op.batch_alter_table('step_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_completions_enrollment_id'))

    op.drop_table('step_completions')
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commitments_module_id'))
        batch_op.drop_index(batch_op.f('ix_commitments_enrollment_id'))
        batch_op.drop_index(batch_op.f('ix_commitments_employee_id'))

    op.drop_table('commitments')
    with op.batch_alter_table('check_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_questions_step_id'))

    op.drop_table('check_questions')
    with op.batch_alter_table('check_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_attempts_step_id'))
        batch_op.drop_index(batch_op.f('ix_check_attempts_enrollment_id'))

    op.drop_table('check_attempts')
    with op.batch_alter_table('case_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_answers_enrollment_id'))

    op.drop_table('case_answers')
    with op.batch_alter_table('assigned_trainings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assigned_trainings_employee_id'))
        batch_op.drop_index(batch_op.f('ix_assigned_trainings_assignment_id'))

    op.drop_table('assigned_trainings')
    with op.batch_alter_table('xapi_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_xapi_statements_verb'))
        batch_op.drop_index('ix_xapi_statements_stored_id')
        batch_op.drop_index(batch_op.f('ix_xapi_statements_module_id'))
        batch_op.drop_index(batch_op.f('ix_xapi_statements_employee_id'))
        batch_op.drop_index(batch_op.f('ix_xapi_statements_activity'))

    op.drop_table('xapi_statements')
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_assignments_module_id'))

    op.drop_table('training_assignments')
    with op.batch_alter_table('module_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_module_steps_module_id'))

    op.drop_table('module_steps')
    with op.batch_alter_table('module_enrollments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_module_enrollments_module_id'))
        batch_op.drop_index(batch_op.f('ix_module_enrollments_employee_id'))
        batch_op.drop_index(batch_op.f('ix_module_enrollments_completed_at'))

    op.drop_table('module_enrollments')
    with op.batch_alter_table('training_modules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_modules_status'))

    op.drop_table('training_modules')
