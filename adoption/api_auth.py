"""Access for API views: ``token_required(scope)``, ``token_or_user(scope)`` (a bearer token or
the browser session, giving a data ``Scope``) and the per-token rate-limit key."""
from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from functools import wraps

from flask import g, jsonify, request
from flask_login import current_user

from adoption.access import current_scope
from adoption.extensions import limiter
from adoption.models import Role
from adoption.scope import Scope
from adoption.timekeeping import utcnow
from adoption.tokens import authenticate_bearer, bearer_value

#: What a ``read`` token sees through the ``/api/v1`` endpoints: every unit's aggregates, like a
#: change leader, but no individual's records (a token has no person behind it). The one
#: exception is the xAPI learning record (``GET /xapi/statements``, training/api.py), which is
#: individual by nature and documented as such in docs/api.md and docs/privacy.md.
READ_TOKEN_SCOPE = Scope(Role.CHANGE_LEADER, None, None, None, False)


def api_error(status: int, error: str, message: str, headers: dict[str, str] | None = None, **extra):
    """A JSON error response: ``{"error": code, "message": text, ...}`` with ``status``."""
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def rate_limited(error):
    """Rate limit reached (an API blueprint's 429 handler): JSON with ``Retry-After`` in seconds."""
    limit = limiter.current_limit
    retry_after = max(1, math.ceil(limit.reset_at - time.time())) if limit else 60
    return api_error(429, "rate_limited", f"Rate limit reached ({error.description}); retry after {retry_after} s.",
                     {"Retry-After": str(retry_after)})


def current_token():
    """The ``ApiToken`` that authenticated this request (inside a ``token_required`` view)."""
    return g.api_token


def _check_bearer(scope: str, unauthorized_message: str):
    """Authenticate the bearer header for ``scope``: the token, or the 401/403 response to send."""
    header = request.headers.get("Authorization")
    now = utcnow()
    token = authenticate_bearer(header, now)
    if token is None:
        # RFC 6750: no credentials → a bare challenge; bad credentials → invalid_token.
        challenge = 'Bearer realm="uptake"'
        if bearer_value(header) is not None:
            challenge += ', error="invalid_token"'
        return None, api_error(401, "unauthorized", unauthorized_message, {"WWW-Authenticate": challenge})
    if token.scope != scope:
        return None, api_error(
            403, "insufficient_scope", f"This token has scope '{token.scope}'; this endpoint needs '{scope}'.",
            {"WWW-Authenticate": f'Bearer realm="uptake", error="insufficient_scope", scope="{scope}"'})
    return token, None


def token_required(scope: str) -> Callable:
    """Let the view run only for a live bearer token holding ``scope`` (401 or 403 JSON otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            token, refusal = _check_bearer(
                scope, "Send a valid, unrevoked API token as 'Authorization: Bearer <token>'.")
            if refusal is not None:
                return refusal
            g.api_token = token
            return view(*args, **kwargs)

        return wrapped

    return decorator


def current_api_scope() -> Scope:
    """The data ``Scope`` of this request (inside a ``token_or_user`` view)."""
    return g.api_scope


def token_or_user(scope: str) -> Callable:
    """Let the view run for a bearer token holding ``scope`` or for a signed-in user.

    A request that sends an ``Authorization`` header is judged by its token alone (a bad token is
    401 even with a session), and gets ``READ_TOKEN_SCOPE``; otherwise the session user gets their
    own ``Scope``. ``current_api_scope()`` gives it to the view. Meant for read-only (GET)
    endpoints: the session path has no CSRF check. Nobody signed in and no token → 401 JSON.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if request.headers.get("Authorization") is None and current_user.is_authenticated:
                g.api_token = None
                g.api_scope = current_scope()
                return view(*args, **kwargs)
            token, refusal = _check_bearer(
                scope, f"Send an API token with scope '{scope}' as 'Authorization: Bearer <token>', or sign in.")
            if refusal is not None:
                return refusal
            g.api_token = token
            g.api_scope = READ_TOKEN_SCOPE
            return view(*args, **kwargs)

        return wrapped

    return decorator


def token_rate_key() -> str:
    """Rate-limit bucket: the presented bearer token (by hash, no database read), else the client address."""
    return credential_rate_key(bearer_value(request.headers.get("Authorization")))


def credential_rate_key(credential: str | None) -> str:
    """Rate-limit bucket of a presented token (by hash, no database read), else of the client address."""
    # The limiter runs before authentication, so the key cannot be the token row. Keying on the
    # hash of the credential gives each real token its own bucket; the public prefix would not do,
    # since anyone who saw it could exhaust the owner's budget with forged secrets.
    if credential is not None:
        return "token:" + hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")
