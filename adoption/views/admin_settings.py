"""Administration: the settings in force, read-only.

Settings come from the server's environment (``UPTAKE_*``, ``adoption/config.py``), not from the
database, on purpose: an admin account that is taken over cannot lower the anonymity thresholds
(which would reveal small groups' answers after the fact), and a change of time zone or week start
goes with the rollup refresh it needs (``refresh-rollups --all``). This page shows each setting's
value, whether it is the default, and the variable that changes it; secrets never appear.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from sqlalchemy.engine import make_url

from adoption.access import role_required
from adoption.config import DEFAULTS, ENV_PREFIX
from adoption.models import Role
from adoption.telemetry.retention import latest_purge
from adoption.views.admin import bp

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Shown:
    """One setting on the page: its key in the config, and what it means."""

    key: str
    meaning: str


GROUPS: tuple[tuple[str, tuple[Shown, ...]], ...] = (
    ("Confidentiality", (
        Shown("SURVEY_MIN_RESPONDENTS", "a group's survey scores are shown only when at least this many people in it answered (never below 3)"),
        Shown("SURVEY_MIN_COMMENT_RESPONDENTS", "a group's comments are shown only when at least this many people in it answered"),
    )),
    ("Calendar", (
        Shown("ORG_TIMEZONE", "what “today” means: survey rounds, reminders, imports, weeks"),
        Shown("WEEK_START", "first day of the adoption week (after a change: refresh-rollups --all)"),
    )),
    ("Data retention", (
        Shown("TELEMETRY_RETENTION_DAYS", "raw CRM events older than this are deleted by purge-telemetry and no longer taken (the daily rollups stay)"),
        Shown("LEAVER_RETENTION_DAYS", "people who left, and accounts with no employee record disabled, longer ago than this are erased by erase-leavers (Admin → Personal data lists every erasure)"),
    )),
    ("Surveys", (
        Shown("SURVEY_BUDGET_ROUNDS", "nobody is offered more survey rounds than this …"),
        Shown("SURVEY_BUDGET_DAYS", "… opening within this many days"),
    )),
    ("Sign-in", (
        Shown("LOGIN_MAX_FAILURES", "failed passwords before an account is locked"),
        Shown("LOGIN_LOCKOUT_MINUTES", "how long the lock lasts"),
        Shown("LOGIN_RATE_LIMIT", "sign-in and password-reset requests per client address"),
        Shown("SIGN_IN_LOG_DAYS", "days the sign-in log keeps each attempt"),
        Shown("TRUSTED_PROXIES", "reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (0: none)"),
        Shown("SESSION_COOKIE_SECURE", "session cookie sent over HTTPS only"),
        Shown("BASE_URL", "the address people open; password links and xAPI identifiers are built on it"),
    )),
    ("Roster safety stops", (
        Shown("ROSTER_MAX_DEACTIVATION_SHARE", "an import deactivating more than this share of active people needs a confirmation"),
        Shown("ROSTER_MAX_EMAIL_CHANGE_SHARE", "the same for e-mail address changes"),
    )),
    ("Mail and jobs", (
        Shown("MAIL_SERVER", "SMTP host; unset, messages wait in the Outbox"),
        Shown("MAIL_DEFAULT_SENDER", "the From: address"),
        Shown("CELERY_BROKER_URL", "background jobs go to Celery workers; unset, they run in the web process"),
        Shown("EVENTS_RATE_LIMIT", "event API requests per token"),
        Shown("XAPI_RATE_LIMIT", "xAPI statement writes per token"),
        Shown("XAPI_ROSTER_HOMEPAGES", "learning systems whose xAPI account names are roster ids or e-mails"),
    )),
)


def _display(key: str, value) -> str:
    """A value as an admin reads it; URLs lose any password."""
    if value is None or value == "":
        return "not set"
    if key == "WEEK_START" and isinstance(value, int) and 0 <= value < len(WEEKDAYS):
        return WEEKDAYS[value]
    if key == "TELEMETRY_RETENTION_DAYS" and isinstance(value, int):
        return f"{value} days" if value else "kept forever"
    if key == "LEAVER_RETENTION_DAYS" and isinstance(value, int):
        return f"{value} days" if value else "erased only on request"
    if key == "SIGN_IN_LOG_DAYS" and isinstance(value, int):
        return f"{value} days"
    if key == "CELERY_BROKER_URL":
        return make_url(value).render_as_string(hide_password=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _database() -> str:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        return f"SQLite, file {url.database}"
    return f"{url.get_backend_name()} at {url.render_as_string(hide_password=True)}"


@bp.route("/settings")
@role_required(Role.ADMIN)
def settings():
    """The settings in force, with their variables; nothing here can be changed."""
    config = current_app.config
    groups = [
        (title, [(f"{ENV_PREFIX}{s.key}", _display(s.key, config.get(s.key)), s.meaning,
                  config.get(s.key) == DEFAULTS.get(s.key)) for s in shown])
        for title, shown in GROUPS
    ]
    return render_template("admin/settings.html", groups=groups, database=_database(), last_purge=latest_purge())
