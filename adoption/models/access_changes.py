"""The access log: every change to who may sign in and with which rights, and to the API tokens
(adoption/access_changes.py records them; admins read them on Admin → Access log)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db
from adoption.models.tokens import ApiToken
from adoption.models.users import User

#: Who made a change no signed-in admin made (a command, the demo, the app itself).
NO_ACTOR = "a command or the app"
#: What happened, as stored, and how the log says it.
ACCESS_ACTIONS = {
    "account_created": "Account created",
    "role_changed": "Role changed",
    "disabled": "Account disabled",
    "enabled": "Account enabled",
    "locked": "Locked after failed sign-ins",
    "unlocked": "Unlocked",
    "invited": "Invitation link issued",
    "reset_link": "Password reset link issued",
    "password_set": "Password set with a link",
    "token_issued": "API token issued",
    "token_revoked": "API token revoked",
}


class AccessChange(db.Model):
    """One change to an account's access or to an API token: what, when, by whom.

    Rows name accounts and tokens by id only (never by e-mail), so the log shows each account as it
    is now: an erased leaver's account appears under its pseudonym, and nothing here needs erasing.
    Rows are only ever added."""

    __tablename__ = "access_changes"
    __table_args__ = (
        CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in ACCESS_ACTIONS) + ")",
                        name="known_action"),
        Index("ix_access_changes_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # UTC
    action: Mapped[str] = mapped_column(String(20))
    # The admin who made the change; None for a command, the demo loader or the app itself
    # (a lockout, a password set through a link: ``user_id`` is then the one who acted).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The account changed (None for a token).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    # The role or token scope before and after, where that is what changed.
    before: Mapped[str | None] = mapped_column(String(32))
    after: Mapped[str | None] = mapped_column(String(32))

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    token: Mapped[ApiToken | None] = relationship()

    @property
    def what(self) -> str:
        """The change in words ("Role changed")."""
        return ACCESS_ACTIONS[self.action]

    @property
    def by(self) -> str:
        """Who made it: the admin's e-mail, or ``NO_ACTOR``."""
        return self.actor.email if self.actor is not None else NO_ACTOR
