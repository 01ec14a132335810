"""Survey forms: the answer form (buttons, CSRF token, reading its answers) and the survey builder."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from adoption.forms import choice
from adoption.models import OrgUnit, Role
from surveys.models import (
    CHOICE_SCALES,
    Recurrence,
    RoundQuestion,
    Scale,
    SurveyItemVersion,
    SurveyQuestion,
)
from surveys.services import QuestionSpec


class AnswerForm(FlaskForm):
    """The answer form; its questions are rendered from the round, their fields read by ``answers_from``."""

    save = SubmitField("Save draft")
    send = SubmitField("Submit")


def answers_from(formdata: Mapping[str, Any], questions: Iterable[RoundQuestion]) -> dict[int, dict]:
    """The answers in a posted form, by round question id (fields ``q<id>`` and ``q<id>-comment``).

    ``questions`` are those the form showed: the round's questions asked of the respondent
    (``surveys.services.questions_for``), so another unit's follow-up item is never read.
    """
    answers: dict[int, dict] = {}
    for rq in questions:
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


# ------------------------------------------------------------------ the survey builder

#: Empty custom-question rows offered under the filled ones ("save and add more" gives more).
EMPTY_CUSTOM_ROWS = 3

SCALE_LABELS = {
    Scale.LIKERT5.value: "Agreement, 1–5 (strongly disagree … strongly agree)",
    Scale.NPS11.value: "0–10 (not at all likely … extremely likely)",
    Scale.SINGLE.value: "Single choice",
    Scale.MULTI.value: "Multiple choice",
    Scale.TEXT.value: "Free text",
}

RECURRENCE_LABELS = {
    Recurrence.NONE.value: "Once (no recurrence)",
    Recurrence.WEEKLY.value: "Weekly",
    Recurrence.FORTNIGHTLY.value: "Fortnightly",
    Recurrence.MONTHLY.value: "Monthly",
    Recurrence.QUARTERLY.value: "Quarterly",
}


class CustomQuestionForm(Form):
    """One custom question row; a row left without wording is ignored."""

    wording = TextAreaField("Question", validators=[Optional(), Length(max=500)])
    scale = SelectField("Answer scale", choices=[choice(v, label) for v, label in SCALE_LABELS.items()], default=Scale.LIKERT5.value)
    options = TextAreaField("Options, one per line (single and multiple choice only)", validators=[Optional()])
    allow_comment = BooleanField("Offer a comment box")
    required = BooleanField("Answer required", default=True)

    def spec(self) -> QuestionSpec | None:
        """The row as a question for the service, or None when it is empty."""
        wording = (self.wording.data or "").strip()
        if not wording:
            return None
        options = tuple(line.strip() for line in (self.options.data or "").splitlines() if line.strip())
        return QuestionSpec(wording=wording, scale=self.scale.data, options=options or None,
                            allow_comment=bool(self.allow_comment.data), required=bool(self.required.data))


class SurveyBuilderForm(FlaskForm):
    """Create or edit a survey; unit and item choices are set by the view (``set_choices``)."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    units = SelectMultipleField("Audience units (each with its whole subtree)", coerce=int,
                                validators=[DataRequired("Choose at least one unit.")])
    roles = SelectMultipleField("Only these roles (none ticked: everyone)", validators=[Optional()],
                                choices=[choice(r.value, r.value) for r in Role])
    recurrence = SelectField("Recurrence", choices=[choice(v, label) for v, label in RECURRENCE_LABELS.items()], default=Recurrence.NONE.value)
    first_opens_on = DateField("First round opens on", validators=[DataRequired("Give the first opening date.")])
    round_length_days = IntegerField("Each round stays open (days)", default=7,
                                     validators=[DataRequired("Give the round length in days."), NumberRange(min=1)])
    ends_on = DateField("No round opens after (optional)", validators=[Optional()])
    max_items_per_round = IntegerField("Ask at most this many questions per round (optional)",
                                       validators=[Optional(), NumberRange(min=1)])
    rotate_every = IntegerField("Ask each question at least every … rounds (optional)",
                                validators=[Optional(), NumberRange(min=1)])
    items = SelectMultipleField("Questions from the item bank", coerce=int, validators=[Optional()])
    item_comments = SelectMultipleField("Comment box under", coerce=int, validators=[Optional()])
    custom = FieldList(FormField(CustomQuestionForm), min_entries=EMPTY_CUSTOM_ROWS)
    save = SubmitField("Save survey")
    save_more = SubmitField("Save and add more questions")

    def set_choices(self, units: list[OrgUnit], versions: list[SurveyItemVersion]) -> None:
        """Offer ``units`` for the audience and the bank ``versions`` as questions."""
        self.units.choices = [choice(u.id, u.path) for u in units]
        self.items.choices = [choice(v.id, v.wording) for v in versions]
        self.item_comments.choices = list(self.items.choices)
        self._item_order = [v.id for v in versions]

    def question_specs(self, existing: dict[int, SurveyQuestion] | None = None) -> list[QuestionSpec]:
        """The chosen bank items (in bank order) then the custom rows, as question specs.

        ``existing`` maps item version id -> the survey's question for it, so an edit keeps
        whether a bank question is required (the form does not ask it).
        """
        existing = existing or {}
        chosen, comments = set(self.items.data or []), set(self.item_comments.data or [])
        specs = [
            QuestionSpec(item_version_id=version_id, allow_comment=version_id in comments,
                         required=existing[version_id].required if version_id in existing else True)
            for version_id in self._item_order if version_id in chosen
        ]
        specs += [spec for row in self.custom for spec in [row.form.spec()] if spec is not None]
        return specs
