"""Survey reminders: to the people who have not answered a round yet, on weekdays only.

A round gets at most two reminders, each at most once (``survey_reminders`` has one row per
round and kind):

* **halfway**: on ``opens_on + (length - 1) // 2``, where ``length`` is the round's number of
  days, both ends included (``closes_on - opens_on + 1``). A 7-day round opening on Monday is
  reminded on Thursday (day 4 of 7), a 14-day round on day 7, a 5-day round on day 3, a 1- or
  2-day round on its opening day.
* **before_close**: on ``closes_on - 2`` (two days before the last day), but never before the
  halfway day: in a round of 3 days or fewer ``closes_on - 2`` falls on or before the opening day,
  ahead of the halfway reminder, so both fall on the halfway day (and go out as one message).

A day falling on a Saturday or Sunday moves to the Friday before it, unless that Friday is before
the opening day; then to the Monday after it, unless that Monday is after the closing day; then
(a round lying within one weekend) there is no reminder. Days are the organization's dates: the
caller passes ``today`` computed with ``org_today``.

A job that missed the day sends the reminder at its next weekday run while the round is still
open. When both kinds are due in the same run (a late run, or a short round where both fall on
the same day) people get one message, and both kinds are recorded so neither goes out later.

The recipients are computed when the reminder is sent: the round's audience (``eligible_employees``),
still active, with an e-mail address, to whom the survey budget offers the round
(``offered_rounds``, ``is_offered``), and who have not submitted. The message is the same for everyone (the
survey's title, its closing date, the path of My surveys), says nothing about who or how many
have answered, and goes to each person alone (``send_mail(..., hide_recipients=True)``): in the
outbox that is one row per recipient, whose address the Outbox page never shows.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from adoption.extensions import db
from adoption.mail import send_mail
from adoption.models import Employee
from surveys.models import (
    Participation,
    ReminderKind,
    Survey,
    SurveyReminder,
    SurveyRound,
    SurveyStatus,
)
from surveys.services import eligible_employees, is_offered

#: The ``kind`` of the outbox messages and e-mails reminders produce.
REMINDER_MAIL_KIND = "survey_reminder"
#: Where people answer (the My surveys page).
MY_SURVEYS_PATH = "/surveys/"

_SATURDAY = 5
_FRIDAY = 4


@dataclass(frozen=True)
class DueReminder:
    """A round whose reminder goes out today, and the kinds that one message stands for."""

    survey_round: SurveyRound
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class ReminderRun:
    """What a run sent: the rounds reminded and the messages (e-mails or outbox rows)."""

    rounds: int
    messages: int


def _nominal_day(survey_round: SurveyRound, kind: str) -> dt.date:
    """The reminder's day before weekends are considered (see the module's docstring)."""
    opens_on, closes_on = survey_round.opens_on, survey_round.closes_on
    length = (closes_on - opens_on).days + 1
    halfway = opens_on + dt.timedelta(days=(length - 1) // 2)
    if kind == ReminderKind.HALFWAY:
        return halfway
    return max(closes_on - dt.timedelta(days=2), halfway)


def reminder_day(survey_round: SurveyRound, kind: str) -> dt.date | None:
    """The weekday on which the round's reminder of ``kind`` is due; None if the round has none."""
    day = _nominal_day(survey_round, ReminderKind(kind))
    if day.weekday() < _SATURDAY:
        return day
    friday = day - dt.timedelta(days=day.weekday() - _FRIDAY)
    if friday >= survey_round.opens_on:
        return friday
    monday = day + dt.timedelta(days=7 - day.weekday())
    return monday if monday <= survey_round.closes_on else None


def due_reminders(today: dt.date) -> list[DueReminder]:
    """The reminders to send on ``today``: of open rounds of active surveys, due and not yet sent.

    Nothing is due on a Saturday or a Sunday.
    """
    if today.weekday() >= _SATURDAY:
        return []
    rounds = db.session.scalars(
        select(SurveyRound)
        .join(Survey, Survey.id == SurveyRound.survey_id)
        .where(Survey.status == SurveyStatus.ACTIVE.value,
               SurveyRound.opens_on <= today, SurveyRound.closes_on >= today)
        .order_by(SurveyRound.opens_on, SurveyRound.survey_id, SurveyRound.number)
    ).all()
    if not rounds:
        return []
    sent = {(round_id, kind) for round_id, kind in db.session.execute(
        select(SurveyReminder.round_id, SurveyReminder.kind)
        .where(SurveyReminder.round_id.in_([r.id for r in rounds]))
    )}
    due = []
    for survey_round in rounds:
        kinds = tuple(
            kind.value for kind in ReminderKind
            if (survey_round.id, kind.value) not in sent
            and (day := reminder_day(survey_round, kind)) is not None and day <= today
        )
        if kinds:
            due.append(DueReminder(survey_round, kinds))
    return due


def reminder_recipients(survey_round: SurveyRound, today: dt.date, *, budget_rounds: int,
                        budget_days: int) -> list[Employee]:
    """Who the round's reminder goes to on ``today``: the active people of its audience with an
    e-mail address, offered the round within the survey budget, who have not submitted."""
    answered = set(db.session.scalars(
        select(Participation.employee_id).where(Participation.round_id == survey_round.id)
    ))
    return [
        person for person in eligible_employees(survey_round)
        if person.active and person.email and person.id not in answered
        and is_offered(person, survey_round, today, budget_rounds=budget_rounds, budget_days=budget_days)
    ]


def reminder_message(survey_round: SurveyRound) -> tuple[str, str]:
    """The subject and body of the round's reminder: the same for every recipient."""
    title = " ".join(survey_round.survey.title.split())
    closes = f"{survey_round.closes_on:%A} {survey_round.closes_on.day} {survey_round.closes_on:%B %Y}"
    subject = f"Reminder: {title} is open until {closes}"
    body = (
        "Hello,\n\n"
        f"The survey \u201c{title}\u201d is open until {closes} (the last day included). "
        "It takes a few minutes.\n\n"
        f"To answer, sign in to Uptake and open My surveys: {MY_SURVEYS_PATH}\n\n"
        "Your answers are stored without your name. "
        "If you have already answered, thank you: please ignore this message.\n\n"
        "\u2014 Uptake\n"
    )
    return subject, body


def send_due_reminders(today: dt.date, config: Mapping[str, Any]) -> ReminderRun:
    """Send the reminders due on ``today`` and record them; flushes, the caller commits once.

    ``config`` supplies the survey budget (``SURVEY_BUDGET_ROUNDS``, ``SURVEY_BUDGET_DAYS``).
    The ``survey_reminders`` rows are flushed before any message is made: a concurrent run then
    waits on (and fails at) the same primary key instead of sending a second reminder, and a
    crash leaves no row without its messages, both being in the caller's transaction. With SMTP,
    though, a message already handed to the server stays sent if the transaction then fails,
    and the next run sends that reminder again (at least once rather than at most once).
    """
    budget_rounds, budget_days = int(config["SURVEY_BUDGET_ROUNDS"]), int(config["SURVEY_BUDGET_DAYS"])
    rounds = messages = 0
    for due in due_reminders(today):
        records = [SurveyReminder(round_id=due.survey_round.id, kind=kind, sent_on=today, recipients=0)
                   for kind in due.kinds]
        db.session.add_all(records)
        db.session.flush()
        people = reminder_recipients(due.survey_round, today, budget_rounds=budget_rounds,
                                     budget_days=budget_days)
        subject, body = reminder_message(due.survey_round)
        messages += send_mail([p.email for p in people], subject, body, kind=REMINDER_MAIL_KIND,
                              hide_recipients=True)
        for record in records:  # one message stood for every kind recorded with it
            record.recipients = len(people)
        rounds += 1
    db.session.flush()
    return ReminderRun(rounds=rounds, messages=messages)
