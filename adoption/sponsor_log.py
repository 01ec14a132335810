"""The sponsor log page's read model: a quarter's activities as the page shows them (kind,
audience unit paths, who recorded them) and each sponsor's progress against their plan.

Access is the service's (``adoption.sponsors.activities`` and ``readable_sponsors``): this module
only shapes what those return. See docs/commitment.md.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from adoption.extensions import db
from adoption.models import ACTIVITY_KINDS, ACTIVITY_LABELS, SponsorActivity, User
from adoption.scope import Scope
from adoption.sponsors import (
    activities,
    plan_counts,
    quarter_bounds,
    quarter_label,
    readable_sponsors,
)


@dataclass(frozen=True)
class LogEntry:
    """One recorded activity as the log shows it."""

    id: int
    sponsor_id: int
    sponsor_name: str
    kind: str
    kind_label: str
    occurred_on: dt.date
    unit_paths: tuple[str, ...]
    note: str
    subject: str | None  # set for a message sent from the app
    recipients: int | None  # how many people that message went to
    recorded_by: str  # the recorder's name (their e-mail without a roster record), or "—"

    @property
    def sent_from_app(self) -> bool:
        """True for a message sent from the app, which stays on the record."""
        return self.subject is not None


@dataclass(frozen=True)
class KindProgress:
    """Activities of one kind in the quarter against the plan for it."""

    kind: str
    label: str
    done: int
    planned: int | None  # None: nothing planned for this kind


@dataclass(frozen=True)
class SponsorProgress:
    """One sponsor's quarter: each kind done against planned."""

    sponsor_id: int
    sponsor_name: str
    kinds: tuple[KindProgress, ...]

    @property
    def done(self) -> int:
        """Activities of every kind in the quarter."""
        return sum(k.done for k in self.kinds)

    @property
    def planned(self) -> int | None:
        """Actions planned for the quarter; None when no plan was set."""
        plans = [k.planned for k in self.kinds if k.planned is not None]
        return sum(plans) if plans else None


@dataclass(frozen=True)
class SponsorLog:
    """A quarter of the log for one sponsor or every readable one."""

    quarter_start: dt.date
    quarter_end: dt.date
    entries: tuple[LogEntry, ...]
    progress: tuple[SponsorProgress, ...]

    @property
    def quarter_label(self) -> str:
        """The quarter, e.g. "2026 Q4"."""
        return quarter_label(self.quarter_start)


def _recorders(user_ids: Iterable[int | None]) -> dict[int, str]:
    """The name of each recorder: their roster name, or their e-mail without one."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(ids)))
    return {u.id: u.employee.full_name if u.employee is not None else u.email for u in users}


def _entry(activity: SponsorActivity, recorders: dict[int, str]) -> LogEntry:
    """The displayable form of an activity."""
    return LogEntry(
        id=activity.id, sponsor_id=activity.sponsor_id, sponsor_name=activity.sponsor.full_name,
        kind=activity.kind, kind_label=ACTIVITY_LABELS[activity.kind], occurred_on=activity.occurred_on,
        unit_paths=tuple(u.path for u in activity.units), note=activity.note,
        subject=activity.outbox_subject, recipients=activity.recipients,
        recorded_by=recorders.get(activity.recorded_by_id, "—"),
    )


def sponsor_log(scope: Scope, *, sponsor_id: int | None, quarter_start: dt.date) -> SponsorLog:
    """The quarter holding ``quarter_start``: the activities ``scope`` may read (of one sponsor,
    or of every readable sponsor), newest first, and each sponsor's progress against plan.
    ``ScopeError`` for a sponsor (or a role) out of scope."""
    start, end = quarter_bounds(quarter_start)
    rows = activities(scope, sponsor_id=sponsor_id, start=start, end=end)
    sponsors = [s for s in readable_sponsors(scope) if sponsor_id is None or s.id == sponsor_id]
    recorders = _recorders(a.recorded_by_id for a in rows)
    progress = []
    for sponsor in sponsors:
        done = Counter(a.kind for a in rows if a.sponsor_id == sponsor.id)
        planned = plan_counts(sponsor.id, start)
        progress.append(SponsorProgress(sponsor.id, sponsor.full_name, tuple(
            KindProgress(kind, ACTIVITY_LABELS[kind], done[kind], planned.get(kind)) for kind in ACTIVITY_KINDS)))
    return SponsorLog(start, end, tuple(_entry(a, recorders) for a in rows), tuple(progress))
