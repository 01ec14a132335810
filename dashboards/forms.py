"""Forms of the hypotheses register: a hypothesis (new or edited), and the one-button forms
that archive or re-evaluate one (they carry only the CSRF token).

The metric, level and owner choices are offered for convenience only: they are not checked
against the list (``validate_choice=False``), so whatever is posted reaches the service, which
decides (an unknown metric is a ``HypothesisError`` naming the known ones).
"""
from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from adoption.forms import choice, optional_int
from adoption.models.hypotheses import MAX_HYPOTHESIS_LAG
from dashboards.hypotheses import MAX_STATEMENT_LENGTH, HypothesisError

DIRECTIONS = ((1, "Positive: more x goes with more y"), (-1, "Negative: more x goes with less y"))
LEVELS = (("team", "Teams (units without sub-units)"), ("region", "Regions"), ("company", "Companies"))


class HypothesisForm(FlaskForm):
    """A hypothesis; the view offers the metrics and owners (``set_choices``)."""

    statement = TextAreaField("What you believe", validators=[
        DataRequired("Say what you believe."), Length(max=MAX_STATEMENT_LENGTH)])
    x = SelectField("x: the metric that comes first", validate_choice=False,
                    validators=[DataRequired("Choose the metric x.")])
    y = SelectField("y: the metric it should move", validate_choice=False,
                    validators=[DataRequired("Choose the metric y.")])
    expected_direction = SelectField("Expected direction", choices=[choice(v, t) for v, t in DIRECTIONS],
                                     coerce=int, default=1, validate_choice=False,
                                     validators=[InputRequired("Choose the expected direction.")])
    lag = IntegerField("Lag in months (y this many months after x; negative: y first)", default=1,
                       validators=[InputRequired("Give the lag in months."),
                                   NumberRange(-MAX_HYPOTHESIS_LAG, MAX_HYPOTHESIS_LAG)])
    smallest_effect = FloatField("Smallest effect that would matter (a correlation, 0 to 1)", default=0.1,
                                 validators=[InputRequired("Give the smallest effect that would matter."),
                                             NumberRange(0, 0.999)])
    level = SelectField("Units compared", choices=[choice(v, t) for v, t in LEVELS], validate_choice=False,
                        default="team", validators=[DataRequired()])
    owner = SelectField("Owner (accountable for it)", coerce=optional_int, validate_choice=False,
                        validators=[DataRequired("Choose the owner.")])
    submit = SubmitField("Save and evaluate")

    def set_choices(self, metrics: Iterable[tuple[str, str]], owners: Iterable[tuple[int, str]]) -> None:
        """Offer the known metrics and the possible owners."""
        metric_options = [choice(name, text) for name, text in metrics]
        self.x.choices = [choice("", "Choose a metric"), *metric_options]
        self.y.choices = [choice("", "Choose a metric"), *metric_options]
        self.owner.choices = [choice("", "Choose the owner")] + [choice(uid, name) for uid, name in owners]

    def hypothesis_args(self) -> dict:
        """The form's values as ``create_hypothesis`` / ``update_hypothesis`` arguments (the
        owner as an id, for the view to load)."""
        return {
            "statement": self.statement.data, "x": self.x.data, "y": self.y.data,
            "expected_direction": self.expected_direction.data, "lag": self.lag.data,
            "smallest_effect": self.smallest_effect.data, "level": self.level.data,
        }

    def add_errors(self, error: HypothesisError) -> None:
        """Show a service's ``HypothesisError`` under the fields it names."""
        for name, message in error.errors.items():
            field = self._fields.get(name)
            if field is not None:
                field.errors = [*field.errors, message]
