"""The sign-in log: every attempt to sign in with a password, its outcome, and from which address.

``record_attempt`` is called by ``accounts.authenticate`` in the attempt's own transaction (a
failure counted towards a lockout and its log row are committed together). Only admins read the
log (``sign_in_log``, ``account_sign_ins``, ``recent_failures``: checked here, in the data layer);
a person reads their own sign-ins in their personal data (adoption/personal_data.py).

The log keeps ``SIGN_IN_LOG_DAYS`` days: each attempt deletes the rows older than that, and no
admin's reader returns them even when nobody has signed in for a while; the person's own copy
(``own_sign_ins``) holds every row still stored, as everything Uptake holds about them must.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Select, delete, distinct, func, select
from sqlalchemy.orm import contains_eager

from adoption.csv_export import csv_text
from adoption.extensions import db
from adoption.models import FAILED_OUTCOMES, SIGN_IN_OUTCOMES, SignIn, User
from adoption.models.sign_ins import ADDRESS_LENGTH
from adoption.scope import Scope

#: The outcome filter that selects every refused attempt.
FAILED = "failed"
#: Every value the outcome filter takes (besides none: every attempt).
OUTCOME_FILTERS = frozenset({FAILED, *SIGN_IN_OUTCOMES})


def _keep_days(config: Mapping[str, Any] | None) -> int:
    """How many days the log keeps (``SIGN_IN_LOG_DAYS``)."""
    return int((current_app.config if config is None else config)["SIGN_IN_LOG_DAYS"])


def kept_since(now: dt.datetime, config: Mapping[str, Any] | None = None) -> dt.datetime:
    """The oldest time the log still holds on ``now``."""
    return now - dt.timedelta(days=_keep_days(config))


def record_attempt(outcome: str, *, user: User | None, address: str | None, at: dt.datetime,
                   config: Mapping[str, Any] | None = None) -> SignIn:
    """Add one attempt to the log and delete the attempts older than the log keeps, in the
    caller's transaction (the caller flushes)."""
    if outcome not in SIGN_IN_OUTCOMES:
        raise ValueError(f"unknown sign-in outcome {outcome!r}")
    # An indexed range on `at`: when nothing has aged out, a probe of the index and no write.
    db.session.execute(delete(SignIn).where(SignIn.at < kept_since(at, config)),
                       execution_options={"synchronize_session": False})
    attempt = SignIn(at=at, user=user, outcome=outcome, address=address[:ADDRESS_LENGTH] if address else None)
    db.session.add(attempt)
    return attempt


def _selected(outcome: str | None) -> list[str] | None:
    """The stored outcomes a filter value selects (None: every outcome)."""
    if not outcome:
        return None
    if outcome not in OUTCOME_FILTERS:
        raise ValueError(f"unknown sign-in outcome {outcome!r}")
    return list(FAILED_OUTCOMES) if outcome == FAILED else [outcome]


def _log(now: dt.datetime, config: Mapping[str, Any] | None, outcome: str | None = None,
         search: str | None = None) -> Select:
    """Attempts the log still keeps on ``now``, newest first, each with its account loaded;
    ``search`` matches the account's e-mail or the start of the client's address."""
    statement = (select(SignIn).outerjoin(User, SignIn.user).options(contains_eager(SignIn.user))
                 .where(SignIn.at >= kept_since(now, config))
                 .order_by(SignIn.at.desc(), SignIn.id.desc()))
    outcomes = _selected(outcome)
    if outcomes is not None:
        statement = statement.where(SignIn.outcome.in_(outcomes))
    if search and search.strip():
        text = search.strip().lower()
        statement = statement.where(func.lower(User.email).contains(text, autoescape=True)
                                    | SignIn.address.startswith(text, autoescape=True))
    return statement


def sign_in_log(scope: Scope, *, now: dt.datetime, outcome: str | None = None, search: str | None = None,
                config: Mapping[str, Any] | None = None) -> Select:
    """The sign-in log, newest first, as a statement to paginate (admins only). ``outcome`` is one
    outcome, ``FAILED`` for every refusal, or None for all."""
    scope.require_admin("read the sign-in log")
    return _log(now, config, outcome, search)


#: The columns of the log's CSV download.
LOG_COLUMNS = ["at_utc", "outcome", "result", "account", "address"]


def sign_in_log_csv(scope: Scope, *, now: dt.datetime, outcome: str | None = None, search: str | None = None,
                    config: Mapping[str, Any] | None = None) -> str:
    """Every attempt ``sign_in_log`` selects, newest first, as spreadsheet-safe CSV (admins only)."""
    attempts = db.session.scalars(sign_in_log(scope, now=now, outcome=outcome, search=search, config=config))
    return csv_text(LOG_COLUMNS, ([a.at.isoformat(sep=" "), a.outcome, a.what, a.user.email if a.user else "",
                                   a.address or ""] for a in attempts))


def account_sign_ins(scope: Scope, user: User, *, now: dt.datetime, limit: int = 10,
                     config: Mapping[str, Any] | None = None) -> list[SignIn]:
    """The latest attempts on one account, newest first (admins only)."""
    scope.require_admin("read an account's sign-ins")
    return list(db.session.scalars(_log(now, config).where(SignIn.user_id == user.id).limit(limit)))


@dataclass(frozen=True)
class Failures:
    """Refused attempts in a recent window: how many, on how many accounts (unknown addresses
    aside), from how many client addresses."""

    hours: int
    attempts: int
    accounts: int
    addresses: int


def recent_failures(scope: Scope, *, now: dt.datetime, hours: int = 24) -> Failures:
    """The refused attempts of the last ``hours`` (admins only): the log page's summary."""
    scope.require_admin("read the sign-in log")
    attempts, accounts, addresses = db.session.execute(
        select(func.count(), func.count(distinct(SignIn.user_id)), func.count(distinct(SignIn.address)))
        .where(SignIn.at >= now - dt.timedelta(hours=hours), SignIn.outcome.in_(FAILED_OUTCOMES))
    ).one()
    return Failures(hours, attempts, accounts, addresses)


def own_sign_ins(user: User) -> list[dict]:
    """Every attempt on ``user``'s account still stored, oldest first, as records of their
    personal data (the caller has checked who may read it)."""
    attempts = db.session.scalars(select(SignIn).where(SignIn.user_id == user.id).order_by(SignIn.at, SignIn.id))
    return [{"at": a.at, "result": a.what, "address": a.address} for a in attempts]


def erase_sign_ins(user: User) -> int:
    """Delete every attempt on ``user``'s account (erasure of a leaver); how many went."""
    return db.session.execute(delete(SignIn).where(SignIn.user_id == user.id),
                              execution_options={"synchronize_session": False}).rowcount
