"""Forms of "you said, we did": a new action plan, an update on one, and the leaders' list filter.

The unit, round, owner, item and status choices are offered for convenience only: they are not
checked against the list (``validate_choice=False``), so whatever is posted reaches the service,
which decides (a unit outside the user's scope is a ``ScopeError``, answered with 403).
"""
from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from adoption.forms import choice, optional_int
from adoption.models import OrgUnit
from surveys.actions import MAX_TEXT_LENGTH, MAX_TITLE_LENGTH, STATUS_LABELS, next_statuses
from surveys.models import PLAN_STATUSES, SurveyItemVersion, SurveyRound


def round_label(survey_round: SurveyRound) -> str:
    """How a round is named in the choices: survey, number and dates."""
    return (f"{survey_round.survey.title} \u2014 round {survey_round.number} "
            f"({survey_round.opens_on:%d %b} \u2013 {survey_round.closes_on:%d %b %Y})")


class _ServiceErrors:
    """Lets a view show a service's ``ActionPlanError`` under the fields it names."""

    def add_errors(self, errors: dict[str, str]) -> None:
        """Add each message to the errors of the field it names."""
        for name, message in errors.items():
            field = self._fields.get(name)
            if field is not None:
                field.errors = [*field.errors, message]


class ActionPlanForm(_ServiceErrors, FlaskForm):
    """A new action plan; the view sets the choices (``set_choices``)."""

    unit = SelectField("Unit (its people see the plan)", coerce=optional_int, validate_choice=False,
                       validators=[DataRequired("Choose the unit the plan is for.")])
    round = SelectField("Survey round it answers", coerce=optional_int, validate_choice=False,
                        validators=[DataRequired("Choose the survey round the plan answers.")])
    title = StringField("What will be done", validators=[DataRequired("Give the plan a title."),
                                                         Length(max=MAX_TITLE_LENGTH)])
    description = TextAreaField("Details (optional)", validators=[Optional(), Length(max=MAX_TEXT_LENGTH)])
    owner = SelectField("Owner", coerce=optional_int, validate_choice=False,
                        validators=[DataRequired("Choose who owns the plan.")])
    due_on = DateField("Due date", validators=[DataRequired("Give a due date.")])
    item = SelectField("Item it answers (optional)", coerce=optional_int, validate_choice=False,
                       validators=[Optional()])
    thread_id = IntegerField("Conversation number it answers (optional)",
                             validators=[Optional(), NumberRange(min=1)])
    follow_up = BooleanField("Ask \u201cHas this action made a difference?\u201d of the unit in the survey\u2019s next round")
    submit = SubmitField("Save the plan")

    def set_choices(self, units: Iterable[OrgUnit], rounds: Iterable[SurveyRound], owners: Iterable[tuple[int, str]],
                    items: Iterable[SurveyItemVersion]) -> None:
        """Offer the units in scope, the rounds, the possible owners and the bank items of those rounds."""
        self.unit.choices = [choice("", "Choose a unit")] + [choice(u.id, u.path) for u in units]
        self.round.choices = [choice("", "Choose a round")] + [choice(r.id, round_label(r)) for r in rounds]
        self.owner.choices = [choice("", "Choose the owner")] + [choice(uid, name) for uid, name in owners]
        self.item.choices = [choice("", "None: the plan is about the results as a whole")] + [
            choice(v.id, v.wording) for v in items
        ]

    def plan_args(self) -> dict:
        """The form's values as ``create_plan`` arguments."""
        return {
            "unit_id": self.unit.data, "round_id": self.round.data, "title": self.title.data,
            "description": self.description.data or "", "owner_id": self.owner.data, "due_on": self.due_on.data,
            "item_version_id": self.item.data, "thread_id": self.thread_id.data,
            "follow_up": bool(self.follow_up.data),
        }


class PlanUpdateForm(_ServiceErrors, FlaskForm):
    """A public progress note on a plan, optionally moving its status."""

    body = TextAreaField("Update (everyone in the unit reads it)",
                         validators=[DataRequired("Write what happened."), Length(max=MAX_TEXT_LENGTH)])
    status = SelectField("Status", validate_choice=False, validators=[Optional()])
    submit = SubmitField("Post the update")

    def set_status_choices(self, current: str) -> None:
        """Keep the status, or move it where ``current`` may go."""
        self.status.choices = [choice("", f"Keep: {STATUS_LABELS[current]}")] + [
            choice(s, STATUS_LABELS[s]) for s in next_statuses(current)
        ]


class PlanFilterForm(FlaskForm):
    """The leaders' list filter (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField("Status", validate_choice=False, validators=[Optional()],
                         choices=[choice("", "Any status")] + [choice(s, STATUS_LABELS[s]) for s in PLAN_STATUSES])
    unit = SelectField("Unit (with the units below it)", coerce=optional_int, validate_choice=False,
                       validators=[Optional()])

    def set_units(self, units: Iterable[OrgUnit]) -> None:
        """Offer the units in scope."""
        self.unit.choices = [choice("", "All my units")] + [choice(u.id, u.path) for u in units]
