"""Survey reminders: who gets them, on which days, only once, and without revealing who answered."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.extensions import mail
from adoption.models import OutboxMessage
from surveys import reminders
from surveys.models import SurveyReminder, SurveyRound, SurveyStatus
from surveys.reminders import MY_SURVEYS_PATH, reminder_day, reminder_message, send_due_reminders
from surveys.services import submit_response
from tests.conftest import outbox
from tests.factories import make_employee, make_user
from tests.surveys.conftest import BUDGET, OPENS

DAY = dt.timedelta(days=1)
# The default test round runs from Monday OPENS (3 March 2025) to Sunday 9 March.
HALFWAY = OPENS + 3 * DAY  # Thursday 6 March
BEFORE_CLOSE = OPENS + 4 * DAY  # Friday 7 March
NORTH = "Acme/EMEA/Sales North"
SOUTH = "Acme/EMEA/Sales South"


def _answer(person, survey_round, day=OPENS):
    """Submit a complete response for ``person`` through the real service."""
    q = [rq.id for rq in survey_round.questions]
    submit_response(person, survey_round, {q[0]: {"value": 4}, q[1]: {"value": 9}, q[2]: {"choices": []},
                                           q[3]: {"text": ""}}, day, BUDGET)



def _reminded(db) -> list[str]:
    """The address of every reminder in the outbox, in the order they were written."""
    return [address for m in outbox() for address in m.recipients]


def _records(db) -> list[tuple[int, str, dt.date, int]]:
    rows = db.session.scalars(select(SurveyReminder).order_by(SurveyReminder.round_id, SurveyReminder.kind))
    return [(r.round_id, r.kind, r.sent_on, r.recipients) for r in rows]


def _round(opens_on: dt.date, length: int) -> SurveyRound:
    """A round with only its dates, for the date rules."""
    return SurveyRound(opens_on=opens_on, closes_on=opens_on + (length - 1) * DAY)


# ---------------------------------------------------------------- who


def test_reminder_goes_only_to_people_who_have_not_answered(db, build_survey):
    ann, bob = make_employee(NORTH), make_employee(NORTH)
    survey_round = build_survey().rounds[0]
    _answer(ann, survey_round)
    send_due_reminders(HALFWAY, BUDGET)
    assert _reminded(db) == [bob.email]


def test_people_outside_the_audience_get_no_reminder(db, build_survey):
    inside = make_employee(NORTH)
    make_employee("Acme/Americas/Service")
    build_survey(units=(NORTH,))
    send_due_reminders(HALFWAY, BUDGET)
    assert _reminded(db) == [inside.email]


def test_audience_roles_limit_the_reminder(db, build_survey):
    manager = make_employee(NORTH)
    make_user("manager", manager)
    make_employee(NORTH)
    build_survey(audience_roles=["manager"])
    send_due_reminders(HALFWAY, BUDGET)
    assert _reminded(db) == [manager.email]


def test_people_deactivated_since_the_round_opened_get_no_reminder(db, build_survey):
    stays, leaver = make_employee(NORTH), make_employee(NORTH)
    build_survey()
    leaver.active, leaver.end_date = False, OPENS + DAY
    send_due_reminders(HALFWAY, BUDGET)
    assert _reminded(db) == [stays.email]


def test_round_the_budget_does_not_offer_a_person_is_not_reminded_to_them(db, build_survey):
    person = make_employee(NORTH)
    build_survey(title="First pulse")
    build_survey(title="Second pulse")
    run = send_due_reminders(HALFWAY, {"SURVEY_BUDGET_ROUNDS": 1, "SURVEY_BUDGET_DAYS": 28})
    assert (run.rounds, run.messages) == (2, 1)
    (message,) = outbox()
    assert message.recipients == [person.email] and "First pulse" in message.subject


# ---------------------------------------------------------------- when


@pytest.mark.parametrize(
    "opens_on, length, halfway, before_close",
    [
        # Monday, a week: day 4 (Thursday), and the Friday two days before the Sunday close.
        (dt.date(2025, 3, 3), 7, dt.date(2025, 3, 6), dt.date(2025, 3, 7)),
        # Monday, five working days: both on Wednesday (one message, see the late-run test).
        (dt.date(2025, 3, 3), 5, dt.date(2025, 3, 5), dt.date(2025, 3, 5)),
        # Monday, two weeks: day 7 is a Sunday, moved to Friday.
        (dt.date(2025, 3, 3), 14, dt.date(2025, 3, 7), dt.date(2025, 3, 14)),
        # Monday, four weeks: day 14 is a Sunday, moved to Friday; the close is a Sunday too.
        (dt.date(2025, 3, 3), 28, dt.date(2025, 3, 14), dt.date(2025, 3, 28)),
        # Wednesday, a week: Saturday and Sunday, both moved to Friday.
        (dt.date(2025, 3, 5), 7, dt.date(2025, 3, 7), dt.date(2025, 3, 7)),
        # Saturday to Monday: the Friday before is before the opening, so Monday.
        (dt.date(2025, 3, 8), 3, dt.date(2025, 3, 10), dt.date(2025, 3, 10)),
        # Three days or fewer: before-close would come first (or before the opening), so both
        # fall on the halfway day.
        (dt.date(2025, 3, 3), 3, dt.date(2025, 3, 4), dt.date(2025, 3, 4)),
        (dt.date(2025, 3, 4), 2, dt.date(2025, 3, 4), dt.date(2025, 3, 4)),
        (dt.date(2025, 3, 3), 1, dt.date(2025, 3, 3), dt.date(2025, 3, 3)),
        # Six days: day 3, then two days before the close.
        (dt.date(2025, 3, 3), 6, dt.date(2025, 3, 5), dt.date(2025, 3, 6)),
        # A round lying within one weekend has no weekday: no reminder.
        (dt.date(2025, 3, 8), 2, None, None),
    ],
)
def test_reminder_days_for_several_round_lengths(opens_on, length, halfway, before_close):
    survey_round = _round(opens_on, length)
    assert reminder_day(survey_round, "halfway") == halfway
    assert reminder_day(survey_round, "before_close") == before_close


def test_reminder_days_are_weekdays_inside_the_round_and_halfway_comes_first():
    for start in range(14):
        for length in range(1, 61):
            survey_round = _round(dt.date(2025, 3, 1) + start * DAY, length)
            days = [survey_round.opens_on + n * DAY for n in range(length)]
            has_weekday = any(d.weekday() < 5 for d in days)
            for kind in ("halfway", "before_close"):
                day = reminder_day(survey_round, kind)
                assert (day is not None) == has_weekday, (survey_round, kind)
                if day is not None:
                    assert day in days and day.weekday() < 5, (survey_round, kind, day)
            if has_weekday:
                assert reminder_day(survey_round, "halfway") <= reminder_day(survey_round, "before_close")


def test_nothing_is_sent_before_the_halfway_day(db, build_survey):
    make_employee(NORTH)
    build_survey()
    for day in (OPENS - DAY, OPENS, HALFWAY - DAY):
        assert send_due_reminders(day, BUDGET).rounds == 0
    assert outbox() == [] and _records(db) == []


def test_halfway_and_before_close_reminders_go_out_on_their_own_days(db, build_survey):
    person = make_employee(NORTH)
    survey_round = build_survey().rounds[0]
    assert send_due_reminders(HALFWAY, BUDGET).messages == 1
    assert send_due_reminders(BEFORE_CLOSE, BUDGET).messages == 1
    assert _reminded(db) == [person.email, person.email]
    assert _records(db) == [(survey_round.id, "before_close", BEFORE_CLOSE, 1),
                            (survey_round.id, "halfway", HALFWAY, 1)]


def test_weekend_runs_send_nothing_and_the_next_weekday_catches_up(db, build_survey):
    person = make_employee(NORTH)
    survey_round = build_survey(round_length_days=14).rounds[0]  # halfway moved to Friday 7 March
    saturday, sunday, monday = OPENS + 5 * DAY, OPENS + 6 * DAY, OPENS + 7 * DAY
    assert send_due_reminders(saturday, BUDGET).rounds == 0
    assert send_due_reminders(sunday, BUDGET).rounds == 0
    assert send_due_reminders(monday, BUDGET).messages == 1
    assert _reminded(db) == [person.email]
    assert _records(db) == [(survey_round.id, "halfway", monday, 1)]


def test_late_run_with_both_reminders_due_sends_one_message_and_records_both(db, build_survey):
    person = make_employee(NORTH)
    survey_round = build_survey().rounds[0]
    run = send_due_reminders(BEFORE_CLOSE, BUDGET)  # the Thursday run was missed
    assert (run.rounds, run.messages) == (1, 1)
    assert _reminded(db) == [person.email]
    assert _records(db) == [(survey_round.id, "before_close", BEFORE_CLOSE, 1),
                            (survey_round.id, "halfway", BEFORE_CLOSE, 1)]


def test_missed_reminders_are_not_sent_after_the_round_closes(db, build_survey):
    make_employee(NORTH)
    survey_round = build_survey().rounds[0]
    assert send_due_reminders(survey_round.closes_on + DAY, BUDGET).rounds == 0
    assert outbox() == [] and _records(db) == []


def test_round_not_yet_open_gets_no_reminder(db, build_survey):
    make_employee(NORTH)
    survey = build_survey(recurrence="weekly", round_length_days=3, through=OPENS + 7 * DAY)
    first, second = survey.rounds  # 3-5 March (both reminders on Tuesday 4), 10-12 March
    send_due_reminders(OPENS + DAY, BUDGET)
    assert [r[0] for r in _records(db)] == [first.id, first.id]
    assert second.id not in {r[0] for r in _records(db)}


def test_closed_survey_gets_no_reminder(db, build_survey):
    make_employee(NORTH)
    survey = build_survey()
    survey.status = SurveyStatus.CLOSED.value
    assert send_due_reminders(HALFWAY, BUDGET).rounds == 0
    assert outbox() == []


# ---------------------------------------------------------------- once, and all or nothing


def test_second_run_the_same_day_sends_nothing(db, build_survey):
    for _ in range(2):
        make_employee(NORTH)
    build_survey()
    assert send_due_reminders(HALFWAY, BUDGET).messages == 2
    assert send_due_reminders(HALFWAY, BUDGET).rounds == 0
    assert len(outbox()) == 2


def test_reminder_with_nobody_left_to_remind_is_recorded_without_messages(db, build_survey):
    person = make_employee(NORTH)
    survey_round = build_survey().rounds[0]
    _answer(person, survey_round)
    run = send_due_reminders(HALFWAY, BUDGET)
    assert (run.rounds, run.messages) == (1, 0)
    assert _records(db) == [(survey_round.id, "halfway", HALFWAY, 0)]


def _committed(db, model) -> int:
    """Rows of ``model`` another connection sees: what is committed."""
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def test_command_commits_once_and_reports_rounds_and_messages(app, db, build_survey):
    for _ in range(2):
        make_employee(NORTH)
    build_survey()
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-survey-reminders", "--today", HALFWAY.isoformat()])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "reminders: 1 rounds, 2 messages"
    assert _committed(db, SurveyReminder) == 1 and _committed(db, OutboxMessage) == 2
    again = runner.invoke(args=["send-survey-reminders", "--today", HALFWAY.isoformat()])
    assert again.output.strip() == "reminders: 0 rounds, 0 messages"


def test_crash_mid_send_leaves_no_reminder_recorded_and_no_message(app, db, build_survey, monkeypatch):
    make_employee(NORTH)
    build_survey(title="First pulse")
    build_survey(title="Second pulse")
    db.session.commit()
    real_send, calls = reminders.send_mail, []

    def send_then_fail(*args, **kwargs):
        """The real ``send_mail`` for the first round, a lost SMTP server for the second."""
        calls.append(args)
        if len(calls) == 2:
            raise ConnectionError("SMTP server went away")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(reminders, "send_mail", send_then_fail)
    result = app.test_cli_runner().invoke(args=["send-survey-reminders", "--today", HALFWAY.isoformat()])
    assert isinstance(result.exception, ConnectionError) and len(calls) == 2
    # The first round's reminder and message, and the second's record, were written but not committed.
    assert len(_records(db)) == 2 and len(outbox()) == 1
    assert _committed(db, SurveyReminder) == 0 and _committed(db, OutboxMessage) == 0
    db.session.rollback()
    assert _records(db) == [] and outbox() == []


# ---------------------------------------------------------------- nothing revealed


def test_every_recipient_gets_the_same_message_addressed_to_them_alone(db, build_survey):
    waiting = [make_employee(NORTH, full_name=f"Waiting {n}") for n in range(3)]
    done = [make_employee(NORTH, full_name=f"Answered {n}") for n in range(2)]
    survey_round = build_survey().rounds[0]
    for person in done:
        _answer(person, survey_round)
    send_due_reminders(HALFWAY, BUDGET)
    messages = outbox()
    assert sorted(m.recipients[0] for m in messages) == sorted(p.email for p in waiting)
    assert all(len(m.recipients) == 1 and m.hide_recipients for m in messages)
    subject, body = reminder_message(survey_round)
    assert {(m.subject, m.body) for m in messages} == {(subject, body)}
    assert "CRM pulse" in subject and "Sunday 9 March 2025" in body and MY_SURVEYS_PATH in body
    for person in waiting + done:
        assert person.full_name not in body and person.email not in body


def test_message_is_the_same_whoever_and_however_many_have_answered(db, build_survey):
    north = [make_employee(NORTH) for _ in range(2)]
    south = [make_employee(SOUTH) for _ in range(4)]
    build_survey(units=(NORTH,))
    south_round = build_survey(units=(SOUTH,)).rounds[0]
    for person in south[:3]:
        _answer(person, south_round)
    send_due_reminders(HALFWAY, {"SURVEY_BUDGET_ROUNDS": 4, "SURVEY_BUDGET_DAYS": 28})
    messages = outbox()
    assert sorted(_reminded(db)) == sorted(p.email for p in north + south[3:])
    assert len({(m.subject, m.body) for m in messages}) == 1


@pytest.mark.parametrize("app_config", [{"MAIL_SERVER": "smtp.example.invalid"}])
def test_with_smtp_each_reminder_is_an_e_mail_to_one_person(db, build_survey):
    people = [make_employee(NORTH) for _ in range(3)]
    survey_round = build_survey().rounds[0]
    with mail.record_messages() as sent:
        run = send_due_reminders(HALFWAY, BUDGET)
    assert run.messages == 3 and outbox() == []
    assert sorted(m.recipients[0] for m in sent) == sorted(p.email for p in people)
    assert all(m.send_to == {m.recipients[0]} and not m.cc and not m.bcc for m in sent)
    assert {(m.subject, m.body) for m in sent} == {reminder_message(survey_round)}
    assert _records(db) == [(survey_round.id, "halfway", HALFWAY, 3)]


def test_outbox_page_shows_admins_no_reminder_recipient(client, db, build_survey, login_as):
    waiting = [make_employee(NORTH) for _ in range(2)]
    answered = make_employee(NORTH)
    survey_round = build_survey().rounds[0]
    _answer(answered, survey_round)
    send_due_reminders(HALFWAY, BUDGET)
    login_as("admin")
    html = client.get("/admin/outbox").get_data(as_text=True)
    hidden = "1 recipient (hidden: a reminder&#39;s recipients are the people who have not answered)"
    assert html.count(hidden) == 2
    assert reminder_message(survey_round)[0] in html
    for person in waiting + [answered]:
        assert person.email not in html and person.full_name not in html


def test_people_who_are_not_admins_cannot_read_the_outbox(client, db, build_survey, login_as):
    make_employee(NORTH)
    build_survey()
    send_due_reminders(HALFWAY, BUDGET)
    login_as("change_leader")
    response = client.get("/admin/outbox")
    assert response.status_code == 403
    assert "Reminder:" not in response.get_data(as_text=True)
