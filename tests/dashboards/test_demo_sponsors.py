"""Issue 7 on the small demo: three sponsors with different stories, each planted where the
commitment dashboard reads it (activities and plans, own CRM use and training, what their
regions answer to the leadership items, how soon their comments get a reply).

The tests read one module-wide demo load; the second load comes last."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from sqlalchemy import func, select

from adoption.demo import ABSENT, SPONSOR_STORIES, UNCOMMITTED, VISIBLE, load_demo, sponsor_stories
from adoption.demo_calendar import REFERENCE
from adoption.extensions import db as _db
from adoption.models import (
    ACTIVITY_KINDS,
    DailyUsage,
    OrgUnit,
    OutboxMessage,
    Role,
    SponsorActivity,
    SponsorArea,
    SponsorPlan,
    User,
)
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.scope import scope_for
from adoption.sponsors import activities, areas_of, plan_counts, quarter_bounds
from dashboards.demo_sponsors import DONE, current_counts, load_sponsor_demo
from surveys.models import Comment, CommentThread, SurveyRound
from surveys.results import group_results
from tests.conftest import demo_loaded
from training.models import AssignedTraining, Enrollment

SEED = 7
# The demo's "today" as the suite loads it (tests/conftest.py: the reference day).
REFERENCE_DATE = REFERENCE.today


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The small demo with every feature's demo data."""
    with demo_loaded(tmp_path_factory.mktemp("sponsor_demo"), SEED) as (application, _summary):
        yield application


@pytest.fixture
def leader_scope(app):
    """The demo change leader's scope (every sponsor, every unit)."""
    leader = _db.session.scalar(select(User).where(User.role == Role.CHANGE_LEADER.value))
    return scope_for(leader)


@pytest.fixture
def sponsors(app) -> dict[str, int]:
    """Sponsor employee id by story profile."""
    return {story.profile: employee_id for employee_id, story in sponsor_stories().items()}


def _region(path: str) -> str:
    return path.split(UNIT_PATH_SEPARATOR)[1]


def test_each_sponsor_has_a_story_and_answers_for_their_own_regions(sponsors):
    assert set(sponsors) == {VISIBLE, ABSENT, UNCOMMITTED}
    areas = {profile: sorted(_region(u.path) for u in areas_of(sponsor_id)) for profile, sponsor_id in sponsors.items()}
    assert areas == {s.profile: sorted(s.regions) for s in SPONSOR_STORIES}
    every = [region for regions in areas.values() for region in regions]
    assert sorted(every) == ["APAC", "EMEA", "LATAM", "North America"]  # each region once


def test_the_visible_and_the_busy_sponsor_met_this_quarters_plan_and_the_absent_one_did_not(sponsors, leader_scope):
    first, last = quarter_bounds(REFERENCE_DATE)
    done = {profile: len(activities(leader_scope, sponsor_id=sponsor_id, start=first, end=last))
            for profile, sponsor_id in sponsors.items()}
    planned = {profile: sum(plan_counts(sponsor_id, first).values()) for profile, sponsor_id in sponsors.items()}

    assert all(planned.values())
    assert done[VISIBLE] >= planned[VISIBLE]
    assert done[UNCOMMITTED] >= planned[UNCOMMITTED]
    assert done[ABSENT] <= planned[ABSENT] / 3


def test_plans_cover_three_quarters_and_activities_fall_in_them_before_today(sponsors):
    starts = sorted(set(_db.session.scalars(select(SponsorPlan.quarter_start))))
    assert starts == [dt.date(2026, 4, 1), dt.date(2026, 7, 1), dt.date(2026, 10, 1)]
    rows = _db.session.scalars(select(SponsorActivity)).all()
    assert {a.sponsor_id for a in rows} == set(sponsors.values())
    assert all(starts[0] <= a.occurred_on < REFERENCE_DATE and a.occurred_on.weekday() < 5 for a in rows)
    assert {a.kind for a in rows} == set(ACTIVITY_KINDS)
    assert all(a.units and (a.note or a.outbox_subject) for a in rows)
    # Every audience lies within the sponsor's own areas.
    for a in rows:
        regions = {_region(u.path) for u in areas_of(a.sponsor_id)}
        assert {_region(u.path) for u in a.units} <= regions


def test_the_busy_sponsor_sends_the_most_messages_and_two_went_out_from_the_app(sponsors, leader_scope):
    first, last = quarter_bounds(REFERENCE_DATE)
    messages = {profile: sum(1 for a in activities(leader_scope, sponsor_id=sponsor_id, start=first, end=last)
                             if a.kind == "message") for profile, sponsor_id in sponsors.items()}
    assert messages[UNCOMMITTED] > messages[VISIBLE] > messages[ABSENT] == 0

    sent = _db.session.scalars(select(SponsorActivity).where(SponsorActivity.outbox_subject.is_not(None))).all()
    assert {a.sponsor_id for a in sent} == {sponsors[VISIBLE], sponsors[UNCOMMITTED]}
    assert all(a.recipients and a.recipients > 100 for a in sent)
    outbox = _db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sponsor_message")).all()
    assert sorted(m.subject for m in outbox) == sorted(a.outbox_subject for a in sent)
    # The CEO sent theirs with their own executive login.
    ceo_message = next(a for a in sent if a.sponsor_id == sponsors[VISIBLE])
    assert _db.session.get(User, ceo_message.recorded_by_id).role == Role.EXECUTIVE.value


def test_the_absent_sponsor_never_uses_the_crm_and_the_others_use_it_every_week(sponsors):
    first, _ = quarter_bounds(REFERENCE_DATE)
    weeks = {}
    for profile, sponsor_id in sponsors.items():
        days = _db.session.scalars(select(DailyUsage.day).distinct()
                                   .where(DailyUsage.employee_id == sponsor_id, DailyUsage.day >= first)).all()
        weeks[profile] = len({day.isocalendar()[:2] for day in days})
        if profile == ABSENT:
            assert _db.session.scalar(select(func.count()).select_from(DailyUsage)
                                      .where(DailyUsage.employee_id == sponsor_id)) == 0
    # 1 October to 22 November: eight weeks, the first and last partial.
    assert weeks[ABSENT] == 0
    assert weeks[VISIBLE] >= 7 and weeks[UNCOMMITTED] >= 7


def test_the_absent_sponsor_did_not_complete_their_training_and_the_others_did(sponsors):
    for profile, sponsor_id in sponsors.items():
        assigned = set(_db.session.scalars(
            select(AssignedTraining.assignment_id).where(AssignedTraining.employee_id == sponsor_id)))
        completed = _db.session.scalar(select(func.count()).select_from(Enrollment).where(
            Enrollment.employee_id == sponsor_id, Enrollment.completed_on.is_not(None)))
        assert assigned, profile
        if profile == ABSENT:
            assert completed == 0
        else:
            assert completed >= len(assigned), profile


def _perceived(scope, round_id: int, sponsor_id: int, construct: str) -> tuple[float, int]:
    """Mean (1-5) and n of a construct's items over the sponsor's area groups that may be shown."""
    total = n = 0
    for unit in areas_of(sponsor_id):
        group = group_results(scope, round_id, unit.id)
        for item in group.items:
            if item.construct == construct and item.n:
                total += item.mean * item.n
                n += item.n
    return (total / n if n else float("nan")), n


def test_leadership_commitment_is_seen_clearly_higher_where_the_sponsor_is_visible(sponsors, leader_scope):
    latest = _db.session.scalar(select(SurveyRound).where(SurveyRound.results_ready_at.is_not(None))
                                .order_by(SurveyRound.number.desc()).limit(1))
    leadership = {p: _perceived(leader_scope, latest.id, s, "leadership_commitment") for p, s in sponsors.items()}
    trust = {p: _perceived(leader_scope, latest.id, s, "feedback_trust") for p, s in sponsors.items()}

    assert all(n >= 50 for _, n in leadership.values()), leadership
    assert leadership[VISIBLE][0] >= 3.8
    for other in (ABSENT, UNCOMMITTED):
        assert leadership[VISIBLE][0] - leadership[other][0] >= 0.8, leadership
        assert trust[VISIBLE][0] - trust[other][0] >= 0.2, trust


def test_comments_in_the_visible_sponsors_region_get_more_and_faster_replies(sponsors):
    rows = _db.session.execute(
        select(OrgUnit.path, CommentThread.first_reply_at, SurveyRound.results_ready_at)
        .select_from(Comment)
        .join(OrgUnit, OrgUnit.id == Comment.unit_id)
        .join(SurveyRound, SurveyRound.id == Comment.round_id)
        .outerjoin(CommentThread, CommentThread.comment_id == Comment.id)
        .where(Comment.group_unit_id.is_not(None))
    ).all()
    stories = {region: story.profile for story in SPONSOR_STORIES for region in story.regions}
    replied: dict[str, list[bool]] = {VISIBLE: [], ABSENT: [], UNCOMMITTED: []}
    waits: dict[str, list[float]] = {VISIBLE: [], ABSENT: [], UNCOMMITTED: []}
    for path, first_reply_at, ready_at in rows:
        if path.count(UNIT_PATH_SEPARATOR) < 1:
            continue  # headquarters
        profile = stories[_region(path)]
        replied[profile].append(first_reply_at is not None)
        if first_reply_at is not None:
            waits[profile].append((first_reply_at - ready_at).total_seconds() / 86400)
    share = {p: sum(r) / len(r) for p, r in replied.items()}
    median = {p: statistics.median(w) for p, w in waits.items()}

    for other in (ABSENT, UNCOMMITTED):
        assert share[VISIBLE] > 2 * share[other], share
        assert median[VISIBLE] + 2 < median[other], median


def test_the_commitment_records_show_each_case_with_the_gap_only_for_the_busy_sponsor(app, sponsors, leader_scope):
    from dashboards.commitment import commitment_period, sponsor_records
    from dashboards.metrics.commitment import GAP_THRESHOLD, SEEN_LESS

    period = commitment_period(REFERENCE_DATE)
    records = {r.sponsor_id: r for r in sponsor_records(leader_scope, period, REFERENCE_DATE, app.config)}
    visible, absent, busy = (records[sponsors[p]] for p in (VISIBLE, ABSENT, UNCOMMITTED))

    assert visible.objective.value > busy.objective.value > absent.objective.value
    assert visible.perceived.leadership > busy.perceived.leadership
    assert visible.perceived.leadership > absent.perceived.leadership
    # Visible and consistent, absent and consistent: no flag. Busy but not seen as committed: flagged.
    assert visible.flag is None and absent.flag is None
    assert busy.flag == SEEN_LESS and busy.gap >= GAP_THRESHOLD + 5
    assert all(r.perceived.leadership_n >= 50 for r in records.values())


def test_calling_the_loader_again_only_describes_what_is_there(app):
    before = _db.session.scalar(select(func.count()).select_from(SponsorActivity))
    line = load_sponsor_demo("small", SEED, REFERENCE)
    assert "(already present)" in line
    assert _db.session.scalar(select(func.count()).select_from(SponsorActivity)) == before
    _db.session.rollback()


def test_loading_the_demo_again_adds_no_sponsor_data(app):
    def counts():
        return tuple(_db.session.scalar(select(func.count()).select_from(model))
                     for model in (SponsorActivity, SponsorPlan, SponsorArea, OutboxMessage))

    before = counts()
    summary = load_demo(size="small", seed=SEED)
    _db.session.commit()

    assert counts() == before
    assert any(line.startswith("Sponsors (already present): 3") for line in summary.extras)


def test_the_current_quarters_sponsor_actions_keep_the_reference_pace_and_never_pass_its_counts():
    reference_quarter = quarter_bounds(REFERENCE.today)[0]
    for profile, done in DONE.items():
        reference = done[-1]
        assert current_counts(profile, reference_quarter, REFERENCE.today) == reference
        assert current_counts(profile, dt.date(2027, 4, 1), dt.date(2027, 6, 14)) == reference  # later: no more
        assert not any(current_counts(profile, dt.date(2027, 1, 1), dt.date(2027, 1, 4)).values())  # one day
        month = current_counts(profile, dt.date(2027, 1, 1), dt.date(2027, 2, 1))  # 21 weekdays of 38
        assert all(month[kind] <= reference[kind] for kind in reference)
        assert 0 < sum(month.values()) < sum(reference.values()) or profile == ABSENT
