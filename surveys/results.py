"""Survey results: preparing a closed round once, and reading its figures within a ``Scope``.

Preparing (``prepare_round_results``, ``prepare_closed_rounds``) happens once per round, after it
closes: the disclosure decisions (surveys/disclosure.py) and additive statistics per snapshot
unit × tenure band (``round_unit_stats``) and per unit × band × question (``round_item_stats``),
computed from the answers in one set-based read. Reading (``results_rounds``, ``group_results``,
``heatmap``, ``trend``, ``drivers``) uses only those tables and ``round_groups``, never the raw
answers, and only for prepared rounds: nobody can watch a group's figures move as one more person
answers.

What is stored, and the choices behind it (formulas: surveys/metrics.py, docs/metrics.md):

- ``n`` of an item counts the answers given to it: a value for likert5 and nps11, at least one
  option for single and multi. ``total``/``total_sq`` (and so the mean) are on the scale **as
  answered**, so a mean reads against the wording; ``favourable`` counts likert scores of 4–5
  **after reversing** reverse-scored items (for "... conflicts with other targets", disagreeing
  is favourable), as do the engagement index and the readiness barrier.
- Driver pairs: x is the item's score (reversed for reverse-scored items, so a positive r always
  means "more favourable answers go with more engagement"), y the respondent's engagement index;
  only respondents with an engagement index contribute.
- Text questions have no statistics (free text lives in ``comments``).

Figures in a shown group are hidden again below the threshold k where fewer people stand behind
them: an item (or driver, or the eNPS, or the engagement index) answered by fewer than k, and the
barrier distribution when fewer than k answered a readiness item. A suppressed group carries no
figure at all, only its invited count (roster information) and ``SUPPRESSED_MESSAGE``.

Services flush and never commit; the caller commits.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Text, cast, delete, func, select
from sqlalchemy.orm import aliased

from adoption.extensions import db
from adoption.models import OrgUnit
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.scope import Scope, ScopeError
from adoption.timekeeping import utcnow
from surveys import metrics
from surveys.disclosure import SUPPRESSED_MESSAGE, group_disclosure, prepare_disclosure, thresholds
from surveys.models import (
    ALL_BANDS,
    CHOICE_SCALES,
    NO_BAND,
    TENURE_BANDS,
    Answer,
    Response,
    RoundGroup,
    RoundItemStats,
    RoundQuestion,
    RoundUnitStats,
    Scale,
    Survey,
    SurveyItem,
    SurveyItemVersion,
    SurveyQuestion,
    SurveyRound,
)

SCORED_SCALES = (Scale.LIKERT5.value, Scale.NPS11.value)
#: Constructs left out of the driver analysis: the engagement items make up y themselves.
DRIVER_EXCLUDED_CONSTRUCTS = (metrics.ENGAGEMENT,)


class ResultsNotFound(LookupError):
    """No round, survey or unit with this id."""


class ResultsNotReady(Exception):
    """The round's results are not prepared: it is still open, or closed and not processed yet."""

    def __init__(self, round_id: int, closes_on: dt.date):
        self.round_id, self.closes_on = round_id, closes_on
        super().__init__(f"round {round_id} has no results yet; they appear after it closes on {closes_on}")


@dataclass(frozen=True)
class RoundInfo:
    """A round as results pages and the API name it."""

    id: int
    survey_id: int
    survey_title: str
    number: int
    opens_on: dt.date
    closes_on: dt.date
    results_ready: bool


@dataclass(frozen=True)
class ItemResult:
    """One question's figures in a group; every figure None when fewer than k answered it."""

    round_question_id: int
    item_key: str | None  # None for a custom question
    construct: str | None
    wording: str
    scale: str
    n: int | None
    mean: float | None  # on the scale as answered (1–5 or 0–10)
    favourable_pct: float | None  # likert5: % scoring 4–5 after reversing reverse-scored items
    enps: float | None  # nps11: % 9–10 − % 0–6
    choice_counts: dict[str, int] | None  # single/multi: people per option, in the options' order
    question_id: int = 0
    item_version_id: int | None = None
    reverse_scored: bool = False
    suppressed: bool = False

    @property
    def series_key(self) -> str:
        """What a trend line joins across rounds: the item version (one wording), or the custom question."""
        return f"v{self.item_version_id}" if self.item_version_id is not None else f"q{self.question_id}"


@dataclass(frozen=True)
class GroupResults:
    """A group's results in one round; a suppressed group has no figures, only its invited count."""

    round: RoundInfo
    unit_id: int
    unit_path: str
    band: str  # ALL_BANDS or one of TENURE_BANDS
    invited: int
    n: int | None  # respondents; None when suppressed
    suppressed: bool
    message: str | None  # SUPPRESSED_MESSAGE when suppressed
    response_rate: float | None  # respondents ÷ invited, a fraction (can pass 1 when people moved in)
    engagement_index: float | None  # 0–100
    enps: float | None  # −100..100
    items: list[ItemResult] = field(default_factory=list)
    # Respondents per first barrier (awareness … reinforcement, none); None unless shown and at
    # least k answered a readiness item.
    barriers: dict[str, int] | None = None


@dataclass(frozen=True)
class Driver:
    """Correlation of one item with the engagement index across a group's respondents."""

    round_question_id: int
    item_key: str | None
    construct: str | None
    wording: str
    n: int | None  # pairs; None (and no r) when fewer than k
    r: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool  # the 95% interval excludes 0; False when there is no interval


# ------------------------------------------------------------------ questions of a round


@dataclass(frozen=True)
class _Question:
    """What the statistics need to know about a round question."""

    round_question_id: int
    question_id: int
    position: int
    item_version_id: int | None
    item_key: str | None
    construct: str | None
    wording: str
    scale: str
    options: tuple[str, ...]
    reverse_scored: bool
    # Asked only in this unit's subtree (an action plan's follow-up); None = whole audience.
    only_in_path: str | None


def _round_questions(round_id: int) -> list[_Question]:
    """The round's questions in form order, with their scale, construct and scoring direction."""
    restricted = aliased(OrgUnit)
    rows = db.session.execute(
        select(RoundQuestion.id, SurveyQuestion.id, RoundQuestion.position, SurveyItemVersion.id,
               SurveyItem.key, SurveyItem.construct, SurveyItemVersion.wording, SurveyQuestion.custom_wording,
               SurveyItemVersion.scale, SurveyQuestion.custom_scale, SurveyItemVersion.options,
               SurveyQuestion.custom_options, SurveyItemVersion.reverse_scored, restricted.path)
        .join(SurveyQuestion, SurveyQuestion.id == RoundQuestion.question_id)
        .outerjoin(SurveyItemVersion, SurveyItemVersion.id == SurveyQuestion.item_version_id)
        .outerjoin(SurveyItem, SurveyItem.id == SurveyItemVersion.item_id)
        .outerjoin(restricted, restricted.id == RoundQuestion.unit_id)
        .where(RoundQuestion.round_id == round_id)
        .order_by(RoundQuestion.position, RoundQuestion.id)
    )
    return [
        _Question(rq_id, q_id, position, version_id, key, construct, bank_wording or custom_wording,
                  bank_scale or custom_scale, tuple(bank_options or custom_options or ()), bool(reverse), path)
        for (rq_id, q_id, position, version_id, key, construct, bank_wording, custom_wording, bank_scale,
             custom_scale, bank_options, custom_options, reverse, path) in rows
    ]


# ------------------------------------------------------------------ preparing


def _unprepared_closed(today: dt.date, survey_id: int | None = None, before_number: int | None = None):
    """SELECT the closed, unprepared rounds in survey and number order, locked against a
    concurrent preparation (PostgreSQL re-checks the filter once the other one commits)."""
    stmt = (
        select(SurveyRound)
        .where(SurveyRound.closes_on < today, SurveyRound.results_ready_at.is_(None))
        .order_by(SurveyRound.survey_id, SurveyRound.number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if survey_id is not None:
        stmt = stmt.where(SurveyRound.survey_id == survey_id)
    if before_number is not None:
        stmt = stmt.where(SurveyRound.number < before_number)
    return stmt


def prepare_round_results(survey_round: SurveyRound, config: Mapping[str, Any], today: dt.date) -> bool:
    """Prepare the results of a round closed before ``today``; False (nothing done) while it is open.

    Earlier closed rounds of the survey not yet prepared come first, in number order (the
    across-rounds disclosure rule reads their decisions). Re-running replaces the round's
    decisions and statistics. Flushes; the caller commits.
    """
    if survey_round.closes_on >= today:
        return False
    for earlier in db.session.scalars(_unprepared_closed(today, survey_round.survey_id, survey_round.number)).all():
        _prepare(earlier, config)
    _prepare(survey_round, config)
    return True


def prepare_closed_rounds(today: dt.date, config: Mapping[str, Any]) -> int:
    """Prepare every round closed before ``today`` whose results are not prepared; how many were."""
    rounds = db.session.scalars(_unprepared_closed(today)).all()
    for survey_round in rounds:  # survey and number order: earlier rounds first
        _prepare(survey_round, config)
    return len(rounds)


def _prepare(survey_round: SurveyRound, config: Mapping[str, Any]) -> None:
    """Disclosure decisions and statistics of one closed round, replacing any earlier ones."""
    prepare_disclosure(survey_round, config)
    unit_rows, item_rows = _round_statistics(survey_round.id)
    db.session.execute(delete(RoundUnitStats).where(RoundUnitStats.round_id == survey_round.id))
    db.session.execute(delete(RoundItemStats).where(RoundItemStats.round_id == survey_round.id))
    if unit_rows:
        db.session.execute(RoundUnitStats.__table__.insert(), unit_rows)
    # Rows without choice counts leave the JSON column out, so it is SQL NULL rather than JSON null.
    plain = [r for r in item_rows if "choice_counts" not in r]
    chosen = [r for r in item_rows if "choice_counts" in r]
    for rows in (plain, chosen):
        if rows:
            db.session.execute(RoundItemStats.__table__.insert(), rows)
    _store_group_sums(survey_round.id, unit_rows, item_rows)
    survey_round.results_ready_at = utcnow()
    db.session.flush()


ITEM_SUMS = ("n", "total", "total_sq", "favourable", "promoters", "detractors",
              "pair_n", "pair_x", "pair_y", "pair_xx", "pair_yy", "pair_xy")
_UNIT_SUMS = ("respondents", "engagement_n", "engagement_sum", "engagement_sum_sq", "readiness_n",
              *(f"barrier_{b}" for b in (*metrics.READINESS_ELEMENTS, metrics.NO_BARRIER)))


_LIKERT, _NPS, _CHOICE, _OTHER = 0, 1, 2, 3


def _store_group_sums(round_id: int, unit_rows: list[dict], item_rows: list[dict]) -> None:
    """Keep on each shown group's ``round_groups`` row its statistics summed over its subtree.

    A statistics row (a snapshot unit and band) counts in every shown group whose unit is that
    unit or one of its ancestors, with the same band or ALL_BANDS. Suppressed groups keep none:
    nothing is ever read from them.
    """
    groups = db.session.scalars(
        select(RoundGroup).where(RoundGroup.round_id == round_id, RoundGroup.shown.is_(True))
    ).all()
    if not groups:
        return
    sums = {(g.unit_id, g.tenure_band): {"unit": dict.fromkeys(_UNIT_SUMS, 0), "items": {}, "choices": {}}
            for g in groups}
    path_of = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path)).all())
    id_of = {path: unit_id for unit_id, path in path_of.items()}
    ancestors: dict[int, list[int]] = {}

    def containing(unit_id: int, band: str) -> list[dict]:
        """The sums of the shown groups a row of ``unit_id`` and ``band`` counts in."""
        if unit_id not in ancestors:
            parts = path_of[unit_id].split(UNIT_PATH_SEPARATOR)
            ancestors[unit_id] = [id_of[UNIT_PATH_SEPARATOR.join(parts[:i])] for i in range(1, len(parts) + 1)]
        return [sums[key] for a in ancestors[unit_id] for key in ((a, ALL_BANDS), (a, band)) if key in sums]

    for row in unit_rows:
        for group in containing(row["unit_id"], row["tenure_band"]):
            for name in _UNIT_SUMS:
                group["unit"][name] += row[name]
    for row in item_rows:
        rq = str(row["round_question_id"])
        for group in containing(row["unit_id"], row["tenure_band"]):
            totals = group["items"].setdefault(rq, [0] * len(ITEM_SUMS))
            for i, name in enumerate(ITEM_SUMS):
                totals[i] += row[name]
            for option, count in (row.get("choice_counts") or {}).items():
                counts = group["choices"].setdefault(rq, {})
                counts[option] = counts.get(option, 0) + count
    for g in groups:
        g.sums = sums[(g.unit_id, g.tenure_band)]
    db.session.flush()


def _round_statistics(round_id: int) -> tuple[list[dict], list[dict]]:
    """The ``round_unit_stats`` and ``round_item_stats`` rows of a round, from one read of its answers.

    One pass over (response, answer) rows in plain Python: a round of 12,000 responses × 12
    questions is ~150,000 rows, read as raw columns (no ORM rows, no UUID objects, JSON decoded
    only for choice questions) to stay within a few seconds.
    """
    # Per round question: (kind, reverse-scored, engagement item, readiness element).
    spec: dict[int, tuple[int, bool, bool, str | None]] = {}
    for q in _round_questions(round_id):
        kind = {Scale.LIKERT5.value: _LIKERT, Scale.NPS11.value: _NPS}.get(
            q.scale, _CHOICE if q.scale in CHOICE_SCALES else _OTHER)
        spec[q.round_question_id] = (kind, q.reverse_scored, q.construct == metrics.ENGAGEMENT,
                                     metrics.readiness_element(q.construct))

    answers_t, responses_t, questions_t = Answer.__table__, Response.__table__, RoundQuestion.__table__
    a, r, rq = answers_t.c, responses_t.c, questions_t.c
    rows = db.session.execute(
        # As text: no UUID objects, and JSON decoded only for choice questions (psycopg would
        # otherwise decode every row's JSON, null included).
        select(cast(a.response_id, String), r.unit_id, r.tenure_band, a.round_question_id, a.value,
               cast(a.choices, Text))
        .select_from(answers_t.join(responses_t, r.id == a.response_id)
                     .join(questions_t, rq.id == a.round_question_id))
        .where(r.round_id == round_id, rq.round_id == round_id)
    ).all()
    # Per response (its id never leaves this function): its cell and its answers.
    responses: dict[Any, tuple[tuple[int, str], list]] = {}
    for response_id, unit_id, band, rq_id, value, choices in rows:
        entry = responses.get(response_id)
        if entry is None:
            entry = responses[response_id] = ((unit_id, band or NO_BAND), [])
        entry[1].append((rq_id, value, choices))

    units: dict[tuple[int, str], dict[str, float]] = defaultdict(lambda: dict.fromkeys(_UNIT_SUMS, 0))
    for unit_id, band, count in db.session.execute(
        select(r.unit_id, r.tenure_band, func.count()).where(r.round_id == round_id)
        .group_by(r.unit_id, r.tenure_band)
    ):
        units[(unit_id, band or NO_BAND)]["respondents"] += count
    items: dict[tuple[int, str, int], list[float]] = {}
    choice_counts: dict[tuple[int, str, int], dict[str, int]] = {}

    for cell, answers in responses.values():
        engagement: list[int] = []
        readiness: dict[str, list[int]] = {}
        scored: list[tuple[int, int, int, int]] = []  # (rq, kind, answer, score)
        for rq_id, value, choices in answers:
            kind, reverse, is_engagement, element = spec[rq_id]
            if kind == _LIKERT and value is not None:
                score = metrics.likert_score(value, reverse)
                scored.append((rq_id, kind, value, score))
                if is_engagement:
                    engagement.append(score)
                if element is not None:
                    readiness.setdefault(element, []).append(score)
            elif kind == _NPS and value is not None:
                scored.append((rq_id, kind, value, value))
            elif kind == _CHOICE and choices is not None:
                chosen = json.loads(choices)
                if chosen:
                    key = (cell[0], cell[1], rq_id)
                    s = items.get(key)
                    if s is None:
                        s = items[key] = [0] * len(ITEM_SUMS)
                    s[0] += 1
                    counts = choice_counts.setdefault(key, {})
                    for option in chosen:
                        counts[option] = counts.get(option, 0) + 1
        index = metrics.engagement_index(engagement)
        stats = units[cell]
        if index is not None:
            stats["engagement_n"] += 1
            stats["engagement_sum"] += index
            stats["engagement_sum_sq"] += index * index
        first_barrier = metrics.barrier(readiness)
        if first_barrier is not None:
            stats["readiness_n"] += 1
            stats[f"barrier_{first_barrier}"] += 1
        for rq_id, kind, value, score in scored:
            key = (cell[0], cell[1], rq_id)
            s = items.get(key)
            if s is None:
                s = items[key] = [0] * len(ITEM_SUMS)
            s[0] += 1
            s[1] += value
            s[2] += value * value
            if kind == _LIKERT:
                if metrics.is_favourable(score):
                    s[3] += 1
            else:
                category = metrics.nps_category(value)
                if category == "promoter":
                    s[4] += 1
                elif category == "detractor":
                    s[5] += 1
            if index is not None:
                s[6] += 1
                s[7] += score
                s[8] += index
                s[9] += score * score
                s[10] += index * index
                s[11] += score * index

    unit_rows = [{"round_id": round_id, "unit_id": unit_id, "tenure_band": band, **values}
                 for (unit_id, band), values in sorted(units.items())]
    item_rows = []
    for key in sorted(items):
        unit_id, band, rq_id = key
        row = {"round_id": round_id, "unit_id": unit_id, "tenure_band": band, "round_question_id": rq_id,
               **dict(zip(ITEM_SUMS, items[key], strict=True))}
        if key in choice_counts:
            row["choice_counts"] = choice_counts[key]
        item_rows.append(row)
    return unit_rows, item_rows


# ------------------------------------------------------------------ reading


def _k(config: Mapping[str, Any] | None) -> int:
    """The anonymity threshold for scores from the settings (the app's when none are given)."""
    if config is None:
        from flask import current_app

        config = current_app.config
    return thresholds(config).scores


def _unit_in_scope(scope: Scope, unit_id: int) -> OrgUnit:
    """The unit, after the scope check (which comes first, so nothing is said about other units)."""
    scope.require_unit(unit_id)
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        raise ResultsNotFound(f"there is no unit {unit_id}")
    return unit


def _check_band(band: str) -> None:
    """Refuse a band that is neither ALL_BANDS nor a tenure band."""
    if band != ALL_BANDS and band not in TENURE_BANDS:
        raise ValueError(f"unknown tenure band {band!r}")


def _round_info(survey_round: SurveyRound, title: str) -> RoundInfo:
    """The ``RoundInfo`` of a round."""
    return RoundInfo(survey_round.id, survey_round.survey_id, title, survey_round.number, survey_round.opens_on,
                     survey_round.closes_on, survey_round.results_ready_at is not None)


def _prepared_round(round_id: int) -> RoundInfo:
    """The round, which must exist (``ResultsNotFound``) and be prepared (``ResultsNotReady``)."""
    row = db.session.execute(
        select(SurveyRound, Survey.title).join(Survey, Survey.id == SurveyRound.survey_id)
        .where(SurveyRound.id == round_id)
    ).first()
    if row is None:
        raise ResultsNotFound(f"there is no survey round {round_id}")
    survey_round, title = row
    if survey_round.results_ready_at is None:
        raise ResultsNotReady(survey_round.id, survey_round.closes_on)
    return _round_info(survey_round, title)


def results_rounds(scope: Scope, *, include_pending: bool = False) -> list[RoundInfo]:
    """Rounds with prepared results, newest first (with ``include_pending``, every round).

    Round names and dates are not confidential; what a user may see of a round's results is
    decided per group. Raises ``ScopeError`` for a user who sees no unit figures at all.
    """
    if not scope.sees_aggregates:
        raise ScopeError("this user sees no unit aggregates")
    stmt = (
        select(SurveyRound, Survey.title).join(Survey, Survey.id == SurveyRound.survey_id)
        .order_by(SurveyRound.closes_on.desc(), SurveyRound.opens_on.desc(), SurveyRound.survey_id,
                  SurveyRound.number.desc())
    )
    if not include_pending:
        stmt = stmt.where(SurveyRound.results_ready_at.isnot(None))
    return [_round_info(r, title) for r, title in db.session.execute(stmt)]


def _stored_sums(round_id: int, unit_id: int, band: str) -> tuple[dict, dict[int, dict], dict[int, dict]]:
    """A shown group's statistics kept at preparation: unit sums, item sums and choice counts
    per round question."""
    row = db.session.get(RoundGroup, (round_id, unit_id, band))
    stored = row.sums if row is not None else None
    if not stored:
        # Only shown groups are read, and preparation stores the sums of every shown group.
        raise ResultsNotFound(f"round {round_id} has no statistics for unit {unit_id} ({band})")
    items = {int(rq): dict(zip(ITEM_SUMS, values, strict=True)) for rq, values in stored["items"].items()}
    choices = {int(rq): counts for rq, counts in stored["choices"].items()}
    return stored["unit"], items, choices


def _at_or_below(path: str, root: str) -> bool:
    """True when the unit at ``path`` is ``root`` or lies below it."""
    return path == root or path.startswith(root + UNIT_PATH_SEPARATOR)


def _asked_in(question: _Question, unit: OrgUnit) -> bool:
    """True when the question was asked somewhere in the unit's subtree."""
    path = question.only_in_path
    return path is None or _at_or_below(path, unit.path) or _at_or_below(unit.path, path)


def _item_result(q: _Question, sums: Mapping[str, float] | None, counts: Mapping[str, int] | None,
                 k: int) -> ItemResult:
    """One question's figures from its sums; hidden when fewer than k answered it."""
    n = int(sums["n"]) if sums else 0
    common = {"question_id": q.question_id, "item_version_id": q.item_version_id, "reverse_scored": q.reverse_scored}
    if n < k:
        return ItemResult(q.round_question_id, q.item_key, q.construct, q.wording, q.scale,
                          None, None, None, None, None, suppressed=True, **common)
    mean = favourable = enps = choices = None
    if q.scale in SCORED_SCALES:
        mean = metrics.mean(sums["total"], n)
    if q.scale == Scale.LIKERT5.value:
        favourable = metrics.favourable_pct(int(sums["favourable"]), n)
    elif q.scale == Scale.NPS11.value:
        enps = metrics.enps(int(sums["promoters"]), int(sums["detractors"]), n)
    elif q.scale in CHOICE_SCALES:
        counts = counts or {}
        choices = {option: int(counts.get(option, 0)) for option in q.options}
    return ItemResult(q.round_question_id, q.item_key, q.construct, q.wording, q.scale,
                      n, mean, favourable, enps, choices, **common)


def _group(info: RoundInfo, unit: OrgUnit, band: str, k: int) -> GroupResults:
    """A group's results in a prepared round, or its suppressed shell."""
    disclosure = group_disclosure(info.id, unit.id, band)
    if not disclosure.shown:
        return GroupResults(info, unit.id, unit.path, band, disclosure.invited, None, True, SUPPRESSED_MESSAGE,
                            None, None, None, [], None)
    unit_sums, item_sums, choice_sums = _stored_sums(info.id, unit.id, band)
    questions = [q for q in _round_questions(info.id) if q.scale != Scale.TEXT.value and _asked_in(q, unit)]
    items = [_item_result(q, item_sums.get(q.round_question_id), choice_sums.get(q.round_question_id), k)
             for q in questions]

    engagement_n = int(unit_sums["engagement_n"])
    engagement = metrics.mean(unit_sums["engagement_sum"], engagement_n) if engagement_n >= k else None
    promoters = detractors = answered = 0
    for q in questions:
        sums = item_sums.get(q.round_question_id)
        if sums and q.construct == metrics.ENPS and q.scale == Scale.NPS11.value:
            promoters += int(sums["promoters"])
            detractors += int(sums["detractors"])
            answered += int(sums["n"])
    enps = metrics.enps(promoters, detractors, answered) if answered >= k else None
    barriers = None
    if int(unit_sums["readiness_n"]) >= k:
        barriers = {b: int(unit_sums[f"barrier_{b}"]) for b in (*metrics.READINESS_ELEMENTS, metrics.NO_BARRIER)}
    return GroupResults(
        info, unit.id, unit.path, band, disclosure.invited, disclosure.respondents, False, None,
        metrics.rate(disclosure.respondents, disclosure.invited), engagement, enps, items, barriers,
    )


def group_results(scope: Scope, round_id: int, unit_id: int, band: str = ALL_BANDS, *,
                  config: Mapping[str, Any] | None = None) -> GroupResults:
    """The results of a unit's subtree (optionally one tenure band) in a prepared round.

    Raises ``ScopeError`` for a unit outside ``scope``, ``ResultsNotFound`` for an unknown round
    or unit, ``ResultsNotReady`` for a round not prepared, ``ValueError`` for an unknown band.
    ``config`` gives the threshold k (default: the app's settings).
    """
    unit = _unit_in_scope(scope, unit_id)
    _check_band(band)
    return _group(_prepared_round(round_id), unit, band, _k(config))


def heatmap(scope: Scope, round_id: int, unit_id: int, band: str = ALL_BANDS, *,
            config: Mapping[str, Any] | None = None) -> list[GroupResults]:
    """The results of each child unit of ``unit_id`` in the round, by path; suppressed ones included.

    Children with nobody invited and nobody answering (outside the survey's audience) are left out.
    """
    unit = _unit_in_scope(scope, unit_id)
    _check_band(band)
    info, k = _prepared_round(round_id), _k(config)
    children = db.session.scalars(
        select(OrgUnit).join(RoundGroup, RoundGroup.unit_id == OrgUnit.id)
        .where(OrgUnit.parent_id == unit.id, RoundGroup.round_id == round_id, RoundGroup.tenure_band == ALL_BANDS)
        .order_by(OrgUnit.path)
    ).all()
    return [_group(info, child, band, k) for child in children if scope.allows_unit(child.id)]


def trend(scope: Scope, survey_id: int, unit_id: int, band: str = ALL_BANDS, *,
          config: Mapping[str, Any] | None = None) -> list[GroupResults]:
    """The group's results in every prepared round of the survey, oldest first.

    Join items across rounds by ``ItemResult.series_key`` (see ``item_series``): the item
    version, so a reworded item starts a new line instead of continuing the old one.
    """
    unit = _unit_in_scope(scope, unit_id)
    _check_band(band)
    title = db.session.scalar(select(Survey.title).where(Survey.id == survey_id))
    if title is None:
        raise ResultsNotFound(f"there is no survey {survey_id}")
    k = _k(config)
    rounds = db.session.scalars(
        select(SurveyRound).where(SurveyRound.survey_id == survey_id, SurveyRound.results_ready_at.isnot(None))
        .order_by(SurveyRound.number)
    ).all()
    return [_group(_round_info(r, title), unit, band, k) for r in rounds]


def item_series(points: list[GroupResults]) -> dict[str, list[tuple[RoundInfo, ItemResult]]]:
    """Trend points regrouped per line: ``series_key`` -> [(round, item)], in the points' order."""
    series: dict[str, list[tuple[RoundInfo, ItemResult]]] = defaultdict(list)
    for point in points:
        for item in point.items:
            series[item.series_key].append((point.round, item))
    return dict(series)


def drivers(scope: Scope, round_id: int, unit_id: int, band: str = ALL_BANDS, *,
            config: Mapping[str, Any] | None = None) -> list[Driver]:
    """Each scored non-engagement item's correlation with the engagement index, in form order.

    Empty when the group is suppressed; an item answered (with an engagement index) by fewer
    than k people has n and r None. r is None too when either side does not vary, and the
    interval when n < 4.
    """
    unit = _unit_in_scope(scope, unit_id)
    _check_band(band)
    info, k = _prepared_round(round_id), _k(config)
    if not group_disclosure(info.id, unit.id, band).shown:
        return []
    _, sums_by_question, _ = _stored_sums(info.id, unit.id, band)
    result = []
    for q in _round_questions(info.id):
        if q.scale not in SCORED_SCALES or q.construct in DRIVER_EXCLUDED_CONSTRUCTS or not _asked_in(q, unit):
            continue
        sums = sums_by_question.get(q.round_question_id)
        pairs = int(sums["pair_n"]) if sums else 0
        if pairs < k:
            result.append(Driver(q.round_question_id, q.item_key, q.construct, q.wording,
                                 None, None, None, None, False))
            continue
        c = metrics.pearson(pairs, sums["pair_x"], sums["pair_y"], sums["pair_xx"], sums["pair_yy"], sums["pair_xy"])
        result.append(Driver(q.round_question_id, q.item_key, q.construct, q.wording, c.n, c.r, c.ci_low, c.ci_high,
                             c.significant))
    return result
