"""Forms of the sponsor log: record an activity, send a message, a quarter's plan, a sponsor's
areas, the log's filter, and the delete button.

The sponsor and unit choices are offered for convenience only: they are not checked against the
list (``validate_choice=False``), so whatever is posted reaches the service, which decides (a
sponsor out of the user's scope is a ``ScopeError``, answered with 403; a unit that does not exist
is a ``SponsorError`` shown under its field).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from adoption.forms import choice, optional_int
from adoption.models import ACTIVITY_KINDS, ACTIVITY_LABELS, Employee, OrgUnit
from adoption.sponsors import (
    BODY_LENGTH,
    MAX_PLANNED,
    NOTE_LENGTH,
    SUBJECT_LENGTH,
    SponsorError,
    quarter_label,
)


def optional_quarter(value) -> dt.date | None:
    """A ``SelectField`` coercion: a quarter's first day from its ISO date, or None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("Not a valid quarter.") from None


def _unit_choices(units: Iterable[OrgUnit]) -> list:
    """Every unit by its path (a path says where a unit sits, also read aloud)."""
    return [choice(u.id, u.path) for u in units]


def _sponsor_choices(sponsors: Iterable[Employee], first: str | None) -> list:
    """The sponsors by name, after an empty ``first`` option when there is a choice to make."""
    sponsors = list(sponsors)
    options = [choice(s.id, s.full_name) for s in sponsors]
    return options if len(sponsors) == 1 or first is None else [choice("", first), *options]


def _unit_ids(data) -> list[int]:
    """The chosen unit ids (an unparsable multi-select leaves None)."""
    return list(data or [])


class _ServiceErrors:
    """Lets a view show a service's ``SponsorError`` under the field it is about."""

    def add_service_error(self, error: SponsorError) -> None:
        """Add the message to the errors of the field it names, or to the form's own errors
        (``form_errors``, shown above the form) when it names none of its fields."""
        field = self._fields.get(error.field) if error.field else None
        if field is None:
            self.form_errors.append(str(error))
        else:
            field.errors = [*field.errors, str(error)]


class ActivityForm(_ServiceErrors, FlaskForm):
    """A visible action of a sponsor; the view offers the sponsors and units (``set_choices``)."""

    sponsor = SelectField("Sponsor", coerce=optional_int, validate_choice=False,
                          validators=[DataRequired("Choose the sponsor.")])
    kind = SelectField("What the sponsor did", choices=[choice(k, ACTIVITY_LABELS[k]) for k in ACTIVITY_KINDS],
                       validate_choice=False, validators=[DataRequired("Choose what the sponsor did.")])
    occurred_on = DateField("Date", validators=[DataRequired("Give the date it happened.")])
    units = SelectMultipleField("Audience units (each with every unit below it)", coerce=int,
                                validate_choice=False, validators=[DataRequired("Choose at least one unit.")])
    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=NOTE_LENGTH)])
    submit = SubmitField("Record the activity")

    def set_choices(self, sponsors: Iterable[Employee], units: Iterable[OrgUnit]) -> None:
        """Offer the sponsors the user may record for, and every unit."""
        self.sponsor.choices = _sponsor_choices(sponsors, "Choose the sponsor")
        self.units.choices = _unit_choices(units)

    def activity_args(self) -> dict:
        """The form's values as ``record_activity`` arguments."""
        return {"sponsor_id": self.sponsor.data, "kind": self.kind.data, "occurred_on": self.occurred_on.data,
                "unit_ids": _unit_ids(self.units.data), "note": self.note.data or ""}


class MessageForm(_ServiceErrors, FlaskForm):
    """A sponsor's message to audience units, written, then confirmed before it is sent."""

    sponsor = SelectField("From (sponsor)", coerce=optional_int, validate_choice=False,
                          validators=[DataRequired("Choose the sponsor.")])
    units = SelectMultipleField("To (units, each with every unit below it)", coerce=int,
                                validate_choice=False, validators=[DataRequired("Choose at least one unit.")])
    subject = StringField("Subject", validators=[DataRequired("Give the message a subject."),
                                                 Length(max=SUBJECT_LENGTH)])
    body = TextAreaField("Message", validators=[DataRequired("Write the message."), Length(max=BODY_LENGTH)])
    preview = SubmitField("Continue")
    # On the confirmation page: send as shown, or go back to the message.
    send = SubmitField("Send")
    edit = SubmitField("Change the message")

    def set_choices(self, sponsors: Iterable[Employee], units: Iterable[OrgUnit]) -> None:
        """Offer the sponsors the user may write for, and every unit."""
        self.sponsor.choices = _sponsor_choices(sponsors, "Choose the sponsor")
        self.units.choices = _unit_choices(units)

    def message_args(self) -> dict:
        """The form's values as ``send_message`` / ``message_audience`` arguments."""
        return {"sponsor_id": self.sponsor.data, "unit_ids": _unit_ids(self.units.data),
                "subject": self.subject.data, "body": self.body.data}


class PlanForm(_ServiceErrors, FlaskForm):
    """How many actions of each kind a sponsor plans for a quarter (one count field per kind,
    named after it; added below the class)."""

    sponsor = SelectField("Sponsor", coerce=optional_int, validate_choice=False,
                          validators=[DataRequired("Choose the sponsor.")])
    quarter = SelectField("Quarter", coerce=optional_quarter, validate_choice=False,
                          validators=[DataRequired("Choose the quarter.")])
    submit = SubmitField("Save the plan")

    def set_choices(self, sponsors: Iterable[Employee], quarters: Iterable[dt.date]) -> None:
        """Offer the sponsors the user may plan for, and the quarters."""
        self.sponsor.choices = _sponsor_choices(sponsors, "Choose the sponsor")
        self.quarter.choices = [choice(q.isoformat(), quarter_label(q)) for q in quarters]

    def kind_fields(self) -> list:
        """The count fields, in the order of ``ACTIVITY_KINDS``."""
        return [self[kind] for kind in ACTIVITY_KINDS]

    def fill_counts(self, planned: dict[str, int]) -> None:
        """Show the current plan (0 for kinds without one)."""
        for kind in ACTIVITY_KINDS:
            self[kind].data = planned.get(kind, 0)

    def plan_args(self) -> dict:
        """The form's values as ``set_plan`` arguments: the whole plan, a blank count as 0
        (the form shows every kind, so what is submitted is the plan)."""
        return {"sponsor_id": self.sponsor.data, "quarter_start": self.quarter.data,
                "counts": {kind: self[kind].data or 0 for kind in ACTIVITY_KINDS}}


for _kind in ACTIVITY_KINDS:
    setattr(PlanForm, _kind, IntegerField(
        ACTIVITY_LABELS[_kind], validators=[Optional(), NumberRange(0, MAX_PLANNED, f"From 0 to {MAX_PLANNED}.")]))


class AreasForm(_ServiceErrors, FlaskForm):
    """The units a sponsor answers for (where their employees' perception is read)."""

    sponsor = SelectField("Sponsor", coerce=optional_int, validate_choice=False,
                          validators=[DataRequired("Choose the sponsor.")])
    units = SelectMultipleField("Units the sponsor answers for (each with every unit below it)", coerce=int,
                                validate_choice=False, validators=[DataRequired("Choose at least one unit.")])
    submit = SubmitField("Save the areas")

    def set_choices(self, sponsors: Iterable[Employee], units: Iterable[OrgUnit]) -> None:
        """Offer every sponsor and every unit."""
        self.sponsor.choices = _sponsor_choices(sponsors, "Choose the sponsor")
        self.units.choices = _unit_choices(units)


class LogFilterForm(FlaskForm):
    """The log's filter (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    # Named as in the links to the log (``?sponsor_id=...&quarter=...``).
    sponsor_id = SelectField("Sponsor", coerce=optional_int, validate_choice=False, validators=[Optional()])
    quarter = SelectField("Quarter", coerce=optional_quarter, validate_choice=False, validators=[Optional()])

    def set_choices(self, sponsors: Iterable[Employee], quarters: Iterable[dt.date]) -> None:
        """Offer the readable sponsors (with "All sponsors" when there are several) and the quarters."""
        self.sponsor_id.choices = _sponsor_choices(sponsors, "All sponsors")
        self.quarter.choices = [choice(q.isoformat(), quarter_label(q)) for q in quarters]


class DeleteActivityForm(FlaskForm):
    """Remove a wrongly recorded activity (a button; the form carries the CSRF token)."""

    submit = SubmitField("Remove")
