"""Training reminders and follow-up notices (training/reminders.py): on which days, to whom, only once."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import outbox
from tests.factories import make_employee
from tests.training.test_assignments import DUE, NORTH, TODAY, assign, enroll, make_module
from training.assignments import sync_assignees, withdraw_assignment
from training.models import (
    AssignedTraining,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    ModuleStep,
    TrainingReminder,
)
from training.reminders import (
    FOLLOW_UPS_PATH,
    MY_TRAINING_PATH,
    reminder_day,
    send_due_training_reminders,
)

DAY = dt.timedelta(days=1)
NOW = dt.datetime(2025, 3, 3, 8, 0)
# DUE is Monday 31 March 2025: the before-due reminder is on Monday 24 March, the overdue one on
# Tuesday 1 April.
BEFORE = DUE - 7 * DAY
OVERDUE = DUE + DAY



def _reminded(db) -> list[str]:
    return [address for m in outbox() for address in m.recipients]


def _kinds(db) -> set[tuple[int, str, dt.date]]:
    return {(r.assigned_id, r.kind, r.sent_on) for r in db.session.scalars(select(TrainingReminder))}


def run(day: dt.date):
    return send_due_training_reminders(day, NOW)


# ---------------------------------------------------------------- days


@pytest.mark.parametrize(("due_on", "kind", "expected"), [
    (dt.date(2025, 3, 31), "before_due", dt.date(2025, 3, 24)),  # Monday -> Monday
    (dt.date(2025, 4, 5), "before_due", dt.date(2025, 3, 28)),  # 29 March is a Saturday -> Friday
    (dt.date(2025, 4, 6), "before_due", dt.date(2025, 3, 28)),  # 30 March is a Sunday -> Friday
    (dt.date(2025, 3, 31), "overdue", dt.date(2025, 4, 1)),  # Monday -> Tuesday
    (dt.date(2025, 3, 28), "overdue", dt.date(2025, 3, 31)),  # Friday -> Saturday -> Monday
    (dt.date(2025, 3, 29), "overdue", dt.date(2025, 3, 31)),  # Saturday -> Sunday -> Monday
])
def test_reminder_days_fall_on_weekdays(due_on, kind, expected):
    assert reminder_day(due_on, kind) == expected


def test_before_due_reminder_goes_seven_days_before_and_not_earlier(db):
    person = make_employee(NORTH)
    assign(make_module(db))
    assert run(BEFORE - DAY).messages == 0
    summary = run(BEFORE)
    assert (summary.before_due, summary.overdue, summary.messages) == (1, 0, 1)
    assert _reminded(db) == [person.email]


def test_overdue_reminder_goes_the_first_weekday_after_the_due_date(db):
    make_employee(NORTH)
    assign(make_module(db))
    run(BEFORE)
    assert run(DUE).messages == 0
    summary = run(OVERDUE)
    assert (summary.before_due, summary.overdue, summary.messages) == (0, 1, 1)


def test_each_reminder_goes_at_most_once(db):
    make_employee(NORTH)
    assign(make_module(db))
    assert run(BEFORE).messages == 1
    assert run(BEFORE).messages == 0
    assert run(BEFORE + DAY).messages == 0
    assert run(OVERDUE).messages == 1
    assert run(OVERDUE + 7 * DAY).messages == 0
    assert len(outbox()) == 2


def test_a_late_run_still_sends_and_one_message_stands_for_both_kinds(db):
    make_employee(NORTH)
    assignment = assign(make_module(db), joiner_days=7)  # a joiner picked up now is due on DUE too
    assert run(BEFORE + 2 * DAY).before_due == 1  # missed Monday, sent Wednesday
    second = make_employee(NORTH, since=TODAY + DAY)
    sync_assignees(TODAY + DAY)
    summary = run(OVERDUE + 2 * DAY)
    assert (summary.before_due, summary.overdue, summary.messages) == (0, 2, 2)
    [record_id] = db.session.scalars(select(AssignedTraining.id).where(
        AssignedTraining.assignment_id == assignment.id, AssignedTraining.employee_id == second.id)).all()
    assert {k for a, k, _ in _kinds(db) if a == record_id} == {"before_due", "overdue"}
    assert all("Overdue" in m.subject for m in outbox()[1:])


def test_nothing_is_sent_on_a_weekend(db):
    make_employee(NORTH)
    assign(make_module(db))
    assert run(BEFORE + 5 * DAY).messages == 0  # Saturday
    assert run(BEFORE + 6 * DAY).messages == 0  # Sunday
    assert run(BEFORE + 7 * DAY).before_due == 1  # Monday catches up


def test_no_reminder_once_the_module_is_completed(db):
    done, started = make_employee(NORTH), make_employee(NORTH)
    module = make_module(db)
    assign(module)
    enroll(db, done, module, completed_on=TODAY + DAY)
    enroll(db, started, module)
    run(BEFORE)
    assert _reminded(db) == [started.email]


def test_withdrawn_assignments_and_inactive_people_get_no_reminder(db):
    inactive = make_employee(NORTH)
    active = make_employee(NORTH)
    withdrawn = assign(make_module(db, title="Withdrawn"))
    assign(make_module(db, title="Kept"))
    withdraw_assignment(withdrawn)
    inactive.active = False
    db.session.flush()
    run(BEFORE)
    assert _reminded(db) == [active.email]
    assert "Kept" in outbox()[0].subject


def test_the_message_names_the_module_its_due_date_and_my_training(db):
    make_employee(NORTH)
    assign(make_module(db, title="Pipeline hygiene that helps you"))
    run(BEFORE)
    [message] = outbox()
    assert "Pipeline hygiene that helps you" in message.subject
    assert "Monday 31 March 2025" in message.subject
    assert MY_TRAINING_PATH in message.body
    assert message.kind == "training_reminder"


def test_each_recipient_gets_a_message_of_their_own(db):
    make_employee(NORTH)
    make_employee(NORTH)
    assign(make_module(db))
    run(BEFORE)
    assert [len(m.recipients) for m in outbox()] == [1, 1]


# ---------------------------------------------------------------- follow-up notices


def build_commitment(db, person, committed_on: dt.date, text: str = "log every customer call the same day"):
    """A commitment with its 30/60/90-day follow-ups, as the learner engine writes them."""
    module = make_module(db)
    enrollment = Enrollment(employee_id=person.id, module_id=module.id, module_version=1,
                            started_at=NOW, last_activity_at=NOW)
    db.session.add(enrollment)
    db.session.flush()
    step = ModuleStep(module_id=module.id, position=1, key="commit", kind="commitment", title="Commit")
    db.session.add(step)
    db.session.flush()
    commitment = Commitment(enrollment_id=enrollment.id, step_id=step.id, employee_id=person.id,
                            module_id=module.id, text=text, committed_on=committed_on, created_at=NOW,
                            follow_ups=[CommitmentFollowUp(day_offset=d, due_on=committed_on + d * DAY)
                                        for d in (30, 60, 90)])
    db.session.add(commitment)
    db.session.flush()
    return commitment


def test_a_follow_up_that_falls_due_gets_one_notice_with_the_link(db):
    person = make_employee(NORTH)
    commitment = build_commitment(db, person, TODAY)
    thirty = TODAY + 30 * DAY  # Wednesday 2 April
    assert run(thirty - DAY).follow_ups == 0
    summary = run(thirty)
    assert (summary.follow_ups, summary.messages) == (1, 1)
    [message] = outbox()
    assert message.recipients == [person.email]
    assert "Did you do it?" in message.subject
    assert FOLLOW_UPS_PATH in message.body and "log every customer call" in message.body
    db.session.refresh(commitment.follow_ups[0])
    assert commitment.follow_ups[0].notified_at == NOW
    assert run(thirty + DAY).follow_ups == 0


def test_answered_follow_ups_get_no_notice(db):
    person = make_employee(NORTH)
    commitment = build_commitment(db, person, TODAY)
    commitment.follow_ups[0].status = "done"
    db.session.flush()
    assert run(TODAY + 30 * DAY).follow_ups == 0


def test_a_late_run_notifies_the_open_follow_up_once_and_not_the_closed_one(db):
    person = make_employee(NORTH)
    commitment = build_commitment(db, person, TODAY)
    assert run(TODAY + 63 * DAY).follow_ups == 1  # on a Thursday: the 60-day one; the 30-day one closed
    assert run(TODAY + 64 * DAY).follow_ups == 0
    db.session.refresh(commitment.follow_ups[0])
    assert commitment.follow_ups[0].notified_at is None


def test_a_follow_up_is_notified_on_its_last_open_day_but_not_after(db):
    person, late = make_employee(NORTH), make_employee(NORTH)
    on_time = build_commitment(db, person, TODAY - 59 * DAY)  # 30-day follow-up: last open day today
    missed = build_commitment(db, late, TODAY - 60 * DAY)  # 30-day one closed yesterday, 60-day due today
    assert run(TODAY).follow_ups == 2
    for follow_up in (*on_time.follow_ups, *missed.follow_ups):
        db.session.refresh(follow_up)
    assert [f.notified_at for f in on_time.follow_ups] == [NOW, None, None]
    assert [f.notified_at for f in missed.follow_ups] == [None, NOW, None]


# ---------------------------------------------------------------- command


def test_the_command_assigns_joiners_sends_and_prints_counts(app, db):
    make_employee(NORTH)
    assign(make_module(db), joiner_days=7)  # the joiner picked up on BEFORE is due on DUE too
    make_employee(NORTH, since=TODAY + DAY)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["send-training-reminders", "--today", BEFORE.isoformat()])
    assert result.exit_code == 0, result.output
    assert "new joiners assigned: 1" in result.output
    assert "training reminders: 2 before due, 0 overdue; follow-up notices: 0; messages: 2" in result.output
    assert len(outbox()) == 2
