"""Forms of the telemetry package."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from adoption.forms import choice
from adoption.telemetry.formats import FORMATS, NEEDS_EVENT_TYPE

# How the upload page names each format (see docs/telemetry.md).
FORMAT_LABELS = {
    "ndjson": "NDJSON (one API event per line)",
    "csv": "CSV (the API's field names as columns)",
    "salesforce-login": "Salesforce EventLogFile, Login",
    "salesforce-login-history": "Salesforce LoginHistory export",
    "salesforce-records": "Salesforce records export",
}
FORMAT_CHOICES = [choice(fmt, FORMAT_LABELS.get(fmt, fmt)) for fmt in FORMATS]
# Where a file of each format comes from, for the upload page's help.
FORMAT_SOURCES = {
    "ndjson": "A script or an integration that writes the events API's events to a file.",
    "csv": "The same events as a spreadsheet-friendly CSV; extra data goes in a JSON properties column.",
    "salesforce-login": "Salesforce Event Monitoring: an EventLogFile of type Login, as the API downloads it.",
    "salesforce-login-history": "Salesforce's LoginHistory object exported with Data Loader, the Bulk API or "
                                "sf data query (not the download on Setup's Login History page).",
    "salesforce-records": "Records exported from Salesforce (Tasks, Opportunities…) with Data Loader or the Bulk "
                          "API; give the event type each row stands for.",
}


class EventImportForm(FlaskForm):
    """Upload a file of CRM usage events to import in the background."""

    file = FileField("Event file", validators=[FileRequired("Choose a file to import.")])
    format = SelectField("Format", choices=FORMAT_CHOICES, validators=[DataRequired()])
    event_type = StringField(
        "Event type (Salesforce records only)",
        validators=[Length(max=64),
                    Regexp(r"^[A-Za-z0-9_.:-]*$", message="Letters, digits and _ . : - only, e.g. activity_logged.")],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    submit = SubmitField("Import")

    def validate_event_type(self, field: StringField) -> None:
        """Required for a records export, meaningless (so refused) for the other formats."""
        if self.format.data in NEEDS_EVENT_TYPE and not field.data:
            raise ValidationError("A Salesforce records export needs the event type its rows stand for, e.g. activity_logged.")
        if self.format.data not in NEEDS_EVENT_TYPE and field.data:
            raise ValidationError("Only a Salesforce records export takes an event type; leave it empty for this format.")
