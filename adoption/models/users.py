"""Accounts that sign in, and their role."""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db
from adoption.models.org import Employee


class Role(enum.StrEnum):
    """What a user is allowed to see; see ``adoption.scope`` for what each one means."""

    EMPLOYEE = "employee"
    MANAGER = "manager"
    CHANGE_LEADER = "change_leader"
    EXECUTIVE = "executive"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)


class User(UserMixin, db.Model):
    """A sign-in account, linked to the employee it belongs to (admins may have none)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # NULL until a password is set: such an account cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default=Role.EMPLOYEE.value)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), unique=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    employee: Mapped[Employee | None] = relationship()

    def session_tag(self, secret: str) -> str:
        """A keyed tag of the password hash: it changes whenever the password does."""
        digest = hmac.new(secret.encode(), (self.password_hash or "").encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def get_id(self) -> str:  # Flask-Login stores this in the session
        """The account's id and its session tag: setting a new password (a reset after a
        compromise, say) ends every session opened with the old one (see ``load_user``)."""
        return f"{self.id}:{self.session_tag(current_app.config['SECRET_KEY'])}"

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        """Disabled accounts and accounts of deactivated employees cannot sign in."""
        if not self.is_enabled:
            return False
        return self.employee is None or self.employee.active

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


#: Why a password link was sent: a first password for a new account, or a forgotten one.
PASSWORD_LINK_PURPOSES = ("invite", "reset")


class PasswordLink(db.Model):
    """A one-time link that lets a user set their password; only the token's SHA-256 is kept.

    The token carries 256 random bits (``secrets.token_urlsafe(32)``), so an unsalted fast hash
    is enough, as for API tokens. A link works once, until it expires, and only while the
    account is active; issuing a new link for a user ends the ones before it.
    """

    __tablename__ = "password_links"
    __table_args__ = (
        CheckConstraint("purpose IN ('invite', 'reset')", name="known_purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Set when the link is used, or ended by a newer link or by disabling the account.
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # The admin who sent it; NULL for a reset the user asked for.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<PasswordLink {self.purpose} user={self.user_id}>"


class PersonalDataExport(db.Model):
    """An admin's download of someone's personal data (adoption/personal_data.py), for audit.

    The person's own downloads are not recorded: they concern no one else.
    """

    __tablename__ = "personal_data_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose data: an employee record, an account, or both.
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    exported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    exported_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Erasure(db.Model):
    """A leaver whose personal data was erased (adoption/erasure.py): the record that it was done,
    when, why and by whom, without anything that names them. The leaver is an employee (with
    their account, if any) or an account with no employee record (an admin, an outside consultant).

    ``hr_id_digest`` is a keyed hash of the HR id they had, so that a roster export still listing
    them as a leaver does not bring their record back; it can be tested only with the app's secret.
    """

    __tablename__ = "erasures"
    __table_args__ = (CheckConstraint("(employee_id IS NULL) <> (user_id IS NULL)", name="one_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The pseudonymized employee record (kept, so every metric of the past stays as it was).
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), unique=True)
    # The pseudonymized account, when it had no employee record (an employee's is found through them).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    hr_id_digest: Mapped[str | None] = mapped_column(String(64), index=True)  # None for an account
    # Their last day in a unit, if known; for an account, the day it was last disabled.
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    # "request" (an admin, for the person) or "retention" (UPTAKE_LEAVER_RETENTION_DAYS).
    reason: Mapped[str] = mapped_column(String(16))
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    erased_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # What was erased, by kind of record: {"crm_events": 312, ...}.
    counts: Mapped[dict] = mapped_column(JSON)
