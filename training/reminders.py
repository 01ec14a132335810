"""Training reminders (T3) and commitment follow-up notices (T4), on weekdays only.

An assigned training gets at most two reminders, each at most once (``training_reminders`` has
one row per assigned training and kind), and only while the module is not completed:

* **before_due**: 7 days before the person's due date; on a Saturday or Sunday, the Friday before;
* **overdue**: the first weekday after the due date.

Only active assignments of published modules, and only active people with an e-mail address, are
reminded. A run that missed the day sends the reminder at its next weekday run; when both kinds
are due in the same run the person gets one message (the overdue one) and both kinds are recorded.
A run on a Saturday or a Sunday sends nothing.

A commitment follow-up (``CommitmentFollowUp``) that is open (due, and not closed yet: see
``training.followups``), is not answered and whose learner was not told yet gets one message,
"Did you do it?", with the path of the follow-up page; ``notified_at`` records it.

Messages say only what concerns their recipient (module title, due date, the path to follow) and
each goes to its recipient alone. Days are the organization's dates: the caller passes ``today``
computed with ``org_today``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import exists, select, update

from adoption.extensions import db
from adoption.mail import send_mail
from adoption.models import Employee
from training.followups import is_open
from training.models import (
    AssignedTraining,
    Assignment,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    Module,
    ModuleStatus,
    TrainingReminder,
    TrainingReminderKind,
)

#: The ``kind`` of the outbox messages and e-mails of training reminders and follow-up notices.
REMINDER_MAIL_KIND = "training_reminder"
FOLLOW_UP_MAIL_KIND = "commitment_follow_up"
#: Where people take their training (My training) and answer their follow-ups.
MY_TRAINING_PATH = "/training/"
FOLLOW_UPS_PATH = "/training/follow-ups/"
BEFORE_DUE_DAYS = 7

_SATURDAY = 5
_FRIDAY = 4


@dataclass(frozen=True)
class TrainingReminderRun:
    """What a run sent: reminders by kind, follow-up notices, and the messages (e-mails or outbox rows)."""

    before_due: int
    overdue: int
    follow_ups: int
    messages: int


def reminder_day(due_on: dt.date, kind: str) -> dt.date:
    """The weekday on which a training due on ``due_on`` gets its reminder of ``kind``."""
    if TrainingReminderKind(kind) is TrainingReminderKind.BEFORE_DUE:
        day = due_on - dt.timedelta(days=BEFORE_DUE_DAYS)
        return day - dt.timedelta(days=day.weekday() - _FRIDAY) if day.weekday() >= _SATURDAY else day
    day = due_on + dt.timedelta(days=1)
    return day + dt.timedelta(days=7 - day.weekday()) if day.weekday() >= _SATURDAY else day


def _long_date(day: dt.date) -> str:
    """A date as "Friday 14 March 2025"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def reminder_message(title: str, due_on: dt.date, kind: str) -> tuple[str, str]:
    """The subject and body of a training reminder: the module, its due date, where to take it."""
    title = " ".join(title.split())
    due = _long_date(due_on)
    if kind == TrainingReminderKind.OVERDUE:
        subject = f"Overdue: \u201c{title}\u201d was due on {due}"
        opening = f"The training module \u201c{title}\u201d assigned to you was due on {due}."
    else:
        subject = f"Reminder: \u201c{title}\u201d is due on {due}"
        opening = f"The training module \u201c{title}\u201d assigned to you is due on {due}."
    body = (
        "Hello,\n\n"
        f"{opening} You can pick it up where you left off.\n\n"
        f"To take it, sign in to Uptake and open My training: {MY_TRAINING_PATH}\n\n"
        "If you have just completed it, thank you: please ignore this message.\n\n"
        "\u2014 Uptake\n"
    )
    return subject, body


def follow_up_message(module_title: str, committed_on: dt.date, text: str) -> tuple[str, str]:
    """The subject and body of a follow-up notice: "Did you do it?" and where to answer."""
    title = " ".join(module_title.split())
    subject = f"Did you do it? Your commitment from \u201c{title}\u201d"
    body = (
        "Hello,\n\n"
        f"On {_long_date(committed_on)}, at the end of \u201c{title}\u201d, you wrote: "
        f"\u201cIn the next 30 days I will {' '.join(text.split())}\u201d\n\n"
        "Did you do it? Tell us in one click (done, partly or not yet), with a note if you like:\n"
        f"{FOLLOW_UPS_PATH}\n\n"
        "\u2014 Uptake\n"
    )
    return subject, body


def _not_completed():
    """WHERE: the assignee has not completed the assignment's module."""
    return ~exists().where(Enrollment.employee_id == AssignedTraining.employee_id,
                           Enrollment.module_id == Assignment.module_id,
                           Enrollment.completed_on.is_not(None))


def _send_grouped(messages: dict[tuple[str, str], list[str]], kind: str) -> int:
    """Send each (subject, body) to its recipients, each addressed alone; returns the messages."""
    return sum(send_mail(addresses, subject, body, kind=kind, hide_recipients=True)
               for (subject, body), addresses in messages.items())


def send_training_reminders(today: dt.date) -> tuple[int, int, int]:
    """Send the training reminders due on ``today`` and record them; returns (before due, overdue,
    messages). Flushes; the caller commits (records are flushed before any message is made)."""
    if today.weekday() >= _SATURDAY:
        return 0, 0, 0
    overdue_sent = exists().where(TrainingReminder.assigned_id == AssignedTraining.id,
                                  TrainingReminder.kind == TrainingReminderKind.OVERDUE.value)
    # A before-due day lies at most BEFORE_DUE_DAYS + 2 days (a weekend) before the due date.
    horizon = today + dt.timedelta(days=BEFORE_DUE_DAYS + 2)
    rows = db.session.execute(
        select(AssignedTraining.id, AssignedTraining.due_on, Employee.email, Module.title)
        .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
        .join(Module, Module.id == Assignment.module_id)
        .join(Employee, Employee.id == AssignedTraining.employee_id)
        .where(Assignment.active.is_(True), Module.status == ModuleStatus.PUBLISHED.value,
               Employee.active.is_(True), Employee.email.is_not(None), Employee.email != "",
               AssignedTraining.due_on <= horizon, ~overdue_sent, _not_completed())
        .order_by(AssignedTraining.due_on, AssignedTraining.id)
    ).all()
    if not rows:
        return 0, 0, 0
    sent = {(assigned_id, kind) for assigned_id, kind in db.session.execute(
        select(TrainingReminder.assigned_id, TrainingReminder.kind)
        .where(TrainingReminder.assigned_id.in_([r.id for r in rows]))
    )}
    counts = {kind.value: 0 for kind in TrainingReminderKind}
    messages: dict[tuple[str, str], list[str]] = defaultdict(list)
    for assigned_id, due_on, email, title in rows:
        kinds = [kind.value for kind in TrainingReminderKind
                 if (assigned_id, kind.value) not in sent and reminder_day(due_on, kind) <= today]
        if not kinds:
            continue
        db.session.add_all(TrainingReminder(assigned_id=assigned_id, kind=kind, sent_on=today) for kind in kinds)
        # One message stands for every kind recorded with it: the latest news is the one that counts.
        kind = TrainingReminderKind.OVERDUE.value if TrainingReminderKind.OVERDUE.value in kinds else kinds[0]
        counts[kind] += 1
        messages[reminder_message(title, due_on, kind)].append(email)
    db.session.flush()
    sent_messages = _send_grouped(messages, REMINDER_MAIL_KIND)
    return counts[TrainingReminderKind.BEFORE_DUE.value], counts[TrainingReminderKind.OVERDUE.value], sent_messages


def send_follow_up_notices(today: dt.date, now: dt.datetime) -> tuple[int, int]:
    """Tell learners whose follow-up fell due that it is waiting; returns (follow-ups, messages).
    A follow-up that closed before it was notified (the job did not run) is not notified.

    Each follow-up is notified at most once: ``notified_at`` is claimed by an UPDATE that only
    takes rows still unclaimed, before any message is made, so a concurrent run (which waits on
    those rows, then finds them claimed) sends nothing twice."""
    if today.weekday() >= _SATURDAY:
        return 0, 0
    rows = db.session.execute(
        select(CommitmentFollowUp.id, Commitment.committed_on, Commitment.text, Employee.email, Module.title)
        .join(Commitment, Commitment.id == CommitmentFollowUp.commitment_id)
        .join(Employee, Employee.id == Commitment.employee_id)
        .join(Module, Module.id == Commitment.module_id)
        .where(is_open(CommitmentFollowUp.due_on, today), CommitmentFollowUp.status.is_(None),
               CommitmentFollowUp.notified_at.is_(None), Employee.active.is_(True),
               Employee.email.is_not(None), Employee.email != "")
        .order_by(CommitmentFollowUp.due_on, CommitmentFollowUp.id)
    ).all()
    if not rows:
        return 0, 0
    claimed = set(db.session.scalars(
        update(CommitmentFollowUp)
        .where(CommitmentFollowUp.id.in_([r.id for r in rows]), CommitmentFollowUp.notified_at.is_(None))
        .values(notified_at=now)
        .returning(CommitmentFollowUp.id),
        execution_options={"synchronize_session": False},
    ))
    messages: dict[tuple[str, str], list[str]] = defaultdict(list)
    for follow_up_id, committed_on, text, email, title in rows:
        if follow_up_id in claimed:
            messages[follow_up_message(title, committed_on, text)].append(email)
    # Objects already loaded in the session must not keep the old, empty ``notified_at``.
    for obj in db.session.identity_map.values():
        if isinstance(obj, CommitmentFollowUp) and obj.id in claimed:
            db.session.expire(obj, ["notified_at"])
    return len(claimed), _send_grouped(messages, FOLLOW_UP_MAIL_KIND)


def send_due_training_reminders(today: dt.date, now: dt.datetime) -> TrainingReminderRun:
    """Send the training reminders and follow-up notices due on ``today``; flushes, the caller commits.

    As with survey reminders, the records are flushed before any message is made: a concurrent
    run waits on (and fails at) the same unique row instead of sending twice, and a crash leaves
    no record without its message. With SMTP, a message handed to the server stays sent if the
    transaction then fails, and the next run sends it again (at least once rather than at most once).
    """
    before_due, overdue, reminder_messages = send_training_reminders(today)
    follow_ups, notice_messages = send_follow_up_notices(today, now)
    return TrainingReminderRun(before_due=before_due, overdue=overdue, follow_ups=follow_ups,
                               messages=reminder_messages + notice_messages)
