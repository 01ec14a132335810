"""The evidence panel on a small hand-built organization whose every figure is worked out by hand:

Acme/EMEA/Sales North and Sales South, Acme/Americas/West (teams); weekly rollups written
directly; a pulse round of Acme/EMEA (3–9 March 2025) answered as in tests/surveys/test_results.py;
training and follow-ups through the models; outcomes as imported rows.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from adoption.models import Initiative, WeeklyUnitBehaviour, WeeklyUnitUsage
from adoption.models.outcomes import OutcomeMeasure
from adoption.scope import scope_for
from dashboards.evidence_panel import unit_period_panel, wide
from dashboards.metrics.evidence import lagged_pairs
from surveys.results import prepare_round_results
from tests.factories import make_employee, make_unit, make_user
from tests.surveys.conftest import bank, build_survey, leader  # noqa: F401  (fixtures)
from tests.surveys.test_results import AFTER, NORTH_ANSWERS, QUESTIONS, SOUTH_ANSWERS, answer
from training.models import (
    AssignedTraining,
    Assignment,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    Module,
    ModuleStep,
)

NORTH, SOUTH, WEST = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South", "Acme/Americas/West"
EMEA = "Acme/EMEA"
MARCH, APRIL = pd.Period("2025-03", "M"), pd.Period("2025-04", "M")
START, END = dt.date(2025, 2, 1), dt.date(2025, 5, 31)
STAMP = dt.datetime(2025, 1, 1)


def value(panel, unit, metric, period=MARCH):
    """(value, n) of one cell; None when the panel has no such row."""
    rows = panel[(panel["unit"] == unit) & (panel["metric"] == metric) & (panel["period"] == period)]
    assert len(rows) <= 1
    return None if rows.empty else (pytest.approx(rows["value"].iloc[0]), rows["n"].iloc[0])


@pytest.fixture
def everyone(db):
    """A change leader's scope: every unit."""
    return scope_for(make_user("change_leader"))


@pytest.fixture
def usage(db):
    """North: five weeks starting in March (the one of 31 March included), 10 licensed, active
    5, 6, 7, 8, 4 (Σ 30 of 50), 10 active days each (Σ 50); one April week, 9 of 10 active.
    South: one March week, 2 of 4 active, 3 active days. West: none. activity_logged: North 3
    and 2 people in the first two weeks, South 1."""
    north, south = make_unit(NORTH), make_unit(SOUTH)
    make_unit(WEST)
    weeks = [dt.date(2025, 3, 3) + dt.timedelta(weeks=i) for i in range(5)]
    for week, active in zip(weeks, (5, 6, 7, 8, 4), strict=True):
        db.session.add(WeeklyUnitUsage(week_start=week, unit_id=north.id, licensed=10, active=active,
                                       active_days=10, events=50, event_types=active))
    db.session.add(WeeklyUnitUsage(week_start=dt.date(2025, 4, 7), unit_id=north.id, licensed=10, active=9,
                                   active_days=20, events=90, event_types=9))
    db.session.add(WeeklyUnitUsage(week_start=weeks[0], unit_id=south.id, licensed=4, active=2,
                                   active_days=3, events=9, event_types=2))
    for week, people in zip(weeks[:2], (3, 2), strict=True):
        db.session.add(WeeklyUnitBehaviour(week_start=week, unit_id=north.id, event_type="activity_logged",
                                           people=people))
    db.session.add(WeeklyUnitBehaviour(week_start=weeks[0], unit_id=south.id, event_type="activity_logged",
                                       people=1))
    db.session.add(Initiative(name="CRM", start_date=dt.date(2025, 1, 1), licensed_seats=14,
                              adoption_target_pct=80, key_behaviours=["activity_logged"]))
    db.session.flush()


def _pulse(app, db, build_survey, south_answers):  # noqa: F811
    """The Acme/EMEA pulse of 3–9 March 2025: North answers NORTH_ANSWERS, South ``south_answers``."""
    north = [make_employee(NORTH) for _ in NORTH_ANSWERS]
    south = [make_employee(SOUTH) for _ in south_answers]
    survey_round = build_survey(questions=QUESTIONS).rounds[0]
    for person, row in zip(north + south, NORTH_ANSWERS + list(south_answers), strict=True):
        answer(person, survey_round, row)
    assert prepare_round_results(survey_round, app.config, AFTER)
    db.session.flush()
    return survey_round


# --- adoption ----------------------------------------------------------------------------------


def test_adoption_rate_is_active_over_licensed_across_the_weeks_starting_in_the_month(everyone, usage):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert value(panel, NORTH, "adoption_rate") == (0.6, 10)
    assert value(panel, NORTH, "adoption_rate", APRIL) == (0.9, 10)
    assert value(panel, SOUTH, "adoption_rate") == (0.5, 4)


def test_active_share_is_active_days_over_licensed_person_days(everyone, usage):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert value(panel, NORTH, "active_share") == (50 / 350, 10)
    assert value(panel, SOUTH, "active_share") == (3 / 28, 4)


def test_key_behaviour_is_people_over_licensed_weeks_without_it_counting_zero(everyone, usage):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert value(panel, NORTH, "key_behaviour:activity_logged") == (5 / 50, 10)
    assert value(panel, NORTH, "key_behaviour:activity_logged", APRIL) == (0.0, 10)
    assert value(panel, SOUTH, "key_behaviour:activity_logged") == (0.25, 4)


def test_months_and_units_without_data_are_absent_not_zero(everyone, usage):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert set(panel["period"]) == {MARCH, APRIL}
    assert WEST not in set(panel["unit"])
    assert value(panel, SOUTH, "adoption_rate", APRIL) is None


def test_a_region_level_sums_its_teams(everyone, usage):
    panel = unit_period_panel(everyone, level="region", start=START, end=END)
    assert set(panel["unit"]) == {EMEA}
    assert value(panel, EMEA, "adoption_rate") == (32 / 54, 11)  # n: 54 licensed over 5 weeks


def test_only_the_metrics_asked_for_are_read(everyone, usage):
    panel = unit_period_panel(everyone, start=START, end=END, metrics=["active_share"])
    assert set(panel["metric"]) == {"active_share"}


# --- surveys -----------------------------------------------------------------------------------


def test_survey_metrics_come_from_the_shown_groups_in_the_month_the_round_closes(
        app, db, build_survey, everyone):  # noqa: F811
    _pulse(app, db, build_survey, SOUTH_ANSWERS)
    panel = unit_period_panel(everyone, start=START, end=END)
    assert value(panel, NORTH, "engagement_index") == (62.5, 5)
    assert value(panel, NORTH, "enps") == (20.0, 5)
    assert value(panel, NORTH, "readiness") == (0.4, 5)
    assert value(panel, SOUTH, "engagement_index") == (75.0, 5)
    assert value(panel, SOUTH, "readiness") == (1.0, 5)
    assert set(panel.loc[panel["metric"] == "enps", "period"]) == {MARCH}


def test_survey_metrics_are_absent_for_a_suppressed_group(app, db, build_survey, everyone):  # noqa: F811
    _pulse(app, db, build_survey, SOUTH_ANSWERS[:3])
    teams = unit_period_panel(everyone, start=START, end=END)
    assert not teams["metric"].isin(["engagement_index", "enps", "readiness"]).any()
    # South (3) is below k and North would isolate it from EMEA; EMEA repeats Acme: Acme is shown.
    assert unit_period_panel(everyone, level="region", start=START, end=END).empty
    company = unit_period_panel(everyone, level=0, start=START, end=END)
    assert value(company, "Acme", "engagement_index") == ((312.5 + 225) / 8, 8)


# --- training ----------------------------------------------------------------------------------


@pytest.fixture
def training(db):
    """North: four copies due 20 March (two completed on time, one late, one not). Follow-ups of
    North's commitments: two "done" and one "partly" answered in March, one unanswered, one
    "done" answered on 2 April."""
    module = Module(slug="pipeline", title="Pipeline", estimated_minutes=20, status="published",
                    key_behaviours=["activity_logged"])
    step = ModuleStep(key="commit", kind="commitment", title="Commit", position=1)
    module.steps = [step]
    due = dt.date(2025, 3, 20)
    assignment = Assignment(module=module, due_on=due, assigned_on=dt.date(2025, 2, 1))
    db.session.add_all([module, assignment])
    db.session.flush()
    people = [make_employee(NORTH) for _ in range(4)]
    completions = (dt.date(2025, 3, 15), dt.date(2025, 3, 20), dt.date(2025, 3, 25), None)
    enrollments = []
    for person, completed in zip(people, completions, strict=True):
        db.session.add(AssignedTraining(assignment=assignment, employee_id=person.id,
                                        assigned_on=assignment.assigned_on, due_on=due))
        enrollment = Enrollment(employee_id=person.id, module=module, module_version=1, started_at=STAMP,
                                last_activity_at=STAMP, completed_on=completed,
                                completed_at=None if completed is None else STAMP)
        db.session.add(enrollment)
        enrollments.append(enrollment)
    db.session.flush()
    answers = [("done", dt.datetime(2025, 3, 10, 9)), ("done", dt.datetime(2025, 3, 31, 23)),
               ("partly", dt.datetime(2025, 3, 12)), (None, None), ("done", dt.datetime(2025, 4, 2))]
    commitments = [Commitment(enrollment_id=e.id, step_id=step.id, employee_id=e.employee_id, module_id=module.id,
                              text="Log every call", committed_on=dt.date(2025, 2, 1), created_at=STAMP)
                   for e in enrollments]
    db.session.add_all(commitments)
    for i, (status, answered_at) in enumerate(answers):
        offset = 30 * (1 + i // 4)
        commitments[i % 4].follow_ups.append(CommitmentFollowUp(
            day_offset=offset, due_on=dt.date(2025, 2, 1) + dt.timedelta(days=offset), status=status,
            answered_at=answered_at))
    db.session.flush()


def test_training_completion_is_the_share_of_copies_due_in_the_month_completed_by_the_due_date(
        everyone, training):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert value(panel, NORTH, "training_completion") == (0.5, 4)
    assert value(panel, NORTH, "training_completion", APRIL) is None


def test_commitment_kept_is_the_share_done_among_follow_ups_answered_in_the_month(everyone, training):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert value(panel, NORTH, "commitment_kept") == (2 / 3, 3)
    assert value(panel, NORTH, "commitment_kept", APRIL) == (1.0, 1)


# --- outcomes ----------------------------------------------------------------------------------


def _outcome(db, path, start, end, metric, amount, responses=None):
    db.session.add(OutcomeMeasure(unit_id=make_unit(path).id, metric=metric, period_start=start, period_end=end,
                                  value=amount, responses=responses, source="file", content_hash="0" * 64,
                                  created_at=STAMP, updated_at=STAMP))
    db.session.flush()


@pytest.fixture
def outcomes(db):
    """CSAT: North March 80 (40 responses) and Q1 60; South Q1 70 (100); EMEA March 75; North NPS
    in February without responses."""
    _outcome(db, NORTH, dt.date(2025, 3, 1), dt.date(2025, 3, 31), "csat", 80, 40)
    _outcome(db, NORTH, dt.date(2025, 1, 1), dt.date(2025, 3, 31), "csat", 60, 300)
    _outcome(db, SOUTH, dt.date(2025, 1, 1), dt.date(2025, 3, 31), "csat", 70, 100)
    _outcome(db, EMEA, dt.date(2025, 3, 1), dt.date(2025, 3, 31), "csat", 75, 500)
    _outcome(db, NORTH, dt.date(2025, 2, 1), dt.date(2025, 2, 28), "nps", 31)


def test_outcomes_carry_their_responses_and_a_quarter_lands_on_its_last_month(everyone, outcomes):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert value(panel, NORTH, "csat") == (80.0, 40)  # the monthly value wins over Q1's
    assert value(panel, SOUTH, "csat") == (70.0, 100)
    assert value(panel, SOUTH, "csat", pd.Period("2025-02", "M")) is None
    nps = value(panel, NORTH, "nps", pd.Period("2025-02", "M"))
    assert nps[0] == 31 and pd.isna(nps[1])


def test_an_outcome_of_a_region_appears_only_at_the_region_level(everyone, outcomes):
    teams = unit_period_panel(everyone, start=START, end=END, metrics=["csat"])
    assert EMEA not in set(teams["unit"])
    regions = unit_period_panel(everyone, level="region", start=START, end=END, metrics=["csat"])
    assert list(regions["unit"]) == [EMEA]
    assert value(regions, EMEA, "csat") == (75.0, 500)


# --- scope, shape --------------------------------------------------------------------------------


def test_a_managers_panel_holds_only_their_subtree(db, usage, training, outcomes):
    manager = scope_for(make_user("manager", make_employee(SOUTH)))
    panel = unit_period_panel(manager, start=START, end=END)
    assert set(panel["unit"]) == {SOUTH}
    assert unit_period_panel(manager, level="region", start=START, end=END).empty


def test_an_employee_gets_an_empty_panel(db, usage):
    employee = scope_for(make_user("employee", make_employee(NORTH)))
    panel = unit_period_panel(employee, start=START, end=END)
    assert panel.empty and list(panel.columns) == ["unit", "period", "metric", "value", "n"]


def test_wide_feeds_lagged_pairs_with_the_outcomes_n_as_weight(everyone, usage, outcomes):
    panel = unit_period_panel(everyone, start=START, end=END)
    assert str(panel["period"].dtype) == "period[M]"
    frame = wide(panel, "adoption_rate", "csat")
    assert list(frame.columns) == ["unit", "period", "x", "y", "weight"]
    pairs = lagged_pairs(frame, 0)
    north = pairs[pairs["unit"] == NORTH].iloc[0]
    assert (north["x"], north["y"], north["weight"]) == (pytest.approx(0.6), 80.0, 40.0)
    assert len(lagged_pairs(frame, -1)) == 1  # North: adoption in April, CSAT in March
