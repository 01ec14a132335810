"""Database → DataFrame for the Training dashboard. Every function takes the user's ``Scope``.

Each query is one aggregate statement (grouped in SQL, never a loop over people), and reads only
people in the *population*: employees whose current unit (``Employee.unit_id``) is in the scope
and, when a unit is chosen, in that unit's subtree. Training records follow the person: a learner
who moved counts in the unit they are in now, the unit their manager sees them in. No frame here
names a person; the behaviour analysis reads ids only, and they never leave the metrics.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Date, Integer, and_, case, cast, false, func, literal, or_, select, true
from sqlalchemy.orm import aliased

from adoption.extensions import db
from adoption.models import DailyUsage, Employee, OrgUnit, WeeklyUnitUsage
from adoption.org import subtree_filter
from adoption.scope import Scope
from training.models import (
    AssignedTraining,
    Assignment,
    CheckAttempt,
    CheckAttemptAnswer,
    CheckQuestion,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    Module,
    ModuleStatus,
    ModuleStep,
    XapiStatement,
)
from training.xapi_intake import OUTCOME_VERBS

MODULE_COLUMNS = ["module_id", "title", "key_behaviours"]
COMPLETION_COLUMNS = ["path", "completed", "on_time", "past_due", "assignees"]
REACTION_COLUMNS = ["module_id", "module", "n", "total", "total_squares"]
LEARNING_COLUMNS = [
    "module_id", "module", "first_attempts", "first_score_total", "first_passed",
    "checks_taken", "checks_passed",
]
MISSED_COLUMNS = ["question_id", "module", "prompt", "n", "wrong"]
FOLLOW_UP_COLUMNS = ["day_offset", "status", "asked", "follow_ups"]
PEOPLE_COLUMNS = ["employee_id", "completed_on", "start_date", "end_date"]
WEEKLY_COLUMNS = ["employee_id", "week_start", "events"]
EXTERNAL_COLUMNS = ["activity", "name", "verb", "learners"]
#: The ``verb`` of an external-learning row that counts learners with any record of the activity.
ANY_VERB = "*"


def _frame(rows, columns: list[str], ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """``rows`` as a frame; sums come back as Decimal on PostgreSQL, so ``ints`` are cast."""
    if not rows:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    else:
        # Plain tuples: pandas takes its slow generic path for Row objects (4x slower).
        frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)
    for column in ints:
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame


def _as_date(value) -> dt.date | None:
    """A date from a column or an aggregate (SQLite returns MAX(day) as text)."""
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _population(scope: Scope, focus: OrgUnit | None):
    """WHERE clause on ``Employee``: current unit in the scope and in ``focus``'s subtree."""
    if not scope.sees_aggregates:
        return false()
    within = true() if focus is None else Employee.unit_id.in_(
        select(OrgUnit.id).where(subtree_filter(focus))
    )
    return and_(scope.unit_filter(Employee.unit_id), within)


def _module_filter(column, module_id: int | None):
    """WHERE clause keeping one module (every module when ``None``)."""
    return true() if module_id is None else column == module_id


def _instant(day: dt.date) -> dt.datetime:
    """Midnight starting ``day`` (stored timestamps are naive UTC; a day's edge is approximate
    by the organization's offset, which the period filter tolerates)."""
    return dt.datetime.combine(day, dt.time.min)


def modules(scope: Scope) -> pd.DataFrame:
    """Modules that can have results (published or retired), by title, with key behaviours."""
    if not scope.sees_aggregates:
        return _frame([], MODULE_COLUMNS)
    rows = db.session.execute(
        select(Module.id, Module.title, Module.key_behaviours)
        .where(Module.status != ModuleStatus.DRAFT.value)
        .order_by(Module.title, Module.id)
    ).all()
    frame = _frame(rows, MODULE_COLUMNS)
    frame["key_behaviours"] = [list(k or []) for k in frame["key_behaviours"]]
    return frame


def completion_counts(
    scope: Scope,
    focus: OrgUnit | None,
    module_id: int | None,
    start: dt.date,
    end: dt.date,
    today: dt.date,
) -> pd.DataFrame:
    """Assignments per unit of the assignee and completion facts on ``today``, for assignments
    running in the period (assigned by ``end``, due from ``start`` on).

    One row per person's copy of an assignment (``AssignedTraining``), each against its own due
    date: a person assigned the same module by two assignments counts in both (rare, and cheaper
    than de-duplicating every row). ``completed`` is completion of the module by ``today``;
    ``on_time`` completion on or before the due date; ``past_due`` a due date before ``today``.
    """
    if not scope.sees_aggregates:
        return _frame([], COMPLETION_COLUMNS, ("assignees",))
    assigned = AssignedTraining
    completed_on = Enrollment.completed_on
    completed = and_(completed_on.is_not(None), completed_on <= today)
    flags = (
        case((completed, True), else_=False),
        case((and_(completed, completed_on <= assigned.due_on), True), else_=False),
        case((assigned.due_on < today, True), else_=False),
    )
    stmt = (
        select(OrgUnit.path, *flags, func.count())
        .select_from(assigned)
        .join(Assignment, Assignment.id == assigned.assignment_id)
        .join(Employee, Employee.id == assigned.employee_id)
        .join(OrgUnit, OrgUnit.id == Employee.unit_id)
        .outerjoin(
            Enrollment,
            and_(
                Enrollment.employee_id == assigned.employee_id,
                Enrollment.module_id == Assignment.module_id,
            ),
        )
        .where(
            _module_filter(Assignment.module_id, module_id),
            assigned.assigned_on <= end,
            assigned.due_on >= start,
            _population(scope, focus),
        )
        .group_by(OrgUnit.path, *flags)
    )
    frame = _frame(db.session.execute(stmt).all(), COMPLETION_COLUMNS, ("assignees",))
    for column in ("completed", "on_time", "past_due"):
        frame[column] = frame[column].astype(bool)
    return frame


def reaction_sums(
    scope: Scope, focus: OrgUnit | None, module_id: int | None, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Per module: reactions (usefulness 1–5) of completions in the period, Σ and Σ² of scores."""
    if not scope.sees_aggregates:
        return _frame([], REACTION_COLUMNS, ("n",))
    score = Enrollment.reaction_score
    stmt = (
        select(
            Module.id, Module.title, func.count(score), func.sum(score),
            func.sum(score * score),
        )
        .join(Enrollment, Enrollment.module_id == Module.id)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .where(
            score.is_not(None),
            Enrollment.completed_on >= start,
            Enrollment.completed_on <= end,
            _module_filter(Module.id, module_id),
            _population(scope, focus),
        )
        .group_by(Module.id, Module.title)
        .order_by(Module.title, Module.id)
    )
    return _frame(db.session.execute(stmt).all(), REACTION_COLUMNS,
                  ("n", "total", "total_squares"))


def _first_attempts_in(attempt, start: dt.date, end: dt.date):
    """WHERE clause: ``attempt`` (``CheckAttempt`` or an alias) is a first attempt submitted in
    the period."""
    return and_(
        attempt.number == 1,
        attempt.submitted_at >= _instant(start),
        attempt.submitted_at < _instant(end + dt.timedelta(days=1)),
    )


def learning_sums(
    scope: Scope, focus: OrgUnit | None, module_id: int | None, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Per module: first attempts at knowledge checks submitted in the period, their Σ score
    and passes, and how many of those learner × check pairs were passed at any attempt."""
    if not scope.sees_aggregates:
        return _frame([], LEARNING_COLUMNS, tuple(LEARNING_COLUMNS[2:]))
    first = aliased(CheckAttempt, name="first_attempt")
    passed_at_some_attempt = (
        select(CheckAttempt.id)
        .where(
            CheckAttempt.enrollment_id == first.enrollment_id,
            CheckAttempt.step_id == first.step_id,
            CheckAttempt.passed.is_(True),
        )
        .exists()
    )
    stmt = (
        select(
            Module.id,
            Module.title,
            func.count(first.id),
            func.sum(first.score_pct),
            func.sum(case((first.passed.is_(True), 1), else_=0)),
            # One first attempt per learner × check, so the pairs taken are the first attempts.
            func.count(first.id),
            func.sum(case((passed_at_some_attempt, 1), else_=0)),
        )
        .join(Enrollment, Enrollment.module_id == Module.id)
        .join(first, first.enrollment_id == Enrollment.id)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .where(
            _first_attempts_in(first, start, end),
            _module_filter(Module.id, module_id),
            _population(scope, focus),
        )
        .group_by(Module.id, Module.title)
        .order_by(Module.title, Module.id)
    )
    frame = _frame(db.session.execute(stmt).all(), LEARNING_COLUMNS,
                   ("first_attempts", "first_passed", "checks_taken", "checks_passed"))
    frame["first_score_total"] = frame["first_score_total"].astype(float)
    return frame


def most_missed_counts(
    scope: Scope, focus: OrgUnit | None, module_id: int | None, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Per question: answers given on first attempts in the period and how many were wrong."""
    if not scope.sees_aggregates:
        return _frame([], MISSED_COLUMNS, ("n", "wrong"))
    # Counted per question first (a narrow GROUP BY over the answers), then the few rows get
    # their module title and prompt: grouping the wide text columns over every answer made the
    # database sort ~170,000 rows on the large demo.
    counts = (
        select(
            CheckAttemptAnswer.question_id.label("question_id"),
            func.count().label("n"),
            func.sum(case((CheckAttemptAnswer.correct.is_(False), 1), else_=0)).label("wrong"),
        )
        .join(CheckAttempt, CheckAttempt.id == CheckAttemptAnswer.attempt_id)
        .join(Enrollment, Enrollment.id == CheckAttempt.enrollment_id)
        .join(Employee, Employee.id == Enrollment.employee_id)
        .where(
            _first_attempts_in(CheckAttempt, start, end),
            _module_filter(Enrollment.module_id, module_id),
            _population(scope, focus),
        )
        .group_by(CheckAttemptAnswer.question_id)
        .subquery()
    )
    stmt = (
        select(CheckQuestion.id, Module.title, CheckQuestion.prompt, counts.c.n, counts.c.wrong)
        .join(counts, counts.c.question_id == CheckQuestion.id)
        .join(ModuleStep, ModuleStep.id == CheckQuestion.step_id)
        .join(Module, Module.id == ModuleStep.module_id)
    )
    return _frame(db.session.execute(stmt).all(), MISSED_COLUMNS, ("n", "wrong"))


def _external_in(start: dt.date, end: dt.date):
    """WHERE clause: statements an external system sent about the period, voided ones aside."""
    return and_(XapiStatement.token_id.is_not(None), XapiStatement.voided.is_(False),
                XapiStatement.activity.is_not(None),
                XapiStatement.timestamp >= _instant(start),
                XapiStatement.timestamp < _instant(end + dt.timedelta(days=1)))


def external_learning_counts(scope: Scope, focus: OrgUnit | None, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per activity of another learning system: distinct learners of the population with each
    outcome (``verb`` completed, passed or failed) in the period, and with any record (``ANY_VERB``)."""
    if not scope.sees_aggregates:
        return _frame([], EXTERNAL_COLUMNS, ("learners",))
    where = and_(_external_in(start, end), _population(scope, focus))
    learners = func.count(XapiStatement.employee_id.distinct())
    name = func.max(XapiStatement.activity_name)
    by_verb = (select(XapiStatement.activity, name, XapiStatement.verb, learners)
               .join(Employee, Employee.id == XapiStatement.employee_id)
               .where(where, XapiStatement.verb.in_(OUTCOME_VERBS))
               .group_by(XapiStatement.activity, XapiStatement.verb))
    any_verb = (select(XapiStatement.activity, name, literal(ANY_VERB), learners)
                .join(Employee, Employee.id == XapiStatement.employee_id)
                .where(where).group_by(XapiStatement.activity))
    rows = [(activity, title, OUTCOME_VERBS[verb], n) for activity, title, verb, n in db.session.execute(by_verb)]
    rows += db.session.execute(any_verb).all()
    return _frame(rows, EXTERNAL_COLUMNS, ("learners",))


def external_unattributed(scope: Scope, start: dt.date, end: dt.date) -> tuple[int, int]:
    """(statements, distinct actors) of the period that match no one on the roster: only for a
    scope over every unit (they belong to no unit), else (0, 0)."""
    if not scope.all_units:
        return 0, 0
    return tuple(db.session.execute(
        select(func.count(), func.count(XapiStatement.actor_key.distinct()))
        .where(_external_in(start, end), XapiStatement.employee_id.is_(None))).one())


def follow_up_counts(
    scope: Scope,
    focus: OrgUnit | None,
    module_id: int | None,
    start: dt.date,
    end: dt.date,
    today: dt.date,
) -> pd.DataFrame:
    """Follow-ups of commitments made in the period, by offset (30/60/90), answer (NULL while
    unanswered) and whether they were due by ``today`` (``asked``)."""
    if not scope.sees_aggregates:
        return _frame([], FOLLOW_UP_COLUMNS, ("follow_ups",))
    follow_up = CommitmentFollowUp
    asked = case((follow_up.due_on <= today, True), else_=False)
    stmt = (
        select(follow_up.day_offset, follow_up.status, asked, func.count())
        .join(Commitment, Commitment.id == follow_up.commitment_id)
        .join(Employee, Employee.id == Commitment.employee_id)
        .where(
            Commitment.committed_on >= start,
            Commitment.committed_on <= end,
            _module_filter(Commitment.module_id, module_id),
            _population(scope, focus),
        )
        .group_by(follow_up.day_offset, follow_up.status, asked)
    )
    frame = _frame(db.session.execute(stmt).all(), FOLLOW_UP_COLUMNS,
                   ("day_offset", "follow_ups"))
    frame["asked"] = frame["asked"].astype(bool)
    return frame


def commitments_made(
    scope: Scope, focus: OrgUnit | None, module_id: int | None, start: dt.date, end: dt.date
) -> tuple[int, int]:
    """Commitments made in the period, and how many of them name a key behaviour."""
    if not scope.sees_aggregates:
        return 0, 0
    stmt = (
        select(func.count(), func.count(Commitment.key_behaviour))
        .join(Employee, Employee.id == Commitment.employee_id)
        .where(
            Commitment.committed_on >= start,
            Commitment.committed_on <= end,
            _module_filter(Commitment.module_id, module_id),
            _population(scope, focus),
        )
    )
    made, with_behaviour = db.session.execute(stmt).one()
    return int(made or 0), int(with_behaviour or 0)


# --- behaviour: the people compared and their weekly events --------------------------------------


def telemetry_through(today: dt.date) -> dt.date | None:
    """The last complete day of telemetry: yesterday, or the last day with any usage if that is
    earlier (None when there is no usage at all)."""
    latest = _as_date(db.session.scalar(select(func.max(DailyUsage.day))))
    if latest is None:
        return None
    return min(latest, today - dt.timedelta(days=1))


def audience_stamp(module_id: int) -> tuple[int, int, int, str | None]:
    """What the module's behaviour panel depends on besides telemetry: how many people it was
    assigned to, how many enrolled and completed, and the latest completion. Any assignment,
    enrollment or completion changes it, so a kept panel knows it is out of date."""
    assigned = db.session.scalar(
        select(func.count()).select_from(AssignedTraining)
        .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
        .where(Assignment.module_id == module_id)
    )
    enrolled, completed, latest = db.session.execute(
        select(func.count(), func.count(Enrollment.completed_at), func.max(Enrollment.completed_at))
        .where(Enrollment.module_id == module_id)
    ).one()
    return int(assigned or 0), int(enrolled or 0), int(completed or 0), (
        None if latest is None else str(latest))


def telemetry_stamp(through: dt.date) -> tuple[int, int]:
    """A fingerprint of the weekly rollups of the weeks complete by ``through`` (ended on or
    before it): events and rows. A behaviour panel reads only such weeks (every post window
    ends on a week's last day), so events still arriving for the running week leave it alone,
    while late events for a past week change it once that week is refreshed (the dashboards
    refresh stale weeks before every callback)."""
    events, rows = db.session.execute(
        select(func.sum(WeeklyUnitUsage.events), func.count())
        .where(WeeklyUnitUsage.week_start <= through - dt.timedelta(days=6))
    ).one()
    return int(events or 0), int(rows or 0)


def population_ids(scope: Scope, focus: OrgUnit | None) -> list[int]:
    """Ids of the population (see the module docstring): the people a chart may count."""
    if not scope.sees_aggregates:
        return []
    return list(db.session.scalars(select(Employee.id).where(_population(scope, focus))))


def _audience(scope: Scope, focus: OrgUnit | None, module_id: int):
    """SELECT employee ids of the module's audience in the population: licensed people who were
    assigned the module or enrolled in it."""
    assigned = (
        select(AssignedTraining.employee_id)
        .join(Assignment, Assignment.id == AssignedTraining.assignment_id)
        .where(Assignment.module_id == module_id)
    )
    enrolled = select(Enrollment.employee_id).where(Enrollment.module_id == module_id)
    return select(Employee.id).where(
        _population(scope, focus),
        Employee.has_crm_licence,
        or_(Employee.id.in_(assigned), Employee.id.in_(enrolled)),
    )


def behaviour_people(scope: Scope, focus: OrgUnit | None, module_id: int) -> pd.DataFrame:
    """The module's audience with their completion day (None if not completed) and employment
    dates: completers and not-yet-trained colleagues alike."""
    if not scope.sees_aggregates:
        return _frame([], PEOPLE_COLUMNS)
    stmt = (
        select(Employee.id, Enrollment.completed_on, Employee.start_date, Employee.end_date)
        .outerjoin(
            Enrollment,
            and_(Enrollment.employee_id == Employee.id, Enrollment.module_id == module_id),
        )
        .where(Employee.id.in_(_audience(scope, focus, module_id)))
    )
    frame = _frame(db.session.execute(stmt).all(), PEOPLE_COLUMNS)
    for column in ("completed_on", "start_date", "end_date"):
        frame[column] = [_as_date(v) if not pd.isna(v) else None for v in frame[column]]
    return frame


def _days_since(column, origin: dt.date):
    """Whole days from ``origin`` to the date ``column``, in the database's own date arithmetic."""
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(column) - func.julianday(origin.isoformat()), Integer)
    # PostgreSQL: date − date is an integer number of days.
    return cast(column - literal(origin, Date), Integer)


def weekly_events(
    scope: Scope,
    focus: OrgUnit | None,
    module_id: int,
    event_type: str,
    first: dt.date,
    last: dt.date,
    first_weekday: int,
) -> pd.DataFrame:
    """Events of ``event_type`` per person of the module's audience and week (weeks starting on
    ``first_weekday``) from ``first`` to ``last``; person-weeks without events have no row."""
    if not scope.sees_aggregates:
        return _frame([], WEEKLY_COLUMNS, ("events",))
    origin = first - dt.timedelta(days=(first.weekday() - first_weekday) % 7)
    week = _days_since(DailyUsage.day, origin) / 7
    week = cast(week, Integer)
    stmt = (
        select(DailyUsage.employee_id, week, func.sum(DailyUsage.events))
        .where(
            DailyUsage.event_type == event_type,
            DailyUsage.day >= origin,
            DailyUsage.day <= last,
            DailyUsage.employee_id.in_(_audience(scope, focus, module_id)),
        )
        .group_by(DailyUsage.employee_id, week)
    )
    frame = _frame(db.session.execute(stmt).all(), WEEKLY_COLUMNS, ("week_start", "events"))
    # Week numbers back to the weeks' first days, vectorized (a row per person-week).
    frame["week_start"] = pd.Timestamp(origin) + pd.to_timedelta(frame["week_start"] * 7, unit="D")
    return frame
