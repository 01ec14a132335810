"""Pulse survey models: one module per concern, all importable from ``surveys.models``.

- core: the item bank, surveys, rounds, and the anonymous responses and answers
- conversations: comments (kept apart from responses) and leaders' conversations with authors
- actions: "you said, we did" action plans
- results: what a closed round may show, and the statistics its results are read from
- reminders: reminders sent for a round
"""
from surveys.models.actions import PLAN_STATUSES, ActionPlan, ActionPlanUpdate, PlanStatus
from surveys.models.conversations import (
    COMMENT_KINDS,
    THREAD_STATUSES,
    Comment,
    CommentKind,
    CommentThread,
    ThreadMessage,
    ThreadStatus,
)
from surveys.models.core import (
    CHOICE_SCALES,
    RECURRENCES,
    SCALES,
    SURVEY_STATUSES,
    TENURE_BANDS,
    Answer,
    Participation,
    Recurrence,
    Response,
    ResponseDraft,
    RoundQuestion,
    Scale,
    Survey,
    SurveyItem,
    SurveyItemVersion,
    SurveyQuestion,
    SurveyRound,
    SurveyStatus,
    survey_audience_units,
)
from surveys.models.reminders import REMINDER_KINDS, ReminderKind, SurveyReminder
from surveys.models.results import ALL_BANDS, NO_BAND, RoundGroup, RoundItemStats, RoundUnitStats

__all__ = [
    "ALL_BANDS",
    "CHOICE_SCALES",
    "COMMENT_KINDS",
    "NO_BAND",
    "PLAN_STATUSES",
    "RECURRENCES",
    "REMINDER_KINDS",
    "SCALES",
    "SURVEY_STATUSES",
    "TENURE_BANDS",
    "THREAD_STATUSES",
    "ActionPlan",
    "ActionPlanUpdate",
    "Answer",
    "Comment",
    "CommentKind",
    "CommentThread",
    "Participation",
    "PlanStatus",
    "Recurrence",
    "ReminderKind",
    "Response",
    "ResponseDraft",
    "RoundGroup",
    "RoundItemStats",
    "RoundQuestion",
    "RoundUnitStats",
    "Scale",
    "Survey",
    "SurveyItem",
    "SurveyItemVersion",
    "SurveyQuestion",
    "SurveyReminder",
    "SurveyRound",
    "SurveyStatus",
    "ThreadMessage",
    "ThreadStatus",
    "survey_audience_units",
]
