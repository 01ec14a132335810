"""Forms of training assignments and commitment follow-ups.

The module and unit choices are offered for convenience: the service decides (a module that is not
published, an empty set of units, a due date that has passed are refused there).
"""
from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from adoption.forms import choice
from adoption.models import OrgUnit
from adoption.views.shell import ROLE_LABELS
from training.assignments import MAX_JOINER_DAYS
from training.followups import MAX_NOTE_LENGTH, STATUS_LABELS
from training.models import Module


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AssignmentForm(FlaskForm):
    """A new assignment: a published module, unit subtrees, roles, a due date, days for joiners."""

    module = SelectField("Module", coerce=int, validators=[DataRequired("Choose a module.")])
    units = SelectMultipleField("Units (each with every unit below it)", coerce=int,
                                validators=[DataRequired("Choose at least one unit.")])
    roles = MultiCheckboxField("Only these roles (none ticked: everyone)",
                               choices=[choice(v, label) for v, label in ROLE_LABELS.items()], validators=[Optional()])
    due_on = DateField("Due date", validators=[DataRequired("Give a due date.")])
    joiner_days = IntegerField("Days given to new joiners", default=30,
                               validators=[InputRequired("Say how many days new joiners get."),
                                           NumberRange(min=1, max=MAX_JOINER_DAYS)])
    submit = SubmitField("Assign")

    def set_choices(self, modules: Iterable[Module], units: Iterable[OrgUnit]) -> None:
        """Offer the published modules and every unit (indented by depth)."""
        self.module.choices = [choice(m.id, f"{m.title} (v{m.version}, {m.estimated_minutes} min)") for m in modules]
        self.units.choices = [choice(u.id, "\u2003" * u.depth + u.name) for u in units]


class WithdrawForm(FlaskForm):
    """Withdraw an assignment (a button; the form carries the CSRF token)."""

    submit = SubmitField("Withdraw")


class FollowUpAnswerForm(FlaskForm):
    """The learner's answer to "did you do it?"."""

    status = RadioField("Did you do it?", choices=[choice(v, label) for v, label in STATUS_LABELS.items()],
                        validators=[InputRequired("Choose done, partly or not yet.")])
    note = TextAreaField("A note (optional): what helped, what got in the way",
                         validators=[Optional(), Length(max=MAX_NOTE_LENGTH)])
    submit = SubmitField("Save my answer")
