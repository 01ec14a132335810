"""Account services: creating users, checking passwords, locking out repeated failures."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from adoption.extensions import db
from adoption.models import ROLES, Employee, User

MIN_PASSWORD_LENGTH = 10
# Checked against when the account does not exist, so a miss costs as much time as a hit.
_DUMMY_HASH = generate_password_hash("uptake-timing-equalizer")


class AccountError(ValueError):
    """A rule about accounts was broken; the message says which."""


def normalize_email(email: str) -> str:
    """Validate an address and return it lower-cased (no DNS look-up)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountError(f"{email!r} is not a valid e-mail address: {exc}") from exc


def create_user(email: str, role: str, password: str | None = None) -> User:
    """Create an account; it is linked to the employee with the same e-mail when there is one."""
    email = normalize_email(email)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(email=email, role=role)
    employee = db.session.scalar(select(Employee).where(func.lower(Employee.email) == email))
    if employee is not None and db.session.scalar(select(User.id).where(User.employee_id == employee.id)):
        # users.employee_id is unique: say so instead of failing on the constraint.
        raise AccountError(f"employee {employee.hr_id} ({email}) already has an account")
    user.employee = employee
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Store a salted hash of ``password`` after checking its length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures lock an account, and for how long."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)


def authenticate(email: str, password: str, now: dt.datetime, policy: LoginPolicy) -> User | None:
    """Return the user when the credentials are right and the account is usable, else ``None``.

    Every failure looks the same to the caller, whether the account is unknown, disabled,
    locked or the password wrong, so the login page reveals nothing about who has an account.
    """
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        # Count in SQL, not in Python: parallel failed attempts must each count, or an attacker
        # guessing concurrently would never reach the lockout.
        db.session.execute(
            update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1),
            execution_options={"synchronize_session": False},
        )
        db.session.refresh(user, ["failed_logins"])
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + policy.lockout
            user.failed_logins = 0
        db.session.flush()
        return None
    if not user.is_active:
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user
