"""Sponsor commitment (D2), the record: visible sponsor actions, quarterly plans, messages sent
from the app, and the units each sponsor answers for.

Access is checked here, not in the views: change leaders and admins record and read every
sponsor's log; an executive who is a sponsor records and reads their own; nobody else reads a
sponsor's individual record (docs/commitment.md). Services flush, never commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import select

from adoption.extensions import db
from adoption.initiative import current_initiative
from adoption.mail import send_mail
from adoption.models import (
    ACTIVITY_KINDS,
    ACTIVITY_LABELS,
    Employee,
    OrgUnit,
    Role,
    SponsorActivity,
    SponsorArea,
    SponsorPlan,
    User,
)
from adoption.org import subtree_filter
from adoption.scope import Scope, ScopeError

NOTE_LENGTH = 2000
SUBJECT_LENGTH = 300
BODY_LENGTH = 20_000
#: How far back an activity may be recorded (a forgotten town hall of last year is not news).
OLDEST_DAYS = 366
#: The most actions of one kind a sponsor may plan for a quarter.
MAX_PLANNED = 500


class SponsorError(ValueError):
    """A sponsor action, plan or message that cannot be recorded, with the reason (and the
    argument it is about, ``field``, so that a form shows it next to that field)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the calendar quarter holding ``day``."""
    first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = dt.date(first.year + (first.month + 2) // 12, (first.month + 2) % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def quarter_label(quarter_start: dt.date) -> str:
    """A quarter as people say it: "2026 Q4"."""
    return f"{quarter_start.year} Q{(quarter_start.month - 1) // 3 + 1}"


def quarter_starts(today: dt.date, *, back: int, ahead: int = 0) -> list[dt.date]:
    """First days of the quarters from ``ahead`` quarters after today's to ``back`` before it,
    newest first."""
    current = quarter_bounds(today)[0]
    index = current.year * 4 + (current.month - 1) // 3
    return [dt.date(i // 4, 3 * (i % 4) + 1, 1) for i in range(index + ahead, index - back - 1, -1)]


def _runs_program(scope: Scope) -> bool:
    return scope.role in (Role.CHANGE_LEADER, Role.ADMIN)


def all_sponsors() -> list[Employee]:
    """The current initiative's sponsors, by name (no access check: names are public)."""
    initiative = current_initiative()
    if initiative is None:
        return []
    return sorted(initiative.sponsors, key=lambda e: (e.full_name, e.id))


def readable_sponsors(scope: Scope) -> list[Employee]:
    """The sponsors whose individual record ``scope`` may read: all of them for change leaders
    and admins, themselves for an executive who is a sponsor, none for other executives.
    Managers and employees get ``ScopeError``."""
    if _runs_program(scope):
        return all_sponsors()
    if scope.role is Role.EXECUTIVE:
        return [s for s in all_sponsors() if s.id == scope.employee_id]
    raise ScopeError("only executives, change leaders and admins read sponsor records")


def require_sponsor(scope: Scope, sponsor_id: int) -> Employee:
    """The sponsor ``sponsor_id`` if ``scope`` may read and record for them, else ``ScopeError``
    (``SponsorError`` when the person is not a sponsor of the current initiative)."""
    if not _runs_program(scope) and scope.role is not Role.EXECUTIVE:
        # Before the sponsor lookup: a manager learns nothing from which ids are sponsors.
        raise ScopeError("only executives, change leaders and admins record for sponsors")
    sponsor = next((s for s in all_sponsors() if s.id == sponsor_id), None)
    if sponsor is None:
        raise SponsorError("That person is not a sponsor of the initiative.", "sponsor")
    if not _runs_program(scope) and scope.employee_id != sponsor_id:
        raise ScopeError("an executive records and reads only their own sponsor record")
    return sponsor


def _units(unit_ids: Iterable[int]) -> list[OrgUnit]:
    ids = sorted({int(u) for u in unit_ids})
    if not ids:
        raise SponsorError("Choose at least one unit.", "units")
    units = list(db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)).order_by(OrgUnit.path)))
    if len(units) != len(ids):
        raise SponsorError("A chosen unit does not exist.", "units")
    return units


def _check_day(occurred_on: dt.date, today: dt.date) -> None:
    if occurred_on > today:
        raise SponsorError("An activity is recorded once it has happened: the date is in the future.",
                           "occurred_on")
    if (today - occurred_on).days > OLDEST_DAYS:
        raise SponsorError(f"The date is more than {OLDEST_DAYS} days ago.", "occurred_on")


def _clean(text: str | None, limit: int, what: str, field: str) -> str:
    value = (text or "").strip()
    if len(value) > limit:
        raise SponsorError(f"The {what} is longer than {limit} characters.", field)
    return value


def record_activity(user: User, scope: Scope, *, sponsor_id: int, kind: str, occurred_on: dt.date,
                    unit_ids: Iterable[int], note: str = "", today: dt.date) -> SponsorActivity:
    """Record a visible action of a sponsor for audience units (each with its subtree)."""
    sponsor = require_sponsor(scope, sponsor_id)
    if kind not in ACTIVITY_KINDS:
        raise SponsorError(f"Unknown kind of activity {kind!r}: one of {', '.join(ACTIVITY_KINDS)}.", "kind")
    _check_day(occurred_on, today)
    activity = SponsorActivity(sponsor=sponsor, kind=kind, occurred_on=occurred_on,
                               note=_clean(note, NOTE_LENGTH, "note", "note"), units=_units(unit_ids),
                               recorded_by_id=user.id)
    db.session.add(activity)
    db.session.flush()
    return activity


def audience_emails(units: Iterable[OrgUnit]) -> list[str]:
    """E-mail addresses of the active people in the units' subtrees, each once."""
    emails: set[str] = set()
    for unit in units:
        in_subtree = select(OrgUnit.id).where(subtree_filter(unit))
        emails.update(db.session.scalars(select(Employee.email).where(
            Employee.active.is_(True), Employee.unit_id.in_(in_subtree))))
    return sorted(emails)


def _checked_message(scope: Scope, sponsor_id: int, unit_ids: Iterable[int], subject: str,
                     body: str) -> tuple[Employee, str, str, list[OrgUnit], list[str]]:
    """The sponsor, cleaned subject and text, audience units and addresses of a message that
    may be sent, or the ``ScopeError`` / ``SponsorError`` that stops it."""
    sponsor = require_sponsor(scope, sponsor_id)
    subject = " ".join(_clean(subject, SUBJECT_LENGTH, "subject", "subject").split())
    body = _clean(body, BODY_LENGTH, "message", "body")
    if not subject:
        raise SponsorError("A message needs a subject.", "subject")
    if not body:
        raise SponsorError("A message needs a text.", "body")
    units = _units(unit_ids)
    recipients = audience_emails(units)
    if not recipients:
        raise SponsorError("Nobody is active in the audience units.", "units")
    return sponsor, subject, body, units, recipients


def message_audience(scope: Scope, *, sponsor_id: int, unit_ids: Iterable[int], subject: str,
                     body: str) -> list[str]:
    """Who a sponsor's message would go to, after every check ``send_message`` makes; nothing is
    sent or recorded (the confirmation before sending says how many people it reaches)."""
    return _checked_message(scope, sponsor_id, unit_ids, subject, body)[4]


def send_message(user: User, scope: Scope, *, sponsor_id: int, unit_ids: Iterable[int], subject: str,
                 body: str, today: dt.date) -> SponsorActivity:
    """Send a sponsor's message to everyone in the audience units (e-mail, or the outbox without
    SMTP) and record it as the sponsor's ``message`` activity of ``today``."""
    sponsor, subject, body, units, recipients = _checked_message(scope, sponsor_id, unit_ids, subject, body)
    activity = SponsorActivity(sponsor=sponsor, kind="message", occurred_on=today, note="",
                               outbox_subject=subject, recipients=len(recipients), units=units,
                               recorded_by_id=user.id)
    db.session.add(activity)
    # Recorded (flushed) before sending: with SMTP the mail leaves at once, so nothing that can
    # still fail may come after it, or a message would go out without its record.
    db.session.flush()
    send_mail(recipients, subject, f"{body}\n\n— {sponsor.full_name}", kind="sponsor_message")
    return activity


def delete_activity(user: User, scope: Scope, activity_id: int) -> None:
    """Remove an activity recorded by mistake (not a message sent from the app: it was sent)."""
    activity = db.session.get(SponsorActivity, activity_id)
    if activity is None:
        raise SponsorError("No such activity.", "activity")
    require_sponsor(scope, activity.sponsor_id)
    if activity.outbox_subject is not None:
        raise SponsorError("A message sent from the app stays on the record: it was sent.", "activity")
    db.session.delete(activity)
    db.session.flush()


def set_plan(user: User, scope: Scope, *, sponsor_id: int, quarter_start: dt.date,
             counts: Mapping[str, int]) -> list[SponsorPlan]:
    """Set how many actions of each kind the sponsor plans for the quarter starting on
    ``quarter_start`` (kinds left out keep their plan; 0 removes it)."""
    require_sponsor(scope, sponsor_id)
    if quarter_bounds(quarter_start)[0] != quarter_start:
        raise SponsorError("A plan is for a calendar quarter: start on 1 January, April, July or October.",
                           "quarter")
    existing = {p.kind: p for p in db.session.scalars(select(SponsorPlan).where(
        SponsorPlan.sponsor_id == sponsor_id, SponsorPlan.quarter_start == quarter_start))}
    for kind, planned in counts.items():
        if kind not in ACTIVITY_KINDS:
            raise SponsorError(f"Unknown kind of activity {kind!r}.", kind)
        if planned is None:
            continue
        if int(planned) < 0 or int(planned) > MAX_PLANNED:
            raise SponsorError(f"{ACTIVITY_LABELS[kind]}: plan between 0 and {MAX_PLANNED}.", kind)
        plan = existing.get(kind)
        if int(planned) == 0:
            if plan is not None:
                db.session.delete(plan)
                existing.pop(kind)
            continue
        if plan is None:
            plan = existing[kind] = SponsorPlan(sponsor_id=sponsor_id, quarter_start=quarter_start, kind=kind)
            db.session.add(plan)
        plan.planned = int(planned)
    db.session.flush()
    return [existing[k] for k in ACTIVITY_KINDS if k in existing]


def plan_counts(sponsor_id: int, quarter_start: dt.date) -> dict[str, int]:
    """Planned actions per kind for the sponsor and quarter (no access check: callers have one)."""
    rows = db.session.execute(select(SponsorPlan.kind, SponsorPlan.planned).where(
        SponsorPlan.sponsor_id == sponsor_id, SponsorPlan.quarter_start == quarter_start))
    return {kind: planned for kind, planned in rows}


def set_areas(user: User, scope: Scope, *, sponsor_id: int, unit_ids: Iterable[int]) -> list[OrgUnit]:
    """Set the units the sponsor answers for (change leaders and admins only)."""
    if not _runs_program(scope):
        raise ScopeError("only change leaders and admins say which units a sponsor answers for")
    require_sponsor(scope, sponsor_id)
    units = _units(unit_ids)
    db.session.execute(SponsorArea.__table__.delete().where(SponsorArea.sponsor_id == sponsor_id))
    db.session.add_all(SponsorArea(sponsor_id=sponsor_id, unit_id=u.id) for u in units)
    db.session.flush()
    return units


def areas_of(sponsor_id: int) -> list[OrgUnit]:
    """The units the sponsor answers for; the organization's top units when none are set."""
    units = list(db.session.scalars(select(OrgUnit).join(SponsorArea, SponsorArea.unit_id == OrgUnit.id)
                                    .where(SponsorArea.sponsor_id == sponsor_id).order_by(OrgUnit.path)))
    if units:
        return units
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.path)))


def activities(scope: Scope, *, sponsor_id: int | None = None, start: dt.date | None = None,
               end: dt.date | None = None) -> list[SponsorActivity]:
    """Activities ``scope`` may read (every sponsor's, or the executive's own), newest first,
    optionally of one sponsor and between two dates (inclusive)."""
    readable = [s.id for s in readable_sponsors(scope)]
    if sponsor_id is not None:
        if sponsor_id not in readable:
            raise ScopeError("that sponsor's record is not in this user's scope")
        readable = [sponsor_id]
    stmt = select(SponsorActivity).where(SponsorActivity.sponsor_id.in_(readable))
    if start is not None:
        stmt = stmt.where(SponsorActivity.occurred_on >= start)
    if end is not None:
        stmt = stmt.where(SponsorActivity.occurred_on <= end)
    return list(db.session.scalars(stmt.order_by(SponsorActivity.occurred_on.desc(), SponsorActivity.id.desc())))
