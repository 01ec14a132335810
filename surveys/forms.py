"""Survey forms: the answer form's buttons and CSRF token, and reading its answers."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SubmitField

from surveys.models import CHOICE_SCALES, Scale, SurveyRound


class AnswerForm(FlaskForm):
    """The answer form; its questions are rendered from the round, their fields read by ``answers_from``."""

    save = SubmitField("Save draft")
    send = SubmitField("Submit")


def answers_from(formdata: Mapping[str, Any], survey_round: SurveyRound) -> dict[int, dict]:
    """The answers in a posted form, by round question id (fields ``q<id>`` and ``q<id>-comment``)."""
    answers: dict[int, dict] = {}
    for rq in survey_round.questions:
        name, scale = f"q{rq.id}", rq.question.scale
        answer: dict[str, Any] = {}
        if scale in (Scale.LIKERT5.value, Scale.NPS11.value):
            answer["value"] = formdata.get(name) or None
        elif scale in CHOICE_SCALES:
            answer["choices"] = formdata.getlist(name) if hasattr(formdata, "getlist") else formdata.get(name)
        else:
            answer["text"] = formdata.get(name, "")
        if rq.question.allow_comment:
            answer["comment"] = formdata.get(f"{name}-comment", "")
        answers[rq.id] = answer
    return answers
