"""Erasing a leaver's personal data (GDPR art. 17): on their request, by an admin, or
automatically ``UPTAKE_LEAVER_RETENTION_DAYS`` after they left (``flask erase-leavers``).

Erasure removes what names the person and what they wrote or were sent, and keeps the
pseudonymous records every metric of the past is made of, so no dashboard of the past changes:

- the employee record keeps its id, units over time, manager link, dates and whether they held a
  CRM licence; their HR id, name, e-mail, title and CRM identifiers are replaced
  (``pseudonym``: "Former employee 123");
- the account can no longer sign in and loses its e-mail, password and one-time links;
- the raw CRM events attributed to them lose their actor keys and properties but keep their id,
  time, type and content hash, so a re-sent event is still recognised as a duplicate instead of
  coming back unattributed with their e-mail; their CRM aliases go;
- e-mails Uptake sent them leave the outbox (a message to several people only loses their address),
  and messages and sponsor-log notes that name them get the pseudonym instead;
- each feature package erases its own records through ``register_erasure`` (surveys: answer drafts,
  and their name in comments, replies and action plans, whoever wrote them; training: what they
  wrote, their name in what other learners wrote, the external learning system's statements' actor,
  their learner aliases).

Only someone who has left can be erased: an active employee would come back with the next roster
import. An ``Erasure`` row records it with a keyed hash of the HR id, so a roster export that still
lists them as a leaver does not recreate them (``adoption.roster``).

An account with no employee record (an admin, an outside consultant) "leaves" when it is disabled;
erasing it removes its e-mail, password, one-time links, sign-ins and the e-mails sent to it, and
keeps the account itself under a pseudonym ("Former account 7"), so the record of what it did
(the access log, imports, replies) stays whole. Nothing here commits.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import delete, func, or_, select, true, update

from adoption import access_changes
from adoption.extensions import db
from adoption.keyed_hash import keyed_digest
from adoption.models import (
    AccessChange,
    CrmAlias,
    Employee,
    Erasure,
    OutboxMessage,
    PasswordLink,
    SponsorActivity,
    UnitMembership,
    UsageEvent,
    User,
)
from adoption.scope import Scope
from adoption.sign_ins import erase_sign_ins

ERASERS = "uptake_erasers"
#: What replaces a free text the person wrote (training answers, commitments, comments on modules).
ERASED_TEXT = "(erased)"
#: The domain of the addresses that replace theirs (``.invalid`` can never receive mail: RFC 2606).
ERASED_DOMAIN = "erased.invalid"
_PURPOSE = b"uptake/erased-hr-id/v1:"

#: ``eraser(employee, user)`` erases a package's records about the person and returns how many of
#: each kind it erased ({"xapi_statements": 33}); it runs before the employee record is renamed.
Eraser = Callable[[Employee, User | None], dict[str, int]]


class ErasureError(Exception):
    """The person cannot be erased (yet): the message says why."""


@dataclass(frozen=True)
class ErasureRecord:
    """One erasure, for the admin page: who it was (their pseudonym), when, why, by whom, what."""

    pseudonym: str
    left_on: dt.date | None
    reason: str
    erased_at: dt.datetime
    erased_by: str | None
    counts: dict[str, int]


def register_erasure(app: Flask, eraser: Eraser) -> None:
    """Have ``erase_*`` run ``eraser`` too (feature packages register from their ``init_app``)."""
    erasers = app.extensions.setdefault(ERASERS, [])
    if eraser not in erasers:
        erasers.append(eraser)


def account_pseudonym(user_id: int) -> str:
    """What an erased account with no employee record is called from then on."""
    return f"Former account {user_id}"


def erased_account_email(user_id: int) -> str:
    """The address an erased account keeps (it can never receive mail)."""
    return f"erased-account-{user_id}@{ERASED_DOMAIN}"


def pseudonym(employee_id: int) -> str:
    """The name an erased person's record carries."""
    return f"Former employee {employee_id}"


def erased_hr_id(employee_id: int) -> str:
    """The HR id (and CRM user id, and learning-record account name) an erased record carries."""
    return f"erased-{employee_id}"


def names_in_text(employee: Employee) -> dict[str, str]:
    """How the person is named in text (full name, e-mail, CRM username), each with the pseudonym
    that replaces it; read it before the record is renamed (the erasers run before). Ids (HR id,
    CRM user id) are left out: often numbers, they would be replaced inside unrelated text."""
    found = {employee.full_name: pseudonym(employee.id),
             employee.email: f"{erased_hr_id(employee.id)}@{ERASED_DOMAIN}"}
    return found | ({employee.crm_username: erased_hr_id(employee.id)} if employee.crm_username else {})


def scrub_texts(columns: list, where, replacements: dict[str, str]) -> int:
    """Rewrite every mention of the ``replacements``' keys in these text columns (of one model),
    in the rows matching ``where``; returns the rows changed."""
    model = columns[0].class_
    mentions = or_(*(func.lower(column).contains(key.lower(), autoescape=True)
                     for column in columns for key in replacements))
    scrub = scrubber(replacements)
    changed = 0
    for row in db.session.scalars(select(model).where(where, mentions)):
        for column in columns:
            value = getattr(row, column.key)
            if value:
                setattr(row, column.key, scrub(value))
        changed += 1
    db.session.flush()
    return changed


def hr_id_digest(hr_id: str) -> str:
    """Keyed hash of an HR id: recognises an erased person's id without keeping it (rotating
    ``SECRET_KEY`` forgets who was erased, docs/privacy.md)."""
    return keyed_digest(_PURPOSE, hr_id.strip().encode())


def erased_on(hr_ids: list[str]) -> dict[str, dt.datetime]:
    """Of these HR ids, those of erased people, with when they were erased."""
    digests = {hr_id_digest(h): h for h in hr_ids}
    if not digests:
        return {}
    rows = db.session.execute(select(Erasure.hr_id_digest, Erasure.erased_at)
                              .where(Erasure.hr_id_digest.in_(sorted(digests))))
    return {digests[digest]: at for digest, at in rows}


def left_on(employee: Employee) -> dt.date | None:
    """The last day a leaver was in a unit (their roster end date when no unit history says it)."""
    last_exclusive = db.session.scalar(select(func.max(UnitMembership.valid_to))
                                       .where(UnitMembership.employee_id == employee.id))
    if last_exclusive is not None:
        return last_exclusive - dt.timedelta(days=1)
    return employee.end_date


def why_not_erasable(employee: Employee) -> str | None:
    """Why the person cannot be erased (yet), or None when they can."""
    erased = db.session.scalar(select(Erasure.erased_at).where(Erasure.employee_id == employee.id))
    if erased is not None:
        return f"This person's personal data was erased on {erased:%Y-%m-%d}."
    if employee.active:
        return (f"{employee.full_name} is still on the roster: only someone who has left can be erased "
                "(the next roster import would bring an active employee back).")
    if db.session.scalar(select(UnitMembership.id).where(UnitMembership.employee_id == employee.id,
                                                         UnitMembership.valid_to.is_(None))) is not None:
        return (f"{employee.full_name} is inactive but still in a unit: import the roster that records their "
                "leaving first.")
    return None


def check_erasable(employee: Employee) -> None:
    """Raise ``ErasureError`` unless the person has left and is not erased already."""
    reason = why_not_erasable(employee)
    if reason is not None:
        raise ErasureError(reason)


def erase_on_request(scope: Scope, employee: Employee, now: dt.datetime) -> Erasure:
    """Erase a leaver's personal data at their request (admins only); flushes."""
    scope.require_admin("erase someone's personal data")
    return _erase(employee, reason="request", erased_by_id=scope.user_id, now=now)


def leavers_due(today: dt.date, days: int) -> list[Employee]:
    """Leavers whose last day in a unit is more than ``days`` days before ``today`` (that is, before
    ``today - days``), not yet erased."""
    last_exclusive = (select(UnitMembership.employee_id, func.max(UnitMembership.valid_to).label("until"))
                      .group_by(UnitMembership.employee_id)
                      .having(func.count() == func.count(UnitMembership.valid_to)).subquery())
    return list(db.session.scalars(
        select(Employee).join(last_exclusive, last_exclusive.c.employee_id == Employee.id)
        .where(Employee.active.is_(False), last_exclusive.c.until <= today - dt.timedelta(days=days),
               ~select(Erasure.id).where(Erasure.employee_id == Employee.id).exists())
        .order_by(Employee.id)))


def erase_for_retention(employee: Employee, now: dt.datetime) -> Erasure:
    """Erase a leaver because ``UPTAKE_LEAVER_RETENTION_DAYS`` have passed (``flask erase-leavers``,
    which picks them with ``leavers_due``); flushes."""
    return _erase(employee, reason="retention", erased_by_id=None, now=now)


def recent_erasures(scope: Scope, limit: int = 50) -> list[ErasureRecord]:
    """The latest erasures, newest first (admins only)."""
    scope.require_admin("read the record of erasures")
    rows = db.session.execute(select(Erasure, User.email).outerjoin(User, User.id == Erasure.erased_by_id)
                              .order_by(Erasure.id.desc()).limit(limit))
    return [ErasureRecord(pseudonym(e.employee_id) if e.employee_id is not None else account_pseudonym(e.user_id),
                          e.left_on, e.reason, e.erased_at, by, e.counts)
            for e, by in rows]


def _last_disabled():
    """(user_id, at): when each account was last disabled (UTC), from the access log."""
    return (select(AccessChange.user_id, func.max(AccessChange.at).label("at"))
            .where(AccessChange.action == "disabled").group_by(AccessChange.user_id).subquery())


def last_disabled_at(user: User) -> dt.datetime | None:
    """When the account was last disabled (UTC)."""
    disabled = _last_disabled()
    return db.session.scalar(select(disabled.c.at).where(disabled.c.user_id == user.id))


def why_account_not_erasable(user: User) -> str | None:
    """Why the account (one with no employee record) cannot be erased (yet), or None when it can."""
    if user.employee_id is not None:
        return "This account belongs to someone on the roster: erase the person (by their HR id) instead."
    erased = db.session.scalar(select(Erasure.erased_at).where(Erasure.user_id == user.id))
    if erased is not None:
        return f"This account's personal data was erased on {erased:%Y-%m-%d}."
    if user.is_enabled:
        return (f"{user.email} can still sign in: only a disabled account can be erased "
                "(disable it at Admin → Users first).")
    return None


def erase_account_on_request(scope: Scope, user: User, now: dt.datetime) -> Erasure:
    """Erase a disabled account with no employee record at its holder's request (admins only); flushes."""
    scope.require_admin("erase someone's personal data")
    return _erase_account(user, reason="request", erased_by_id=scope.user_id, now=now)


def accounts_due(today: dt.date, days: int) -> list[User]:
    """Accounts with no employee record, still disabled, last disabled before the start of
    ``today - days`` (UTC), not yet erased."""
    disabled = _last_disabled()
    before = dt.datetime.combine(today - dt.timedelta(days=days), dt.time())
    return list(db.session.scalars(
        select(User).join(disabled, disabled.c.user_id == User.id)
        .where(User.employee_id.is_(None), User.is_enabled.is_(False), disabled.c.at < before,
               ~select(Erasure.id).where(Erasure.user_id == User.id).exists())
        .order_by(User.id)))


def erase_account_for_retention(user: User, now: dt.datetime) -> Erasure:
    """Erase a disabled account with no employee record because ``UPTAKE_LEAVER_RETENTION_DAYS``
    have passed since it was disabled (``flask erase-leavers``, with ``accounts_due``); flushes."""
    return _erase_account(user, reason="retention", erased_by_id=None, now=now)


def _erase_account(user: User, *, reason: str, erased_by_id: int | None, now: dt.datetime) -> Erasure:
    """Erase an account with no employee record, then record it."""
    reason_not = why_account_not_erasable(user)
    if reason_not is not None:
        raise ErasureError(reason_not)
    disabled_at = last_disabled_at(user)
    record = Erasure(user_id=user.id, left_on=disabled_at.date() if disabled_at else None,
                     reason=reason, erased_by_id=erased_by_id, erased_at=now)
    address = user.email
    counts = {"outbox_messages": _erase_outbox({address.lower()}),
              "texts_naming_them": scrub_texts([OutboxMessage.subject, OutboxMessage.body], true(),
                                               {address: account_pseudonym(user.id)})}
    counts.update(_erase_login(user))
    record.counts = counts
    db.session.add(record)
    db.session.flush()
    return record


def _erase(employee: Employee, *, reason: str, erased_by_id: int | None, now: dt.datetime) -> Erasure:
    """Erase the person's data everywhere, then record it."""
    check_erasable(employee)
    user = db.session.scalar(select(User).where(User.employee_id == employee.id))
    record = Erasure(employee_id=employee.id, hr_id_digest=hr_id_digest(employee.hr_id), left_on=left_on(employee),
                     reason=reason, erased_by_id=erased_by_id, erased_at=now)
    if user is not None and user.is_enabled:
        access_changes.record("disabled", actor=erased_by_id, user=user, at=now)  # _erase_core disables it
    counts: dict[str, int] = {}
    for eraser in [*current_app.extensions.get(ERASERS, []), _erase_core]:
        for kind, n in eraser(employee, user).items():
            counts[kind] = counts.get(kind, 0) + n
    record.counts = counts
    db.session.add(record)
    db.session.flush()
    return record


def _erase_core(employee: Employee, user: User | None) -> dict[str, int]:
    """The organization's part: the outbox, CRM events and aliases, the account, the record."""
    counts = {"outbox_messages": _erase_outbox({a.lower() for a in (employee.email, user.email if user else None) if a})}
    events = UsageEvent.__table__
    counts["crm_events"] = db.session.execute(
        update(events).where(events.c.employee_id == employee.id)
        .values(user_email=None, crm_user_id=None, crm_username=None, properties=None)).rowcount
    counts["crm_aliases"] = db.session.execute(delete(CrmAlias).where(CrmAlias.employee_id == employee.id)).rowcount
    if user is not None:
        counts.update(_erase_login(user))
    # Imported here: the roster imports this module (to recognise an erased person's HR id).
    from adoption.roster import erase_from_history

    replacements = names_in_text(employee)
    counts["roster_files"] = erase_from_history(employee.hr_id, erased_hr_id(employee.id), replacements)
    # Messages that name them (a sponsor's message signed with their name, a digest) and the notes
    # of the sponsor log about their own actions keep their content, with the pseudonym in it.
    counts["texts_naming_them"] = (
        scrub_texts([OutboxMessage.subject, OutboxMessage.body], true(), replacements)
        + scrub_texts([SponsorActivity.note, SponsorActivity.outbox_subject],
                      SponsorActivity.sponsor_id == employee.id, replacements))
    licensed = employee.has_crm_licence
    employee.hr_id = erased_hr_id(employee.id)
    employee.email = f"{erased_hr_id(employee.id)}@{ERASED_DOMAIN}"
    employee.full_name = pseudonym(employee.id)
    employee.title = None
    # Whether they held a licence is kept (the past adoption rates count them); the id is not a CRM's.
    employee.crm_user_id = erased_hr_id(employee.id) if licensed else None
    employee.crm_username = None
    counts["employee_record"] = 1
    db.session.flush()
    return counts


def _erase_login(user: User) -> dict[str, int]:
    """The account's part: its one-time links and sign-ins go, its e-mail and password too; the
    account itself stays (disabled), so what it did keeps its author, under a pseudonym."""
    counts = {"password_links": db.session.execute(delete(PasswordLink).where(PasswordLink.user_id == user.id)).rowcount,
              "sign_ins": erase_sign_ins(user)}
    user.email = erased_account_email(user.id)
    user.password_hash = None
    user.is_enabled = False
    user.failed_logins = 0
    user.locked_until = user.last_login_at = None
    counts["account"] = 1
    return counts


def scrubber(replacements: dict[str, str]) -> Callable[[str], str]:
    """A function rewriting each key of ``replacements`` (whole tokens, any case) in a text."""
    if not replacements:
        return lambda text: text
    lowered = {k.lower(): v for k, v in replacements.items()}
    # Longest first, and only whole tokens: an HR id inside a longer id, or an address inside
    # another address, is someone else's.
    pattern = re.compile("|".join(rf"(?<![\w.-]){re.escape(k)}(?![\w-])"
                                  for k in sorted(lowered, key=len, reverse=True)), re.IGNORECASE)
    return lambda text: pattern.sub(lambda match: lowered[match.group(0).lower()], text)


def _erase_outbox(addresses: set[str]) -> int:
    """Take these addresses out of every outbox message; a message left without recipients goes."""
    if not addresses:
        return 0
    erased = 0
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.addressed_to(addresses))):
        others = [r for r in message.recipients if r.lower() not in addresses]
        if others:
            message.recipients = others
        else:
            db.session.delete(message)
        erased += 1
    db.session.flush()
    return erased
