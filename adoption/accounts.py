"""Account services: creating users, checking passwords, locking out repeated failures, and
what an admin does to accounts (roles, disabling, unlocking) and the one-time links by which a
person sets their first password or a forgotten one.

Rules an admin cannot break, whatever page or request they use:

* nobody changes their own role or disables their own account (an admin would lock themselves
  out, or a second admin could not undo a mistake made alone);
* the last enabled admin account stays an enabled admin;
* a password link works once, before it expires, and only while the account is active; a new
  link for the same person ends the earlier ones, and disabling the account ends them all.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import smtplib
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import aliased, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from adoption import access_changes, sign_ins
from adoption.extensions import db
from adoption.mail import send_mail
from adoption.models import ROLES, Employee, PasswordLink, Role, User
from adoption.models.sign_ins import SIGNED_IN

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


def create_user(email: str, role: str, password: str | None = None, *, by: User | None = None,
                at: dt.datetime | None = None) -> User:
    """Create an account; it is linked to the employee with the same e-mail when there is one.
    ``by``: the admin who asks (None for a command or the demo), for the access log; ``at``: when
    it was opened (now when None; the demo dates its accounts in the past)."""
    email = normalize_email(email)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(email=email, role=role)
    if at is not None:
        user.created_at = at  # otherwise the database's clock (server default)
    employee = db.session.scalar(select(Employee).where(func.lower(Employee.email) == email))
    if employee is not None and db.session.scalar(select(User.id).where(User.employee_id == employee.id)):
        # users.employee_id is unique: say so instead of failing on the constraint.
        raise AccountError(f"employee {employee.hr_id} ({email}) already has an account")
    user.employee = employee
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    access_changes.record("account_created", actor=by, user=user, after=role, at=at)
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


def authenticate(email: str, password: str, now: dt.datetime, policy: LoginPolicy,
                 address: str | None = None) -> User | None:
    """Return the user when the credentials are right and the account is usable, else ``None``;
    the attempt goes into the sign-in log with its outcome and the client's ``address``.

    Every failure looks the same to the caller, whether the account is unknown, disabled,
    locked or the password wrong, so the login page reveals nothing about who has an account.
    """
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    outcome = _check(user, password, now, policy)
    sign_ins.record_attempt(outcome, user=user, address=address, at=now)
    db.session.flush()
    return user if outcome == SIGNED_IN else None


def _check(user: User | None, password: str, now: dt.datetime, policy: LoginPolicy) -> str:
    """The outcome of signing in as ``user`` with ``password`` (``SIGN_IN_OUTCOMES``), with the
    failure count, the lockout and the last sign-in time updated."""
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return "unknown_account" if user is None else "no_password"
    if user.locked_until is not None and user.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        return "locked"
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
            access_changes.record("locked", user=user, at=now)
        return "wrong_password"
    if not user.is_active:
        return "disabled"
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return SIGNED_IN


# ------------------------------------------------------------------ what admins do to accounts


def _enabled_admins() -> int:
    """How many admin accounts are enabled, with their rows locked until the commit: two admins
    demoting or disabling each other at once must not both see the other one left (on
    PostgreSQL the second waits, then counts again; SQLite has one writer at a time anyway)."""
    return len(db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN.value, User.is_enabled.is_(True))
        .with_for_update()
    ).all())


def _not_yourself(user: User, by: User, what: str) -> None:
    if user.id == by.id:
        raise AccountError(f"you cannot {what} your own account; ask another admin")


def change_role(user: User, role: str, *, by: User) -> User:
    """Give ``user`` the role ``role`` (the admin ``by`` asks); refuses one's own role and the
    last enabled admin's."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    _not_yourself(user, by, "change the role of")
    if user.role == Role.ADMIN.value and role != Role.ADMIN.value and user.is_enabled \
            and _enabled_admins() <= 1:
        raise AccountError("this is the last enabled admin account; make another admin first")
    if role != user.role:
        access_changes.record("role_changed", actor=by, user=user, before=user.role, after=role)
        user.role = role
    db.session.flush()
    return user


def set_enabled(user: User, enabled: bool, *, by: User, now: dt.datetime) -> User:
    """Enable or disable ``user``'s account. A disabled account cannot sign in, loses its live
    sessions (the user loader refuses it) and its unused password links."""
    _not_yourself(user, by, "disable or enable")
    if not enabled and user.role == Role.ADMIN.value and user.is_enabled and _enabled_admins() <= 1:
        raise AccountError("this is the last enabled admin account; make another admin first")
    if enabled != user.is_enabled:
        access_changes.record("enabled" if enabled else "disabled", actor=by, user=user, at=now)
    user.is_enabled = enabled
    if not enabled:
        _end_links(user, now)
    db.session.flush()
    return user


def unlock(user: User, *, by: User | None = None) -> User:
    """Lift a lockout after repeated failed sign-ins (logged when the account was locked)."""
    if user.locked_until is not None:
        access_changes.record("unlocked", actor=by, user=user)
    user.locked_until = None
    user.failed_logins = 0
    db.session.flush()
    return user


# ------------------------------------------------------------------ accounts for the roster


def _without_account():
    """The WHERE clause of active employees with no account (by link or by e-mail)."""
    linked = select(User.employee_id).where(User.employee_id.is_not(None))
    taken = select(func.lower(User.email))
    return (Employee.active.is_(True), Employee.id.not_in(linked),
            func.lower(Employee.email).not_in(taken))


def employees_without_account() -> list[Employee]:
    """Active employees on the roster with no sign-in account, by e-mail."""
    return list(db.session.scalars(select(Employee).where(*_without_account()).order_by(Employee.email)))


def count_without_account() -> int:
    """How many active employees have no sign-in account."""
    return db.session.scalar(select(func.count()).select_from(Employee).where(*_without_account()))


def create_roster_accounts(*, by: User | None = None) -> list[User]:
    """An account, without a password, for every active employee who has none; returns the
    accounts made (send them invitations to set a password). The role: executive when the roster
    says so, manager when active people report to them, employee otherwise."""
    managers = aliased(Employee)
    managing = set(db.session.scalars(
        select(managers.manager_id).where(managers.active.is_(True), managers.manager_id.is_not(None))
    ))
    users = []
    for employee in employees_without_account():
        role = (Role.EXECUTIVE.value if employee.is_executive
                else Role.MANAGER.value if employee.id in managing else Role.EMPLOYEE.value)
        users.append(User(email=employee.email.lower(), role=role, employee=employee))
    db.session.add_all(users)
    for user in users:
        access_changes.record("account_created", actor=by, user=user, after=user.role)
    db.session.flush()
    return users


# ------------------------------------------------------------------ password links

#: How long a link stays valid: a week for an invitation, two hours for a reset.
LINK_VALIDITY = {"invite": dt.timedelta(days=7), "reset": dt.timedelta(hours=2)}
INVALID_LINK = "This link is not valid: it was already used, has expired or was replaced by a newer one."


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end_links(user: User, now: dt.datetime) -> None:
    db.session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=now),
        execution_options={"synchronize_session": False},
    )


def issue_password_link(user: User, purpose: str, *, now: dt.datetime,
                        by: User | None = None) -> str:
    """A new one-time link token for ``user`` (returned once; only its hash is stored). Earlier
    unused links of the user end. Refused for an account that cannot sign in."""
    if purpose not in LINK_VALIDITY:
        raise AccountError(f"unknown purpose {purpose!r}")
    if not user.is_active:
        raise AccountError("this account is disabled or its employee has left; enable it first")
    _end_links(user, now)
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordLink(user_id=user.id, token_hash=_token_hash(token), purpose=purpose,
                                created_at=now, expires_at=now + LINK_VALIDITY[purpose],
                                created_by_id=by.id if by is not None else None))
    access_changes.record("invited" if purpose == "invite" else "reset_link", actor=by, user=user, at=now)
    db.session.flush()
    return token


def valid_link(token: str, now: dt.datetime) -> PasswordLink | None:
    """The link ``token`` opens when it can still be used, else ``None`` (one answer for unknown,
    used, expired, replaced, or an account that can no longer sign in)."""
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.token_hash == _token_hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= now or not link.user.is_active:
        return None
    return link


def redeem_password_link(token: str, password: str, *, now: dt.datetime) -> User:
    """Set the password of the link's user and use the link up; lifts a lockout. ``AccountError``
    (with ``INVALID_LINK``) when the link cannot be used, or when the password is too short."""
    link = valid_link(token, now)
    if link is None:
        raise AccountError(INVALID_LINK)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    # Claim the link in SQL: of two requests racing with the same token, only one sets a password.
    claimed = db.session.execute(
        update(PasswordLink)
        .where(PasswordLink.id == link.id, PasswordLink.used_at.is_(None))
        .values(used_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if claimed != 1:
        raise AccountError(INVALID_LINK)
    user = link.user
    set_password(user, password)
    access_changes.record("password_set", user=user, at=now)
    unlock(user)
    db.session.flush()
    return user


def _employee_left():
    """The WHERE clause of accounts whose employee has left (they cannot sign in)."""
    return User.employee.has(Employee.active.is_(False))


def _status_clause(status: str, now: dt.datetime) -> tuple:
    """The WHERE clause of a status of ``ACCOUNT_STATUSES`` (none for "all" or an unknown one)."""
    return {
        "active": (User.is_enabled.is_(True), User.password_hash.is_not(None), ~_employee_left()),
        "invited": (User.password_hash.is_(None), User.is_enabled.is_(True), ~_employee_left()),
        "locked": (User.locked_until > now,),
        "disabled": (User.is_enabled.is_(False),),
        "left": (_employee_left(),),
    }.get(status, ())


#: The statuses the account list filters on.
ACCOUNT_STATUSES = ("all", "active", "invited", "locked", "disabled", "left")


def find_accounts(search: str, role: str, status: str, now: dt.datetime) -> Select:
    """The accounts whose e-mail or name contains ``search`` (literally: "_" and "%" are not
    wildcards), of ``role`` and ``status`` when they name one, by e-mail, with their employee:
    a statement to paginate."""
    query = select(User).options(joinedload(User.employee)).order_by(User.email)
    if search:
        needle = search.lower()
        query = query.outerjoin(User.employee).where(or_(
            func.lower(User.email).contains(needle, autoescape=True),
            func.lower(Employee.full_name).contains(needle, autoescape=True)))
    if role in ROLES:
        query = query.where(User.role == role)
    return query.where(*_status_clause(status, now))


def open_links_until(user_ids: list[int], now: dt.datetime) -> dict[int, dt.datetime]:
    """Until when each of these accounts has a password link open (absent: none is)."""
    if not user_ids:
        return {}
    return dict(db.session.execute(
        select(PasswordLink.user_id, func.max(PasswordLink.expires_at))
        .where(PasswordLink.user_id.in_(user_ids), PasswordLink.used_at.is_(None),
               PasswordLink.expires_at > now)
        .group_by(PasswordLink.user_id)
    ).all())


def recent_links(user: User, limit: int = 10) -> list[PasswordLink]:
    """The last ``limit`` password links sent to ``user``, newest first."""
    return list(db.session.scalars(
        select(PasswordLink).where(PasswordLink.user_id == user.id)
        .order_by(PasswordLink.created_at.desc(), PasswordLink.id.desc()).limit(limit)
    ))


def _awaiting_invitation(now: dt.datetime):
    """The WHERE clause of accounts that can sign in once they have a password, have none, and
    have no link open: their invitation expired, was ended, or was never sent."""
    open_links = select(PasswordLink.user_id).where(PasswordLink.used_at.is_(None),
                                                    PasswordLink.expires_at > now)
    return (*_status_clause("invited", now), User.id.not_in(open_links))


def accounts_awaiting_invitation(now: dt.datetime) -> list[User]:
    """Accounts without a password and without an open link, by e-mail: invite them again."""
    return list(db.session.scalars(select(User).where(*_awaiting_invitation(now)).order_by(User.email)))


def count_awaiting_invitation(now: dt.datetime) -> int:
    """How many accounts ``accounts_awaiting_invitation`` would return."""
    return db.session.scalar(select(func.count()).select_from(User).where(*_awaiting_invitation(now)))


_SUBJECTS = {"invite": "Your Uptake account", "reset": "Reset your Uptake password"}


def password_link_url(token: str) -> str:
    """The address of a password link, on the configured ``BASE_URL``: never the request's
    ``Host`` header, which whoever asks for a reset controls (a forged one would send the
    victim a link to the attacker's site, token included). Built from the URL map alone, so it
    works outside a request too (``create-user --invite``) and ``BASE_URL`` holds any path prefix."""
    path = current_app.url_map.bind("localhost").build("auth.set_password", {"token": token})
    return str(current_app.config["BASE_URL"]).rstrip("/") + path


def send_password_link(user: User, purpose: str, *, now: dt.datetime, by: User | None = None) -> None:
    """Issue a link for ``user`` and send it to their address (SMTP or the outbox, see
    ``adoption.mail``)."""
    token = issue_password_link(user, purpose, now=now, by=by)
    expires = now + LINK_VALIDITY[purpose]
    name = user.employee.full_name if user.employee is not None else user.email
    if purpose == "invite":
        opening = (f"An Uptake account has been opened for you ({user.email}). Uptake is where "
                   "your organization follows its CRM initiative: pulse surveys, training and "
                   "how the CRM is used.")
    else:
        opening = (f"Someone asked to reset the password of your Uptake account ({user.email}). "
                   "If it was not you, ignore this message: your password stays as it is.")
    body = (f"Hello {name},\n\n{opening}\n\nSet your password here; the link works once, until "
            f"{expires:%d %B %Y %H:%M} UTC:\n{password_link_url(token)}\n")
    try:
        send_mail([user.email], _SUBJECTS[purpose], body, kind=f"password_{purpose}")
    except (smtplib.SMTPException, OSError) as exc:  # only with a mail server: the outbox is local
        raise AccountError(f"the link could not be sent, the mail server failed ({exc})") from exc
