"""Configuration: defaults, then ``UPTAKE_*`` environment variables, then the mapping passed in."""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "UPTAKE_"

#: Every setting the app reads, with its default. ``UPTAKE_<NAME>`` overrides any of them.
DEFAULTS: dict[str, Any] = {
    # "production" (default), "development" or "testing".
    "ENV": "production",
    "SECRET_KEY": None,
    # None means a SQLite file ``uptake.db`` in the instance folder.
    "DATABASE_URL": None,
    "ORG_TIMEZONE": "UTC",
    # 0 = Monday ... 6 = Sunday
    "WEEK_START": 0,
    "LOGIN_RATE_LIMIT": "10 per minute",
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_LOCKOUT_MINUTES": 15,
    "RATELIMIT_STORAGE_URI": "memory://",
    "SESSION_COOKIE_SECURE": False,
    # Roster safety stops (share of active employees).
    "ROSTER_MAX_DEACTIVATION_SHARE": 0.40,
    "ROSTER_MAX_EMAIL_CHANGE_SHARE": 0.05,
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
}

_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, raw: str, default: Any) -> Any:
    """Turn an environment string into the type of the setting's default."""
    if isinstance(default, bool):
        value = raw.strip().lower()
        if value in _BOOL_TRUE:
            return True
        if value in _BOOL_FALSE:
            return False
        raise ValueError(f"{ENV_PREFIX}{name} must be a boolean, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (list, dict)):
        return json.loads(raw)
    return raw


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Merge defaults, ``UPTAKE_*`` environment variables and ``overrides`` (in that order)."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key, raw in environ.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX):]
            settings[name] = _coerce(name, raw, DEFAULTS.get(name))
    if overrides:
        settings.update(overrides)
    if settings["ENV"] not in {"production", "development", "testing"}:
        raise ValueError(f"UPTAKE_ENV must be production, development or testing, got {settings['ENV']!r}")
    return settings


def database_uri(settings: Mapping[str, Any], instance_path: str) -> str:
    """The SQLAlchemy URL: ``DATABASE_URL`` or a SQLite file in the instance folder."""
    url = settings.get("SQLALCHEMY_DATABASE_URI") or settings.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the driver loosely; psycopg 3 is the one we ship.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://"):]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return "sqlite:///" + str(Path(instance_path) / "uptake.db")


def resolve_secret_key(settings: Mapping[str, Any], instance_path: str, debug: bool) -> str:
    """Return the secret key, generating one in the instance folder only in development."""
    if settings.get("SECRET_KEY"):
        return settings["SECRET_KEY"]
    env = settings["ENV"]
    if env == "testing":
        return "testing-only-" + secrets.token_hex(16)
    if env == "development" or debug:
        key_file = Path(instance_path) / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key
    raise RuntimeError(
        "UPTAKE_SECRET_KEY is not set. Set it to a long random string in production "
        "(or UPTAKE_ENV=development to generate one in the instance folder)."
    )
