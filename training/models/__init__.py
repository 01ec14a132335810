"""Training models: one module per concern, all importable from ``training.models``.

- content: modules, their ordered steps and knowledge-check questions
- progress: a learner's enrollment in a module, step completions, case answers, check attempts,
  commitments and their 30/60/90-day follow-ups
- assignments: who must take which module by when, and the reminders sent about it
- xapi: the xAPI 1.0.3 statements every learning action also writes
"""
from training.models.assignments import (
    REMINDER_KINDS,
    AssignedTraining,
    Assignment,
    TrainingReminder,
    TrainingReminderKind,
    TrainingStatus,
    assignment_units,
)
from training.models.content import (
    MODULE_STATUSES,
    QUESTION_KINDS,
    STEP_KINDS,
    CheckQuestion,
    Module,
    ModuleStatus,
    ModuleStep,
    QuestionKind,
    StepKind,
)
from training.models.progress import (
    FOLLOW_UP_DAYS,
    FOLLOW_UP_STATUSES,
    CaseAnswer,
    CheckAttempt,
    CheckAttemptAnswer,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    FollowUpStatus,
    StepCompletion,
)
from training.models.xapi import LearnerAlias, XapiStatement

__all__ = [
    "FOLLOW_UP_DAYS",
    "FOLLOW_UP_STATUSES",
    "MODULE_STATUSES",
    "QUESTION_KINDS",
    "REMINDER_KINDS",
    "STEP_KINDS",
    "AssignedTraining",
    "Assignment",
    "CaseAnswer",
    "CheckAttempt",
    "CheckAttemptAnswer",
    "CheckQuestion",
    "Commitment",
    "CommitmentFollowUp",
    "Enrollment",
    "FollowUpStatus",
    "LearnerAlias",
    "Module",
    "ModuleStatus",
    "ModuleStep",
    "QuestionKind",
    "StepCompletion",
    "StepKind",
    "TrainingReminder",
    "TrainingReminderKind",
    "TrainingStatus",
    "XapiStatement",
    "assignment_units",
]
