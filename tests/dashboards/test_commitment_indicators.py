"""Commitment indicators (dashboards/commitment.py) on a hand-built organization.

Acme has two sponsors at the top, Ana and Ben (executives). Ana answers for Acme/North/East (5
people) and Acme/North/West (6 people), Ben for Acme/South (4 people). The period is 2025 Q1
(1 January – 31 March, 14 weeks starting on Monday 30 December), read on 15 April 2025. A pulse
asks two leadership-commitment items and one trust item: East answers 5, 5, 4 and West 2, 2, 3,
and East writes a comment each; its results come out on 11 March.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from adoption.initiative import save_initiative
from adoption.models import (
    DailyUsage,
    Employee,
    Hypothesis,
    OutcomeMeasure,
    User,
    WeeklyUnitBehaviour,
    WeeklyUnitUsage,
)
from adoption.scope import ScopeError, scope_for
from adoption.sponsors import record_activity, set_areas, set_plan
from adoption.telemetry import api as events_api
from adoption.tokens import issue_token
from dashboards.commitment import (
    NEW_QUARTER_DAYS,
    RoleModelling,
    commitment_period,
    default_quarter,
    leadership_record,
    outcomes,
    perceived_by_unit,
    sponsor_records,
    urgent_items,
)
from dashboards.metrics.commitment import SEEN_MORE
from surveys.conversations import reply_as_leader
from surveys.models import ActionPlan, ActionPlanUpdate, Comment, CommentThread, SurveyRound
from surveys.results import prepare_round_results
from surveys.services import QuestionSpec, submit_response
from tests.factories import make_employee, make_unit, make_user
from tests.surveys.conftest import BUDGET, OPENS, bank, build_survey  # noqa: F401
from training.models import AssignedTraining, Assignment, Enrollment, Module, ModuleStatus

TODAY = dt.date(2025, 4, 15)
PERIOD = commitment_period(TODAY, "2025-Q1")
READY = dt.datetime(2025, 3, 11, 9, 0)
DAY = dt.timedelta(days=1)
EAST, WEST, SOUTH = "Acme/North/East", "Acme/North/West", "Acme/South"
QUESTIONS = [
    QuestionSpec(item_key="leadership.walk_the_talk", allow_comment=True),
    QuestionSpec(item_key="leadership.priority"),
    QuestionSpec(item_key="feedback.action"),
]


@dataclass
class Org:
    """The people of the hand-built organization and the leader who runs the programme."""

    ana: Employee
    ben: Employee
    leader: User
    east: list[Employee]
    west: list[Employee]
    south: list[Employee]

    @property
    def leader_scope(self):
        """The change leader's scope: every unit, every sponsor."""
        return scope_for(self.leader)


@pytest.fixture
def leader(db):
    """A change leader (also the author of the test surveys)."""
    return make_user("change_leader", make_employee("Acme/HQ", full_name="Chris Leader"))


@pytest.fixture
def org(db, leader) -> Org:
    """Sponsors Ana (East and West) and Ben (South), 15 people in the three teams."""
    ana = make_employee("Acme", full_name="Ana Sponsor", is_executive=True, crm_user_id="crm-ana")
    ben = make_employee("Acme", full_name="Ben Sponsor", is_executive=True, crm_user_id="crm-ben")
    east = [make_employee(EAST) for _ in range(5)]
    west = [make_employee(WEST) for _ in range(6)]
    south = [make_employee(SOUTH) for _ in range(4)]
    save_initiative("CRM rollout", start_date=dt.date(2024, 6, 1), licensed_seats=100, adoption_target_pct=70,
                    key_behaviours=["activity_logged"], sponsors=[ana, ben])
    scope = scope_for(leader)
    set_areas(leader, scope, sponsor_id=ana.id, unit_ids=[make_unit(EAST).id, make_unit(WEST).id])
    set_areas(leader, scope, sponsor_id=ben.id, unit_ids=[make_unit(SOUTH).id])
    db.session.flush()
    return Org(ana, ben, leader, east, west, south)


def executive(employee: Employee):
    """The scope of an executive account for ``employee``."""
    return scope_for(make_user("executive", employee))


def record_of(records, sponsor: Employee):
    """The record of ``sponsor`` among ``records``."""
    return next(r for r in records if r.sponsor_id == sponsor.id)


def answer(survey_round: SurveyRound, person: Employee, values: tuple[int, int, int], comment: str | None = None):
    """Submit ``person``'s answers to QUESTIONS (with a comment under the first)."""
    ids = [rq.id for rq in survey_round.questions]
    first = {"value": values[0], **({"comment": comment} if comment else {})}
    submit_response(person, survey_round, {ids[0]: first, ids[1]: {"value": values[1]}, ids[2]: {"value": values[2]}},
                    survey_round.opens_on, BUDGET)


def prepare(app, db, survey_round: SurveyRound, ready: dt.datetime = READY) -> None:
    """Prepare the closed round's results, as if they came out at ``ready``."""
    assert prepare_round_results(survey_round, app.config, survey_round.closes_on + DAY)
    survey_round.results_ready_at = ready
    db.session.flush()


@pytest.fixture
def pulse(app, db, org, build_survey) -> SurveyRound:  # noqa: F811
    """The round of 3–9 March 2025 for all of Acme, answered in East (with comments) and West."""
    survey_round = build_survey(units=("Acme",), questions=QUESTIONS).rounds[0]
    for index, person in enumerate(org.east):
        answer(survey_round, person, (5, 5, 4), comment=f"East comment {index}")
    for person in org.west:
        answer(survey_round, person, (2, 2, 3))
    prepare(app, db, survey_round)
    return survey_round


def east_comments(db) -> list[Comment]:
    """The comments East wrote, in the order they were written."""
    comments = db.session.scalars(select(Comment).where(Comment.body.like("East comment %"))).all()
    return sorted(comments, key=lambda c: c.body)


def reply(org: Org, comment: Comment, at: dt.datetime) -> CommentThread:
    """The change leader's first reply to ``comment`` at ``at``."""
    return reply_as_leader(org.leader, org.leader_scope, comment.id, "Thank you, we are on it.", at)


def usage(person: Employee, day: dt.date, event_type: str = "record_updated") -> DailyUsage:
    """A ``daily_usage`` row, as ingestion writes it."""
    return DailyUsage(day=day, employee_id=person.id, event_type=event_type, events=1)


def plan(unit: str, round_id: int, owner: User, due_on: dt.date, status: str = "planned") -> ActionPlan:
    """An action plan of ``unit``, as surveys.actions stores it."""
    return ActionPlan(unit_id=make_unit(unit).id, round_id=round_id, title="Weekly pipeline clinic", owner_id=owner.id,
                      due_on=due_on, status=status, created_by_id=owner.id)


def done_on(action: ActionPlan, owner: User, day: dt.date) -> ActionPlanUpdate:
    """The update that set ``action`` done on ``day``."""
    return ActionPlanUpdate(plan=action, author_id=owner.id, body="Done.", status="done",
                            created_at=dt.datetime.combine(day, dt.time(16, 0)))


# --- the period --------------------------------------------------------------------------------


def test_the_period_is_the_current_quarter_up_to_today():
    period = commitment_period(dt.date(2026, 12, 6))
    assert (period.start, period.end, period.label) == (dt.date(2026, 10, 1), dt.date(2026, 12, 6),
                                                        "2026 Q4 (1 Oct – 6 Dec 2026)")


@pytest.mark.parametrize(("today", "quarter"), [
    (dt.date(2026, 10, 1), "2026-Q3"),  # a quarter's first day: the one just ended
    (dt.date(2026, 10, NEW_QUARTER_DAYS), "2026-Q3"),
    (dt.date(2026, 10, NEW_QUARTER_DAYS + 1), "2026-Q4"),  # its first weeks are over: the current one
    (dt.date(2026, 12, 31), "2026-Q4"),
    (dt.date(2027, 1, 4), "2026-Q4"),  # across the year's end
])
def test_the_page_opens_on_the_quarter_just_ended_in_a_quarters_first_weeks(today, quarter):
    assert default_quarter(today) == quarter
    commitment_period(today, quarter)  # a quarter the period accepts


def test_a_past_quarter_runs_to_its_last_day():
    assert (PERIOD.start, PERIOD.end, PERIOD.label) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31),
                                                        "2025 Q1 (1 Jan – 31 Mar 2025)")


@pytest.mark.parametrize("quarter", ["2025-Q3", "2025 Q1", "2025-Q5"])
def test_a_quarter_not_yet_begun_or_misspelt_is_refused(quarter):
    with pytest.raises(ValueError):
        commitment_period(TODAY, quarter)


# --- visibility --------------------------------------------------------------------------------


def test_visibility_counts_the_periods_activities_against_the_plan_by_kind(db, org):
    scope, unit = org.leader_scope, make_unit(EAST).id
    set_plan(org.leader, scope, sponsor_id=org.ana.id, quarter_start=dt.date(2025, 1, 1),
             counts={"town_hall": 2, "team_visit": 4})
    for kind, day in [("town_hall", dt.date(2025, 2, 3)), ("team_visit", dt.date(2025, 1, 1)),
                      ("team_visit", dt.date(2025, 3, 31)), ("team_visit", dt.date(2024, 12, 31))]:
        record_activity(org.leader, scope, sponsor_id=org.ana.id, kind=kind, occurred_on=day, unit_ids=[unit],
                        today=TODAY)
    visibility = record_of(sponsor_records(scope, PERIOD, TODAY), org.ana).visibility
    assert (visibility.done, visibility.planned, visibility.plan_share) == (3, 6, 0.5)
    assert visibility.by_kind["town_hall"] == (1, 2) and visibility.by_kind["team_visit"] == (2, 4)
    assert visibility.by_kind["message"] == (0, None)


def test_without_a_plan_planned_is_none_and_visibility_rests_on_reach(db, org):
    record_activity(org.leader, org.leader_scope, sponsor_id=org.ana.id, kind="town_hall",
                    occurred_on=dt.date(2025, 2, 3), unit_ids=[make_unit(EAST).id], today=TODAY)
    ana = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana)
    assert ana.visibility.planned is None
    assert ana.objective.parts["visibility"] == pytest.approx(100 * 5 / 11)


def test_reach_counts_active_people_below_the_addressed_units_within_the_sponsors_areas(db, org):
    make_employee(EAST, active=False)
    record_activity(org.leader, org.leader_scope, sponsor_id=org.ana.id, kind="town_hall",
                    occurred_on=dt.date(2025, 2, 3), unit_ids=[make_unit(EAST).id, make_unit(SOUTH).id],
                    today=TODAY)
    visibility = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).visibility
    assert (visibility.reached, visibility.employees) == (5, 11)


def test_the_plan_of_a_quarter_to_date_is_expected_pro_rata(db, org):
    scope = org.leader_scope
    set_plan(org.leader, scope, sponsor_id=org.ana.id, quarter_start=dt.date(2025, 4, 1), counts={"message": 12})
    record_activity(org.leader, scope, sponsor_id=org.ana.id, kind="town_hall", occurred_on=dt.date(2025, 4, 2),
                    unit_ids=[make_unit(EAST).id], today=TODAY)
    period = commitment_period(TODAY)  # 1–15 April: 15 of the quarter's 91 days
    visibility = record_of(sponsor_records(scope, period, TODAY), org.ana).visibility
    assert visibility.expected == pytest.approx(12 * 15 / 91)
    assert visibility.pace_share == pytest.approx(91 / 180)


def test_the_teams_visibility_adds_every_sponsors_activities_and_plans(db, org):
    scope = org.leader_scope
    set_plan(org.leader, scope, sponsor_id=org.ana.id, quarter_start=dt.date(2025, 1, 1), counts={"town_hall": 2})
    set_plan(org.leader, scope, sponsor_id=org.ben.id, quarter_start=dt.date(2025, 1, 1), counts={"town_hall": 3})
    for sponsor in (org.ana, org.ben):
        record_activity(org.leader, scope, sponsor_id=sponsor.id, kind="town_hall", occurred_on=dt.date(2025, 2, 3),
                        unit_ids=[make_unit(SOUTH).id], today=TODAY)
    visibility = leadership_record(scope, PERIOD, TODAY).visibility
    # Everyone active: the two sponsors, the change leader, 5 + 6 + 4 in the teams.
    assert (visibility.done, visibility.planned, visibility.reached, visibility.employees) == (2, 5, 4, 18)


# --- communication -----------------------------------------------------------------------------


def test_comments_of_the_period_in_the_areas_count_with_their_replies_by_the_periods_end(db, org, pulse):
    comments = east_comments(db)
    reply(org, comments[0], READY + DAY)
    reply(org, comments[1], READY + 3 * DAY)
    reply(org, comments[2], dt.datetime(2025, 4, 2, 10, 0))  # after the period
    communication = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).communication
    assert (communication.comments, communication.replied, communication.reply_share) == (5, 2, 0.4)


def test_the_median_time_to_first_reply_runs_from_the_results(db, org, pulse):
    comments = east_comments(db)
    reply(org, comments[0], READY + DAY)
    reply(org, comments[1], READY + 3 * DAY)
    communication = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).communication
    assert communication.median_days_to_first_reply == pytest.approx(2.0)


def test_comments_outside_the_sponsors_areas_do_not_count(db, org, pulse):
    communication = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ben).communication
    assert (communication.comments, communication.reply_share, communication.median_days_to_first_reply) == \
        (0, None, None)


def test_comments_of_a_round_whose_results_came_out_before_the_period_do_not_count(db, org, pulse):
    pulse.results_ready_at = dt.datetime(2024, 12, 20, 9, 0)
    db.session.flush()
    assert record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).communication.comments == 0


def test_open_threads_whose_last_message_is_the_authors_await_a_reply(db, org, pulse):
    first, _second = (reply(org, c, READY + DAY) for c in east_comments(db)[:2])
    first.awaiting_leader = True
    db.session.flush()
    assert record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).communication.awaiting_reply == 1


def test_actions_due_in_the_period_count_as_closed_on_time_when_done_by_their_due_date(db, org, build_survey):  # noqa: F811
    round_id, owner = build_survey().rounds[0].id, org.leader
    on_time = plan(EAST, round_id, owner, dt.date(2025, 2, 10), "done")
    late = plan(WEST, round_id, owner, dt.date(2025, 3, 1), "done")
    later = plan(EAST, round_id, owner, dt.date(2025, 4, 30), "done")
    elsewhere = plan(SOUTH, round_id, owner, dt.date(2025, 3, 1), "done")
    db.session.add_all([on_time, late, later, elsewhere, plan(EAST, round_id, owner, dt.date(2025, 3, 20), "dropped"),
                        plan(EAST, round_id, owner, dt.date(2025, 2, 1), "in_progress"),
                        done_on(on_time, owner, dt.date(2025, 2, 10)), done_on(late, owner, dt.date(2025, 3, 5)),
                        done_on(later, owner, dt.date(2025, 3, 5)), done_on(elsewhere, owner, dt.date(2025, 2, 1))])
    db.session.flush()
    communication = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).communication
    assert (communication.actions_due, communication.actions_closed_on_time) == (4, 1)


def test_actions_past_due_neither_done_nor_dropped_are_overdue(db, org, build_survey):  # noqa: F811
    round_id, owner = build_survey().rounds[0].id, org.leader
    db.session.add_all([plan(EAST, round_id, owner, dt.date(2025, 2, 1), "in_progress"),
                        plan(EAST, round_id, owner, dt.date(2025, 4, 14), "planned"),
                        plan(EAST, round_id, owner, TODAY, "planned"),
                        plan(EAST, round_id, owner, dt.date(2025, 3, 20), "dropped"),
                        plan(SOUTH, round_id, owner, dt.date(2025, 2, 1), "planned")])
    db.session.flush()
    assert record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).communication.actions_overdue == 2


def test_messages_are_the_sponsors_message_activities_of_the_period(db, org):
    for kind, day in [("message", dt.date(2025, 1, 15)), ("message", dt.date(2025, 4, 1)),
                      ("town_hall", dt.date(2025, 1, 15))]:
        record_activity(org.leader, org.leader_scope, sponsor_id=org.ana.id, kind=kind, occurred_on=day,
                        unit_ids=[make_unit(EAST).id], today=TODAY)
    assert record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).communication.messages == 1


# --- role-modelling ----------------------------------------------------------------------------


def test_role_modelling_counts_the_weeks_of_the_period_with_crm_use_and_with_a_key_behaviour(db, org):
    db.session.add_all([usage(org.ana, dt.date(2024, 12, 29)), usage(org.ana, dt.date(2025, 1, 2)),
                        usage(org.ana, dt.date(2025, 1, 3), "activity_logged"),
                        usage(org.ana, dt.date(2025, 2, 4), "activity_logged"), usage(org.ana, dt.date(2025, 3, 31)),
                        usage(org.ana, dt.date(2025, 4, 1), "activity_logged")])
    db.session.flush()
    role = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).role_modelling
    assert (role.people, role.weeks, role.active_weeks, role.key_behaviour_weeks) == (1, 14, 3, 2)


def test_integration_traffic_is_not_the_sponsors_own_crm_use(app, client, db, org, monkeypatch):
    monkeypatch.setattr(events_api, "received_now", lambda: dt.datetime(2025, 2, 10, 12, 0))
    _, token = issue_token("connector", "events:write", created_by_id=None)
    db.session.commit()
    events = [{"event_id": "e-1", "occurred_at": "2025-01-28T09:00:00Z", "event_type": "activity_logged",
               "client": "integration", "crm_user_id": "crm-ana"},
              {"event_id": "e-2", "occurred_at": "2025-02-04T09:00:00Z", "event_type": "activity_logged",
               "client": "ui", "crm_user_id": "crm-ana"}]
    response = client.post("/api/v1/events", data=json.dumps({"events": events}),
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    role = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).role_modelling
    assert (role.active_weeks, role.key_behaviour_weeks) == (1, 1)


def test_training_completion_counts_trainings_due_by_the_periods_end_completed_by_then(db, org):
    def assigned(slug: str, due_on: dt.date, completed_on: dt.date | None, active: bool = True) -> None:
        """Ana assigned a module of her own due on ``due_on``, completed on ``completed_on``."""
        module = Module(slug=slug, title=slug, estimated_minutes=20, status=ModuleStatus.PUBLISHED.value)
        assignment = Assignment(module=module, due_on=due_on, assigned_on=dt.date(2024, 12, 1), active=active)
        db.session.add_all([module, assignment, AssignedTraining(assignment=assignment, employee_id=org.ana.id,
                                                                 assigned_on=dt.date(2024, 12, 1), due_on=due_on)])
        db.session.flush()
        if completed_on is not None:
            stamp = dt.datetime.combine(completed_on, dt.time(12, 0))
            db.session.add(Enrollment(employee_id=org.ana.id, module_id=module.id, module_version=1,
                                      started_at=stamp, last_activity_at=stamp, completed_at=stamp,
                                      completed_on=completed_on))

    assigned("on-time", dt.date(2025, 2, 1), dt.date(2025, 1, 20))
    assigned("completed-after-the-period", dt.date(2025, 3, 15), dt.date(2025, 4, 2))
    assigned("due-after-the-period", dt.date(2025, 4, 30), dt.date(2025, 1, 5))
    assigned("withdrawn", dt.date(2025, 1, 10), None, active=False)
    db.session.flush()
    role = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).role_modelling
    assert (role.trainings_assigned, role.trainings_completed, role.completion_share) == (2, 1, 0.5)


def test_the_executive_group_is_the_mean_of_every_active_executive(db, org):
    make_employee("Acme", is_executive=True, active=False)
    db.session.add_all([usage(org.ana, dt.date(2025, 1, 2)), usage(org.ana, dt.date(2025, 1, 9)),
                        usage(org.ana, dt.date(2025, 1, 16)), usage(org.ben, dt.date(2025, 1, 2))])
    db.session.flush()
    group = leadership_record(org.leader_scope, PERIOD, TODAY).executive_group
    assert (group.people, group.weeks, group.active_weeks) == (2, 14, 2.0)


# --- perceived commitment ----------------------------------------------------------------------


def test_perceived_commitment_is_respondent_weighted_over_the_sponsors_area_units(db, org, pulse):
    perceived = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).perceived
    # Leadership: East 5.0 (5 people), West 2.0 (6 people): (25 + 12) / 11 = 3.364 -> 59.1.
    assert (perceived.leadership, perceived.leadership_n) == (pytest.approx(100 * (37 / 11 - 1) / 4), 11)
    # Trust: East 4.0, West 3.0: (20 + 18) / 11 = 3.455 -> 61.4.
    assert (perceived.trust, perceived.trust_n) == (pytest.approx(100 * (38 / 11 - 1) / 4), 11)


def test_perceived_commitment_names_its_round(db, org, pulse):
    perceived = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).perceived
    assert perceived.round_label == "CRM pulse, round 1 (closed 9 Mar 2025)"


def test_perceived_commitment_is_suppressed_below_k_respondents(app, db, org, build_survey):  # noqa: F811
    survey_round = build_survey(units=(SOUTH,), questions=QUESTIONS).rounds[0]
    for person in org.south:  # four people: below k = 5
        answer(survey_round, person, (4, 4, 4))
    prepare(app, db, survey_round)
    perceived = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ben).perceived
    assert (perceived.leadership, perceived.leadership_n, perceived.trust, perceived.suppressed_units) == \
        (None, 0, None, 1)


def test_perceived_commitment_reads_the_latest_round_out_by_the_periods_end(app, db, org, build_survey):  # noqa: F811
    survey = build_survey(units=("Acme",), questions=QUESTIONS, recurrence="weekly", through=OPENS + 7 * DAY)
    first, second = sorted(survey.rounds, key=lambda r: r.number)
    for survey_round, value in ((first, 5), (second, 1)):
        for person in org.east + org.west:
            answer(survey_round, person, (value, value, value))
    prepare(app, db, second, ready=dt.datetime(2025, 4, 2, 9, 0))  # prepares the first round too
    first.results_ready_at = READY
    db.session.flush()
    perceived = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).perceived
    assert (perceived.leadership, perceived.round_label) == (100.0, "CRM pulse, round 1 (closed 9 Mar 2025)")


def test_a_round_that_hides_a_units_group_falls_back_to_its_previous_round(app, db, org, build_survey):  # noqa: F811
    survey = build_survey(units=("Acme",), questions=QUESTIONS, recurrence="weekly", through=OPENS + 7 * DAY)
    first, second = sorted(survey.rounds, key=lambda r: r.number)
    for person in org.east:
        answer(first, person, (5, 5, 5))
    for person in org.west:
        answer(first, person, (2, 2, 2))
        answer(second, person, (2, 2, 2))
    for person in org.east[:3]:  # three answers in the later round: East is hidden there (k = 5)
        answer(second, person, (1, 1, 1))
    prepare(app, db, second, ready=dt.datetime(2025, 3, 20, 9, 0))  # prepares the first round too
    first.results_ready_at = READY
    db.session.flush()
    perceived = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana).perceived
    # Round 2 hides East (3 < k) and so West (North minus West would be East's three): both
    # units read round 1, East 5.0 (5 people) and West 2.0 (6), not round 2's 1s.
    assert (perceived.leadership, perceived.leadership_n) == (pytest.approx(100 * (37 / 11 - 1) / 4), 11)
    assert perceived.round_label == "CRM pulse, round 1 (closed 9 Mar 2025)"
    assert perceived.suppressed_units == 0


def test_a_round_older_than_the_lookback_does_not_stand_for_the_perception(app, db, org, pulse):
    later = commitment_period(dt.date(2025, 12, 1), "2025-Q4")  # round 1's results: 11 March, > 183 days
    perceived = record_of(sponsor_records(org.leader_scope, later, dt.date(2025, 12, 1)), org.ana).perceived
    assert (perceived.leadership, perceived.round_label) == (None, None)


def test_perceived_commitment_by_unit_gives_each_units_own_figure_and_n(db, org, pulse):
    by_unit = dict(perceived_by_unit(org.leader_scope, PERIOD, depth=2))
    assert (by_unit[EAST].leadership, by_unit[EAST].leadership_n) == (100.0, 5)  # all 5s
    assert (by_unit[WEST].leadership, by_unit[WEST].leadership_n) == (25.0, 6)  # all 2s


def test_perceived_commitment_by_unit_is_refused_to_a_manager(db, org):
    manager = scope_for(make_user("manager", make_employee(EAST)))
    with pytest.raises(ScopeError):
        perceived_by_unit(manager, PERIOD)


def test_the_leadership_team_is_perceived_by_the_whole_organization(db, org, pulse):
    perceived = leadership_record(org.leader_scope, PERIOD, TODAY).perceived
    assert (perceived.leadership, perceived.leadership_n) == (pytest.approx(100 * (37 / 11 - 1) / 4), 11)


# --- the objective score and the say–do gap ----------------------------------------------------


def test_the_gap_is_the_objective_score_minus_the_perceived_commitment_and_is_flagged(db, org, pulse):
    # Visibility 100 (no plan, everyone reached); communication 0 (five comments, no reply, no
    # action due); role-modelling 0 (no CRM use, nothing assigned): objective 33.3. Perceived 59.1.
    record_activity(org.leader, org.leader_scope, sponsor_id=org.ana.id, kind="town_hall",
                    occurred_on=dt.date(2025, 2, 3), unit_ids=[make_unit("Acme/North").id], today=TODAY)
    ana = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ana)
    assert ana.objective.parts == {"visibility": 100.0, "communication": 0.0, "role_modelling": 0.0}
    assert ana.gap == pytest.approx(100 / 3 - 100 * (37 / 11 - 1) / 4)
    assert ana.flag == SEEN_MORE


def test_a_sponsor_without_a_perceived_figure_has_no_gap(db, org, pulse):
    ben = record_of(sponsor_records(org.leader_scope, PERIOD, TODAY), org.ben)
    assert (ben.objective.value, ben.perceived.leadership, ben.gap, ben.flag) == (0.0, None, None, None)


# --- outcomes ----------------------------------------------------------------------------------


def weekly_usage(db, unit: str, week: dt.date, licensed: int, active: int) -> None:
    """A ``weekly_unit_usage`` row, as the rollup writes it."""
    db.session.add(WeeklyUnitUsage(week_start=week, unit_id=make_unit(unit).id, licensed=licensed, active=active,
                                   active_days=active, events=active, event_types=active))


def test_outcomes_give_the_last_whole_weeks_adoption_against_target_and_the_weekly_trend(db, org):
    weekly_usage(db, EAST, dt.date(2025, 3, 17), 10, 5)
    weekly_usage(db, EAST, dt.date(2025, 3, 24), 10, 6)
    weekly_usage(db, SOUTH, dt.date(2025, 3, 24), 10, 8)
    weekly_usage(db, EAST, dt.date(2025, 3, 31), 10, 10)  # runs past the period's end
    db.session.flush()
    result = outcomes(org.leader_scope, PERIOD, TODAY)
    assert (result.adoption_rate, result.adoption_target, result.active, result.licensed, result.adoption_week) == \
        (70.0, 70.0, 14, 20, "2025-03-24")
    assert result.adoption_trend == [("2025-03-17", 50.0), ("2025-03-24", 70.0)]


def test_outcomes_fall_back_to_the_latest_week_with_data_when_telemetry_lags(db, org):
    weekly_usage(db, EAST, dt.date(2025, 3, 10), 10, 3)
    db.session.flush()
    result = outcomes(org.leader_scope, PERIOD, TODAY)
    assert (result.adoption_rate, result.adoption_week) == (30.0, "2025-03-10")


def test_outcomes_give_key_behaviours_as_a_share_of_licensed_people(db, org):
    week = dt.date(2025, 3, 24)
    weekly_usage(db, EAST, week, 10, 6)
    weekly_usage(db, SOUTH, week, 10, 8)
    db.session.add_all([WeeklyUnitBehaviour(week_start=week, unit_id=make_unit(EAST).id, event_type="activity_logged",
                                            people=4),
                        WeeklyUnitBehaviour(week_start=week, unit_id=make_unit(SOUTH).id, event_type="activity_logged",
                                            people=1)])
    db.session.flush()
    assert outcomes(org.leader_scope, PERIOD, TODAY).key_behaviours == {"activity_logged": 25.0}


def test_outcomes_give_twelve_months_of_csat_ending_with_the_periods_last_month(db, org):
    stamp = dt.datetime(2025, 4, 1)

    def csat(unit: str, start: dt.date, end: dt.date, value: float, responses: int) -> OutcomeMeasure:
        return OutcomeMeasure(unit_id=make_unit(unit).id, metric="csat", period_start=start, period_end=end,
                              value=value, responses=responses, source="file", content_hash="0" * 64,
                              created_at=stamp, updated_at=stamp)

    db.session.add_all([csat(EAST, dt.date(2024, 3, 1), dt.date(2024, 3, 31), 10.0, 10),  # 13 months back
                        csat(EAST, dt.date(2024, 4, 1), dt.date(2024, 4, 30), 70.0, 10),
                        csat(EAST, dt.date(2025, 3, 1), dt.date(2025, 3, 31), 80.0, 30),
                        csat(SOUTH, dt.date(2025, 3, 1), dt.date(2025, 3, 31), 60.0, 10),
                        csat(EAST, dt.date(2025, 4, 1), dt.date(2025, 4, 30), 90.0, 10)])  # after the period
    db.session.flush()
    points = outcomes(org.leader_scope, PERIOD, TODAY).csat
    assert [(p.month, p.value, p.units, p.n) for p in points] == [("2024-04", 70.0, 1, 10), ("2025-03", 75.0, 2, 40)]


def test_outcomes_count_the_registers_hypotheses_by_verdict(db, org):
    def hypothesis(verdict: str | None, archived: bool = False) -> Hypothesis:
        return Hypothesis(statement="Logging activities goes with CSAT", x="adoption_rate", y="csat",
                          expected_direction=1, lag=1, smallest_effect=0.2, level="team", owner_id=org.leader.id,
                          created_at=dt.datetime(2025, 1, 1), verdict=verdict,
                          archived_at=dt.datetime(2025, 2, 1) if archived else None)

    db.session.add_all([hypothesis("supported"), hypothesis(None), hypothesis("contradicted", archived=True)])
    db.session.flush()
    assert outcomes(org.leader_scope, PERIOD, TODAY).verdicts == {
        "supported": 1, "contradicted": 0, "inconclusive": 0, "not evaluated": 1}


# --- what needs attention ----------------------------------------------------------------------


def test_units_below_target_and_falling_three_weeks_are_urgent(db, org):
    # The four complete weeks before 15 April: East falls 80 -> 50 % (target 70 %), West stays at 90 %.
    for week, active in zip([dt.date(2025, 3, 17), dt.date(2025, 3, 24), dt.date(2025, 3, 31), dt.date(2025, 4, 7)],
                            (8, 7, 6, 5), strict=True):
        weekly_usage(db, EAST, week, 10, active)
        weekly_usage(db, WEST, week, 10, 9)
    db.session.flush()
    (item,) = urgent_items(org.leader_scope, TODAY)
    assert (item.kind, item.count, item.link) == ("units_at_risk", 1, "/dashboards/adoption")
    assert item.text == ("1 unit is below the 70% adoption target and falling 3 weeks in a row "
                         "(most fallen: Acme/North/East, 50%)")


def test_a_sponsors_urgent_items_are_the_replies_and_actions_owed_in_their_areas(db, org, pulse):
    first, _second = (reply(org, c, READY + DAY) for c in east_comments(db)[:2])
    first.awaiting_leader = True
    first.last_message_at = dt.datetime(2025, 4, 10)
    db.session.add_all([plan(EAST, pulse.id, org.leader, dt.date(2025, 2, 1), "in_progress"),
                        plan(SOUTH, pulse.id, org.leader, dt.date(2025, 2, 1), "planned")])
    db.session.flush()
    items = urgent_items(org.leader_scope, TODAY, sponsor_id=org.ana.id)
    assert [(i.kind, i.count) for i in items] == [("awaiting_reply", 1), ("overdue_actions", 1)]
    assert items[0].text == "1 comment in your units awaits a reply (oldest 5 days)"


def test_urgent_items_come_most_urgent_first_up_to_the_limit(db, org, pulse):
    reply(org, east_comments(db)[0], READY + DAY).awaiting_leader = True
    db.session.add_all([plan(EAST, pulse.id, org.leader, dt.date(2025, 2, 1), "planned"),
                        plan(EAST, pulse.id, org.leader, dt.date(2025, 4, 20), "planned")])
    db.session.flush()
    assert [i.kind for i in urgent_items(org.leader_scope, TODAY)] == ["awaiting_reply", "overdue_actions",
                                                                       "actions_due"]
    assert [i.kind for i in urgent_items(org.leader_scope, TODAY, limit=2)] == ["awaiting_reply", "overdue_actions"]


def test_a_sponsor_behind_their_plan_pro_rata_is_told_by_how_much(db, org):
    scope = org.leader_scope
    set_plan(org.leader, scope, sponsor_id=org.ana.id, quarter_start=dt.date(2025, 4, 1), counts={"team_visit": 19})
    record_activity(org.leader, scope, sponsor_id=org.ana.id, kind="team_visit", occurred_on=dt.date(2025, 4, 2),
                    unit_ids=[make_unit(EAST).id], today=TODAY)
    (item,) = urgent_items(scope, TODAY, sponsor_id=org.ana.id)
    # 19 planned × 15 / 91 days = 3.1 expected by 15 April; 1 done.
    assert (item.kind, item.count) == ("plan_behind", 2)
    assert item.text == "2 activities behind plan this quarter: 1 done, 3 expected by now of 19 planned"


def test_an_organization_without_data_gives_empty_indicators(db, leader):
    scope = scope_for(leader)
    team, result = leadership_record(scope, PERIOD, TODAY), outcomes(scope, PERIOD, TODAY)
    assert (team.sponsors, team.perceived.leadership, team.gap, team.executive_group.people) == (0, None, None, 0)
    assert (result.adoption_rate, result.adoption_week, result.adoption_trend, result.csat) == (None, None, [], [])
    assert (sponsor_records(scope, PERIOD, TODAY), urgent_items(scope, TODAY)) == ([], [])


# --- scope -------------------------------------------------------------------------------------

CALLS = {
    "sponsor_records": lambda scope: sponsor_records(scope, PERIOD, TODAY),
    "leadership_record": lambda scope: leadership_record(scope, PERIOD, TODAY),
    "outcomes": lambda scope: outcomes(scope, PERIOD, TODAY),
    "urgent_items": lambda scope: urgent_items(scope, TODAY),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_manager_is_refused_every_indicator(db, org, call):
    manager = make_user("manager", make_employee(EAST))
    with pytest.raises(ScopeError):
        call(scope_for(manager))


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_an_employee_is_refused_every_indicator(db, org, call):
    employee = make_user("employee", org.east[0])
    with pytest.raises(ScopeError):
        call(scope_for(employee))


def test_a_change_leader_reads_every_sponsors_record_by_name(db, org):
    assert [r.name for r in sponsor_records(org.leader_scope, PERIOD, TODAY)] == ["Ana Sponsor", "Ben Sponsor"]


def test_an_executive_reads_only_their_own_sponsor_record(db, org):
    assert [r.sponsor_id for r in sponsor_records(executive(org.ana), PERIOD, TODAY)] == [org.ana.id]


def test_an_executive_who_is_not_a_sponsor_reads_no_sponsor_record(db, org):
    other = make_employee("Acme", is_executive=True)
    assert sponsor_records(executive(other), PERIOD, TODAY) == []


def test_an_executive_cannot_ask_for_another_sponsors_urgent_items(db, org):
    with pytest.raises(ScopeError):
        urgent_items(executive(org.ana), TODAY, sponsor_id=org.ben.id)


def test_the_executive_group_is_hidden_from_an_executive_with_fewer_than_three_other_executives(db, org):
    make_employee("Acme", is_executive=True)  # Ana sees Ben and this one: two others
    assert leadership_record(executive(org.ana), PERIOD, TODAY).executive_group is None


def test_the_executive_group_is_shown_to_an_executive_with_three_other_executives(db, org):
    for _ in range(2):
        make_employee("Acme", is_executive=True)
    group = leadership_record(executive(org.ana), PERIOD, TODAY).executive_group
    assert (group.people, group.withheld) == (4, False)


def test_the_sponsors_mean_crm_use_is_withheld_from_a_sponsor_with_too_few_other_sponsors(db, org):
    db.session.add_all([usage(org.ben, dt.date(2025, 1, 2))])
    db.session.flush()
    role = leadership_record(executive(org.ana), PERIOD, TODAY).role_modelling
    assert (role.withheld, role.people, role.active_share, role.completion_share) == (True, 2, None, None)


def test_a_withheld_crm_use_is_left_out_of_the_teams_objective_score(db, org):
    db.session.add_all([usage(org.ben, dt.date(2025, 1, 2))])
    db.session.flush()
    assert leadership_record(executive(org.ana), PERIOD, TODAY).objective.parts["role_modelling"] is None
    assert leadership_record(org.leader_scope, PERIOD, TODAY).objective.parts["role_modelling"] is not None


def test_the_executive_group_is_hidden_when_it_differs_from_the_sponsors_by_fewer_than_three(db, org):
    # Sponsors Ana, Ben, Cleo, Dan; executives the same and Eve: the group minus the sponsors is Eve.
    cleo, dan = (make_employee("Acme", is_executive=True) for _ in range(2))
    make_employee("Acme", is_executive=True, full_name="Eve Executive")
    save_initiative("CRM rollout", start_date=dt.date(2024, 6, 1), licensed_seats=100, adoption_target_pct=70,
                    key_behaviours=["activity_logged"], sponsors=[org.ana, org.ben, cleo, dan])
    team = leadership_record(executive(org.ana), PERIOD, TODAY)
    assert (team.role_modelling.withheld, team.executive_group) == (False, None)


def test_an_executive_never_gets_another_executives_crm_use_from_any_function(db, org):
    # Ben's own record, as the change leader reads it: 2 active weeks, 1 training of 1 completed.
    db.session.add_all([usage(org.ana, dt.date(2025, 1, 2)), usage(org.ben, dt.date(2025, 2, 4)),
                        usage(org.ben, dt.date(2025, 3, 4))])
    db.session.flush()
    scope = executive(org.ana)
    seen: list[object] = [*sponsor_records(scope, PERIOD, TODAY), leadership_record(scope, PERIOD, TODAY),
                          outcomes(scope, PERIOD, TODAY), *urgent_items(scope, TODAY, limit=10),
                          *urgent_items(scope, TODAY, sponsor_id=org.ana.id, limit=10)]
    with pytest.raises(ScopeError):
        urgent_items(scope, TODAY, sponsor_id=org.ben.id)

    def role_models(value: object):
        if isinstance(value, RoleModelling):
            yield value
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                yield from role_models(getattr(value, f.name))

    visible = [m for item in seen for m in role_models(item) if not m.withheld]
    assert [(m.people, m.active_weeks) for m in visible] == [(1, 1.0)]  # Ana's own, nothing else
