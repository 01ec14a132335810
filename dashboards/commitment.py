"""Commitment indicators (D2, issue 7): what each sponsor and the leadership team did, what their
units' employees perceive, the gap between the two, and what needs them now.

Every function takes the user's ``Scope`` and checks it here (the data layer):

- change leaders and admins read every sponsor's record;
- an executive reads their own record (if they are a sponsor), the leadership team's aggregates,
  and the executive group's CRM use only when enough other executives stand behind it
  (``EXECUTIVE_GROUP_MIN_OTHERS``), never another executive's individual CRM use;
- managers and employees get ``ScopeError``.

Definitions: docs/metrics.md, "Commitment". The pure arithmetic (scores, the gap) is
``dashboards/metrics/commitment.py``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import aliased

from adoption.extensions import db
from adoption.initiative import current_initiative
from adoption.models import (
    ACTIVITY_KINDS,
    DailyUsage,
    Employee,
    Hypothesis,
    OrgUnit,
    OutcomeMeasure,
    Role,
    SponsorActivity,
    sponsor_activity_units,
)
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.scope import Scope, ScopeError
from adoption.sponsors import (
    all_sponsors,
    areas_of,
    plan_counts,
    quarter_bounds,
    quarter_label,
    readable_sponsors,
    require_sponsor,
)
from adoption.telemetry.rollups import week_start_day
from dashboards import queries
from dashboards.metrics import adoption as adoption_metrics
from dashboards.metrics import commitment as metrics
from dashboards.metrics.commitment import GAP_THRESHOLD, Score
from surveys.metrics import rate
from surveys.models import (
    ALL_BANDS,
    ActionPlan,
    ActionPlanUpdate,
    Comment,
    CommentThread,
    PlanStatus,
    RoundGroup,
    RoundQuestion,
    Scale,
    Survey,
    SurveyItem,
    SurveyItemVersion,
    SurveyQuestion,
    SurveyRound,
    ThreadStatus,
)
from surveys.results import group_results
from training.models import AssignedTraining, Assignment, Enrollment

__all__ = [
    "EXECUTIVE_GROUP_MIN_OTHERS", "GAP_THRESHOLD", "NEW_QUARTER_DAYS", "Communication", "LeadershipRecord",
    "Outcomes", "Perceived", "Period", "RoleModelling", "Score", "SponsorRecord", "TrendPoint", "UrgentItem",
    "Visibility", "commitment_period", "default_quarter", "leadership_record", "outcomes", "quarter_value",
    "sponsor_records", "urgent_items",
]

#: An executive sees the executive group's CRM use only when at least this many other
#: executives are in it, so that the group's figure cannot be turned into another's.
EXECUTIVE_GROUP_MIN_OTHERS = 3
#: Who reads commitment indicators at all.
READER_ROLES = frozenset({Role.EXECUTIVE, Role.CHANGE_LEADER, Role.ADMIN})
#: Survey constructs behind the perceived commitment (surveys/item_bank.yaml).
LEADERSHIP_CONSTRUCT = "leadership_commitment"
TRUST_CONSTRUCT = "feedback_trust"
#: Months of CSAT and NPS shown, ending with the period's last month.
OUTCOME_MONTHS = 12
#: "Actions due" in the urgent items: due from today on, within this many days.
ACTIONS_DUE_DAYS = 14
#: How far before the period's end a round's results may be to stand for the perception.
PERCEIVED_LOOKBACK_DAYS = 183
#: For this many days after a quarter starts, the Commitment page opens on the quarter just ended:
#: a few days of activities against a plan pro rata, and no pulse results yet, say nothing about
#: a sponsor, while the quarter just ended is what the new quarter's board pack is about.
NEW_QUARTER_DAYS = 28
#: Where each urgent item is acted on.
LINKS = {
    "units_at_risk": "/dashboards/adoption",
    "awaiting_reply": "/surveys/conversations/",
    "overdue_actions": "/surveys/actions/",
    "actions_due": "/surveys/actions/",
    "plan_behind": "/sponsors/",
}
#: The order urgent items are listed in (most urgent first).
URGENT_ORDER = ("units_at_risk", "awaiting_reply", "overdue_actions", "actions_due", "plan_behind")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_OPEN_PLAN = (PlanStatus.PLANNED.value, PlanStatus.IN_PROGRESS.value)

@dataclass(frozen=True)
class Period:
    """The days the indicators cover (inclusive), e.g. a calendar quarter up to today."""

    start: dt.date
    end: dt.date
    label: str  # e.g. "2026 Q4 (1 Oct – 6 Dec 2026)"


@dataclass(frozen=True)
class Visibility:
    """Visible actions against plan, and how many people they reached."""

    done: int  # activities in the period
    planned: int | None  # planned for the period's quarter(s); None when no plan was set
    by_kind: dict[str, tuple[int, int | None]]  # kind -> (done, planned or None)
    reached: int  # active people in the units an activity of the period was addressed to
    employees: int  # active people in the sponsor's areas (the organization for the team)
    # Planned pro rata to the part of each quarter the period covers (None without a plan):
    # what the visibility score compares ``done`` with, so a quarter to date is not "behind".
    expected: float | None = None

    @property
    def plan_share(self) -> float | None:
        """Done / planned (0–1, may pass 1); None without a plan."""
        return rate(self.done, self.planned or 0)

    @property
    def reach_share(self) -> float | None:
        """Reached / employees (0–1); None without employees."""
        share = rate(self.reached, self.employees)
        return None if share is None else min(share, 1.0)

    @property
    def pace_share(self) -> float | None:
        """Done / expected by the period's end (0–1, may pass 1); None without a plan."""
        return metrics.plan_pace(self.done, self.expected)


@dataclass(frozen=True)
class Communication:
    """Messages, answers to employees' comments, and "you said, we did" actions closed on time,
    in the sponsor's areas."""

    messages: int  # messages recorded in the period (sent from the app or elsewhere)
    comments: int  # comments shown to leaders, of rounds whose results came out in the period
    replied: int  # of those, comments with a leader's reply
    median_days_to_first_reply: float | None  # results out -> first reply, over replied comments
    awaiting_reply: int  # open threads whose last message is the author's (now)
    actions_due: int  # action plans due in the period
    actions_closed_on_time: int  # of those, marked done on or before their due date
    actions_overdue: int  # plans due before today, neither done nor dropped (now)

    @property
    def reply_share(self) -> float | None:
        """Replied / comments (0–1); None without comments."""
        return rate(self.replied, self.comments)

    @property
    def on_time_share(self) -> float | None:
        """Closed on time / due (0–1); None when nothing was due."""
        return rate(self.actions_closed_on_time, self.actions_due)


@dataclass(frozen=True)
class RoleModelling:
    """The sponsor's own (or the group's mean) CRM use and training completion."""

    people: int  # 1 for a sponsor; the group's size for a group
    weeks: int  # whole or partial weeks in the period
    active_weeks: float  # weeks with any active CRM use (mean per person for a group)
    key_behaviour_weeks: float  # weeks with a key behaviour (mean per person)
    trainings_assigned: int  # assigned training due in or before the period
    trainings_completed: int  # of those, completed (by the period's end)
    # True when this user may not see the figure (too few other executives behind it): every
    # count is then 0 and every share None.
    withheld: bool = False

    @property
    def active_share(self) -> float | None:
        """Active weeks / weeks (0–1)."""
        return rate(self.active_weeks, self.weeks)

    @property
    def key_behaviour_share(self) -> float | None:
        """Key-behaviour weeks / weeks (0–1)."""
        return rate(self.key_behaviour_weeks, self.weeks)

    @property
    def completion_share(self) -> float | None:
        """Completed / assigned training (0–1); None when nothing was assigned."""
        return rate(self.trainings_completed, self.trainings_assigned)


@dataclass(frozen=True)
class Perceived:
    """What the sponsor's units' employees answered to the leadership-commitment and
    trust-in-action items, on 0–100, under the survey's anonymity rules."""

    leadership: float | None  # 0-100; None when no group could be shown
    leadership_n: int  # respondents behind it (0 when nothing shown)
    trust: float | None
    trust_n: int
    round_label: str | None  # the round the figures come from
    suppressed_units: int  # area units whose group could not be shown (not enough responses)


@dataclass(frozen=True)
class SponsorRecord:
    """One sponsor's indicators over a period, their objective score, and the say–do gap."""

    sponsor_id: int
    name: str
    areas: tuple[str, ...]  # unit paths the sponsor answers for
    visibility: Visibility
    communication: Communication
    role_modelling: RoleModelling
    perceived: Perceived
    objective: Score
    gap: float | None  # objective - perceived leadership (points); None when either is missing
    flag: str | None  # "seen less than done" / "seen more than done" when |gap| >= threshold


@dataclass(frozen=True)
class LeadershipRecord:
    """The sponsors as a team, and the executive group's CRM use."""

    sponsors: int
    visibility: Visibility
    communication: Communication
    role_modelling: RoleModelling  # the sponsors' mean (withheld from an executive with too few others)
    executive_group: RoleModelling | None  # every active executive; None when hidden from this user
    perceived: Perceived  # the whole organization
    objective: Score
    gap: float | None
    flag: str | None
    #: How the team is named wherever it stands beside the sponsors (tables, figures, CSV).
    name: str = "Leadership team"


@dataclass(frozen=True)
class TrendPoint:
    """One month of an outcome: its (response-weighted) mean and the units and responses behind it."""

    month: str  # "2026-11"
    value: float
    units: int
    n: int


@dataclass(frozen=True)
class Outcomes:
    """Organization adoption against target, key behaviours, CSAT and NPS, hypotheses."""

    adoption_rate: float | None  # 0-100, active people / licensed seats in the last whole week with data
    adoption_target: float | None  # 0-100
    active: int
    licensed: int
    adoption_trend: list[tuple[str, float]]  # (week start ISO, rate 0-100) over the period
    key_behaviours: dict[str, float | None]  # event type -> share of licensed people (0-100)
    csat: list[TrendPoint]
    nps: list[TrendPoint]
    verdicts: dict[str, int]  # supported / contradicted / inconclusive / not evaluated -> count
    # First day (ISO) of the week adoption_rate, active, licensed and key_behaviours are from:
    # the latest whole week by the period's end with usage rollups; None when there is none.
    adoption_week: str | None = None


@dataclass(frozen=True)
class UrgentItem:
    """Something that needs a sponsor now, with how many and where to act."""

    kind: str  # "units_at_risk", "awaiting_reply", "overdue_actions", "actions_due", "plan_behind"
    count: int
    text: str  # one line, e.g. "12 comments in your units await a reply (oldest 9 days)"
    link: str  # app path where it is acted on


# --- access ------------------------------------------------------------------------------------


def _require_reader(scope: Scope) -> None:
    """Refuse managers and employees: commitment indicators are for the leadership."""
    if scope.role not in READER_ROLES:
        raise ScopeError("only executives, change leaders and admins read commitment indicators")


def _withheld(scope: Scope, sponsor_ids: Iterable[int], executive_ids: Iterable[int]) -> tuple[bool, bool]:
    """Whether the sponsors' mean CRM use and the executive group's are withheld from ``scope``.

    Only an executive is ever refused. Each figure needs ``EXECUTIVE_GROUP_MIN_OTHERS`` people
    besides the executive; and when both are shown, the people in one group and not the other
    (which the two figures together reveal) must be none or as many, else the group is withheld.
    """
    if scope.role is not Role.EXECUTIVE:
        return False, False
    me = {scope.employee_id}
    sponsors, executives = set(sponsor_ids), set(executive_ids)
    sponsors_hidden = len(sponsors - me) < EXECUTIVE_GROUP_MIN_OTHERS
    group_hidden = len(executives - me) < EXECUTIVE_GROUP_MIN_OTHERS
    if not sponsors_hidden and not group_hidden:
        differing = len((sponsors ^ executives) - me)
        group_hidden = 0 < differing < EXECUTIVE_GROUP_MIN_OTHERS
    return sponsors_hidden, group_hidden


# --- the period --------------------------------------------------------------------------------


def _day_month(day: dt.date) -> str:
    """"1 Oct" (no platform-specific strftime flags)."""
    return f"{day.day} {day:%b}"


def quarter_value(quarter_start: dt.date) -> str:
    """A quarter as ``commitment_period`` reads it: "2026-Q4"."""
    return f"{quarter_start.year}-Q{(quarter_start.month - 1) // 3 + 1}"


def default_quarter(today: dt.date) -> str:
    """The quarter the Commitment page opens on ("2026-Q4"): the current one, or the one just
    ended during the current one's first ``NEW_QUARTER_DAYS`` days."""
    first, _last = quarter_bounds(today)
    if (today - first).days < NEW_QUARTER_DAYS:
        first = quarter_bounds(first - dt.timedelta(days=1))[0]
    return quarter_value(first)


def commitment_period(today: dt.date, quarter: str | None = None) -> Period:
    """The calendar quarter ``quarter`` ("2026-Q3"), or the current one, up to ``today``."""
    if quarter is None:
        first, last = quarter_bounds(today)
    else:
        match = _QUARTER.match(quarter.strip())
        if match is None:
            raise ValueError(f"a quarter is written like 2026-Q3, not {quarter!r}")
        year, number = int(match.group(1)), int(match.group(2))
        first, last = quarter_bounds(dt.date(year, 3 * number - 2, 1))
    if first > today:
        raise ValueError(f"the quarter starting on {first} has not begun")
    end = min(last, today)
    label = f"{quarter_label(first)} ({_day_month(first)} – {_day_month(end)} {end.year})"
    return Period(first, end, label)


def _quarters(period: Period) -> list[tuple[dt.date, dt.date]]:
    """The calendar quarters the period overlaps, oldest first."""
    quarters = []
    day = period.start
    while day <= period.end:
        first, last = quarter_bounds(day)
        quarters.append((first, last))
        day = last + dt.timedelta(days=1)
    return quarters


def _instant(day: dt.date) -> dt.datetime:
    """Midnight starting ``day`` (timestamps are naive UTC)."""
    return dt.datetime.combine(day, dt.time.min)


def _weeks(period: Period) -> list[dt.date]:
    """First days of the weeks (WEEK_START) the period overlaps."""
    return adoption_metrics.weeks_in_period(period.start, period.end, week_start_day())


# --- units -------------------------------------------------------------------------------------


def _top_units() -> list[OrgUnit]:
    """The organization's root units."""
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.path)))


def _outermost(units: Iterable[OrgUnit]) -> list[OrgUnit]:
    """``units`` without those lying below another of them (a subtree is counted once)."""
    units = sorted(units, key=lambda u: u.path)
    paths = {u.path for u in units}
    kept = []
    for unit in units:
        parts = unit.path.split(UNIT_PATH_SEPARATOR)
        if not any(UNIT_PATH_SEPARATOR.join(parts[:i]) in paths for i in range(1, len(parts))):
            kept.append(unit)
    return kept


def _at_or_below(tops):
    """SELECT the ids of the units at or below any of ``tops`` (ids, or a SELECT of ids)."""
    top, unit = aliased(OrgUnit), aliased(OrgUnit)
    prefix = top.path + UNIT_PATH_SEPARATOR
    # substr, not LIKE: exact and case-sensitive on both databases (as adoption.org.subtree_filter).
    return (select(unit.id)
            .join(top, or_(unit.id == top.id, func.substr(unit.path, 1, func.length(prefix)) == prefix))
            .where(top.id.in_(tops)))


def _in_areas(unit_column, area_ids: Sequence[int] | None):
    """A WHERE clause keeping rows whose unit lies in the areas (everything when ``None``)."""
    return true() if area_ids is None else unit_column.in_(_at_or_below(list(area_ids)))


# --- visibility --------------------------------------------------------------------------------


def _visibility(sponsor_ids: Sequence[int], area_ids: Sequence[int] | None, period: Period) -> Visibility:
    """Activities of the sponsors in the period against their plans, and the people reached."""
    in_period = and_(SponsorActivity.sponsor_id.in_(list(sponsor_ids)),
                     SponsorActivity.occurred_on >= period.start, SponsorActivity.occurred_on <= period.end)
    done = {kind: int(n) for kind, n in db.session.execute(
        select(SponsorActivity.kind, func.count()).where(in_period).group_by(SponsorActivity.kind))}
    planned: dict[str, int] = {}
    quarters = []
    for first, last in _quarters(period):
        in_quarter = 0
        for sponsor_id in sponsor_ids:
            for kind, count in plan_counts(sponsor_id, first).items():
                planned[kind] = planned.get(kind, 0) + count
                in_quarter += count
        covered = (min(last, period.end) - max(first, period.start)).days + 1
        quarters.append((in_quarter, covered, (last - first).days + 1))
    addressed = (select(sponsor_activity_units.c.unit_id)
                 .join(SponsorActivity, SponsorActivity.id == sponsor_activity_units.c.activity_id)
                 .where(in_period))
    reached_here = Employee.unit_id.in_(_at_or_below(addressed))
    employees, reached = db.session.execute(
        select(func.count(Employee.id), func.coalesce(func.sum(case((reached_here, 1), else_=0)), 0))
        .where(Employee.active.is_(True), _in_areas(Employee.unit_id, area_ids))
    ).one()
    total_planned = sum(planned.values())
    return Visibility(
        done=sum(done.values()),
        planned=total_planned or None,
        by_kind={kind: (done.get(kind, 0), planned.get(kind) or None) for kind in ACTIVITY_KINDS},
        reached=int(reached or 0),
        employees=int(employees or 0),
        expected=metrics.prorated_plan(quarters),
    )


# --- communication -----------------------------------------------------------------------------


def _communication(sponsor_ids: Sequence[int], area_ids: Sequence[int] | None, period: Period,
                   today: dt.date) -> Communication:
    """Messages of the sponsors, and the replies and actions owed to the areas' employees."""
    messages = db.session.scalar(select(func.count(SponsorActivity.id)).where(
        SponsorActivity.sponsor_id.in_(list(sponsor_ids)), SponsorActivity.kind == "message",
        SponsorActivity.occurred_on >= period.start, SponsorActivity.occurred_on <= period.end))
    after = _instant(period.end + dt.timedelta(days=1))
    # Comments leaders could read: shown in a group of the areas, results out in the period.
    shown = and_(Comment.group_unit_id.is_not(None), _in_areas(Comment.group_unit_id, area_ids),
                 SurveyRound.results_ready_at >= _instant(period.start), SurveyRound.results_ready_at < after)
    replied_by_end = and_(CommentThread.comment_id == Comment.id, CommentThread.first_reply_at.is_not(None),
                          CommentThread.first_reply_at < after)
    comments, replied = db.session.execute(
        select(func.count(Comment.id), func.count(CommentThread.id)).select_from(Comment)
        .join(SurveyRound, SurveyRound.id == Comment.round_id)
        .outerjoin(CommentThread, replied_by_end).where(shown)
    ).one()
    waits = [max((first_reply - ready).total_seconds(), 0.0) / 86400 for ready, first_reply in db.session.execute(
        select(SurveyRound.results_ready_at, CommentThread.first_reply_at).select_from(Comment)
        .join(SurveyRound, SurveyRound.id == Comment.round_id)
        .join(CommentThread, replied_by_end).where(shown))]
    awaiting = db.session.scalar(select(func.count(CommentThread.id)).where(
        CommentThread.status == ThreadStatus.OPEN.value, CommentThread.awaiting_leader.is_(True),
        _in_areas(CommentThread.unit_id, area_ids)))
    due, on_time, overdue = _action_counts(area_ids, period, today)
    return Communication(
        messages=int(messages or 0), comments=int(comments or 0), replied=int(replied or 0),
        median_days_to_first_reply=metrics.median_days(waits), awaiting_reply=int(awaiting or 0),
        actions_due=due, actions_closed_on_time=on_time, actions_overdue=overdue,
    )


def _action_counts(area_ids: Sequence[int] | None, period: Period, today: dt.date) -> tuple[int, int, int]:
    """Action plans of the areas: due in the period, of those closed on time, overdue today."""
    due_in_period = and_(ActionPlan.due_on >= period.start, ActionPlan.due_on <= period.end)
    # "Closed on time": an update set the plan done on (the UTC date of) its due date or before.
    closed_on_time = (select(ActionPlanUpdate.id)
                      .where(ActionPlanUpdate.plan_id == ActionPlan.id,
                             ActionPlanUpdate.status == PlanStatus.DONE.value,
                             func.date(ActionPlanUpdate.created_at) <= ActionPlan.due_on)
                      .exists())
    overdue = and_(ActionPlan.due_on < today, ActionPlan.status.in_(_OPEN_PLAN))
    row = db.session.execute(
        select(func.coalesce(func.sum(case((due_in_period, 1), else_=0)), 0),
               func.coalesce(func.sum(case((and_(due_in_period, closed_on_time), 1), else_=0)), 0),
               func.coalesce(func.sum(case((overdue, 1), else_=0)), 0))
        .where(_in_areas(ActionPlan.unit_id, area_ids))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


# --- role-modelling ----------------------------------------------------------------------------


def _role_modelling(people: Sequence[int], period: Period, key_behaviours: Sequence[str]) -> RoleModelling:
    """The people's CRM use by week and their own training completion; their mean per person."""
    people = sorted(set(people))
    if not people:
        return RoleModelling(people=0, weeks=0, active_weeks=0.0, key_behaviour_weeks=0.0,
                             trainings_assigned=0, trainings_completed=0)
    weeks = _weeks(period)
    # The week a usage day falls in, as its index in ``weeks`` (the days read are all in them).
    week = case(*[(DailyUsage.day < first + dt.timedelta(days=7), index) for index, first in enumerate(weeks)])
    key_week = case((DailyUsage.event_type.in_(sorted(set(key_behaviours))), week))
    per_person = (
        select(func.count(func.distinct(week)).label("active"), func.count(func.distinct(key_week)).label("key"))
        .where(DailyUsage.employee_id.in_(people), DailyUsage.day >= period.start, DailyUsage.day <= period.end)
        .group_by(DailyUsage.employee_id)
        .subquery()
    )
    active, key = db.session.execute(
        select(func.coalesce(func.sum(per_person.c.active), 0), func.coalesce(func.sum(per_person.c.key), 0))
    ).one()
    completed = and_(Enrollment.completed_on.is_not(None), Enrollment.completed_on <= period.end)
    assigned, done = db.session.execute(
        select(func.count(AssignedTraining.id), func.coalesce(func.sum(case((completed, 1), else_=0)), 0))
        .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
        .outerjoin(Enrollment, and_(Enrollment.employee_id == AssignedTraining.employee_id,
                                    Enrollment.module_id == Assignment.module_id))
        .where(AssignedTraining.employee_id.in_(people), AssignedTraining.due_on <= period.end,
               Assignment.active.is_(True))
    ).one()
    return RoleModelling(
        people=len(people), weeks=len(weeks), active_weeks=int(active or 0) / len(people),
        key_behaviour_weeks=int(key or 0) / len(people), trainings_assigned=int(assigned or 0),
        trainings_completed=int(done or 0),
    )


def _withheld_role_modelling(people: int) -> RoleModelling:
    """The shell of a figure this user may not see: how many people, nothing about them."""
    return RoleModelling(people=people, weeks=0, active_weeks=0.0, key_behaviour_weeks=0.0,
                         trainings_assigned=0, trainings_completed=0, withheld=True)


def _executive_ids() -> list[int]:
    """Every active executive."""
    return list(db.session.scalars(select(Employee.id).where(Employee.is_executive.is_(True),
                                                              Employee.active.is_(True))))


def _key_behaviours() -> list[str]:
    """The initiative's key behaviours (none without an initiative)."""
    initiative = current_initiative()
    return list(initiative.key_behaviours or []) if initiative is not None else []


# --- perceived commitment ----------------------------------------------------------------------


def _perceived_rounds(area_ids: Sequence[int], period: Period) -> list[tuple[int, str]]:
    """The rounds a perception may come from, latest first: results out by the period's end and
    at most ``PERCEIVED_LOOKBACK_DAYS`` before it, a leadership or trust item asked, the areas
    in the audience: (id, label) each."""
    asked = (select(RoundQuestion.id)
             .join(SurveyQuestion, SurveyQuestion.id == RoundQuestion.question_id)
             .join(SurveyItemVersion, SurveyItemVersion.id == SurveyQuestion.item_version_id)
             .join(SurveyItem, SurveyItem.id == SurveyItemVersion.item_id)
             .where(RoundQuestion.round_id == SurveyRound.id,
                    SurveyItem.construct.in_((LEADERSHIP_CONSTRUCT, TRUST_CONSTRUCT)))
             .exists())
    in_areas = (select(RoundGroup.round_id)
                .where(RoundGroup.round_id == SurveyRound.id, RoundGroup.tenure_band == ALL_BANDS,
                       RoundGroup.unit_id.in_(list(area_ids)))
                .exists())
    end = _instant(period.end + dt.timedelta(days=1))
    rows = db.session.execute(
        select(SurveyRound.id, Survey.title, SurveyRound.number, SurveyRound.closes_on)
        .join(Survey, Survey.id == SurveyRound.survey_id)
        .where(SurveyRound.results_ready_at.is_not(None), SurveyRound.results_ready_at < end,
               SurveyRound.results_ready_at >= end - dt.timedelta(days=PERCEIVED_LOOKBACK_DAYS), asked, in_areas)
        .order_by(SurveyRound.results_ready_at.desc(), SurveyRound.id.desc())
    ).all()
    return [(round_id, f"{title}, round {number} (closed {_day_month(closes_on)} {closes_on.year})")
            for round_id, title, number, closes_on in rows]


def _construct_figures(result) -> dict[str, tuple[float | None, int]]:
    """(mean 1–5, respondents) of each perceived construct in one shown group's results."""
    figures = {}
    for construct in (LEADERSHIP_CONSTRUCT, TRUST_CONSTRUCT):
        items = [i for i in result.items if i.construct == construct and i.scale == Scale.LIKERT5.value]
        # Reverse-scored items are read the way the construct is worded (6 − mean).
        figures[construct] = metrics.construct_mean(
            ((6.0 - i.mean if i.reverse_scored else i.mean), i.n) for i in items
            if i.mean is not None and i.n is not None)
    return figures


def _perceived(scope: Scope, areas: Sequence[OrgUnit], period: Period,
               config: Mapping[str, Any] | None) -> Perceived:
    """The areas' answers to the leadership and trust items on 0–100, read through the survey's
    disclosure rules (``surveys.results.group_results``), weighted by respondents: each area
    unit's latest round in which its group and the construct's items could be shown (a round
    that hid them — too few answers, differencing — falls back to the one before)."""
    areas = _outermost(areas)
    candidates = _perceived_rounds([u.id for u in areas], period) if areas else []
    if not candidates:
        return Perceived(None, 0, None, 0, None, 0)
    groups: dict[str, list[tuple[float | None, int]]] = {LEADERSHIP_CONSTRUCT: [], TRUST_CONSTRUCT: []}
    used: set[str] = set()
    suppressed = 0
    for unit in areas:
        found = dict.fromkeys(groups)
        for round_id, label in candidates:
            result = group_results(scope, round_id, unit.id, config=config)
            if result.suppressed:
                continue
            for construct, (mean, n) in _construct_figures(result).items():
                if found[construct] is None and mean is not None:
                    found[construct] = (mean, n)
                    used.add(label)
            if all(value is not None for value in found.values()):
                break
        if found[LEADERSHIP_CONSTRUCT] is None:
            suppressed += 1  # no round shows this unit's leadership items
        for construct, value in found.items():
            if value is not None:
                groups[construct].append(value)
    leadership, leadership_n = metrics.pooled_mean(groups[LEADERSHIP_CONSTRUCT])
    trust, trust_n = metrics.pooled_mean(groups[TRUST_CONSTRUCT])
    labels = [label for _id, label in candidates if label in used]
    label = labels[0] if len(labels) == 1 else ("; ".join(labels) if labels else None)
    return Perceived(metrics.likert_to_100(leadership), leadership_n, metrics.likert_to_100(trust), trust_n,
                     label, suppressed)


def perceived_by_unit(scope: Scope, period: Period, config: Mapping[str, Any] | None = None,
                      depth: int = 1) -> list[tuple[str, Perceived]]:
    """Perceived commitment of each unit at ``depth`` (1: the regions), by path, read as a
    sponsor's areas are (``_perceived``: the disclosure rules apply, suppressed units say so)."""
    _require_reader(scope)
    units = db.session.scalars(select(OrgUnit).where(OrgUnit.depth == depth, scope.unit_filter(OrgUnit.id))
                               .order_by(OrgUnit.path))
    return [(unit.path, _perceived(scope, [unit], period, config)) for unit in units]


# --- records -----------------------------------------------------------------------------------


def _objective(visibility: Visibility, communication: Communication, role_modelling: RoleModelling,
               key_behaviours: Sequence[str]) -> Score:
    """The objective score from the three indicators (a withheld role-modelling is left out)."""
    role = None
    if not role_modelling.withheld:
        role = metrics.role_modelling_score(
            role_modelling.active_share, role_modelling.key_behaviour_share if key_behaviours else None,
            role_modelling.completion_share)
    return metrics.objective_score(
        metrics.visibility_score(visibility.pace_share, visibility.reach_share),
        metrics.communication_score(communication.reply_share, communication.on_time_share,
                                    communication.median_days_to_first_reply),
        role,
    )


def sponsor_records(scope: Scope, period: Period, today: dt.date,
                    config: Mapping[str, Any] | None = None) -> list[SponsorRecord]:
    """Every sponsor record ``scope`` may read (all, or the executive's own), by name."""
    _require_reader(scope)
    key_behaviours = _key_behaviours()
    records = []
    for sponsor in readable_sponsors(scope):
        areas = _outermost(areas_of(sponsor.id))
        area_ids = [u.id for u in areas]
        visibility = _visibility([sponsor.id], area_ids, period)
        communication = _communication([sponsor.id], area_ids, period, today)
        role_modelling = _role_modelling([sponsor.id], period, key_behaviours)
        perceived = _perceived(scope, areas, period, config)
        objective = _objective(visibility, communication, role_modelling, key_behaviours)
        gap = metrics.say_do_gap(objective.value, perceived.leadership)
        records.append(SponsorRecord(
            sponsor_id=sponsor.id, name=sponsor.full_name, areas=tuple(u.path for u in areas),
            visibility=visibility, communication=communication, role_modelling=role_modelling,
            perceived=perceived, objective=objective, gap=gap, flag=metrics.gap_flag(gap),
        ))
    return records


def leadership_record(scope: Scope, period: Period, today: dt.date,
                      config: Mapping[str, Any] | None = None) -> LeadershipRecord:
    """The leadership team's indicators (executives, change leaders and admins)."""
    _require_reader(scope)
    key_behaviours = _key_behaviours()
    sponsor_ids = [s.id for s in all_sponsors()]
    executive_ids = _executive_ids()
    sponsors_hidden, group_hidden = _withheld(scope, sponsor_ids, executive_ids)
    visibility = _visibility(sponsor_ids, None, period)
    communication = _communication(sponsor_ids, None, period, today)
    role_modelling = (_withheld_role_modelling(len(sponsor_ids)) if sponsors_hidden
                      else _role_modelling(sponsor_ids, period, key_behaviours))
    group = None if group_hidden else _role_modelling(executive_ids, period, key_behaviours)
    perceived = _perceived(scope, _top_units(), period, config)
    objective = _objective(visibility, communication, role_modelling, key_behaviours)
    gap = metrics.say_do_gap(objective.value, perceived.leadership)
    return LeadershipRecord(
        sponsors=len(sponsor_ids), visibility=visibility, communication=communication,
        role_modelling=role_modelling, executive_group=group, perceived=perceived, objective=objective,
        gap=gap, flag=metrics.gap_flag(gap),
    )


# --- outcomes ----------------------------------------------------------------------------------


def _month_start(day: dt.date, offset: int = 0) -> dt.date:
    """The first day of the month ``offset`` months from ``day``'s."""
    index = day.year * 12 + day.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)


def _outcome_trend(metric: str, period: Period) -> list[TrendPoint]:
    """The organization's monthly ``metric`` over the ``OUTCOME_MONTHS`` months ending with the
    period's last month (``metrics.commitment.monthly_outcome`` decides which values count)."""
    first = _month_start(period.end, 1 - OUTCOME_MONTHS)
    last = _month_start(period.end, 1) - dt.timedelta(days=1)
    rows = db.session.execute(
        select(OrgUnit.path, OutcomeMeasure.period_start, OutcomeMeasure.period_end, OutcomeMeasure.value,
               OutcomeMeasure.responses)
        .join(OrgUnit, OrgUnit.id == OutcomeMeasure.unit_id)
        .where(OutcomeMeasure.metric == metric, OutcomeMeasure.period_end >= first,
               OutcomeMeasure.period_end <= last)
    ).all()
    return [TrendPoint(month, value, units, n) for month, value, units, n in metrics.monthly_outcome(rows)]


def _verdicts() -> dict[str, int]:
    """Hypotheses on the register per current verdict."""
    counts = {"supported": 0, "contradicted": 0, "inconclusive": 0, "not evaluated": 0}
    for verdict, n in db.session.execute(
            select(Hypothesis.verdict, func.count()).where(Hypothesis.archived_at.is_(None))
            .group_by(Hypothesis.verdict)):
        counts[verdict or "not evaluated"] = counts.get(verdict or "not evaluated", 0) + int(n)
    return counts


def _last_whole_week(period: Period, today: dt.date, first_weekday: int) -> dt.date:
    """The first day of the latest week that ended by the period's end and before today."""
    return adoption_metrics.last_whole_week(min(period.end, today - dt.timedelta(days=1)), first_weekday)


def outcomes(scope: Scope, period: Period, today: dt.date) -> Outcomes:
    """Organization adoption vs target, key behaviours, CSAT/NPS trend and the verdicts."""
    _require_reader(scope)
    initiative = current_initiative()
    key_behaviours = _key_behaviours()
    first_weekday = week_start_day()
    last_week = _last_whole_week(period, today, first_weekday)
    trend_weeks = [w for w in adoption_metrics.weeks_in_period(period.start, period.end, first_weekday)
                   if w <= last_week]
    latest = queries.latest_usage_week(scope, last_week)
    weeks = sorted({*trend_weeks, *([latest] if latest is not None else [])})
    weekly = (adoption_metrics.weekly_adoption(queries.weekly_usage(scope, None, weeks[0], weeks[-1]), weeks)
              if weeks else adoption_metrics.weekly_adoption(pd.DataFrame(), []))
    rates = {row.week_start: row.adoption_rate for row in weekly.itertuples()}
    rate = active = licensed = None
    people: dict[str, int] = {}
    if latest is not None:
        last = weekly[weekly["week_start"] == latest].iloc[0]
        rate, active, licensed = last["adoption_rate"], int(last["active"]), int(last["licensed"])
        behaviours = queries.weekly_behaviours(scope, None, latest, latest, key_behaviours)
        people = {kind: int(n) for kind, n in zip(behaviours["event_type"], behaviours["people"], strict=True)}
    return Outcomes(
        adoption_rate=None if rate is None or pd.isna(rate) else 100.0 * float(rate),
        adoption_target=None if initiative is None else float(initiative.adoption_target_pct),
        active=active or 0,
        licensed=licensed or 0,
        adoption_trend=[(w.isoformat(), 100.0 * float(rates[w])) for w in trend_weeks if not pd.isna(rates[w])],
        key_behaviours={b: (100.0 * people.get(b, 0) / licensed if licensed else None) for b in key_behaviours},
        csat=_outcome_trend("csat", period),
        nps=_outcome_trend("nps", period),
        verdicts=_verdicts(),
        adoption_week=None if latest is None else latest.isoformat(),
    )


# --- what needs attention ----------------------------------------------------------------------


def _plural(n: int, one: str, many: str) -> str:
    """"1 comment" / "3 comments"."""
    return f"{n} {one if n == 1 else many}"


def _units_at_risk(scope: Scope, areas: Sequence[OrgUnit], today: dt.date) -> UrgentItem | None:
    """Units of the areas below the adoption target whose rate fell three weeks in a row (the
    Adoption page's rule, on the last complete weeks before today)."""
    initiative = current_initiative()
    if initiative is None or not areas:
        return None
    first_weekday = week_start_day()
    last_day = today - dt.timedelta(days=1)
    span = adoption_metrics.FALLING_WEEKS + 1
    weeks = adoption_metrics.weeks_in_period(last_day - dt.timedelta(days=7 * (span + 1)), last_day, first_weekday)
    judged = adoption_metrics.complete_weeks(weeks, last_day)[-span:]
    frames = [adoption_metrics.subtree_totals(queries.unit_weekly_usage(scope, unit.id, judged[0], judged[-1]),
                                              unit.path) for unit in areas]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return None
    totals = pd.concat(frames, ignore_index=True).drop_duplicates(["path", "week_start"])
    target = float(initiative.adoption_target_pct) / 100
    at_risk = adoption_metrics.units_at_risk(totals, target, judged)
    if at_risk.empty:
        return None
    worst = at_risk.iloc[0]
    rate = float(worst[judged[-1].isoformat()])
    text = (f"{_plural(len(at_risk), 'unit is', 'units are')} below the {target:.0%} adoption target and "
            f"falling {adoption_metrics.FALLING_WEEKS} weeks in a row (most fallen: {worst['path']}, {rate:.0%})")
    return UrgentItem("units_at_risk", len(at_risk), text, LINKS["units_at_risk"])


def _awaiting_reply(area_ids: Sequence[int] | None, today: dt.date, where: str) -> UrgentItem | None:
    """Open conversations whose last message is the author's."""
    count, oldest = db.session.execute(
        select(func.count(CommentThread.id), func.min(CommentThread.last_message_at)).where(
            CommentThread.status == ThreadStatus.OPEN.value, CommentThread.awaiting_leader.is_(True),
            _in_areas(CommentThread.unit_id, area_ids))
    ).one()
    if not count:
        return None
    text = f"{_plural(int(count), 'comment', 'comments')} in {where} {'awaits' if count == 1 else 'await'} a reply"
    if oldest is not None:
        oldest = dt.datetime.fromisoformat(oldest) if isinstance(oldest, str) else oldest
        text += f" (oldest {_plural(max((today - oldest.date()).days, 0), 'day', 'days')})"
    return UrgentItem("awaiting_reply", int(count), text, LINKS["awaiting_reply"])


def _open_actions(area_ids: Sequence[int] | None, first: dt.date | None, last: dt.date):
    """(count, earliest due date) of plans neither done nor dropped, due from ``first`` (any
    date when None) to ``last``, in the areas."""
    count, earliest = db.session.execute(
        select(func.count(ActionPlan.id), func.min(ActionPlan.due_on)).where(
            ActionPlan.status.in_(_OPEN_PLAN), ActionPlan.due_on <= last,
            true() if first is None else ActionPlan.due_on >= first, _in_areas(ActionPlan.unit_id, area_ids))
    ).one()
    if isinstance(earliest, str):
        earliest = dt.date.fromisoformat(earliest)
    return int(count or 0), earliest


def _plan_behind(sponsor_id: int, area_ids: Sequence[int], today: dt.date) -> UrgentItem | None:
    """The sponsor's activities this quarter against the plan pro rata, when short by one or more."""
    visibility = _visibility([sponsor_id], area_ids, commitment_period(today))
    if visibility.expected is None:
        return None
    behind = math.floor(visibility.expected) - visibility.done
    if behind < 1:
        return None
    text = (f"{_plural(behind, 'activity', 'activities')} behind plan this quarter: {visibility.done} done, "
            f"{math.floor(visibility.expected)} expected by now of {visibility.planned} planned")
    return UrgentItem("plan_behind", behind, text, LINKS["plan_behind"])


def urgent_items(scope: Scope, today: dt.date, *, sponsor_id: int | None = None,
                 limit: int = 3) -> list[UrgentItem]:
    """The most urgent items: units at risk, comments awaiting a reply, overdue actions — for the
    organization, or in one sponsor's areas (the digest)."""
    _require_reader(scope)
    if sponsor_id is not None:
        require_sponsor(scope, sponsor_id)
        areas = _outermost(areas_of(sponsor_id))
        area_ids: list[int] | None = [u.id for u in areas]
        where = "your units"
    else:
        areas, area_ids, where = _top_units(), None, "the organization"
    items: dict[str, UrgentItem | None] = {
        "units_at_risk": _units_at_risk(scope, areas, today),
        "awaiting_reply": _awaiting_reply(area_ids, today, where),
    }
    overdue, oldest = _open_actions(area_ids, None, today - dt.timedelta(days=1))
    if overdue:
        items["overdue_actions"] = UrgentItem(
            "overdue_actions", overdue,
            f"{_plural(overdue, 'action', 'actions')} of \"you said, we did\" overdue in {where} "
            f"(the oldest was due {_day_month(oldest)} {oldest.year})", LINKS["overdue_actions"])
    due, _first = _open_actions(area_ids, today, today + dt.timedelta(days=ACTIONS_DUE_DAYS - 1))
    if due:
        items["actions_due"] = UrgentItem(
            "actions_due", due, f"{_plural(due, 'action', 'actions')} due in {where} in the next "
            f"{ACTIONS_DUE_DAYS} days", LINKS["actions_due"])
    if sponsor_id is not None:
        items["plan_behind"] = _plan_behind(sponsor_id, area_ids, today)
    ordered = [items[kind] for kind in URGENT_ORDER if items.get(kind) is not None]
    return ordered[:max(limit, 0)]
