"""Survey fixtures: the item bank loaded, a change leader, and a survey builder."""
from __future__ import annotations

import datetime as dt

import pytest

from surveys.models import SurveyStatus
from surveys.services import QuestionSpec, create_survey, schedule_rounds, sync_item_bank
from tests.factories import make_unit, make_user

#: A Monday; the first round of the test surveys opens on it.
OPENS = dt.date(2025, 3, 3)
BUDGET = {"SURVEY_BUDGET_ROUNDS": 4, "SURVEY_BUDGET_DAYS": 28}


@pytest.fixture
def bank(db):
    """The project's item bank, synced into the database."""
    return sync_item_bank()


@pytest.fixture
def leader(db):
    """A change leader who builds surveys."""
    return make_user("change_leader")


@pytest.fixture
def build_survey(db, bank, leader):
    """Create (and by default activate and schedule) a survey; keyword arguments override."""

    def _build(*, questions=None, units=("Acme/EMEA",), activate=True, through=OPENS, **fields):
        values = {
            "title": "CRM pulse",
            "created_by": leader,
            "audience_units": [make_unit(p) for p in units],
            "questions": questions
            or [
                QuestionSpec(item_key="engagement.energy", allow_comment=True),
                QuestionSpec(item_key="enps.recommend"),
                QuestionSpec(wording="Which CRM screens do you use?", scale="multi",
                             options=("Pipeline", "Accounts", "Reports"), required=False),
                QuestionSpec(wording="Anything else?", scale="text", required=False),
            ],
            "first_opens_on": OPENS,
            "round_length_days": 7,
        }
        values.update(fields)
        survey = create_survey(**values)
        if activate:
            survey.status = SurveyStatus.ACTIVE.value
            schedule_rounds(survey, through)
        db.session.flush()
        return survey

    return _build
