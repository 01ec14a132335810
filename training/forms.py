"""Learner forms: one per step kind (their CSRF token included), and reading a check's answers."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from adoption.forms import choice
from training.models import CheckQuestion
from training.services import MAX_CASE_ANSWER_LENGTH, MAX_COMMENT_LENGTH, MAX_COMMITMENT_LENGTH

#: The reaction scale; the page explains its ends ("1 = not useful, 5 = very useful").
USEFULNESS_LABELS = {n: str(n) for n in range(1, 6)}


class StartForm(FlaskForm):
    """Start a module (it creates the enrollment, so it is a POST)."""

    submit = SubmitField("Start the module")


class LessonForm(FlaskForm):
    """Mark a lesson as read."""

    submit = SubmitField("I have read this, continue")


class CaseAnswerForm(FlaskForm):
    """The learner's answer to a case study, written before the commentary is shown."""

    answer = TextAreaField("What would you do, and why?", validators=[
        DataRequired("Please write what you would do."), Length(max=MAX_CASE_ANSWER_LENGTH)])
    submit = SubmitField("Save my answer and show the commentary")


class CheckForm(FlaskForm):
    """Submit an attempt at a check; its questions are rendered from the step, read by ``check_answers``."""

    submit = SubmitField("Submit my answers")


def check_answers(formdata: Mapping[str, Any], questions: Iterable[CheckQuestion]) -> dict[int, list[int]]:
    """The options chosen for each question (fields ``q<question id>``, option indexes as values).

    A value that is not a number becomes -1, which the service refuses as "not one of the options".
    """
    answers: dict[int, list[int]] = {}
    for question in questions:
        raw = formdata.getlist(f"q{question.id}") if hasattr(formdata, "getlist") else []
        answers[question.id] = [int(v) if v.isdigit() else -1 for v in raw]
    return answers


def behaviour_label(event_type: str) -> str:
    """A key behaviour (an event type such as ``activity_logged``) in words."""
    return event_type.replace("_", " ").capitalize()


class CommitmentForm(FlaskForm):
    """"In the next 30 days I will ...", optionally tied to one key behaviour."""

    text = TextAreaField("In the next 30 days I will …", validators=[
        DataRequired("Please write your commitment."), Length(max=MAX_COMMITMENT_LENGTH)])
    key_behaviour = SelectField("Which key behaviour does it concern? (optional)", choices=[], default="")
    submit = SubmitField("Make my commitment")

    def set_behaviours(self, behaviours: Iterable[str]) -> None:
        """Offer ``behaviours`` (and "none")."""
        self.key_behaviour.choices = [choice("", "None of these")] + [
            choice(b, behaviour_label(b)) for b in behaviours]


class ReactionForm(FlaskForm):
    """The reaction question (usefulness 1-5) and an optional comment."""

    score = RadioField("How useful was this module?", coerce=int,
                       choices=[choice(n, label) for n, label in USEFULNESS_LABELS.items()],
                       validators=[InputRequired("Please choose a number from 1 to 5.")])
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=MAX_COMMENT_LENGTH)])
    submit = SubmitField("Finish the module")
