"""API token operations: issue (the secret is returned once), revoke, authenticate a bearer header.

A token reads ``upt_<8 hex>_<43 url-safe characters>``: the first twelve characters are its
non-secret prefix, the rest carries 256 random bits. Only the SHA-256 of the whole token is kept.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select

from adoption import access_changes
from adoption.extensions import db
from adoption.models import TOKEN_SCOPES, ApiToken
from adoption.timekeeping import utcnow

TOKEN_MARK = "upt_"
PREFIX_LENGTH = len(TOKEN_MARK) + 8
MAX_NAME_LENGTH = 100
# Recording every use would write the token row on every API request: one more write contending
# for SQLite's single write lock, and on PostgreSQL a hot row that serialises concurrent requests
# of the same token. "Last used" to the minute is all an admin needs to spot an idle token.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked."""


def hash_token(plaintext: str) -> str:
    """The hex SHA-256 of a token, as stored in ``ApiToken.token_hash``."""
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(name: str, scope: str, created_by_id: int | None, now: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns it with its plaintext, which is never stored nor shown again."""
    name = (name or "").strip()
    if not name:
        raise TokenError("a token needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"a token name has at most {MAX_NAME_LENGTH} characters")
    if scope not in TOKEN_SCOPES:
        raise TokenError(f"scope must be one of {', '.join(TOKEN_SCOPES)}")
    now = now or utcnow()
    while True:
        prefix = TOKEN_MARK + secrets.token_hex(4)
        # 32 bits of prefix: a collision is rare but possible, and the prefix must be unique.
        if db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is None:
            break
    plaintext = f"{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(name=name, scope=scope, prefix=prefix, token_hash=hash_token(plaintext),
                     created_by_id=created_by_id, created_at=now)
    db.session.add(token)
    access_changes.record("token_issued", actor=created_by_id, token=token, after=scope, at=now)
    db.session.flush()
    return token, plaintext


def revoke_token(token_id: int, now: dt.datetime | None = None, *, by_id: int | None = None) -> ApiToken:
    """Revoke a token for good; revoking it again keeps the first revocation time. ``by_id``: the
    admin who asks (None for a command), for the access log."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise TokenError("no such token")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        access_changes.record("token_revoked", actor=by_id, token=token, at=token.revoked_at)
        db.session.flush()
    return token


def list_tokens() -> list[ApiToken]:
    """Every token, newest first (revoked ones included, for the audit trail)."""
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def bearer_value(header_value: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer <token>`` header, or None if there is none."""
    if not header_value:
        return None
    scheme, _, credential = header_value.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return None
    return credential


def authenticate_bearer(header_value: str | None, now: dt.datetime) -> ApiToken | None:
    """The live token named by an Authorization header (recording its use), or None."""
    plaintext = bearer_value(header_value)
    if plaintext is None or len(plaintext) < PREFIX_LENGTH or len(plaintext) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == plaintext[:PREFIX_LENGTH]))
    # The row is found by its public prefix, then the secret is checked in constant time, so the
    # response time says nothing about how much of a guessed secret was right.
    if token is None or not hmac.compare_digest(token.token_hash, hash_token(plaintext)):
        return None
    if token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


