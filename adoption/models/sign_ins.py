"""The sign-in log: every attempt to sign in with a password, its outcome and the client's
address (adoption/sign_ins.py records and reads it; admins read it on Admin → Sign-ins)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db
from adoption.models.users import User

SIGNED_IN = "signed_in"
#: Each outcome as stored, and how the log says it. Every outcome but ``SIGNED_IN`` is a refusal;
#: the person at the sign-in form is told the same thing whichever it was.
SIGN_IN_OUTCOMES = {
    SIGNED_IN: "Signed in",
    "wrong_password": "Wrong password",
    "locked": "Refused: account locked",
    "disabled": "Refused: account disabled, or the person has left",
    "no_password": "Refused: no password set yet",
    "unknown_account": "Refused: no account with that e-mail",
}
FAILED_OUTCOMES = tuple(o for o in SIGN_IN_OUTCOMES if o != SIGNED_IN)
#: The widest client address kept (an IPv6 address with a zone fits; longer values are cut).
ADDRESS_LENGTH = 64


class SignIn(db.Model):
    """One attempt to sign in: when, which account (None when the address typed names none), the
    outcome, and the client's address as the app saw it (behind proxies: UPTAKE_TRUSTED_PROXIES).

    What was typed is never kept, not even for an unknown account: people type a password into
    the e-mail field by mistake. Rows older than UPTAKE_SIGN_IN_LOG_DAYS are deleted."""

    __tablename__ = "sign_ins"
    __table_args__ = (
        CheckConstraint("outcome IN (" + ", ".join(f"'{o}'" for o in SIGN_IN_OUTCOMES) + ")",
                        name="known_outcome"),
        Index("ix_sign_ins_user_id_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # UTC
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))

    user: Mapped[User | None] = relationship()

    @property
    def what(self) -> str:
        """The outcome in words ("Wrong password")."""
        return SIGN_IN_OUTCOMES[self.outcome]

    @property
    def failed(self) -> bool:
        """True when the attempt was refused."""
        return self.outcome != SIGNED_IN
