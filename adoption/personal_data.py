"""What Uptake holds about one person, as one document: the answer to a data subject access
request (GDPR art. 15), which the person downloads themselves or an admin downloads for them.

Each package contributes its sections through ``register_personal_data`` from its ``init_app``,
so this core module never imports the feature packages. A section lists records that name the
person or are linked to them; what Uptake keeps about them but cannot link back to them (their
survey answers) is named under ``not_included``, with why. Only the person themselves and admins
may read it: ``require_subject_access`` is checked here, in the data layer, not by the pages; an
admin's download is recorded (``record_export``).
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import aliased

from adoption.access_changes import own_history
from adoption.extensions import db
from adoption.models import (
    CrmAlias,
    DailyUsage,
    Employee,
    OrgUnit,
    OutboxMessage,
    PersonalDataExport,
    SponsorActivity,
    UnitMembership,
    UsageEvent,
    User,
)
from adoption.scope import Scope, ScopeError
from adoption.sign_ins import own_sign_ins
from adoption.telemetry.identity import find_employee

PROVIDERS = "uptake_personal_data"


@dataclass(frozen=True)
class Section:
    """One kind of record about the person: a title, what it is and why it is kept, the records."""

    key: str
    title: str
    purpose: str
    records: list[dict[str, Any]]


@dataclass(frozen=True)
class NotIncluded:
    """Something Uptake keeps that concerns the person but is not in the document, and why."""

    what: str
    why: str


@dataclass(frozen=True)
class Contribution:
    """What one package gives: its sections and its exclusions."""

    sections: list[Section]
    not_included: list[NotIncluded] = field(default_factory=list)


#: ``provider(employee, user, own)``: ``own`` is true when the person reads their own document
#: (what only they may see, such as what they wrote in confidence, goes in only then).
Provider = Callable[[Employee | None, User | None, bool], Contribution]


@dataclass(frozen=True)
class PersonalData:
    """The whole document."""

    subject: dict[str, Any]
    generated_at: dt.datetime
    sections: list[Section]
    not_included: list[NotIncluded]

    def as_json(self) -> dict[str, Any]:
        """The downloadable form: plain JSON types (ISO dates and times, UUIDs as text)."""
        return _plain({
            "subject": self.subject, "generated_at": self.generated_at,
            "sections": [{"key": s.key, "title": s.title, "purpose": s.purpose, "count": len(s.records),
                          "records": s.records} for s in self.sections],
            "not_included": [{"what": n.what, "why": n.why} for n in self.not_included],
        })


def register_personal_data(app: Flask, provider: Provider) -> None:
    """Have ``personal_data`` ask ``provider(employee, user, own)`` for its sections (feature
    packages register from their ``init_app``)."""
    providers = app.extensions.setdefault(PROVIDERS, [])
    if provider not in providers:
        providers.append(provider)


def is_own(scope: Scope, employee: Employee | None, user: User | None) -> bool:
    """Whether ``scope`` is the person's own: their employee record's or, for an account without
    one, the account's."""
    if employee is not None:
        return scope.employee_id == employee.id
    return user is not None and scope.user_id == user.id


def require_subject_access(scope: Scope, employee: Employee | None, user: User | None) -> None:
    """Raise ``ScopeError`` unless the scope is the person's own or an admin's."""
    if not (scope.is_admin or is_own(scope, employee, user)):
        raise ScopeError("only the person themselves and admins may read their personal data")


def personal_data(scope: Scope, employee: Employee | None, user: User | None, now: dt.datetime) -> PersonalData:
    """Everything Uptake holds about the person with this employee record and/or account."""
    if employee is None and user is None:
        raise ValueError("a person is an employee record, an account, or both")
    require_subject_access(scope, employee, user)
    own = is_own(scope, employee, user)
    sections: list[Section] = []
    excluded: list[NotIncluded] = []
    for provider in [_core, *current_app.extensions.get(PROVIDERS, [])]:
        contribution = provider(employee, user, own)
        sections.extend(contribution.sections)
        excluded.extend(contribution.not_included)
    subject = {"hr_id": employee.hr_id if employee else None,
               "name": employee.full_name if employee else None,
               "email": employee.email if employee else user.email}
    return PersonalData(subject, now, sections, excluded)


def record_export(scope: Scope, employee: Employee | None, user: User | None, now: dt.datetime) -> PersonalDataExport:
    """Record that an admin downloaded this person's data (the audit trail); flushes."""
    scope.require_admin("download someone else's data")
    export = PersonalDataExport(employee_id=employee.id if employee else None, user_id=user.id if user else None,
                                exported_by_id=scope.user_id, exported_at=now)
    db.session.add(export)
    db.session.flush()
    return export


@dataclass(frozen=True)
class ExportRecord:
    """One admin download, for the page: when, whose data, by whom."""

    exported_at: dt.datetime
    subject: str
    exported_by: str | None


def recent_exports(scope: Scope, limit: int = 50) -> list[ExportRecord]:
    """The latest admin downloads of people's data, newest first (admins only)."""
    scope.require_admin("read the record of personal data downloads")
    subject_account, admin = aliased(User), aliased(User)
    rows = db.session.execute(
        select(PersonalDataExport.exported_at, Employee.full_name, Employee.hr_id, subject_account.email, admin.email)
        .outerjoin(Employee, Employee.id == PersonalDataExport.employee_id)
        .outerjoin(subject_account, subject_account.id == PersonalDataExport.user_id)
        .outerjoin(admin, admin.id == PersonalDataExport.exported_by_id)
        .order_by(PersonalDataExport.id.desc()).limit(limit))
    return [ExportRecord(at, f"{name} ({hr_id})" if name else (account or "an account since removed"), by)
            for at, name, hr_id, account, by in rows]


def person_for(user: User) -> tuple[Employee | None, User]:
    """The signed-in user's own employee record (if any) and account."""
    return (db.session.get(Employee, user.employee_id) if user.employee_id else None), user


def find_person(reference: str) -> tuple[Employee | None, User | None]:
    """The employee a reference names (HR id or e-mail, as ``find_employee``) with their account,
    or, failing that, the account with that e-mail."""
    employee = find_employee(reference)
    if employee is not None:
        return employee, db.session.scalar(select(User).where(User.employee_id == employee.id))
    reference = (reference or "").strip()
    if not reference:
        return None, None
    return None, db.session.scalar(select(User).where(User.email == reference.lower()))


def records(statement) -> list[dict[str, Any]]:
    """The rows of ``statement`` as dicts keyed by its column labels."""
    return [dict(row._mapping) for row in db.session.execute(statement)]


def _core(employee: Employee | None, user: User | None, own: bool) -> Contribution:
    """The organization's part: the roster record and its history, the account, CRM use."""
    sections = []
    if employee is not None:
        manager = db.session.get(Employee, employee.manager_id) if employee.manager_id else None
        sections.append(Section("employee", "Your record from the HR roster",
                                "Imported from the HR export; every metric rolls up by the unit you were in on each day.", [{
            "hr_id": employee.hr_id, "name": employee.full_name, "email": employee.email, "title": employee.title,
            "unit": employee.unit.path, "manager": manager.full_name if manager else None,
            "start_date": employee.start_date, "end_date": employee.end_date, "active": employee.active,
            "executive": employee.is_executive, "crm_user_id": employee.crm_user_id,
            "crm_username": employee.crm_username}]))
        sections.append(Section("unit_history", "Your units over time", "Which unit you were in on each date.",
                                records(select(OrgUnit.path.label("unit"), UnitMembership.valid_from, UnitMembership.valid_to)
                                        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
                                        .where(UnitMembership.employee_id == employee.id)
                                        .order_by(UnitMembership.valid_from))))
        sections.append(Section("crm_aliases", "CRM identifiers mapped to you by an admin",
                                "Identifiers in the CRM's data that the roster does not carry, attributed to you.",
                                records(select(CrmAlias.key_kind, CrmAlias.key_value, CrmAlias.created_at)
                                        .where(CrmAlias.employee_id == employee.id).order_by(CrmAlias.id))))
        sections.append(Section("crm_usage_daily", "Your CRM use per day",
                                "Counted from the CRM's events: the adoption metrics are made from these counts.",
                                records(select(DailyUsage.day, DailyUsage.event_type, DailyUsage.events)
                                        .where(DailyUsage.employee_id == employee.id)
                                        .order_by(DailyUsage.day, DailyUsage.event_type))))
        sections.append(Section("crm_events", "CRM events attributed to you",
                                "As the CRM sent them, kept to recognise a re-sent event and to recount your use "
                                "(see the retention setting).",
                                records(select(UsageEvent.event_id, UsageEvent.occurred_at, UsageEvent.event_type,
                                               UsageEvent.object_type, UsageEvent.client, UsageEvent.properties,
                                               UsageEvent.qualifying, UsageEvent.received_at)
                                        .where(UsageEvent.employee_id == employee.id)
                                        .order_by(UsageEvent.occurred_at, UsageEvent.id))))
        activities = records(select(SponsorActivity.occurred_on, SponsorActivity.kind, SponsorActivity.note,
                                    SponsorActivity.outbox_subject, SponsorActivity.recipients)
                             .where(SponsorActivity.sponsor_id == employee.id).order_by(SponsorActivity.occurred_on))
        if activities:
            sections.append(Section("sponsor_activities", "Your visible actions as a sponsor",
                                    "Recorded in the sponsor log for the commitment dashboard.", activities))
    if user is not None:
        sections.append(Section("account", "Your sign-in account",
                                "For signing in; the password is kept only as a salted hash and is not shown.", [{
            "email": user.email, "role": user.role, "enabled": user.is_enabled, "last_login_at": user.last_login_at,
            "locked_until": user.locked_until, "failed_logins": user.failed_logins}]))
        sections.append(Section("account_changes", "Changes to your account's access",
                                "The access log: when your account was created, its role changed, it was "
                                "disabled, locked or unlocked, or a password link sent, and by which admin.",
                                own_history(user)))
        sections.append(Section("sign_ins", "Your sign-ins",
                                "Each attempt to sign in to your account, whether it worked, and the address it came "
                                "from; kept for the days the sign-in log keeps, to spot someone else trying.",
                                own_sign_ins(user)))
    addresses = {a for a in (employee.email if employee else None, user.email if user else None) if a}
    sent_to = OutboxMessage.addressed_to(addresses)
    excluded = []
    if not own:
        # Messages whose recipients are confidential (a survey reminder goes to those who have
        # not answered) would tell an admin who did not answer.
        sent_to = sent_to & OutboxMessage.hide_recipients.is_(False)
        excluded.append(NotIncluded("E-mails whose recipients are confidential (survey reminders)",
                                    "They would say which surveys the person had not answered; only the person "
                                    "sees them, in their own download."))
    sections.append(Section("outbox", "E-mails Uptake sent you",
                            "Reminders, invitations and messages, as kept in the outbox.",
                            records(select(OutboxMessage.created_at, OutboxMessage.kind, OutboxMessage.subject,
                                           OutboxMessage.body).where(sent_to).order_by(OutboxMessage.id))))
    return Contribution(sections, excluded)


def _plain(value: Any) -> Any:
    """``value`` with dates, times, UUIDs and enums as JSON text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value

