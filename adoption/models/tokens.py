"""API tokens: bearer credentials for machine clients, stored only as a hash."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db
from adoption.models.users import User

#: What a token may do; a token holds exactly one scope.
TOKEN_SCOPES = ("events:write", "outcomes:write", "xapi:write", "read")
#: What each scope allows, as the admin's token form offers it (docs/api.md has the endpoints).
SCOPE_DESCRIPTIONS = {
    "events:write": "send CRM usage events (POST /api/v1/events)",
    "outcomes:write": "send customer outcomes such as CSAT (POST /api/v1/outcomes)",
    "xapi:write": "send learning records from another learning system (POST/PUT /xapi/statements)",
    "read": "read aggregates (/api/v1) and the xAPI learning record (GET /xapi/statements)",
}


class ApiToken(db.Model):
    """A bearer token for the API; the secret is shown once and only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("scope IN ('events:write', 'outcomes:write', 'xapi:write', 'read')", name="known_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(32))
    # The token's first characters ("upt_" + 8 hex), not secret: shown in lists so an admin can
    # tell tokens apart, and used to find the row before the constant-time hash comparison.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    # Hex SHA-256 of the whole token. Tokens carry 256 random bits, so a fast unsalted hash is
    # enough: there is nothing to brute-force, unlike a password.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # NULL when the token was created from the command line.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Updated at most once a minute (see adoption.tokens.authenticate_bearer).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    created_by: Mapped[User | None] = relationship()

    @property
    def is_revoked(self) -> bool:
        """True once the token has been revoked (it then never authenticates again)."""
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix} {self.scope}>"
