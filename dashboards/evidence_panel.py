"""The evidence panel (issue 6, point 2): unit × calendar month × metric, each value with its n.

``unit_period_panel`` reads the other features' stored aggregates for the units of one level and
the calendar months from ``start`` to ``end`` (whole months), in long form: ``unit`` (path),
``period`` (pandas monthly ``Period``), ``metric``, ``value``, ``n``. ``wide`` turns two of its
metrics into the ``unit, period, x, y, weight`` frame ``dashboards.metrics.evidence`` reads.

Every read is one aggregate SQL statement per metric family, restricted by ``scope.unit_filter``
in SQL; nothing loops over people. A month without data for a unit has no row (never a 0).
Month rules (docs/metrics.md, "Evidence panel"):

- weekly rollups: a week belongs to the month of its first day (``week_start``);
- survey rounds: a round belongs to the month it closes in; only groups shown by the disclosure
  rules, read from their stored sums (``round_groups.sums``), and only figures at least k people
  stand behind — the same rules as ``surveys.results``;
- training: an assigned copy belongs to the month it is due in; a follow-up to the month it was
  answered in (UTC); people count in their current unit, as on the Training page;
- outcomes: a monthly value in its month; a quarterly one in the quarter's **last month only**
  (a monthly value of the same unit and metric in that month wins). An outcome is used only at
  the unit it was reported for: never summed up a tree nor copied down to teams.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Integer, and_, case, cast, exists, extract, func, select
from sqlalchemy.orm import aliased

from adoption.extensions import db
from adoption.initiative import current_initiative
from adoption.models import Employee, OrgUnit, RosterImport, WeeklyUnitBehaviour, WeeklyUnitUsage
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.models.outcomes import OutcomeMeasure
from adoption.scope import Scope
from surveys import metrics as survey_metrics
from surveys.disclosure import thresholds
from surveys.models import (
    ALL_BANDS,
    RoundGroup,
    RoundQuestion,
    Scale,
    SurveyItem,
    SurveyItemVersion,
    SurveyQuestion,
    SurveyRound,
)
from surveys.results import ITEM_SUMS
from training.models import AssignedTraining, Assignment, Commitment, CommitmentFollowUp, Enrollment
from training.models.progress import FollowUpStatus

PANEL_COLUMNS = ["unit", "period", "metric", "value", "n"]
WIDE_COLUMNS = ["unit", "period", "x", "y", "weight"]

ADOPTION_RATE = "adoption_rate"
ACTIVE_SHARE = "active_share"
KEY_BEHAVIOUR = "key_behaviour:"  # prefix: key_behaviour:<event_type>
ENGAGEMENT_INDEX = "engagement_index"
ENPS = "enps"
READINESS = "readiness"
TRAINING_COMPLETION = "training_completion"
COMMITMENT_KEPT = "commitment_kept"
ADOPTION_METRICS = (ADOPTION_RATE, ACTIVE_SHARE)
SURVEY_METRICS = (ENGAGEMENT_INDEX, ENPS, READINESS)
#: The panel's own metrics; any other name (without the key-behaviour prefix) is an outcome.
BUILT_IN = (*ADOPTION_METRICS, *SURVEY_METRICS, TRAINING_COMPLETION, COMMITMENT_KEPT)

#: Level names besides a plain depth: "team" (or "leaf") means units without child units.
LEAF_LEVELS = ("team", "leaf")
LEVEL_DEPTHS = {"company": 0, "region": 1}
DAYS_PER_WEEK = 7

_PROMOTERS, _DETRACTORS, _ANSWERS = (ITEM_SUMS.index(n) for n in ("promoters", "detractors", "n"))


# --- units, months -----------------------------------------------------------------------------


def _level_units(scope: Scope, level: str | int):
    """Subquery ``(id, path)`` of the units of ``level`` that ``scope`` may read."""
    if isinstance(level, str) and level in LEAF_LEVELS:
        child = aliased(OrgUnit)
        at_level = ~exists().where(child.parent_id == OrgUnit.id)
    else:
        try:
            depth = LEVEL_DEPTHS[level] if isinstance(level, str) and level in LEVEL_DEPTHS else int(level)
        except (TypeError, ValueError):
            raise ValueError(f"unknown level {level!r}: use 'team', 'region', 'company' or a depth") from None
        at_level = OrgUnit.depth == depth
    return (
        select(OrgUnit.id.label("id"), OrgUnit.path.label("path"))
        .where(at_level, scope.unit_filter(OrgUnit.id))
        .subquery("level_units")
    )


def _is_leaf_level(level: str | int) -> bool:
    return isinstance(level, str) and level in LEAF_LEVELS


def _within(level: str | int, units, member_id, member_path):
    """JOIN condition: the row's unit (``member_*``) is a level unit or lies in its subtree."""
    if _is_leaf_level(level):
        return member_id == units.c.id
    prefix = units.c.path + UNIT_PATH_SEPARATOR
    return (member_id == units.c.id) | (func.substr(member_path, 1, func.length(prefix)) == prefix)


def _weeks(level: str | int, week_start):
    """The number of weeks behind a (unit, month) group: its rows at the leaf level, where a
    unit has one row per week; distinct weeks above it. ``count(DISTINCT)`` keeps PostgreSQL
    from hashing the groups, so it is used only where it is needed."""
    return func.count() if _is_leaf_level(level) else func.count(week_start.distinct())


def _month_bounds(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """First day of ``start``'s month and last day of ``end``'s month."""
    first = start.replace(day=1)
    following = (end.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


def _month(column) -> tuple:
    """(year, month) of a date or datetime column, in SQL (SQLite and PostgreSQL alike)."""
    # As integers: PostgreSQL's EXTRACT gives numeric, which the driver turns into Decimals.
    return (cast(extract("year", column), Integer).label("year"),
            cast(extract("month", column), Integer).label("month"))


def _rows(stmt) -> list:
    """A Core statement's rows through the session's connection: plain tuples, without the ORM's
    result processing (a third of the panel's time on 30,000 rows)."""
    # Plain tuples: pandas probes each row for attributes, which SQLAlchemy's Row answers with
    # an exception per probe (half the panel's time on 15,000 rows).
    return [tuple(row) for row in db.session.connection().execute(stmt)]


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with unit (id), year, month, metric, value, n as typed panel rows."""
    if frame.empty:
        return empty_panel()
    frame = frame.assign(value=pd.to_numeric(frame["value"], errors="coerce").astype("float64"))
    frame = frame[frame["value"].notna()]
    periods = pd.PeriodIndex.from_fields(year=frame["year"].astype(int).to_numpy(),
                                         month=frame["month"].astype(int).to_numpy(), freq="M")
    return pd.DataFrame({
        "unit": frame["unit"].to_numpy(dtype=object),
        "period": periods,
        "metric": frame["metric"].to_numpy(dtype=object),
        "value": frame["value"].to_numpy(),
        "n": pd.array(pd.to_numeric(frame["n"], errors="coerce").round(), dtype="Int64"),
    })


def empty_panel() -> pd.DataFrame:
    """A panel with no rows, typed like a filled one."""
    return pd.DataFrame({
        "unit": pd.Series(dtype=object), "period": pd.Series(dtype="period[M]"),
        "metric": pd.Series(dtype=object), "value": pd.Series(dtype="float64"),
        "n": pd.Series(dtype="Int64"),
    })


# --- the families ------------------------------------------------------------------------------


def _adoption(scope: Scope, level, first: dt.date, last: dt.date, wanted: set[str]) -> list[pd.DataFrame]:
    """adoption_rate = Σ active ÷ Σ licensed over the month's weeks; active_share = Σ active days
    ÷ (7 × Σ licensed); n = mean licensed per week. One statement."""
    units, usage, member = _level_units(scope, level), WeeklyUnitUsage, aliased(OrgUnit)
    year, month = _month(usage.week_start)
    licensed, weeks = func.sum(usage.licensed), _weeks(level, usage.week_start)
    stmt = (
        select(units.c.id, year, month, func.sum(usage.active), func.sum(usage.active_days), licensed, weeks)
        .select_from(usage)
        .join(member, member.id == usage.unit_id)
        .join(units, _within(level, units, member.id, member.path))
        .where(usage.week_start >= first, usage.week_start <= last, scope.unit_filter(usage.unit_id))
        .group_by(units.c.id, year, month)
    )
    frame = pd.DataFrame(_rows(stmt),
                         columns=["unit", "year", "month", "active", "active_days", "licensed", "weeks"])
    if frame.empty:
        return []
    frame[["active", "active_days", "licensed", "weeks"]] = frame[
        ["active", "active_days", "licensed", "weeks"]].astype("float64")
    licensed_ = frame["licensed"].where(frame["licensed"] > 0)
    n = frame["licensed"] / frame["weeks"]
    parts = []
    if ADOPTION_RATE in wanted:
        parts.append(_finish(frame.assign(metric=ADOPTION_RATE, value=frame["active"] / licensed_, n=n)))
    if ACTIVE_SHARE in wanted:
        parts.append(_finish(frame.assign(metric=ACTIVE_SHARE,
                                          value=frame["active_days"] / (DAYS_PER_WEEK * licensed_), n=n)))
    return parts


def _behaviours(scope: Scope, level, first: dt.date, last: dt.date, event_types: list[str]) -> pd.DataFrame:
    """key_behaviour:<event_type> = Σ people who performed it ÷ Σ licensed over the month's weeks
    (weeks with licensed people but nobody performing it count as 0); n = mean licensed per week."""
    units, usage, behaviour, member = _level_units(scope, level), WeeklyUnitUsage, WeeklyUnitBehaviour, aliased(OrgUnit)
    kinds = select(func.distinct(behaviour.event_type).label("event_type")).where(
        behaviour.event_type.in_(sorted(set(event_types)))).subquery("kinds")
    year, month = _month(usage.week_start)
    stmt = (
        select(units.c.id, year, month, kinds.c.event_type, func.coalesce(func.sum(behaviour.people), 0),
               func.sum(usage.licensed), _weeks(level, usage.week_start))
        .select_from(usage)
        .join(kinds, kinds.c.event_type.isnot(None))
        .outerjoin(behaviour, and_(behaviour.week_start == usage.week_start, behaviour.unit_id == usage.unit_id,
                                   behaviour.event_type == kinds.c.event_type))
        .join(member, member.id == usage.unit_id)
        .join(units, _within(level, units, member.id, member.path))
        .where(usage.week_start >= first, usage.week_start <= last, scope.unit_filter(usage.unit_id))
        .group_by(units.c.id, year, month, kinds.c.event_type)
    )
    frame = pd.DataFrame(_rows(stmt),
                         columns=["unit", "year", "month", "event_type", "people", "licensed", "weeks"])
    if frame.empty:
        return empty_panel()
    people, licensed = frame["people"].astype("float64"), frame["licensed"].astype("float64")
    return _finish(frame.assign(metric=KEY_BEHAVIOUR + frame["event_type"],
                                value=people / licensed.where(licensed > 0),
                                n=licensed / frame["weeks"].astype("float64")))


def _surveys(scope: Scope, level, first: dt.date, last: dt.date, wanted: set[str],
             config: Mapping[str, Any]) -> list[pd.DataFrame]:
    """engagement_index, enps and readiness of the shown groups of the level's units in rounds
    prepared and closed in the months, from the stored sums; figures under k are left out; several
    rounds closing in one month are pooled (sums of the figures' numerators and n)."""
    units = _level_units(scope, level)
    year, month = _month(SurveyRound.closes_on)
    rows = _rows(
        select(units.c.id, year, month, RoundGroup.round_id, RoundGroup.sums)
        .select_from(RoundGroup)
        .join(units, units.c.id == RoundGroup.unit_id)
        .join(SurveyRound, SurveyRound.id == RoundGroup.round_id)
        .where(RoundGroup.tenure_band == ALL_BANDS, RoundGroup.shown.is_(True), RoundGroup.sums.isnot(None),
               SurveyRound.results_ready_at.isnot(None), SurveyRound.closes_on >= first,
               SurveyRound.closes_on <= last, scope.unit_filter(RoundGroup.unit_id))
    )
    if not rows:
        return []
    enps_questions: set[str] = set()
    if ENPS in wanted:  # the eNPS items of those rounds (bank items of the enps construct, 0–10)
        enps_questions = {str(i) for i in db.session.scalars(
            select(RoundQuestion.id)
            .join(SurveyQuestion, SurveyQuestion.id == RoundQuestion.question_id)
            .join(SurveyItemVersion, SurveyItemVersion.id == SurveyQuestion.item_version_id)
            .join(SurveyItem, SurveyItem.id == SurveyItemVersion.item_id)
            .where(RoundQuestion.round_id.in_(sorted({row[3] for row in rows})),
                   SurveyItem.construct == survey_metrics.ENPS, SurveyItemVersion.scale == Scale.NPS11.value)
        )}
    k = thresholds(config).scores
    records = []
    for path, year_, month_, _round_id, sums in rows:
        unit = sums["unit"]
        if int(unit["engagement_n"]) >= k:
            records.append((path, year_, month_, ENGAGEMENT_INDEX, unit["engagement_sum"], unit["engagement_n"]))
        promoters = detractors = answers = 0
        for rq, values in sums["items"].items():
            if rq in enps_questions:
                promoters += values[_PROMOTERS]
                detractors += values[_DETRACTORS]
                answers += values[_ANSWERS]
        if answers >= k:
            records.append((path, year_, month_, ENPS, 100 * (promoters - detractors), answers))
        if int(unit["readiness_n"]) >= k:
            records.append((path, year_, month_, READINESS, unit[f"barrier_{survey_metrics.NO_BARRIER}"],
                            unit["readiness_n"]))
    frame = pd.DataFrame(records, columns=["unit", "year", "month", "metric", "total", "n"])
    frame = frame[frame["metric"].isin(wanted)]
    if frame.empty:
        return []
    pooled = frame.groupby(["unit", "year", "month", "metric"], as_index=False)[["total", "n"]].sum()
    return [_finish(pooled.assign(value=pooled["total"] / pooled["n"]))]


def _training(scope: Scope, level, first: dt.date, last: dt.date) -> pd.DataFrame:
    """training_completion: of the assigned copies due in the month, the share whose person
    completed the module on or before the due date; n = copies. One statement."""
    units, member = _level_units(scope, level), aliased(OrgUnit)
    copy = AssignedTraining
    year, month = _month(copy.due_on)
    on_time = case((and_(Enrollment.completed_on.isnot(None), Enrollment.completed_on <= copy.due_on), 1), else_=0)
    stmt = (
        select(units.c.id, year, month, func.sum(on_time), func.count(copy.id))
        .select_from(copy)
        .join(Assignment, Assignment.id == copy.assignment_id)
        .join(Employee, Employee.id == copy.employee_id)
        .outerjoin(Enrollment, and_(Enrollment.employee_id == copy.employee_id,
                                    Enrollment.module_id == Assignment.module_id))
        .join(member, member.id == Employee.unit_id)
        .join(units, _within(level, units, member.id, member.path))
        .where(copy.due_on >= first, copy.due_on <= last, scope.unit_filter(Employee.unit_id))
        .group_by(units.c.id, year, month)
    )
    frame = pd.DataFrame(_rows(stmt), columns=["unit", "year", "month", "done", "n"])
    return _finish(frame.assign(metric=TRAINING_COMPLETION,
                                value=frame["done"].astype("float64") / frame["n"].astype("float64")))


def _commitments(scope: Scope, level, first: dt.date, last: dt.date) -> pd.DataFrame:
    """commitment_kept: of the follow-ups answered in the month, the share answered "done";
    n = answered follow-ups. One statement."""
    units, member = _level_units(scope, level), aliased(OrgUnit)
    follow_up = CommitmentFollowUp
    year, month = _month(follow_up.answered_at)
    done = case((follow_up.status == FollowUpStatus.DONE.value, 1), else_=0)
    after_last = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    stmt = (
        select(units.c.id, year, month, func.sum(done), func.count(follow_up.id))
        .select_from(follow_up)
        .join(Commitment, Commitment.id == follow_up.commitment_id)
        .join(Employee, Employee.id == Commitment.employee_id)
        .join(member, member.id == Employee.unit_id)
        .join(units, _within(level, units, member.id, member.path))
        .where(follow_up.status.isnot(None), follow_up.answered_at >= dt.datetime.combine(first, dt.time()),
               follow_up.answered_at < after_last, scope.unit_filter(Employee.unit_id))
        .group_by(units.c.id, year, month)
    )
    frame = pd.DataFrame(_rows(stmt), columns=["unit", "year", "month", "done", "n"])
    return _finish(frame.assign(metric=COMMITMENT_KEPT,
                                value=frame["done"].astype("float64") / frame["n"].astype("float64")))


def _outcomes(scope: Scope, level, first: dt.date, last: dt.date, names: list[str] | None) -> pd.DataFrame:
    """Imported outcomes of the level's own units (no roll-up), n = responses; a quarter's value
    in its last month, unless the same month has a monthly value. One statement."""
    units, outcome = _level_units(scope, level), OutcomeMeasure
    year, month = _month(outcome.period_end)
    start_year, start_month = _month(outcome.period_start)
    # Computed in SQL: reading the two dates back into Python costs more than the rest.
    quarterly = case((and_(start_year == year, start_month == month), 0), else_=1).label("quarterly")
    stmt = (
        select(units.c.id, year, month, outcome.metric, outcome.value, outcome.responses, quarterly)
        .join(units, units.c.id == outcome.unit_id)
        .where(outcome.period_end >= first, outcome.period_end <= last, scope.unit_filter(outcome.unit_id))
    )
    if names is not None:
        stmt = stmt.where(outcome.metric.in_(sorted(set(names))))
    frame = pd.DataFrame(_rows(stmt),
                         columns=["unit", "year", "month", "metric", "value", "n", "quarterly"])
    if frame.empty:
        return empty_panel()
    frame = frame.sort_values("quarterly").drop_duplicates(["unit", "year", "month", "metric"], keep="first")
    return _finish(frame)


# --- the panel ---------------------------------------------------------------------------------


def unit_period_panel(
    scope: Scope,
    *,
    level: str | int = "team",
    start: dt.date,
    end: dt.date,
    metrics: list[str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Unit × calendar month × metric (long form: unit, period, metric, value, n) for the units of
    ``level`` in ``scope`` and the whole months from ``start`` to ``end``.

    ``level``: "team" (default; also "leaf": units without children), "region" (depth 1),
    "company" (depth 0) or a depth. ``metrics``: names to read (default: every built-in metric,
    the current initiative's key behaviours and every imported outcome). ``config`` gives the
    survey threshold k (default: the app's settings). Sorted by unit, metric and period.
    """
    if not scope.sees_aggregates or end < start:
        return empty_panel()
    if config is None:
        from flask import current_app

        config = current_app.config
    first, last = _month_bounds(start, end)
    if metrics is None:
        initiative = current_initiative()
        behaviours = list(initiative.key_behaviours or []) if initiative is not None else []
        wanted, outcome_names = set(BUILT_IN), None
    else:
        wanted = {m for m in metrics if m in BUILT_IN}
        behaviours = [m[len(KEY_BEHAVIOUR):] for m in metrics if m.startswith(KEY_BEHAVIOUR)]
        outcome_names = [m for m in metrics if m not in BUILT_IN and not m.startswith(KEY_BEHAVIOUR)]
    parts: list[pd.DataFrame] = []
    if wanted & set(ADOPTION_METRICS):
        parts += _adoption(scope, level, first, last, wanted)
    if behaviours:
        parts.append(_behaviours(scope, level, first, last, behaviours))
    if wanted & set(SURVEY_METRICS):
        parts += _surveys(scope, level, first, last, wanted, config)
    if TRAINING_COMPLETION in wanted:
        parts.append(_training(scope, level, first, last))
    if COMMITMENT_KEPT in wanted:
        parts.append(_commitments(scope, level, first, last))
    if outcome_names is None or outcome_names:
        parts.append(_outcomes(scope, level, first, last, outcome_names))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return empty_panel()
    panel = pd.concat(parts, ignore_index=True)
    # The families group by unit id (cheap to hash and sort); paths are put in once, here.
    units = _level_units(scope, level)
    paths = dict(_rows(select(units.c.id, units.c.path)))
    panel["unit"] = panel["unit"].map(paths).astype(object)
    return panel.sort_values(["unit", "metric", "period"], ignore_index=True)[PANEL_COLUMNS]


def family(metric: str) -> str:
    """Which stored tables metric ``metric`` is read from: usage, behaviours, surveys, training
    or outcomes (any name that is not built in nor a key behaviour)."""
    if metric in ADOPTION_METRICS:
        return "usage"
    if metric.startswith(KEY_BEHAVIOUR):
        return "behaviours"
    if metric in SURVEY_METRICS:
        return "surveys"
    if metric in (TRAINING_COMPLETION, COMMITMENT_KEPT):
        return "training"
    return "outcomes"


def data_stamp(families: set[str]) -> tuple:
    """A cheap fingerprint of everything the metrics of ``families`` (see ``family``) are read
    from (a few aggregate reads): it changes whenever a figure of the panel could, so a panel kept under it
    (``dashboards.cache``) is rebuilt after new usage rollups, prepared rounds, completions,
    answered follow-ups, roster imports or outcomes — and only then."""
    stamp: list = []
    if "usage" in families:
        stamp.append(tuple(_rows(select(func.count(WeeklyUnitUsage.unit_id), func.sum(WeeklyUnitUsage.active),
                                        func.sum(WeeklyUnitUsage.licensed)))[0]))
    if "behaviours" in families:
        stamp.append(tuple(_rows(select(func.count(WeeklyUnitBehaviour.unit_id), func.sum(WeeklyUnitBehaviour.people)))[0]))
    if "surveys" in families:
        stamp.append(tuple(_rows(select(func.count(SurveyRound.results_ready_at),
                                        func.max(SurveyRound.results_ready_at)))[0]))
    if "training" in families:
        stamp.append(tuple(_rows(select(func.count(Enrollment.id), func.max(Enrollment.completed_at)))[0]))
        stamp.append(tuple(_rows(select(func.count(AssignedTraining.id)))[0]))
        stamp.append(tuple(_rows(select(func.count(CommitmentFollowUp.answered_at),
                                        func.max(CommitmentFollowUp.answered_at)))[0]))
    if families & {"training", "usage", "behaviours"}:  # people counted in their current unit
        stamp.append(tuple(_rows(select(
            select(func.count(RosterImport.id)).scalar_subquery(),
            select(func.count(Employee.id)).where(Employee.active.is_(True)).scalar_subquery()))[0]))
    if "outcomes" in families:
        stamp.append(tuple(_rows(select(func.count(OutcomeMeasure.id), func.max(OutcomeMeasure.updated_at)))[0]))
    return tuple(str(part) for part in stamp)


def wide(panel: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Metrics ``x`` and ``y`` of a long panel side by side, for ``dashboards.metrics.evidence``:
    columns unit, period, x, y, weight (y's n; NaN where y has none). A unit-month with either
    metric is kept (the other NaN), so lagged pairs can reach across months."""
    def one(metric: str, columns: dict[str, str]) -> pd.DataFrame:
        rows = panel.loc[panel["metric"] == metric, ["unit", "period", "value", "n"]]
        return rows.rename(columns=columns)

    left = one(x, {"value": "x"}).drop(columns="n")
    right = one(y, {"value": "y", "n": "weight"})
    frame = left.merge(right, on=["unit", "period"], how="outer")
    frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce").astype("float64")
    frame["period"] = frame["period"].astype("period[M]")
    return frame.sort_values(["unit", "period"], ignore_index=True)[WIDE_COLUMNS]
