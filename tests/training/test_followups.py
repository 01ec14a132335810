"""Commitment follow-ups (training/followups.py): answering them, and the behaviour evidence."""
from __future__ import annotations

import datetime as dt

import pytest

from adoption.models import DailyUsage
from adoption.scope import ScopeError
from tests.factories import make_employee
from tests.training.test_assignments import NORTH, TODAY
from tests.training.test_training_reminders import NOW, build_commitment
from training.followups import (
    FollowUpError,
    answer_follow_up,
    behaviour_evidence,
    compute_evidence,
    evidence_windows,
    follow_up_for,
    open_until,
    past_follow_ups,
    pending_follow_ups,
)

DAY = dt.timedelta(days=1)
THIRTY = TODAY + 30 * DAY


# ---------------------------------------------------------------- answering


def test_pending_follow_ups_are_the_learners_due_unanswered_ones(db):
    person, other = make_employee(NORTH), make_employee(NORTH)
    mine = build_commitment(db, person, TODAY)
    build_commitment(db, other, TODAY)
    assert pending_follow_ups(person, THIRTY - DAY) == []
    assert pending_follow_ups(person, THIRTY) == [mine.follow_ups[0]]
    mine.follow_ups[0].status = "done"
    assert pending_follow_ups(person, TODAY + 60 * DAY) == [mine.follow_ups[1]]


def test_a_follow_up_is_asked_for_thirty_days_then_closes_unanswered(db):
    person = make_employee(NORTH)
    first, second, third = build_commitment(db, person, TODAY).follow_ups
    assert open_until(first) == TODAY + 59 * DAY
    assert pending_follow_ups(person, TODAY + 59 * DAY) == [first]
    # The day the 60-day follow-up falls due, the 30-day one closes: one question, about now.
    assert pending_follow_ups(person, TODAY + 60 * DAY) == [second]
    assert pending_follow_ups(person, TODAY + 119 * DAY) == [third]
    assert pending_follow_ups(person, TODAY + 120 * DAY) == []
    assert first.status is None  # closed, not answered


def test_open_follow_ups_are_one_per_commitment_in_the_order_they_fell_due(db):
    person = make_employee(NORTH)
    older = build_commitment(db, person, TODAY - 100 * DAY)  # its 90-day follow-up is open (due 10 days ago)
    newer = build_commitment(db, person, TODAY - 45 * DAY)  # its 30-day one (due 15 days ago)
    pending = pending_follow_ups(person, TODAY)
    assert [(f.commitment_id, f.day_offset) for f in pending] == [(newer.id, 30), (older.id, 90)]


def test_a_closed_follow_up_cannot_be_answered_any_more(db):
    person = make_employee(NORTH)
    follow_up = build_commitment(db, person, TODAY).follow_ups[0]
    with pytest.raises(FollowUpError, match="open until"):
        answer_follow_up(follow_up, person, "done", "", now=NOW, today=TODAY + 60 * DAY)
    assert follow_up.status is None
    answer_follow_up(follow_up, person, "done", "", now=NOW, today=TODAY + 59 * DAY)  # its last day
    assert follow_up.status == "done"


def test_past_follow_ups_are_the_answered_and_the_closed_ones_latest_first(db):
    person = make_employee(NORTH)
    first, second, _third = build_commitment(db, person, TODAY).follow_ups
    answer_follow_up(second, person, "partly", "", now=NOW + 65 * DAY, today=TODAY + 65 * DAY)
    today = TODAY + 70 * DAY  # the first closed unanswered on day 60; the third is not due
    assert past_follow_ups(person, today) == [second, first]
    assert past_follow_ups(make_employee(NORTH), today) == []


def test_the_learner_answers_a_due_follow_up_once_with_a_note(db):
    person = make_employee(NORTH)
    follow_up = build_commitment(db, person, TODAY).follow_ups[0]
    answer_follow_up(follow_up, person, "partly", "  Most calls, not all.  ", now=NOW, today=THIRTY)
    assert (follow_up.status, follow_up.note, follow_up.answered_at) == ("partly", "Most calls, not all.", NOW)
    with pytest.raises(FollowUpError, match="already"):
        answer_follow_up(follow_up, person, "done", "", now=NOW, today=THIRTY)


def test_a_follow_up_cannot_be_answered_before_it_is_due(db):
    person = make_employee(NORTH)
    follow_up = build_commitment(db, person, TODAY).follow_ups[1]
    with pytest.raises(FollowUpError, match="opens on"):
        answer_follow_up(follow_up, person, "done", "", now=NOW, today=THIRTY)
    assert follow_up.status is None


def test_only_the_learner_answers_their_follow_up(db):
    person, colleague = make_employee(NORTH), make_employee(NORTH)
    follow_up = build_commitment(db, person, TODAY).follow_ups[0]
    with pytest.raises(ScopeError):
        answer_follow_up(follow_up, colleague, "done", "", now=NOW, today=THIRTY)
    with pytest.raises(ScopeError):
        follow_up_for(colleague, follow_up.id)
    assert follow_up_for(person, follow_up.id) is follow_up


def test_an_unknown_status_is_refused(db):
    person = make_employee(NORTH)
    follow_up = build_commitment(db, person, TODAY).follow_ups[0]
    with pytest.raises(FollowUpError, match="done, partly or not yet"):
        answer_follow_up(follow_up, person, "maybe", "", now=NOW, today=THIRTY)


# ---------------------------------------------------------------- evidence (pure)


def test_windows_are_four_weeks_before_and_three_four_week_windows_after():
    windows = evidence_windows(TODAY, TODAY + 60 * DAY)
    assert [(first, last) for _, first, last, _ in windows] == [
        (TODAY - 28 * DAY, TODAY - DAY), (TODAY + DAY, TODAY + 28 * DAY),
        (TODAY + 29 * DAY, TODAY + 56 * DAY), (TODAY + 57 * DAY, TODAY + 84 * DAY),
    ]
    assert [complete for *_, complete in windows] == [True, True, True, False]


def test_a_window_is_complete_only_once_its_last_day_has_passed():
    assert [c for *_, c in evidence_windows(TODAY, TODAY + 28 * DAY)] == [True, False, False, False]
    assert [c for *_, c in evidence_windows(TODAY, TODAY + 29 * DAY)] == [True, True, False, False]


def test_rates_are_events_per_week_over_the_days_covered():
    events = {TODAY - 20 * DAY: 6, TODAY - DAY: 2,  # before: 8 in 4 weeks -> 2 a week
              TODAY: 100,  # the commitment day is in no window
              TODAY + DAY: 20, TODAY + 28 * DAY: 8,  # after 1: 28 -> 7 a week
              TODAY + 29 * DAY: 50}  # after 2, not complete yet
    evidence = compute_evidence("activity_logged", TODAY, TODAY + 40 * DAY, events, [(dt.date(2024, 1, 1), None)])
    assert (evidence.before.events, evidence.before.days_covered, evidence.before.rate_per_week) == (8, 28, 2.0)
    first, second, third = evidence.after
    assert (first.events, first.days_covered, first.rate_per_week) == (28, 28, 7.0)
    assert (second.complete, second.rate_per_week, third.complete) == (False, None, False)


def test_days_covered_count_only_days_the_learner_belonged_to_the_organization():
    joined = TODAY - 14 * DAY
    evidence = compute_evidence("activity_logged", TODAY, TODAY + 30 * DAY, {TODAY - DAY: 8}, [(joined, None)])
    assert (evidence.before.days_covered, evidence.before.rate_per_week) == (14, 4.0)
    nobody = compute_evidence("activity_logged", TODAY, TODAY + 30 * DAY, {}, [(TODAY + 90 * DAY, None)])
    assert (nobody.before.days_covered, nobody.before.rate_per_week) == (0, None)


def test_a_membership_ending_inside_a_window_stops_its_coverage():
    # Member until TODAY + 10 (exclusive), then again from TODAY + 20: 9 + 9 days of after-window 1.
    periods = [(dt.date(2024, 1, 1), TODAY + 10 * DAY), (TODAY + 20 * DAY, None)]
    evidence = compute_evidence("activity_logged", TODAY, TODAY + 60 * DAY, {}, periods)
    assert evidence.after[0].days_covered == 18


# ---------------------------------------------------------------- evidence (from the rollup)


def test_behaviour_evidence_reads_the_learners_daily_usage_of_that_behaviour_only(db):
    person, other = make_employee(NORTH), make_employee(NORTH)
    commitment = build_commitment(db, person, TODAY)
    commitment.key_behaviour = "activity_logged"
    rows = [(person, TODAY - 3 * DAY, "activity_logged", 8), (person, TODAY + 3 * DAY, "activity_logged", 14),
            (person, TODAY + 3 * DAY, "opportunity_updated", 50), (other, TODAY + 3 * DAY, "activity_logged", 50),
            (person, TODAY - 40 * DAY, "activity_logged", 99)]  # before the before-window
    db.session.add_all(DailyUsage(employee_id=e.id, day=d, event_type=t, events=n) for e, d, t, n in rows)
    db.session.flush()
    evidence = behaviour_evidence(commitment, TODAY + 30 * DAY)
    assert evidence.key_behaviour == "activity_logged"
    assert (evidence.before.rate_per_week, evidence.after[0].rate_per_week) == (2.0, 3.5)


def test_no_evidence_without_a_key_behaviour(db):
    commitment = build_commitment(db, make_employee(NORTH), TODAY)
    assert behaviour_evidence(commitment, TODAY + 30 * DAY) is None
