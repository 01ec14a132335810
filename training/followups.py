"""Commitment follow-up (T4): "did you do it?" at 30, 60 and 90 days, with the telemetry evidence.

The follow-up rows (``CommitmentFollowUp``) are made by the learner engine when a commitment is
written; here the learner answers them once they are due, and sees next to each the evidence
when the commitment names a key behaviour (below).

A follow-up is *open* for ``ANSWER_DAYS`` days from its due day: until the next follow-up of the
same commitment falls due (they are 30 days apart), and 30 days for the last. Then it is
*closed*: it stays unanswered (the dashboards count it as asked, no answer), is no longer asked or
notified, and can no longer be answered. A learner back from three months away is asked how
things stand now, once per commitment, not three questions about the past.

The evidence shown next to a follow-up
when the commitment names a key behaviour: their rate of that behaviour (events per week, from
``DailyUsage``) in the 4 weeks before the commitment and in each complete 4-week window after it.

Evidence windows, for a commitment made on day C (the organization's dates):

* *before*: C-28 .. C-1;
* *after 1..3*: C+1 .. C+28, C+29 .. C+56, C+57 .. C+84 (the commitment day itself is in neither).

An after-window is *complete* once its last day is before ``today`` (today's usage is still
coming in); an incomplete window shows "not yet" and no rate. A window's *days covered* are its
days on which the learner belonged to the organization (a unit membership in force); the rate is
``events × 7 / days covered``, and there is none when no day is covered.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from adoption.extensions import db
from adoption.models import DailyUsage, Employee, UnitMembership
from adoption.scope import ScopeError
from training.models import FOLLOW_UP_STATUSES, Commitment, CommitmentFollowUp, FollowUpStatus

WINDOW_DAYS = 28
#: Days a follow-up can be answered, from its due day: the gap between two follow-ups.
ANSWER_DAYS = 30
AFTER_WINDOWS = 3
MAX_NOTE_LENGTH = 2000

STATUS_LABELS = {
    FollowUpStatus.DONE.value: "Done",
    FollowUpStatus.PARTLY.value: "Partly",
    FollowUpStatus.NOT_YET.value: "Not yet",
}


class FollowUpError(ValueError):
    """A follow-up answer refused, with a message fit to show to the learner."""


def open_until(follow_up: CommitmentFollowUp) -> dt.date:
    """The last day on which ``follow_up`` can be answered."""
    return follow_up.due_on + dt.timedelta(days=ANSWER_DAYS - 1)


def is_open(due_on, today: dt.date):
    """Whether a follow-up due on ``due_on`` is open on ``today`` (a date, or a column in SQL)."""
    return (due_on <= today) & (due_on > today - dt.timedelta(days=ANSWER_DAYS))


def pending_follow_ups(employee: Employee, today: dt.date) -> list[CommitmentFollowUp]:
    """The employee's follow-ups open on ``today`` and not answered yet, oldest first."""
    return list(db.session.scalars(
        select(CommitmentFollowUp)
        .join(Commitment, Commitment.id == CommitmentFollowUp.commitment_id)
        .where(Commitment.employee_id == employee.id, is_open(CommitmentFollowUp.due_on, today),
               CommitmentFollowUp.status.is_(None))
        .order_by(CommitmentFollowUp.due_on, CommitmentFollowUp.id)
    ))


def past_follow_ups(employee: Employee, today: dt.date) -> list[CommitmentFollowUp]:
    """The employee's answered follow-ups and those that closed without an answer, most recent
    first (by the day of the answer, or the day the follow-up closed)."""
    rows = db.session.scalars(
        select(CommitmentFollowUp)
        .join(Commitment, Commitment.id == CommitmentFollowUp.commitment_id)
        .where(Commitment.employee_id == employee.id,
               CommitmentFollowUp.status.is_not(None)
               | (CommitmentFollowUp.due_on <= today - dt.timedelta(days=ANSWER_DAYS)))
    )
    return sorted(rows, key=lambda f: (f.answered_at.date() if f.answered_at else open_until(f), f.id),
                  reverse=True)


def follow_up_for(employee: Employee, follow_up_id: int) -> CommitmentFollowUp:
    """The follow-up ``follow_up_id`` when it is the employee's own (``ScopeError`` otherwise)."""
    follow_up = db.session.get(CommitmentFollowUp, follow_up_id)
    if follow_up is None or follow_up.commitment.employee_id != employee.id:
        # The same answer for "not yours" and "none": ids of other people's follow-ups leak nothing.
        raise ScopeError("no such follow-up of yours")
    return follow_up


def answer_follow_up(follow_up: CommitmentFollowUp, employee: Employee, status: str, note: str, *,
                     now: dt.datetime, today: dt.date) -> CommitmentFollowUp:
    """Record the learner's answer (done / partly / not yet, with a note) to a due follow-up, once."""
    if follow_up.commitment.employee_id != employee.id:
        raise ScopeError("only the learner who made the commitment answers its follow-up")
    if follow_up.due_on > today:
        raise FollowUpError(f"this follow-up opens on {follow_up.due_on:%d %B %Y}")
    if follow_up.status is not None:
        raise FollowUpError("this follow-up is already answered")
    if today > open_until(follow_up):
        raise FollowUpError(f"this follow-up was open until {open_until(follow_up):%d %B %Y}")
    if status not in FOLLOW_UP_STATUSES:
        raise FollowUpError("answer done, partly or not yet")
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise FollowUpError(f"the note is longer than {MAX_NOTE_LENGTH} characters")
    follow_up.status, follow_up.note, follow_up.answered_at = status, note, now
    db.session.flush()
    return follow_up


# ------------------------------------------------------------------ evidence


@dataclass(frozen=True)
class EvidenceWindow:
    """The learner's rate of a behaviour over one window of days (both ends included)."""

    label: str
    starts_on: dt.date
    ends_on: dt.date
    complete: bool
    days_covered: int
    events: int

    @property
    def rate_per_week(self) -> float | None:
        """Events per week over the covered days; None when incomplete or nothing is covered."""
        if not self.complete or self.days_covered == 0:
            return None
        return self.events * 7 / self.days_covered


@dataclass(frozen=True)
class BehaviourEvidence:
    """A commitment's key behaviour before the commitment and in the windows after it."""

    key_behaviour: str
    before: EvidenceWindow
    after: tuple[EvidenceWindow, ...]


def evidence_windows(committed_on: dt.date, today: dt.date) -> list[tuple[str, dt.date, dt.date, bool]]:
    """The windows of a commitment made on ``committed_on`` as (label, first day, last day, complete):
    the 4 weeks before it, then the after-windows (see the module's docstring)."""
    day = dt.timedelta(days=1)
    windows = [("4 weeks before", committed_on - WINDOW_DAYS * day, committed_on - day)]
    for k in range(AFTER_WINDOWS):
        start, end = 1 + k * WINDOW_DAYS, (k + 1) * WINDOW_DAYS
        windows.append((f"days {start}\u2013{end} after", committed_on + start * day, committed_on + end * day))
    return [(label, first, last, last < today) for label, first, last in windows]


def compute_evidence(key_behaviour: str, committed_on: dt.date, today: dt.date,
                     events_by_day: Mapping[dt.date, int],
                     covered_periods: Iterable[tuple[dt.date, dt.date | None]]) -> BehaviourEvidence:
    """The evidence from plain data: events of the behaviour per day, and the learner's periods of
    membership as (first day, day after the last or None); no database, no clock."""
    periods = list(covered_periods)

    def covered(first: dt.date, last: dt.date) -> int:
        days = 0
        for start, end in periods:
            lo = max(first, start)
            hi = min(last, (end - dt.timedelta(days=1)) if end is not None else last)
            days += max((hi - lo).days + 1, 0)
        return days

    windows = []
    for label, first, last, complete in evidence_windows(committed_on, today):
        events = sum(n for day, n in events_by_day.items() if first <= day <= last) if complete else 0
        windows.append(EvidenceWindow(label, first, last, complete, covered(first, last) if complete else 0,
                                      events))
    return BehaviourEvidence(key_behaviour, windows[0], tuple(windows[1:]))


def behaviour_evidence(commitment: Commitment, today: dt.date) -> BehaviourEvidence | None:
    """The learner's rate of the commitment's key behaviour before and after it; None without one."""
    if not commitment.key_behaviour:
        return None
    first = commitment.committed_on - dt.timedelta(days=WINDOW_DAYS)
    last = commitment.committed_on + dt.timedelta(days=AFTER_WINDOWS * WINDOW_DAYS)
    events = dict(db.session.execute(
        select(DailyUsage.day, func.sum(DailyUsage.events))
        .where(DailyUsage.employee_id == commitment.employee_id,
               DailyUsage.event_type == commitment.key_behaviour,
               DailyUsage.day >= first, DailyUsage.day <= last)
        .group_by(DailyUsage.day)
    ).all())
    periods = db.session.execute(
        select(UnitMembership.valid_from, UnitMembership.valid_to)
        .where(UnitMembership.employee_id == commitment.employee_id)
    ).all()
    return compute_evidence(commitment.key_behaviour, commitment.committed_on, today,
                            {d: int(n) for d, n in events.items()}, [tuple(p) for p in periods])
