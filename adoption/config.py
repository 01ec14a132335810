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
    # How many days the sign-in log keeps each attempt (adoption/sign_ins.py, docs/privacy.md):
    # when, which account, the outcome and the client's address. From 1 to 3650.
    "SIGN_IN_LOG_DAYS": 90,
    # How many reverse proxies in front of the app add themselves to X-Forwarded-For and set
    # X-Forwarded-Proto (docs/operations.md). 0 (default) ignores those headers, which any client
    # can send; behind one nginx, 1. The per-address sign-in rate limit and the sign-in log read
    # the client's address from it.
    "TRUSTED_PROXIES": 0,
    "RATELIMIT_STORAGE_URI": "memory://",
    "SESSION_COOKIE_SECURE": False,
    # Roster safety stops (share of active employees).
    "ROSTER_MAX_DEACTIVATION_SHARE": 0.40,
    "ROSTER_MAX_EMAIL_CHANGE_SHARE": 0.05,
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    # Per API token on POST /api/v1/events (Flask-Limiter syntax); shared across workers only
    # when RATELIMIT_STORAGE_URI points at Redis.
    "EVENTS_RATE_LIMIT": "600 per minute",
    # Per API token on POST /api/v1/outcomes (up to 1,000 outcomes a request).
    "OUTCOMES_RATE_LIMIT": "60 per minute",
    # Per API token on POST and PUT /xapi/statements (up to 500 statements a request).
    "XAPI_RATE_LIMIT": "120 per minute",
    # Learning systems whose xAPI account names are the roster's employee ids or e-mail
    # addresses (comma-separated home pages, e.g. "https://lms.example.com"): their statements
    # are attributed by account as well as by e-mail (training/xapi_intake.py).
    "XAPI_ROSTER_HOMEPAGES": "",
    # Background jobs (adoption/jobs.py, docs/operations.md). None runs them in a thread of the
    # web process (nothing else to install; a job dies with its process); a URL such as
    # "redis://127.0.0.1:6379/0" sends them to Celery workers (`celery -A adoption.worker worker`).
    "CELERY_BROKER_URL": None,
    # Where Celery keeps task results; optional, the jobs record their outcome in the database.
    "CELERY_RESULT_BACKEND": None,
    # The queue jobs are sent to and workers consume by default.
    "CELERY_QUEUE": "uptake",
    # How many days raw CRM events are kept (adoption/telemetry/retention.py, docs/privacy.md):
    # `flask purge-telemetry` deletes older ones, ingest refuses them (`too_old`); the daily
    # rollups every metric reads are kept. 0 keeps raw events forever; otherwise at least
    # MIN_RETENTION_DAYS, so an unmatched actor can be mapped before their events go.
    "TELEMETRY_RETENTION_DAYS": 0,
    # Leavers' personal data (adoption/erasure.py, docs/privacy.md): `flask erase-leavers` erases
    # the people whose last day was more than this many days ago, keeping the pseudonymous records
    # the metrics of the past are made of. 0 never erases automatically (admins still can, on
    # request); otherwise at least MIN_RETENTION_DAYS, so a leaving date entered by mistake can be
    # corrected by the next roster import first.
    "LEAVER_RETENTION_DAYS": 0,
    # Largest event file the upload page accepts (the rest of the app keeps MAX_CONTENT_LENGTH);
    # the upload is spooled to disk, never held in memory. Bigger files: `flask ingest-events`.
    "EVENT_IMPORT_MAX_BYTES": 1024 * 1024 * 1024,
    # Survey budget (surveys/services.py, offered_rounds): nobody is offered more than
    # SURVEY_BUDGET_ROUNDS rounds, across all surveys, opening within SURVEY_BUDGET_DAYS days.
    # It is applied when a person's surveys are listed (a round's audience is known only on its
    # opening day); the rounds over budget are simply not offered to that person. The default
    # lets one weekly pulse through, or a monthly pulse plus a few one-off surveys.
    "SURVEY_BUDGET_ROUNDS": 4,
    "SURVEY_BUDGET_DAYS": 28,
    # Confidentiality (surveys/disclosure.py, docs/privacy.md): a group's scores are shown only
    # when at least SURVEY_MIN_RESPONDENTS people in it answered, and its comments only when at
    # least SURVEY_MIN_COMMENT_RESPONDENTS did. Neither may be set below MIN_THRESHOLD (3).
    "SURVEY_MIN_RESPONDENTS": 5,
    "SURVEY_MIN_COMMENT_RESPONDENTS": 5,
    # Outgoing e-mail (adoption/mail.py) through Flask-Mail when MAIL_SERVER is set; otherwise
    # messages are kept in the outbox admins can read.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_DEFAULT_SENDER": "uptake@localhost",
    # The app's public address (no trailing slash). The xAPI record (training/xapi.py) uses it as
    # the home page of every learner's account and as the root of every activity IRI, and stores
    # it in each statement: set it before the first module is taken, and never change it after.
    "BASE_URL": "http://localhost:5000",
}

#: The lowest anonymity threshold the app accepts, whatever the settings say.
MIN_THRESHOLD = 3
MIN_RETENTION_DAYS = 30
#: Ten years: the sign-in log is for noticing misuse, not an archive (and a day count past the
#: calendar's end would make every sign-in fail).
MAX_SIGN_IN_LOG_DAYS = 3650

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
    kind = next((k for k in (int, float, list, dict) if isinstance(default, k)), None)
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is not None:
            return json.loads(raw)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        kind_name = {int: "an integer", float: "a number"}.get(kind, "JSON")
        raise ValueError(f"{ENV_PREFIX}{name} must be {kind_name}, got {raw!r}") from exc
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
    for name in ("SURVEY_MIN_RESPONDENTS", "SURVEY_MIN_COMMENT_RESPONDENTS"):
        if not isinstance(settings[name], int) or settings[name] < MIN_THRESHOLD:
            raise ValueError(f"{ENV_PREFIX}{name} must be an integer of at least {MIN_THRESHOLD}, "
                             f"got {settings[name]!r}")
    for name, zero_means in (("TELEMETRY_RETENTION_DAYS", "keep raw events"), ("LEAVER_RETENTION_DAYS", "never erase")):
        days = settings[name]
        if not isinstance(days, int) or isinstance(days, bool) or (days != 0 and days < MIN_RETENTION_DAYS):
            raise ValueError(f"{ENV_PREFIX}{name} must be 0 ({zero_means}) or an integer of "
                             f"at least {MIN_RETENTION_DAYS}, got {days!r}")
    for name, least, most in (("SIGN_IN_LOG_DAYS", 1, MAX_SIGN_IN_LOG_DAYS), ("TRUSTED_PROXIES", 0, 10)):
        value = settings[name]
        if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
            raise ValueError(f"{ENV_PREFIX}{name} must be an integer from {least} to {most}, got {value!r}")
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
        return _development_key(Path(instance_path) / "secret_key")
    raise RuntimeError(
        "UPTAKE_SECRET_KEY is not set. Set it to a long random string in production "
        "(or UPTAKE_ENV=development to generate one in the instance folder)."
    )


def _development_key(key_file: Path) -> str:
    """Read the generated development key, creating it (private to the owner) on first use."""
    if key_file.exists():
        key = key_file.read_text().strip()
        if key:
            return key
        key_file.unlink()  # an empty file (interrupted write) would mean no secret key at all
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        # O_EXCL: two processes starting at once must not each write a different key;
        # mode 0600 from the start, so the key is never readable by others, not even briefly.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip() or key
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
