"""Bearer-token access for API views: ``token_required(scope)`` and the per-token rate-limit key."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from functools import wraps

from flask import g, jsonify, request

from adoption.tokens import authenticate_bearer, bearer_value


def api_error(status: int, error: str, message: str, headers: dict[str, str] | None = None, **extra):
    """A JSON error response: ``{"error": code, "message": text, ...}`` with ``status``."""
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def current_token():
    """The ``ApiToken`` that authenticated this request (inside a ``token_required`` view)."""
    return g.api_token


def token_required(scope: str) -> Callable:
    """Let the view run only for a live bearer token holding ``scope`` (401 or 403 JSON otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization")
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            token = authenticate_bearer(header, now)
            if token is None:
                # RFC 6750: no credentials → a bare challenge; bad credentials → invalid_token.
                challenge = 'Bearer realm="uptake"'
                if bearer_value(header) is not None:
                    challenge += ', error="invalid_token"'
                return api_error(401, "unauthorized",
                                 "Send a valid, unrevoked API token as 'Authorization: Bearer <token>'.",
                                 {"WWW-Authenticate": challenge})
            if token.scope != scope:
                return api_error(403, "insufficient_scope",
                                 f"This token has scope '{token.scope}'; this endpoint needs '{scope}'.",
                                 {"WWW-Authenticate": f'Bearer realm="uptake", error="insufficient_scope", scope="{scope}"'})
            g.api_token = token
            return view(*args, **kwargs)

        return wrapped

    return decorator


def token_rate_key() -> str:
    """Rate-limit bucket: the presented token (by hash, no database read), else the client address."""
    # The limiter runs before authentication, so the key cannot be the token row. Keying on the
    # hash of the credential gives each real token its own bucket; the public prefix would not do,
    # since anyone who saw it could exhaust the owner's budget with forged secrets.
    credential = bearer_value(request.headers.get("Authorization"))
    if credential is not None:
        return "token:" + hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")
