"""Identity resolution, second half: the CRM actors nobody on the roster matches, the aliases an
admin maps them with, and re-attributing their events once an alias or a roster update names them.

Ingest resolves each event on arrival (``services.resolve_employees``: roster, then aliases);
an event that matches nobody is stored with ``employee_id`` NULL. ``reattribute_unmatched``
resolves those events again with the same function, so ingest and re-attribution can never
disagree, and recomputes the rollups of everyone who gained events. Nothing here commits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from flask import current_app
from sqlalchemy import Select, bindparam, case, func, or_, select, update

from adoption.extensions import db
from adoption.models import CrmAlias, DailyUsage, Employee, UsageEvent, User
from adoption.telemetry.rollups import queue_weeks_from, rebuild_daily_usage
from adoption.telemetry.services import resolve_employees
from adoption.timekeeping import org_today

#: The event fields an actor key can come from, in the order identity resolution tries them.
KEY_KINDS = ("crm_user_id", "crm_username", "user_email")
KEY_LABELS = {"crm_user_id": "CRM user id", "crm_username": "CRM username", "user_email": "e-mail"}
MAX_KEY_LENGTHS = {"crm_user_id": 64, "crm_username": 320, "user_email": 320}


class IdentityError(ValueError):
    """An alias that cannot be made: bad key, key taken by someone else, unknown or inactive employee."""


@dataclass(frozen=True)
class UnmatchedActor:
    """One actor key of events that match nobody, with how much it was seen."""

    key_kind: str
    # Lower case for usernames and e-mails; CRM user ids as sent (they are case-sensitive).
    key_value: str
    events: int
    qualifying_events: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    # A weaker key sent along with it (say the e-mail next to an unknown CRM user id), to help
    # an admin recognise the person; one example of each, not every value seen.
    other_keys: tuple[str, ...] = ()

    @property
    def key_label(self) -> str:
        """The key kind in words."""
        return KEY_LABELS[self.key_kind]


class UnmatchedTotals(NamedTuple):
    """How many unmatched actor keys there are, and how many events they carry."""

    actors: int
    events: int


class ActorMapping(NamedTuple):
    """What ``map_actor`` did: the alias (new or already there), its employee, the events attributed."""

    alias: CrmAlias
    employee: Employee
    attributed: int


@dataclass(frozen=True)
class AliasRow:
    """An alias as listed on the admin page."""

    key_kind: str
    key_value: str
    employee_name: str
    employee_hr_id: str
    created_at: dt.datetime | None
    created_by: str | None

    @property
    def key_label(self) -> str:
        """The key kind in words."""
        return KEY_LABELS[self.key_kind]


class _ActorKeys(NamedTuple):
    """The three actor keys of a group of events, shaped like what ``resolve_employees`` reads."""

    index: int
    crm_user_id: str | None
    crm_username: str | None
    user_email: str | None


# ---------------------------------------------------------------- listing unmatched actors


def _unmatched_groups(search: str | None) -> Select:
    """SELECT one row per unmatched actor key (the best key of each event), with its counts."""
    t = UsageEvent.__table__
    has_id = t.c.crm_user_id.is_not(None)
    has_username = t.c.crm_username.is_not(None)
    # The same precedence as resolve_employees: an event is listed under the key tried first.
    per_event = (
        select(
            case((has_id, "crm_user_id"), (has_username, "crm_username"), else_="user_email").label("key_kind"),
            case((has_id, t.c.crm_user_id), (has_username, func.lower(t.c.crm_username)),
                 else_=func.lower(t.c.user_email)).label("key_value"),
            case((has_id, func.lower(t.c.crm_username)), else_=None).label("other_username"),
            case((or_(has_id, has_username), func.lower(t.c.user_email)), else_=None).label("other_email"),
            case((t.c.qualifying.is_(True), 1), else_=0).label("qualifying"),
            t.c.occurred_at,
        )
        .where(t.c.employee_id.is_(None))
        .subquery("unmatched_events")
    )
    # Grouping by the labelled columns of a subquery, not by the CASE expressions themselves:
    # PostgreSQL would not recognise two renderings of one CASE with bound literals as equal.
    groups = select(
        per_event.c.key_kind,
        per_event.c.key_value,
        func.count().label("events"),
        func.sum(per_event.c.qualifying).label("qualifying_events"),
        func.min(per_event.c.occurred_at).label("first_seen"),
        func.max(per_event.c.occurred_at).label("last_seen"),
        func.max(per_event.c.other_username).label("other_username"),
        func.max(per_event.c.other_email).label("other_email"),
    ).group_by(per_event.c.key_kind, per_event.c.key_value)
    if search and search.strip():
        groups = groups.where(func.lower(per_event.c.key_value).contains(search.strip().lower(), autoescape=True))
    return groups


def unmatched_actors(limit: int = 50, offset: int = 0, search: str | None = None) -> list[UnmatchedActor]:
    """Actor keys of the events that match nobody, most events first (one grouped query)."""
    groups = _unmatched_groups(search).subquery("groups")
    query = (select(groups).order_by(groups.c.events.desc(), groups.c.key_kind, groups.c.key_value)
             .limit(limit).offset(offset))
    return [
        UnmatchedActor(
            key_kind=row.key_kind, key_value=row.key_value, events=row.events,
            qualifying_events=int(row.qualifying_events or 0), first_seen=row.first_seen,
            last_seen=row.last_seen,
            other_keys=tuple(k for k in (row.other_username, row.other_email) if k),
        )
        for row in db.session.execute(query)
    ]


def unmatched_totals(search: str | None = None) -> UnmatchedTotals:
    """How many unmatched actor keys (matching ``search``) there are and the events they carry."""
    groups = _unmatched_groups(search).subquery("groups")
    actors, events = db.session.execute(
        select(func.count(), func.coalesce(func.sum(groups.c.events), 0))).one()
    return UnmatchedTotals(int(actors), int(events))


def list_aliases(limit: int = 500) -> list[AliasRow]:
    """The aliases admins made, newest first, with the employee each maps to."""
    query = (
        select(CrmAlias.key_kind, CrmAlias.key_value, Employee.full_name, Employee.hr_id,
               CrmAlias.created_at, User.email)
        .join(Employee, Employee.id == CrmAlias.employee_id)
        .outerjoin(User, User.id == CrmAlias.created_by_id)
        .order_by(CrmAlias.id.desc())
        .limit(limit)
    )
    return [AliasRow(*row) for row in db.session.execute(query)]


# ---------------------------------------------------------------- mapping and re-attribution


def normalize_key(key_kind: str, key_value: str) -> tuple[str, str]:
    """The key as stored in an alias: trimmed; usernames and e-mails in lower case."""
    if key_kind not in KEY_KINDS:
        raise IdentityError(f"Unknown key kind {key_kind!r}; use one of {', '.join(KEY_KINDS)}.")
    value = (key_value or "").strip()
    if not value:
        raise IdentityError(f"The {KEY_LABELS[key_kind]} is empty.")
    if len(value) > MAX_KEY_LENGTHS[key_kind]:
        raise IdentityError(f"The {KEY_LABELS[key_kind]} is longer than {MAX_KEY_LENGTHS[key_kind]} characters.")
    # CRM user ids are case-sensitive (15-character Salesforce ids differ only by case).
    return key_kind, value if key_kind == "crm_user_id" else value.lower()


def find_employee(reference: str) -> Employee | None:
    """The employee with this HR id, else with this e-mail address (case-insensitive)."""
    reference = (reference or "").strip()
    if not reference:
        return None
    employee = db.session.scalar(select(Employee).where(Employee.hr_id == reference))
    if employee is None:
        employee = db.session.scalar(select(Employee).where(Employee.email == reference.lower()))
    return employee


def mappable_employee(employee_id: int) -> Employee:
    """The active employee an identifier (a CRM key, a learner's address) may be mapped to;
    ``IdentityError`` for an unknown or inactive one."""
    employee = db.session.get(Employee, employee_id)
    if employee is None:
        raise IdentityError(f"There is no employee with id {employee_id}.")
    if not employee.active:
        raise IdentityError(f"{employee.full_name} ({employee.hr_id}) is no longer active; "
                            "records are attributed to active employees only.")
    return employee


def map_actor(key_kind: str, key_value: str, employee_id: int, created_by_id: int | None) -> ActorMapping:
    """Map an actor key to an employee with a ``CrmAlias`` and attribute the events it names.

    Refuses a key that already resolves to someone else (through the roster or another alias)
    and an unknown or inactive employee. Flushes, never commits.
    """
    kind, value = normalize_key(key_kind, key_value)
    employee = mappable_employee(employee_id)
    # Resolving the key alone, exactly as ingest would, finds its current owner (15/18-character
    # ids included), whether the roster or an alias names them.
    probe = _ActorKeys(0, *(value if k == kind else None for k in KEY_KINDS))
    holder_id = resolve_employees([probe]).get(0)
    if holder_id is not None and holder_id != employee.id:
        holder = db.session.get(Employee, holder_id)
        raise IdentityError(f"The {KEY_LABELS[kind]} {value} already maps to {holder.full_name} "
                            f"({holder.hr_id}); it cannot be mapped to {employee.full_name} too.")
    alias = db.session.scalar(select(CrmAlias).where(CrmAlias.key_kind == kind, CrmAlias.key_value == value))
    if alias is None:
        alias = CrmAlias(key_kind=kind, key_value=value, employee_id=employee.id, created_by_id=created_by_id)
        db.session.add(alias)
        db.session.flush()
    return ActorMapping(alias, employee, reattribute_unmatched())


def reattribute_unmatched() -> int:
    """Resolve every unmatched event again against the roster and the aliases, rebuild the
    rollups of the employees who gained events; returns the number of events attributed."""
    t = UsageEvent.__table__
    # One row per distinct actor-key triple (a handful even for millions of events), so the
    # matching itself is ingest's own resolve_employees, with its precedence and its 15/18-character ids.
    groups = db.session.execute(
        select(t.c.crm_user_id, t.c.crm_username, t.c.user_email, func.count())
        .where(t.c.employee_id.is_(None))
        .group_by(t.c.crm_user_id, t.c.crm_username, t.c.user_email)
    ).all()
    if not groups:
        return 0
    resolved = resolve_employees([_ActorKeys(i, *group[:3]) for i, group in enumerate(groups)])
    if not resolved:
        return 0
    # One set-based UPDATE per resolved triple (sent as one executemany); IS NOT DISTINCT FROM
    # (IS on SQLite) because the keys an event did not carry are NULL.
    statement = (
        update(t)
        .where(t.c.employee_id.is_(None),
               t.c.crm_user_id.is_not_distinct_from(bindparam("key_id")),
               t.c.crm_username.is_not_distinct_from(bindparam("key_username")),
               t.c.user_email.is_not_distinct_from(bindparam("key_email")))
        .values(employee_id=bindparam("new_employee_id"))
    )
    params = [{"key_id": groups[i][0], "key_username": groups[i][1], "key_email": groups[i][2],
               "new_employee_id": employee_id} for i, employee_id in resolved.items()]
    db.session.execute(statement, params)
    rebuild_daily_usage(set(resolved.values()))
    # Counted from the grouped SELECT: an executemany's rowcount is not reliable on every driver.
    return sum(groups[i][3] for i in resolved)


def roster_changed(effective: dt.date, earliest: dt.date | None = None) -> int:
    """After a roster import: attribute the events its new keys name and queue the weekly
    rollups from ``effective`` (or the ``earliest`` dated change) through today; returns the
    number of events attributed."""
    attributed = reattribute_unmatched()
    start = effective
    if earliest is not None and earliest < effective:
        # A start or leaving date before the effective date changes weeks before it too, but
        # only weeks with usage matter: never go back past the first day any usage was counted.
        first_usage = db.session.scalar(select(func.min(DailyUsage.day)))
        if first_usage is not None:
            start = max(earliest, min(first_usage, effective))
    today = org_today(current_app.config["ORG_TIMEZONE"])
    queue_weeks_from(start, max(effective, today))
    return attributed
