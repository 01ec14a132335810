"""The demo's sign-in log: the demo accounts signing in over the days the log keeps (at most
its default 90), so that Admin → Sign-ins has something to read on the first start.

Each account signs in on working days as often as its role would (the change leader and the admin
every day, the employee about once a week), mostly from the office network and sometimes from
home, now and then after one mistyped password. Two stories stand out: the manager's account is
locked after five wrong passwords one evening and unlocked by the admin the next morning (the
access log has both), and one night an outside address tries a dozen addresses, a few of them
real accounts, without getting in. Deterministic: the seed and the load day decide everything.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from adoption import access_changes
from adoption.config import DEFAULTS
from adoption.demo_calendar import DemoCalendar
from adoption.extensions import db
from adoption.models import SignIn, User
from adoption.models.sign_ins import SIGNED_IN

#: The most days of sign-ins the demo writes: the log's default window.
MAX_DAYS = DEFAULTS["SIGN_IN_LOG_DAYS"]
#: Share of working days each role signs in on.
DAILY_SHARE = {"admin": 0.8, "change_leader": 0.95, "executive": 0.4, "manager": 0.6, "employee": 0.2}
#: The manager's lockout and the night of guesses, in days before the demo's "today".
LOCKOUT_DAYS_AGO, GUESSES_DAYS_AGO = 12, 5
GUESSING_ADDRESS = "203.0.113.45"  # a documentation address (RFC 5737): nobody's real one
UNKNOWN_GUESSES = 9


def _office(index: int) -> str:
    return f"10.20.4.{31 + index}"


def _home(index: int) -> str:
    return f"198.51.100.{70 + 11 * index}"


def load_sign_ins(seed: int, calendar: DemoCalendar, emails: dict[str, str], config: Mapping[str, Any]) -> str | None:
    """Add the demo accounts' sign-ins of the days before the demo's "today" that the log keeps
    (once, on a new load); ``emails`` maps each demo role to its account's address; the summary line."""
    days = min(int(config["SIGN_IN_LOG_DAYS"]), MAX_DAYS)
    max_failures = int(config["LOGIN_MAX_FAILURES"])
    users = {role: db.session.scalar(select(User).where(func.lower(User.email) == email))
             for role, email in emails.items()}
    if any(user is None for user in users.values()):
        return None
    rng = random.Random(f"{seed}:sign-ins")
    attempts: list[SignIn] = []
    first = calendar.today - dt.timedelta(days=days)
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for index, (role, user) in enumerate(sorted(users.items())):
            if rng.random() >= DAILY_SHARE[role]:
                continue
            at = dt.datetime.combine(day, dt.time(7, 30)) + dt.timedelta(minutes=rng.randrange(0, 9 * 60))
            address = _home(index) if rng.random() < 0.2 else _office(index)
            if rng.random() < 0.06:  # a mistyped password, then the right one
                attempts.append(SignIn(at=at, user=user, outcome="wrong_password", address=address))
                at += dt.timedelta(seconds=rng.randrange(8, 40))
            attempts.append(SignIn(at=at, user=user, outcome=SIGNED_IN, address=address))
    attempts += _lockout(users, calendar, max_failures, sorted(users).index("manager"))
    attempts += _guesses(rng, users, calendar)
    db.session.add_all(attempts)
    for user in users.values():
        signed_in = [a.at for a in attempts if a.user is user and a.outcome == SIGNED_IN]
        user.last_login_at = max(signed_in, default=None)
        user.failed_logins = 0
    refused = sum(1 for a in attempts if a.outcome != SIGNED_IN)
    return (f"Sign-ins: {len(attempts)} attempts on the demo accounts over the last {days} days, {refused} refused "
            f"(the manager locked out after {max_failures} wrong passwords and unlocked by the admin; a night of "
            f"guesses from {GUESSING_ADDRESS}) — Admin → Sign-ins.")


def _lockout(users: dict[str, User], calendar: DemoCalendar, max_failures: int, index: int) -> list[SignIn]:
    """The manager mistypes their password from home one evening until the account locks, tries
    once more, and signs in the next morning after the admin has unlocked it."""
    manager, admin = users["manager"], users["admin"]
    evening = dt.datetime.combine(calendar.today - dt.timedelta(days=LOCKOUT_DAYS_AGO), dt.time(19, 42))
    attempts = [SignIn(at=evening + dt.timedelta(seconds=25 * n), user=manager, outcome="wrong_password",
                       address=_home(index)) for n in range(max_failures)]
    locked_at = attempts[-1].at
    access_changes.record("locked", user=manager, at=locked_at)
    attempts.append(SignIn(at=locked_at + dt.timedelta(minutes=3), user=manager, outcome="locked", address=_home(index)))
    morning = evening.replace(hour=8, minute=12) + dt.timedelta(days=1)
    access_changes.record("unlocked", actor=admin, user=manager, at=morning)
    attempts.append(SignIn(at=morning + dt.timedelta(minutes=6), user=manager, outcome=SIGNED_IN,
                           address=_office(index)))
    return attempts


def _guesses(rng: random.Random, users: dict[str, User], calendar: DemoCalendar) -> list[SignIn]:
    """One outside address tries made-up addresses and, twice each, the admin's and the change
    leader's accounts, a minute or two apart in the middle of the night: nothing gets in, and
    no account reaches the lockout."""
    night = dt.datetime.combine(calendar.today - dt.timedelta(days=GUESSES_DAYS_AGO), dt.time(2, 17))
    targets = [None] * UNKNOWN_GUESSES + [users["admin"], users["change_leader"]] * 2
    rng.shuffle(targets)
    attempts, at = [], night
    for user in targets:
        at += dt.timedelta(seconds=rng.randrange(40, 150))
        attempts.append(SignIn(at=at, user=user, outcome="unknown_account" if user is None else "wrong_password",
                               address=GUESSING_ADDRESS))
    return attempts
