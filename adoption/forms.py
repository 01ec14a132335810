"""Forms of the core package."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from adoption.models.tokens import TOKEN_SCOPES


class LoginForm(FlaskForm):
    """Sign in with e-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Sign in")


class RosterUploadForm(FlaskForm):
    """Upload an HR export for preview."""

    file = FileField("HR export (CSV)", validators=[FileRequired(), FileAllowed(["csv"], "A CSV file, please.")])
    effective_date = DateField("Unit changes take effect on", validators=[Optional()])
    partial = BooleanField("Partial file: do not deactivate people missing from it")
    submit = SubmitField("Preview")


class RosterConfirmForm(FlaskForm):
    """Apply a previewed roster import."""

    force = BooleanField("I have checked the deactivations and e-mail changes above; apply anyway")
    submit = SubmitField("Apply import")


class ApiTokenForm(FlaskForm):
    """Create an API token."""

    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    scope = SelectField("Scope", choices=list(TOKEN_SCOPES), validators=[DataRequired()])
    submit = SubmitField("Create token")


class RevokeTokenForm(FlaskForm):
    """Revoke an API token (the form carries only the CSRF token)."""

    submit = SubmitField("Revoke")
