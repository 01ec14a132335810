"""Forms of the core package."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    ValidationError,
)

from adoption.accounts import MIN_PASSWORD_LENGTH
from adoption.models import Employee, User
from adoption.models.tokens import SCOPE_DESCRIPTIONS, TOKEN_SCOPES
from adoption.models.users import PASSWORD_LINK_PURPOSES, ROLES
from adoption.personal_data import find_person
from adoption.telemetry.identity import KEY_KINDS, find_employee
from adoption.views.shell import ROLE_LABELS

try:  # WTForms 3.3 deprecates (value, label) tuples and 3.4 drops them
    from wtforms.fields.choices import SelectChoice as choice
except ImportError:  # older WTForms: a tuple is the only way
    def choice(value, label) -> tuple:
        """A (value, label) option of a select field."""
        return value, label


def optional_int(value) -> int | None:
    """A ``SelectField`` coercion: an id from a select, or None for its empty option."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("Not a valid choice.") from None


class LoginForm(FlaskForm):
    """Sign in with e-mail and password."""

    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Sign in")


class PasswordForgotForm(FlaskForm):
    """Ask for a link to set a new password."""

    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=320)])
    submit = SubmitField("Send me a link")


class PasswordSetForm(FlaskForm):
    """Choose a password, from an invitation or a reset link."""

    password = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200,
                               message=f"At least {MIN_PASSWORD_LENGTH} characters.")])
    confirm = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("password", message="The two passwords differ.")])
    submit = SubmitField("Set my password")


#: The roles as options of a select, labelled as the navigation labels them.
ROLE_CHOICES = [choice(role, ROLE_LABELS[role]) for role in ROLES]


class UserCreateForm(FlaskForm):
    """An admin opens an account."""

    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=320)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[AnyOf(ROLES)])
    invite = BooleanField("Send an invitation to set a password", default=True)
    submit = SubmitField("Create account")


class UserRoleForm(FlaskForm):
    """An admin changes an account's role."""

    role = SelectField("Role", choices=ROLE_CHOICES, validators=[AnyOf(ROLES)])
    submit = SubmitField("Change role")


class UserLinkForm(FlaskForm):
    """An admin sends an invitation or a password reset link."""

    purpose = HiddenField(validators=[AnyOf(PASSWORD_LINK_PURPOSES)])
    submit = SubmitField("Send link")


class ConfirmForm(FlaskForm):
    """A button that changes something (revoke, disable, publish, activate, archive …): the form
    carries only the CSRF token. Every package's action buttons use this one."""

    submit = SubmitField("Confirm")


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
    scope = SelectField("Scope", choices=[choice(s, f"{s}: {SCOPE_DESCRIPTIONS[s]}") for s in TOKEN_SCOPES],
                        validators=[DataRequired()])
    submit = SubmitField("Create token")


class EmployeeReferenceForm(FlaskForm):
    """A form naming an employee by HR id or e-mail (mapping an identifier to them)."""

    employee = StringField("Employee (HR id or e-mail)", validators=[DataRequired(), Length(max=320)])
    submit = SubmitField("Map")

    #: The employee the ``employee`` field names, once the form validated.
    employee_id: int | None = None

    def validate_employee(self, field: StringField) -> None:
        """The HR id or e-mail must name someone on the roster."""
        employee = find_employee(field.data)
        if employee is None:
            raise ValidationError(f"No employee has the HR id or e-mail {field.data.strip()!r}.")
        self.employee_id = employee.id


class MapActorForm(EmployeeReferenceForm):
    """Map an unmatched CRM actor key to an employee, named by HR id or e-mail."""

    key_kind = HiddenField(validators=[AnyOf(KEY_KINDS)])
    key_value = HiddenField(validators=[DataRequired(), Length(max=320)])
    # The list's search, to return to it after mapping.
    search = HiddenField(validators=[Optional(), Length(max=320)])


class EraseForm(FlaskForm):
    """Erasing a leaver's personal data: the admin types the person's HR id to confirm (an account
    with no employee record: its e-mail)."""

    person = HiddenField(validators=[DataRequired(), Length(max=320)])
    confirm = StringField("Type their HR id to confirm", validators=[DataRequired(), Length(max=320)])
    submit = SubmitField("Erase their personal data")

    #: The employee the form names, once it validated.
    employee: Employee | None = None
    #: The account the form names when it has no employee record, once it validated.
    user: User | None = None

    @classmethod
    def for_account(cls, **kwargs) -> "EraseForm":
        """The form for an account with no employee record, confirmed with its e-mail."""
        form = cls(**kwargs)
        form.confirm.label.text = "Type the account's e-mail to confirm"
        return form

    def validate_confirm(self, field: StringField) -> None:
        """The confirmation must be the HR id of the person the form names (or the e-mail of the
        account, when it has no employee record)."""
        employee, user = find_person(self.person.data or "")
        if employee is None and user is None:
            raise ValidationError("No employee or account has that HR id or e-mail.")
        if employee is None:
            if field.data.strip().lower() != user.email.lower():
                raise ValidationError(f"Type {user.email} exactly to confirm.")
            self.user = user
            return
        if field.data.strip() != employee.hr_id:
            raise ValidationError(f"Type {employee.hr_id} exactly to confirm.")
        self.employee = employee
