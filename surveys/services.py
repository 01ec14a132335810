"""Survey operations: the item bank, building and scheduling surveys, answering them.

Every function adds and flushes; the caller (a view, a CLI command, a job) commits once.
"""
from __future__ import annotations

import calendar
import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, make_transient_to_detached

from adoption.extensions import db
from adoption.models import Employee, OrgUnit, Role, UnitMembership, User
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.org import membership_in_force, subtree_filter, unit_on
from adoption.timekeeping import utcnow
from surveys.authorship import author_key
from surveys.models import (
    CHOICE_SCALES,
    RECURRENCES,
    SCALES,
    Answer,
    Comment,
    CommentKind,
    Participation,
    Recurrence,
    Response,
    ResponseDraft,
    RoundQuestion,
    Scale,
    Survey,
    SurveyItem,
    SurveyItemVersion,
    SurveyQuestion,
    SurveyRound,
    SurveyStatus,
    survey_audience_units,
)

ITEM_BANK_FILE = Path(__file__).with_name("item_bank.yaml")
MAX_TEXT_LENGTH = 2000
MAX_OPTIONS = 20
#: How far back the budget walk starts (see ``offered_rounds``).
BUDGET_LOOKBACK_DAYS = 366


class SurveyError(ValueError):
    """A survey operation refused, with a message fit to show to the person who asked."""


class AnswerError(SurveyError):
    """Answers that do not fit the round's questions; ``errors`` maps round question id -> message."""

    def __init__(self, errors: Mapping[int, str]):
        self.errors = dict(errors)
        super().__init__("Please check your answers: " + " ".join(self.errors.values()))


# ------------------------------------------------------------------ item bank


@dataclass
class ItemBankSync:
    """What a sync of the item bank changed."""

    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: int = 0


def load_item_bank(path: Path | str | None = None) -> list[dict[str, Any]]:
    """Read and check the item bank file (YAML, a top-level ``items`` list)."""
    with open(path or ITEM_BANK_FILE, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise SurveyError("the item bank file must have a top-level 'items' list")
    seen: set[str] = set()
    for entry in items:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not key or not isinstance(key, str):
            raise SurveyError(f"an item bank entry has no key: {entry!r}")
        if key in seen:
            raise SurveyError(f"item {key} appears twice in the item bank")
        seen.add(key)
        if not entry.get("construct") or not str(entry.get("wording") or "").strip():
            raise SurveyError(f"item {key} needs a construct and a wording")
        _check_scale(entry.get("scale"), entry.get("options"), f"item {key}")
    return items


def sync_item_bank(path: Path | str | None = None) -> ItemBankSync:
    """Bring the bank in the database in line with the file; idempotent.

    A new key creates an item with version 1; a changed wording, scale, options or scoring
    direction creates the next version (earlier versions stay, as rounds refer to them).
    Items missing from the file are left alone.
    """
    result = ItemBankSync()
    existing = {i.key: i for i in db.session.scalars(select(SurveyItem))}
    for entry in load_item_bank(path):
        key = entry["key"]
        wording = " ".join(str(entry["wording"]).split())
        options = list(entry["options"]) if entry.get("options") else None
        reverse = bool(entry.get("reverse_scored", False))
        item = existing.get(key)
        if item is None:
            item = SurveyItem(key=key, construct=entry["construct"])
            db.session.add(item)
            result.created.append(key)
        else:
            item.construct = entry["construct"]  # a regrouping, not a new question
        current = item.current_version
        if current is not None and (current.wording, current.scale, current.options, current.reverse_scored) == (
            wording, entry["scale"], options, reverse
        ):
            result.unchanged += 1
            continue
        if current is not None:
            result.new_versions.append(key)
        item.versions.append(
            SurveyItemVersion(
                version=(current.version + 1) if current else 1,
                wording=wording,
                scale=entry["scale"],
                options=options,
                reverse_scored=reverse,
            )
        )
    db.session.flush()
    return result


def current_item_version(key: str) -> SurveyItemVersion:
    """The latest version of the bank item ``key``."""
    item = db.session.scalar(select(SurveyItem).where(SurveyItem.key == key))
    if item is None or item.current_version is None:
        raise SurveyError(f"there is no item {key!r} in the item bank")
    return item.current_version


# ------------------------------------------------------------------ building surveys


@dataclass(frozen=True)
class QuestionSpec:
    """A question to put in a survey: a bank item (by key or version) or a custom wording."""

    item_key: str | None = None
    item_version_id: int | None = None
    wording: str | None = None
    scale: str | None = None
    options: tuple[str, ...] | None = None
    allow_comment: bool = False
    required: bool = True


def _check_scale(scale: Any, options: Any, what: str) -> None:
    """Refuse an unknown scale, and options that do not fit it."""
    if scale not in SCALES:
        raise SurveyError(f"{what}: the scale must be one of {', '.join(SCALES)}")
    if scale in CHOICE_SCALES:
        if not isinstance(options, (list, tuple)) or len(options) < 2:
            raise SurveyError(f"{what}: a choice question needs at least two options")
        labels = [str(o).strip() for o in options]
        if any(not label for label in labels) or len(set(labels)) != len(labels):
            raise SurveyError(f"{what}: options must be distinct and not empty")
        if len(labels) > MAX_OPTIONS:
            raise SurveyError(f"{what}: at most {MAX_OPTIONS} options")
    elif options:
        raise SurveyError(f"{what}: only single and multiple choice questions have options")


def _resolve_question(spec: QuestionSpec, index: int) -> dict[str, Any]:
    """The column values of a question spec, checked."""
    what = f"question {index + 1}"
    common = {"allow_comment": bool(spec.allow_comment), "required": bool(spec.required)}
    if spec.item_key or spec.item_version_id:
        if spec.wording or spec.scale or spec.options:
            raise SurveyError(f"{what}: a bank item keeps its own wording and scale")
        if spec.item_version_id:
            version = db.session.get(SurveyItemVersion, spec.item_version_id)
            if version is None:
                raise SurveyError(f"{what}: there is no such item version")
        else:
            version = current_item_version(spec.item_key)
        return {"item_version_id": version.id, "custom_wording": None, "custom_scale": None,
                "custom_options": None, **common}
    wording = " ".join((spec.wording or "").split())
    if not wording:
        raise SurveyError(f"{what}: write the question, or choose an item from the bank")
    if len(wording) > 500:
        raise SurveyError(f"{what}: the wording is longer than 500 characters")
    _check_scale(spec.scale, spec.options, what)
    options = [str(o).strip() for o in spec.options] if spec.options else None
    return {"item_version_id": None, "custom_wording": wording, "custom_scale": spec.scale,
            "custom_options": options, **common}


def _identity(values: Mapping[str, Any]) -> tuple:
    """What makes two questions the same question (comment and required flags aside)."""
    return (values["item_version_id"], values["custom_wording"], values["custom_scale"],
            tuple(values["custom_options"] or ()))


def _check_sampling(n_questions: int, max_items: int | None, rotate_every: int | None) -> None:
    """Refuse a sampling rule that cannot ask every question at least every M rounds."""
    if max_items is not None and max_items < 1:
        raise SurveyError("ask at least one question per round")
    if rotate_every is not None and rotate_every < 1:
        raise SurveyError("'rotate every' must be at least 1 round")
    if max_items is None or max_items >= n_questions:
        return
    if rotate_every is None:
        raise SurveyError(
            f"the survey has {n_questions} questions but asks at most {max_items} per round: "
            "say within how many rounds every question must come back"
        )
    if max_items * rotate_every < n_questions:
        raise SurveyError(
            f"{n_questions} questions cannot each be asked every {rotate_every} rounds with at most "
            f"{max_items} per round: ask at least {-(-n_questions // rotate_every)} per round, "
            f"or rotate over at least {-(-n_questions // max_items)} rounds"
        )


def _check_schedule(recurrence: str, first_opens_on: dt.date, round_length_days: int,
                    ends_on: dt.date | None) -> None:
    """Refuse a schedule whose rounds would overlap or that ends before it starts."""
    if recurrence not in RECURRENCES:
        raise SurveyError(f"the recurrence must be one of {', '.join(RECURRENCES)}")
    if not isinstance(round_length_days, int) or round_length_days < 1:
        raise SurveyError("a round must stay open at least one day")
    if ends_on is not None and ends_on < first_opens_on:
        raise SurveyError("the survey cannot end before its first round opens")
    shortest = {"weekly": 7, "fortnightly": 14, "monthly": 28, "quarterly": 89}.get(recurrence)
    if shortest is not None and round_length_days > shortest:
        raise SurveyError(
            f"a {recurrence} round can stay open at most {shortest} days, or two rounds would overlap"
        )


def _check_audience(units: Sequence[OrgUnit], roles: Iterable[str] | None) -> list[str] | None:
    """Refuse an empty audience or an unknown role; returns the roles to store."""
    if not units:
        raise SurveyError("choose at least one unit for the audience")
    if roles is None:
        return None
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in {x.value for x in Role}]
    if unknown:
        raise SurveyError(f"unknown role(s): {', '.join(unknown)}")
    return roles or None


def create_survey(
    *,
    title: str,
    created_by: User,
    audience_units: Sequence[OrgUnit],
    questions: Sequence[QuestionSpec],
    first_opens_on: dt.date,
    round_length_days: int,
    recurrence: str = Recurrence.NONE.value,
    ends_on: dt.date | None = None,
    audience_roles: Iterable[str] | None = None,
    max_items_per_round: int | None = None,
    rotate_every: int | None = None,
) -> Survey:
    """Create a draft survey from bank items and custom questions, after checking every rule."""
    title = " ".join((title or "").split())
    if not title:
        raise SurveyError("give the survey a title")
    if len(title) > 200:
        raise SurveyError("the title is longer than 200 characters")
    if not questions:
        raise SurveyError("add at least one question")
    values = [_resolve_question(spec, i) for i, spec in enumerate(questions)]
    if len({_identity(v) for v in values}) != len(values):
        raise SurveyError("the same question appears twice")
    _check_sampling(len(values), max_items_per_round, rotate_every)
    _check_schedule(recurrence, first_opens_on, round_length_days, ends_on)
    roles = _check_audience(audience_units, audience_roles)
    survey = Survey(
        title=title,
        created_by_id=created_by.id,
        audience_units=list(audience_units),
        audience_roles=roles,
        recurrence=recurrence,
        first_opens_on=first_opens_on,
        round_length_days=round_length_days,
        ends_on=ends_on,
        max_items_per_round=max_items_per_round,
        rotate_every=rotate_every,
        status=SurveyStatus.DRAFT.value,
    )
    db.session.add(survey)
    for position, v in enumerate(values, start=1):
        survey.questions.append(SurveyQuestion(position=position, **v))
    db.session.flush()
    return survey


_UNSET: Any = object()


def update_survey(
    survey: Survey,
    *,
    title: str = _UNSET,
    audience_units: Sequence[OrgUnit] = _UNSET,
    audience_roles: Iterable[str] | None = _UNSET,
    questions: Sequence[QuestionSpec] = _UNSET,
    recurrence: str = _UNSET,
    first_opens_on: dt.date = _UNSET,
    round_length_days: int = _UNSET,
    ends_on: dt.date | None = _UNSET,
    max_items_per_round: int | None = _UNSET,
    rotate_every: int | None = _UNSET,
    status: str = _UNSET,
) -> Survey:
    """Change a survey; only the arguments given change.

    Once a round exists, the schedule's start and round length are fixed (rounds already
    scheduled keep their dates), and a question that was asked is retired rather than
    changed or deleted, so past answers keep the wording they answered. Rounds not yet
    opened are not resampled here: delete and reschedule them with ``schedule_rounds``.
    """
    if survey.status == SurveyStatus.CLOSED.value:
        raise SurveyError("a closed survey cannot be changed")
    has_rounds = bool(survey.rounds)
    if has_rounds and (
        (first_opens_on is not _UNSET and first_opens_on != survey.first_opens_on)
        or (round_length_days is not _UNSET and round_length_days != survey.round_length_days)
        or (recurrence is not _UNSET and recurrence != survey.recurrence)
    ):
        raise SurveyError("rounds are already scheduled: the start, recurrence and round length cannot change")
    if title is not _UNSET:
        title = " ".join((title or "").split())
        if not title or len(title) > 200:
            raise SurveyError("give the survey a title of at most 200 characters")
        survey.title = title
    units = survey.audience_units if audience_units is _UNSET else list(audience_units)
    roles = survey.audience_roles if audience_roles is _UNSET else audience_roles
    survey.audience_roles = _check_audience(units, roles)
    survey.audience_units = list(units)
    schedule = {
        "recurrence": survey.recurrence if recurrence is _UNSET else recurrence,
        "first_opens_on": survey.first_opens_on if first_opens_on is _UNSET else first_opens_on,
        "round_length_days": survey.round_length_days if round_length_days is _UNSET else round_length_days,
        "ends_on": survey.ends_on if ends_on is _UNSET else ends_on,
    }
    _check_schedule(**schedule)
    for name, value in schedule.items():
        setattr(survey, name, value)
    if questions is not _UNSET:
        _replace_questions(survey, questions)
    max_items = survey.max_items_per_round if max_items_per_round is _UNSET else max_items_per_round
    rotate = survey.rotate_every if rotate_every is _UNSET else rotate_every
    _check_sampling(len(survey.active_questions), max_items, rotate)
    survey.max_items_per_round, survey.rotate_every = max_items, rotate
    if status is not _UNSET:
        if status not in {s.value for s in SurveyStatus}:
            raise SurveyError("unknown survey status")
        survey.status = status
    db.session.flush()
    return survey


def _replace_questions(survey: Survey, specs: Sequence[QuestionSpec]) -> None:
    """Make the survey's active questions those of ``specs``, retiring asked ones that go."""
    if not specs:
        raise SurveyError("add at least one question")
    values = [_resolve_question(spec, i) for i, spec in enumerate(specs)]
    if len({_identity(v) for v in values}) != len(values):
        raise SurveyError("the same question appears twice")
    current = {_identity(_question_values(q)): q for q in survey.active_questions}
    asked = set(db.session.scalars(
        select(RoundQuestion.question_id).join(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id)
    ))
    keep: set[int] = set()
    for position, v in enumerate(values, start=1):
        question = current.get(_identity(v))
        if question is None:
            question = SurveyQuestion(**v)
            survey.questions.append(question)
        question.position = position
        question.allow_comment, question.required = v["allow_comment"], v["required"]
        db.session.flush()
        keep.add(question.id)
    for question in list(survey.active_questions):
        if question.id in keep:
            continue
        if question.id in asked:
            question.retired = True
            question.position = 10_000 + question.position  # after the live ones
        else:
            survey.questions.remove(question)
            db.session.delete(question)
    db.session.flush()
    db.session.expire(survey, ["questions"])


def _question_values(q: SurveyQuestion) -> dict[str, Any]:
    """A stored question's values in the shape of ``_resolve_question``."""
    return {"item_version_id": q.item_version_id, "custom_wording": q.custom_wording,
            "custom_scale": q.custom_scale, "custom_options": q.custom_options}


def activate_survey(survey: Survey) -> Survey:
    """Open a draft survey for answering (its rounds are offered from their opening day)."""
    if survey.status != SurveyStatus.DRAFT.value:
        raise SurveyError("only a draft survey can be activated")
    survey.status = SurveyStatus.ACTIVE.value
    db.session.flush()
    return survey


# ------------------------------------------------------------------ scheduling and sampling


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def round_opening(survey: Survey, number: int) -> dt.date:
    """The opening date of round ``number`` (1-based) of the survey's schedule."""
    start, k = survey.first_opens_on, number - 1
    recurrence = survey.recurrence
    if recurrence == Recurrence.WEEKLY.value:
        return start + dt.timedelta(weeks=k)
    if recurrence == Recurrence.FORTNIGHTLY.value:
        return start + dt.timedelta(weeks=2 * k)
    if recurrence == Recurrence.MONTHLY.value:
        return _add_months(start, k)  # always from the first date, so 31 Jan never drifts to the 28th
    if recurrence == Recurrence.QUARTERLY.value:
        return _add_months(start, 3 * k)
    return start


def schedule_rounds(survey: Survey, through: dt.date) -> list[SurveyRound]:
    """Create the survey's missing rounds that open on or before ``through``; idempotent.

    Each new round gets its questions sampled at creation (``sample_questions``), so a round's
    form never changes once it exists. Returns the rounds created.
    """
    if survey.status == SurveyStatus.CLOSED.value:
        return []
    existing = {r.number for r in survey.rounds}
    created: list[SurveyRound] = []
    number = 1
    while True:
        opens_on = round_opening(survey, number)
        if opens_on > through or (survey.ends_on is not None and opens_on > survey.ends_on):
            break
        if number not in existing:
            survey_round = SurveyRound(
                survey=survey,
                number=number,
                opens_on=opens_on,
                closes_on=opens_on + dt.timedelta(days=survey.round_length_days - 1),
            )
            db.session.add(survey_round)
            history = _asked_history(survey)
            for position, question in enumerate(sample_questions(survey, history), start=1):
                survey_round.questions.append(RoundQuestion(question=question, position=position))
            db.session.flush()
            created.append(survey_round)
        if survey.recurrence == Recurrence.NONE.value:
            break
        number += 1
    # Action plans waiting for "the survey's next round" ask their follow-up item in it
    # (imported here: surveys.actions imports this module).
    from surveys.actions import attach_follow_ups

    for survey_round in created:
        attach_follow_ups(survey_round)
    return created


def _asked_history(survey: Survey) -> dict[int, int]:
    """question id -> number of the last round that asked it."""
    rows = db.session.execute(
        select(RoundQuestion.question_id, SurveyRound.number)
        .join(SurveyRound, SurveyRound.id == RoundQuestion.round_id)
        .where(SurveyRound.survey_id == survey.id)
    )
    last: dict[int, int] = {}
    for question_id, number in rows:
        last[question_id] = max(number, last.get(question_id, 0))
    return last


def sample_questions(survey: Survey, last_asked: Mapping[int, int]) -> list[SurveyQuestion]:
    """The questions of the next round: all, or the N asked longest ago, in survey order.

    Picking the N least recently asked (never asked first, ties by position) is a round robin
    on a fixed set of questions, so with n questions every one comes back within ceil(n / N)
    rounds, which ``_check_sampling`` makes ≤ M. It also adapts when questions are added or
    retired, and is deterministic: the same history gives the same sample.
    """
    questions = survey.active_questions
    limit = survey.max_items_per_round
    if limit is None or limit >= len(questions):
        return list(questions)
    by_staleness = sorted(questions, key=lambda q: (last_asked.get(q.id, 0), q.position, q.id))
    chosen = {q.id for q in by_staleness[:limit]}
    return [q for q in questions if q.id in chosen]


# ------------------------------------------------------------------ audience and budget


def _role_of(user_role: str | None) -> str:
    """An employee's role for audience filters: their account's, or "employee" without one."""
    return user_role or Role.EMPLOYEE.value


def eligible_employees(survey_round: SurveyRound) -> list[Employee]:
    """Employees in the audience on the round's opening day: a membership in force in one of the
    audience subtrees that day (so joiners after it and leavers before it are out), filtered by
    the survey's roles when it has any."""
    survey = survey_round.survey
    if not survey.audience_units:
        return []
    day = survey_round.opens_on
    in_audience = select(UnitMembership.employee_id).join(OrgUnit, OrgUnit.id == UnitMembership.unit_id).where(
        membership_in_force(day), _any_subtree(survey.audience_units)
    )
    stmt = (
        select(Employee, User.role)
        .outerjoin(User, User.employee_id == Employee.id)
        .where(Employee.id.in_(in_audience))
        .order_by(Employee.id)
    )
    roles = set(survey.audience_roles or [])
    return [e for e, role in db.session.execute(stmt) if not roles or _role_of(role) in roles]


def _any_subtree(units: Iterable[OrgUnit]):
    """WHERE: an OrgUnit row lies in any of the subtrees."""
    return or_(*(subtree_filter(u) for u in units))


def _in_subtree(path: str, roots: Iterable[str]) -> bool:
    """True when the unit at ``path`` is one of ``roots`` or below one."""
    return any(path == r or path.startswith(r + UNIT_PATH_SEPARATOR) for r in roots)


class _Slot(NamedTuple):
    """A round as the budget walk sees it (plain values: the walk runs on every form view and
    submission, and building ORM objects for a year of rounds was a fifth of a submission)."""

    id: int
    opens_on: dt.date
    closes_on: dt.date

    def is_open(self, today: dt.date) -> bool:
        """True when answers are accepted on ``today`` (as ``SurveyRound.is_open``)."""
        return self.opens_on <= today <= self.closes_on


def _eligible_slots(employee: Employee, since: dt.date, until: dt.date) -> list[_Slot]:
    """Rounds of active surveys opening in [since, until] whose audience includes the employee,
    in the walk's order (opening day, survey, round number)."""
    rows = db.session.execute(
        select(SurveyRound.id, SurveyRound.opens_on, SurveyRound.closes_on, Survey.audience_roles, OrgUnit.path)
        .join(Survey, Survey.id == SurveyRound.survey_id)
        .join(survey_audience_units, survey_audience_units.c.survey_id == Survey.id)
        .join(OrgUnit, OrgUnit.id == survey_audience_units.c.unit_id)
        .where(Survey.status == SurveyStatus.ACTIVE.value,
               SurveyRound.opens_on >= since, SurveyRound.opens_on <= until)
        .order_by(SurveyRound.opens_on, SurveyRound.survey_id, SurveyRound.number)
    ).all()
    if not rows:
        return []
    # The account's role comes with the memberships (one row each; no account means "employee").
    memberships = db.session.execute(
        select(UnitMembership.valid_from, UnitMembership.valid_to, OrgUnit.path, User.role)
        .join(OrgUnit, OrgUnit.id == UnitMembership.unit_id)
        .outerjoin(User, User.employee_id == UnitMembership.employee_id)
        .where(UnitMembership.employee_id == employee.id)
    ).all()
    role = _role_of(memberships[0].role if memberships else None)
    result = []
    # One row per round and audience unit, a round's rows together (ordered by round).
    for round_id, group in groupby(rows, key=lambda row: row.id):
        first, *rest = group
        if first.audience_roles and role not in first.audience_roles:
            continue
        path = next((m.path for m in memberships
                     if m.valid_from <= first.opens_on and (m.valid_to is None or m.valid_to > first.opens_on)), None)
        if path is not None and _in_subtree(path, [first.path, *(row.path for row in rest)]):
            result.append(_Slot(round_id, first.opens_on, first.closes_on))
    return result


def _rounds(ids: Sequence[int]) -> list[SurveyRound]:
    """The rounds ``ids`` name, in that order, with their surveys."""
    if not ids:
        return []
    by_id = {r.id: r for r in db.session.scalars(
        select(SurveyRound).join(Survey, Survey.id == SurveyRound.survey_id)
        .where(SurveyRound.id.in_(ids)).options(contains_eager(SurveyRound.survey))
    )}
    return [by_id[i] for i in ids]


def offered_rounds(employee: Employee, today: dt.date, *, budget_rounds: int, budget_days: int) -> list[SurveyRound]:
    """Rounds offered to the employee among those opened up to ``today``, within the budget.

    The budget is applied when rounds are listed for a person, not when they are created (a
    round's audience is known only on its opening day, and the budget is per person across
    surveys). Walking the eligible rounds in order of opening (survey id, then round, breaking
    ties), a round is offered unless ``budget_rounds`` rounds already offered opened within the
    ``budget_days`` days before it (its own day included). A round the employee submitted in
    counts as offered whatever the walk says. The walk starts ``BUDGET_LOOKBACK_DAYS`` back.
    """
    return _rounds([slot.id for slot in _offer(employee, today, budget_rounds, budget_days)[0]])


def is_offered(employee: Employee, survey_round: SurveyRound, today: dt.date, *, budget_rounds: int,
               budget_days: int) -> bool:
    """True when ``survey_round`` is among ``offered_rounds`` (without loading them)."""
    offered, _answered = _offer(employee, today, budget_rounds, budget_days)
    return any(slot.id == survey_round.id for slot in offered)


def _offer(employee: Employee, today: dt.date, budget_rounds: int,
           budget_days: int) -> tuple[list[_Slot], set[int]]:
    """(the offered rounds' slots, ids of every round the employee submitted in): the walk needs
    the second, and the answer form's checks read both from this one pass."""
    slots = _eligible_slots(employee, today - dt.timedelta(days=BUDGET_LOOKBACK_DAYS), today)
    answered = set(db.session.scalars(
        select(Participation.round_id).where(Participation.employee_id == employee.id)
    ))
    offered: list[_Slot] = []
    for slot in slots:
        window_start = slot.opens_on - dt.timedelta(days=budget_days - 1)
        in_window = sum(1 for o in offered if o.opens_on >= window_start)
        if slot.id in answered or in_window < budget_rounds:
            offered.append(slot)
    return offered, answered


def _budget(config: Mapping[str, Any] | None) -> tuple[int, int]:
    """(rounds, days) of the survey budget from the app's settings."""
    if config is None:
        from flask import current_app

        config = current_app.config
    return int(config["SURVEY_BUDGET_ROUNDS"]), int(config["SURVEY_BUDGET_DAYS"])


def _open_slots(employee: Employee, today: dt.date, config: Mapping[str, Any] | None) -> list[_Slot]:
    """The slots of ``my_open_rounds``."""
    offered, answered = _offer(employee, today, *_budget(config))
    return [slot for slot in offered if slot.is_open(today) and slot.id not in answered]


def my_open_rounds(employee: Employee, today: dt.date, config: Mapping[str, Any] | None = None) -> list[SurveyRound]:
    """Rounds the employee can answer today: open, offered within the budget, not yet submitted."""
    return _rounds([slot.id for slot in _open_slots(employee, today, config)])


class RoundAccess(enum.Enum):
    """Where an employee stands with a round today (``round_access``)."""

    SUBMITTED = "submitted"  # they answered it
    OPEN = "open"  # it is among ``my_open_rounds``
    UNAVAILABLE = "unavailable"  # not open, not addressed to them, or beyond their survey budget


def round_access(employee: Employee, survey_round: SurveyRound, today: dt.date,
                 config: Mapping[str, Any] | None = None) -> RoundAccess:
    """Whether the employee answered ``survey_round``, can answer it today, or neither; one pass
    of the budget walk (the answer form asks this on every view)."""
    offered, answered = _offer(employee, today, *_budget(config))
    if survey_round.id in answered:
        return RoundAccess.SUBMITTED
    if any(slot.id == survey_round.id and slot.is_open(today) for slot in offered):
        return RoundAccess.OPEN
    return RoundAccess.UNAVAILABLE


def has_submitted(employee: Employee, survey_round: SurveyRound) -> bool:
    """True when the employee already submitted a response in the round."""
    return db.session.get(Participation, (employee.id, survey_round.id)) is not None


# ------------------------------------------------------------------ answering


def _check_can_answer(employee: Employee, survey_round: SurveyRound, today: dt.date,
                      config: Mapping[str, Any] | None) -> None:
    """Refuse answering a round that is not open, not offered to the employee, or done."""
    if survey_round.survey.status != SurveyStatus.ACTIVE.value:
        raise SurveyError("This survey is not open for answers.")
    if today < survey_round.opens_on:
        raise SurveyError(f"This survey opens on {survey_round.opens_on:%d %b %Y}.")
    if today > survey_round.closes_on:
        raise SurveyError(f"This survey closed on {survey_round.closes_on:%d %b %Y}.")
    # Open today and active (checked above), so "unavailable" can only mean not offered to them.
    access = round_access(employee, survey_round, today, config)
    if access is RoundAccess.SUBMITTED:
        raise SurveyError("You have already answered this survey. Thank you: each person answers once per round.")
    if access is RoundAccess.UNAVAILABLE:
        raise SurveyError("This survey is not addressed to you.")


def questions_for(employee: Employee, survey_round: SurveyRound, day: dt.date) -> list[RoundQuestion]:
    """The round's questions asked of the employee on ``day``, in form order.

    A round question with a ``unit_id`` (an action plan's follow-up item) is asked only of people
    in that unit's subtree on the day they answer; the others are asked of the whole audience.
    """
    restricted = {rq.unit_id for rq in survey_round.questions if rq.unit_id is not None}
    if not restricted:
        return list(survey_round.questions)
    unit = unit_on(employee, day)
    roots = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(restricted))).all())
    return [rq for rq in survey_round.questions
            if rq.unit_id is None or (unit is not None and _in_subtree(unit.path, [roots[rq.unit_id]]))]


def _clean_answers(asked: Sequence[RoundQuestion], answers: Mapping[Any, Any], *, partial: bool) -> dict[int, dict]:
    """Check answers against the questions asked of the respondent; returns them by round question id.

    ``asked`` are the round questions that apply to the respondent (``questions_for``): an
    answer to any other question of the round is refused. ``answers`` maps a round question id
    (int or its string) to a dict with ``value`` (likert5, nps11), ``choices`` (single, multi:
    option labels), ``text`` (text) and ``comment``. With ``partial`` (a draft) missing required
    answers are allowed.
    """
    # Numbered as the respondent's form shows them (a follow-up item of another unit is skipped).
    numbers = {rq.id: n for n, rq in enumerate(asked, start=1)}
    questions = {rq.id: rq for rq in asked}
    errors: dict[int, str] = {}
    cleaned: dict[int, dict] = {}
    for raw_key, raw in (answers or {}).items():
        try:
            key = int(raw_key)
        except (TypeError, ValueError):
            raise SurveyError(f"unknown question {raw_key!r}") from None
        if key not in questions:
            raise SurveyError(f"question {key} is not part of this survey round")
        if not isinstance(raw, Mapping):
            raise SurveyError(f"answer to question {key} must be a mapping")
        cleaned[key] = dict(raw)
    result: dict[int, dict] = {}
    for rq_id, rq in questions.items():
        q = rq.question
        raw = cleaned.get(rq_id, {})
        label = f"Question {numbers[rq_id]}:"
        answer: dict[str, Any] = {}
        scale = q.scale
        if scale in (Scale.LIKERT5.value, Scale.NPS11.value):
            low, high = (1, 5) if scale == Scale.LIKERT5.value else (0, 10)
            value = raw.get("value")
            if value not in (None, ""):
                try:
                    number = int(value)
                except (TypeError, ValueError):
                    number = None
                if number is None or str(number) != str(value).strip() or not low <= number <= high:
                    errors[rq_id] = f"{label} choose a value from {low} to {high}."
                    continue
                answer["value"] = number
        elif scale in CHOICE_SCALES:
            choices = raw.get("choices")
            if isinstance(choices, str):
                choices = [choices]
            choices = [c for c in (choices or []) if c not in (None, "")]
            if any(c not in q.options for c in choices):
                errors[rq_id] = f"{label} choose among the options shown."
                continue
            if scale == Scale.SINGLE.value and len(choices) > 1:
                errors[rq_id] = f"{label} choose one option only."
                continue
            if len(set(choices)) != len(choices):
                errors[rq_id] = f"{label} an option is chosen twice."
                continue
            if choices:
                answer["choices"] = [o for o in q.options if o in choices]  # in the options' order
        else:
            text = (raw.get("text") or "").strip()
            if len(text) > MAX_TEXT_LENGTH:
                errors[rq_id] = f"{label} keep the answer under {MAX_TEXT_LENGTH} characters."
                continue
            if text:
                answer["text"] = text
        comment = (raw.get("comment") or "").strip()
        if comment:
            if not q.allow_comment:
                errors[rq_id] = f"{label} this question takes no comment."
                continue
            if len(comment) > MAX_TEXT_LENGTH:
                errors[rq_id] = f"{label} keep the comment under {MAX_TEXT_LENGTH} characters."
                continue
            answer["comment"] = comment
        has_answer = any(k in answer for k in ("value", "choices", "text"))
        if q.required and not has_answer and not partial:
            errors[rq_id] = f"{label} this question needs an answer."
            continue
        if answer:
            result[rq_id] = answer
    if errors:
        raise AnswerError(errors)
    return result


def save_draft(employee: Employee, survey_round: SurveyRound, answers: Mapping[Any, Any], today: dt.date,
               config: Mapping[str, Any] | None = None) -> ResponseDraft:
    """Keep the employee's unfinished answers (visible to them only) until they submit."""
    _check_can_answer(employee, survey_round, today, config)
    cleaned = _clean_answers(questions_for(employee, survey_round, today), answers, partial=True)
    draft = get_draft(employee, survey_round)
    if draft is None:
        draft = ResponseDraft(employee_id=employee.id, round_id=survey_round.id)
        db.session.add(draft)
    # JSON object keys are strings; keep them so whatever reads the draft back sees one shape.
    draft.answers = {str(k): v for k, v in cleaned.items()}
    draft.updated_at = utcnow()
    db.session.flush()
    return draft


def get_draft(employee: Employee, survey_round: SurveyRound) -> ResponseDraft | None:
    """The employee's saved draft for the round, if any."""
    return db.session.scalar(
        select(ResponseDraft).where(ResponseDraft.employee_id == employee.id,
                                    ResponseDraft.round_id == survey_round.id)
    )


def tenure_band(start_date: dt.date | None, on: dt.date) -> str | None:
    """``<1y``, ``1-3y`` or ``3y+`` on ``on`` for someone who started on ``start_date``."""
    if start_date is None:
        return None
    years = on.year - start_date.year - ((on.month, on.day) < (start_date.month, start_date.day))
    if years < 1:
        return "<1y"
    return "1-3y" if years < 3 else "3y+"


def submit_response(employee: Employee, survey_round: SurveyRound, answers: Mapping[Any, Any], today: dt.date,
                    config: Mapping[str, Any] | None = None) -> Response:
    """Record the employee's answers as an anonymous response; once per round.

    In the caller's transaction: the participation (employee, round, date; nothing pointing at
    the response), the deletion of the employee's draft, the response (unit and tenure band as of
    ``today``, no employee, no time), its scored answers, and its free text as separate comments
    (unit, and the author only as a keyed hash: surveys/authorship.py).
    """
    _check_can_answer(employee, survey_round, today, config)
    cleaned = _clean_answers(questions_for(employee, survey_round, today), answers, partial=False)
    unit = unit_on(employee, today)
    if unit is None:
        raise SurveyError("This survey is not addressed to you.")
    # Every row is built before the first write: on SQLite that write takes the database's one
    # write lock, held until the caller commits, and other requests wait for it.
    response = {"id": uuid.uuid4(), "round_id": survey_round.id, "unit_id": unit.id,
                "tenure_band": tenure_band(employee.start_date, today)}
    scored, texts = [], []
    for rq_id, answer in cleaned.items():
        if "value" in answer or "choices" in answer:
            scored.append({"response_id": response["id"], "round_question_id": rq_id,
                           "value": answer.get("value"), "choices": answer.get("choices")})
        # Free text goes to `comments`, which does not reference the response.
        for key, kind in (("text", CommentKind.ANSWER), ("comment", CommentKind.COMMENT)):
            if key in answer:
                comment_id = uuid.uuid4()
                texts.append({
                    "id": comment_id, "round_id": survey_round.id, "round_question_id": rq_id,
                    "unit_id": unit.id, "kind": kind.value, "body": answer[key], "group_unit_id": None,
                    "author_key": author_key(employee.id, survey_round.id, comment_id),
                })
    try:
        # The participation first: of two submissions racing, its primary key lets only one
        # through before anything else is written. The caller rolls the session back.
        db.session.execute(insert(Participation), [
            {"employee_id": employee.id, "round_id": survey_round.id, "submitted_on": today}])
    except IntegrityError as exc:
        raise SurveyError(
            "You have already answered this survey. Thank you: each person answers once per round."
        ) from exc
    db.session.execute(delete(ResponseDraft).where(ResponseDraft.employee_id == employee.id,
                                                   ResponseDraft.round_id == survey_round.id))
    # One multi-row INSERT per table rather than the unit of work (this runs for every submission).
    db.session.execute(insert(Response), [response])
    if scored:
        db.session.execute(insert(Answer), scored)
    if texts:
        db.session.execute(insert(Comment), texts)
    # The stored response as a persistent object, without reading it back.
    stored = Response(**response)
    make_transient_to_detached(stored)
    db.session.add(stored)
    return stored


# ------------------------------------------------------------------ builder helpers


def close_survey(survey: Survey) -> Survey:
    """Close an active survey: no round is offered or scheduled from now on; results stay."""
    if survey.status != SurveyStatus.ACTIVE.value:
        raise SurveyError("only an active survey can be closed")
    survey.status = SurveyStatus.CLOSED.value
    db.session.flush()
    return survey


def next_round_dates(survey: Survey, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """(opens, closes) of the round open today or the next one, scheduled or not; None if none is left."""
    for survey_round in survey.rounds:
        if survey_round.closes_on >= today:
            return survey_round.opens_on, survey_round.closes_on
    if survey.status == SurveyStatus.CLOSED.value:
        return None
    number = max((r.number for r in survey.rounds), default=0) + 1
    if number > 1 and survey.recurrence == Recurrence.NONE.value:
        return None
    opens_on = round_opening(survey, number)
    length = dt.timedelta(days=survey.round_length_days - 1)
    while opens_on + length < today and survey.recurrence != Recurrence.NONE.value:
        # Rounds not scheduled whose dates have passed: the first one not over yet.
        number += 1
        opens_on = round_opening(survey, number)
    if survey.ends_on is not None and opens_on > survey.ends_on:
        return None
    return opens_on, opens_on + length


def item_bank_versions(include: Iterable[int] = ()) -> list[SurveyItemVersion]:
    """The current version of every bank item by construct and key, plus the versions ``include``
    names (older wordings a survey still asks)."""
    items = db.session.scalars(select(SurveyItem).order_by(SurveyItem.construct, SurveyItem.key)).all()
    versions = [i.current_version for i in items if i.current_version is not None]
    seen = {v.id for v in versions}
    extra = [db.session.get(SurveyItemVersion, vid) for vid in include if vid not in seen]
    return versions + [v for v in extra if v is not None]
