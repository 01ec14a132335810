"""Who an external xAPI statement's learner is (T6): matching actor identifiers to the roster,
the identifiers an admin maps by hand, and the ones that still match no one.

The actor is matched by its identifier: an ``mbox`` (``mailto:``) or ``mbox_sha1sum`` against
employees' e-mail addresses; an ``account`` whose ``homePage`` is this app's, or one of
``XAPI_ROSTER_HOMEPAGES``, by its ``name`` against the HR employee id or the e-mail address; then
against the ``LearnerAlias`` rows admins made for identifiers the roster cannot carry (a personal
address, another system's account). Statements whose actor matches no one are kept with their
identifier and attributed as soon as a roster import or an alias names the person.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update

from adoption.extensions import db
from adoption.models import Employee, User
from adoption.scope import Scope
from adoption.telemetry.identity import IdentityError, mappable_employee
from training.authoring import require_author
from training.models import LearnerAlias, XapiStatement
from training.xapi import VOIDED_VERB, home_page


def _roster_homepages() -> set[str]:
    """This app's home page and the learning systems whose account names are roster ids or e-mails."""
    configured = current_app.config.get("XAPI_ROSTER_HOMEPAGES") or ()
    if isinstance(configured, str):
        configured = configured.split(",")
    return {home_page()} | {page.strip().rstrip("/") for page in configured if page.strip()}


class LearnerRoster:
    """Employees by the identifiers an actor can carry, loaded only for the identifiers asked."""

    def __init__(self):
        self._sha1: dict[str, int] | None = None
        self._homepages = _roster_homepages()

    def _by_email(self, emails: Iterable[str]) -> dict[str, int]:
        emails = {e.lower() for e in emails}
        if not emails:
            return {}
        # The roster keeps e-mail addresses in lower case (adoption/roster.py), as
        # ``adoption.telemetry.identity.find_employee`` relies on too.
        rows = db.session.execute(select(Employee.email, Employee.id).where(Employee.email.in_(emails)))
        return dict(rows.all())

    def _by_hr_id(self, ids: Iterable[str]) -> dict[str, int]:
        ids = set(ids)
        if not ids:
            return {}
        return dict(db.session.execute(select(Employee.hr_id, Employee.id).where(Employee.hr_id.in_(ids))).all())

    def _by_sha1(self) -> dict[str, int]:
        if self._sha1 is None:
            rows = db.session.execute(select(Employee.email, Employee.id))
            self._sha1 = {hashlib.sha1(f"mailto:{email.lower()}".encode()).hexdigest(): employee_id
                          for email, employee_id in rows}
        return self._sha1

    def resolve(self, keys: Iterable[str]) -> dict[str, int]:
        """Employee id per actor key, for the keys that match someone."""
        keys = set(keys)
        emails, names = {}, {}
        for key in keys:
            kind, _, value = key.partition(":")
            if kind == "mbox":
                emails[key] = value.removeprefix("mailto:")
            elif kind == "account":
                page, _, name = value.rpartition("|")
                if page in self._homepages:
                    names[key] = name
        by_email = self._by_email([*emails.values(), *(n for n in names.values() if "@" in n)])
        by_hr_id = self._by_hr_id(names.values())
        matched = {}
        for key, email in emails.items():
            if email.lower() in by_email:
                matched[key] = by_email[email.lower()]
        for key, name in names.items():
            employee_id = by_hr_id.get(name) or by_email.get(name.lower())
            if employee_id is not None:
                matched[key] = employee_id
        sha1_keys = [k for k in keys if k.startswith("mbox_sha1sum:")]
        if sha1_keys:
            by_sha1 = self._by_sha1()
            for key in sha1_keys:
                employee_id = by_sha1.get(key.removeprefix("mbox_sha1sum:"))
                if employee_id is not None:
                    matched[key] = employee_id
        # Then the identifiers an admin mapped (an alias only ever names one the roster lacks).
        rest = keys - matched.keys()
        if rest:
            matched.update(db.session.execute(
                select(LearnerAlias.actor_key, LearnerAlias.employee_id).where(LearnerAlias.actor_key.in_(rest))).all())
        return matched


def attribute_unmatched_statements() -> int:
    """Attribute the stored external statements whose actor now matches an employee; flushes.
    Returns how many were attributed."""
    keys = list(db.session.scalars(select(XapiStatement.actor_key).distinct()
                                   .where(XapiStatement.employee_id.is_(None), XapiStatement.actor_key.is_not(None))))
    matched = LearnerRoster().resolve(keys)
    attributed = 0
    for key, employee_id in matched.items():
        result = db.session.execute(update(XapiStatement)
                                    .where(XapiStatement.actor_key == key, XapiStatement.employee_id.is_(None))
                                    .values(employee_id=employee_id))
        attributed += result.rowcount
    return attributed


@dataclass(frozen=True)
class LearnerMapping:
    """What ``map_learner`` did: the alias (new or already there), its employee, the statements attributed."""

    alias: LearnerAlias
    employee: Employee
    attributed: int


def map_learner(scope: Scope, actor_key: str, employee_id: int, created_by_id: int | None) -> LearnerMapping:
    """Map an external learner identifier to an employee with a ``LearnerAlias`` and attribute
    the statements that name it (admins only, like the CRM aliases). Refuses an identifier the
    roster or another alias already gives to someone else, and an unknown or inactive employee,
    with ``IdentityError`` (as for the CRM aliases). Flushes, never commits."""
    scope.require_admin("map learner identifiers to employees")
    actor_key = (actor_key or "").strip()
    if not actor_key or not db.session.scalar(select(XapiStatement.id).where(XapiStatement.actor_key == actor_key)
                                              .limit(1)):
        raise IdentityError("No record names this learner identifier.")
    employee = mappable_employee(employee_id)
    holder_id = LearnerRoster().resolve([actor_key]).get(actor_key)
    if holder_id is not None and holder_id != employee.id:
        holder = db.session.get(Employee, holder_id)
        raise IdentityError(f"{actor_key} already names {holder.full_name} ({holder.hr_id}); "
                                  f"it cannot be mapped to {employee.full_name} too.")
    alias = db.session.scalar(select(LearnerAlias).where(LearnerAlias.actor_key == actor_key))
    if alias is None:
        alias = LearnerAlias(actor_key=actor_key, employee_id=employee.id, created_by_id=created_by_id)
        db.session.add(alias)
        db.session.flush()
    return LearnerMapping(alias, employee, attribute_unmatched_statements())


@dataclass(frozen=True)
class MappedLearner:
    """A learner identifier an admin mapped, for the records page."""

    actor_key: str
    employee: str
    hr_id: str
    mapped_by: str | None
    mapped_at: dt.datetime


def learner_aliases(scope: Scope, limit: int = 500) -> list[MappedLearner]:
    """The mapped learner identifiers, newest first."""
    require_author(scope)  # change leaders and admins, like the unmatched identifiers
    rows = db.session.execute(
        select(LearnerAlias.actor_key, Employee.full_name, Employee.hr_id, User.email, LearnerAlias.created_at)
        .join(Employee, Employee.id == LearnerAlias.employee_id)
        .outerjoin(User, User.id == LearnerAlias.created_by_id)
        .order_by(LearnerAlias.id.desc()).limit(limit))
    return [MappedLearner(*row) for row in rows]


def attribute_after_roster_import(app, **_: object) -> None:
    """``roster_imported`` receiver: people who just joined the roster get their statements."""
    attribute_unmatched_statements()


@dataclass(frozen=True)
class UnmatchedLearner:
    """An actor identifier of external statements that matches no one on the roster."""

    actor_key: str
    statements: int
    last_stored: dt.datetime


def unmatched_learners(scope: Scope, limit: int = 200) -> tuple[list[UnmatchedLearner], int]:
    """The identifiers of external statements that match no one (voiding statements aside), most
    statements first, at most ``limit``; and how many there are in all."""
    require_author(scope)  # change leaders and admins: the identifiers belong to no unit
    where = (XapiStatement.token_id.is_not(None), XapiStatement.employee_id.is_(None),
             XapiStatement.actor_key.is_not(None), XapiStatement.verb != VOIDED_VERB)
    total = db.session.scalar(select(func.count(XapiStatement.actor_key.distinct())).where(*where))
    rows = db.session.execute(
        select(XapiStatement.actor_key, func.count(), func.max(XapiStatement.stored)).where(*where)
        .group_by(XapiStatement.actor_key).order_by(func.count().desc(), XapiStatement.actor_key).limit(limit))
    return [UnmatchedLearner(*row) for row in rows], total
