"""The hypotheses register (issue 6, point 5; D6): the initiative's leaps of faith, each tested
against the organization's data, with the story of its verdicts (docs/hypotheses.md).

A hypothesis is a question for the evidence service (``dashboards.evidence``): "x goes with y
``lag`` months later, in ``expected_direction``, by at least ``smallest_effect``". ``evaluate``
asks it **organization-wide** (the verdict is the organization's, whoever looks at it) over
``default_window(today)`` and keeps the answer on the hypothesis. A ``HypothesisEvaluation`` row
is added when the verdict or its figures (units, unit-months, r to two decimals) change, or when
the hypothesis is created or its question edited; a re-check that finds the same story only
moves ``checked_at``.

Access is checked here, not only in the views: the register is read by scopes covering every
unit (change leaders, admins, executives), others get ``ScopeError``; only change leaders and
admins create, edit, archive and re-evaluate (``ScopeError`` otherwise; ``None`` as the acting
user means the system, e.g. the demo). Services flush and never commit.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.orm.attributes import set_committed_value

from adoption.extensions import db
from adoption.models import (
    EVALUATION_TRIGGERS,
    Employee,
    Hypothesis,
    HypothesisEvaluation,
    Role,
    User,
)
from adoption.models.hypotheses import MAX_HYPOTHESIS_LAG
from adoption.scope import Scope, ScopeError
from adoption.timekeeping import org_today, utcnow
from dashboards import evidence
from dashboards.metrics.evidence import INCONCLUSIVE

#: Who records, edits, archives and re-evaluates hypotheses.
MANAGING_ROLES = frozenset({Role.CHANGE_LEADER.value, Role.ADMIN.value})
#: Who may be named the accountable owner.
OWNER_ROLES = (Role.CHANGE_LEADER.value, Role.EXECUTIVE.value, Role.ADMIN.value, Role.MANAGER.value)
MAX_STATEMENT_LENGTH = 1000
#: r is compared at the precision it is shown with: a move in the third decimal is no news.
R_DIGITS = 2
#: Triggers that always add a history row (the question itself is new).
QUESTION_TRIGGERS = ("created", "edited")
#: The fields of a hypothesis that make up its question; editing one re-evaluates it.
QUESTION_FIELDS = ("x", "y", "lag", "expected_direction", "smallest_effect", "level")


class HypothesisError(ValueError):
    """A hypothesis that cannot be recorded as given; ``errors`` maps field names to messages."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


class HypothesisNotFound(LookupError):
    """No hypothesis with that id in the register (none, or archived)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One recorded evaluation: when, the verdict, r with its interval and n, and why it was
    recorded (``trigger``)."""

    evaluated_at: dt.datetime
    verdict: str
    r: float | None
    r_ci: tuple[float, float] | None
    n_units: int
    trigger: str
    n_observations: int = 0
    decider: str | None = None
    # The question as it stood then (an edit may change it).
    x: str = ""
    y: str = ""
    lag: int = 0
    expected_direction: int = 1
    smallest_effect: float = 0.0
    level: str = "team"


@dataclass(frozen=True)
class RegisterEntry:
    """A hypothesis as the register shows it: the question, the owner, the current verdict with
    its figures, and its history (newest first)."""

    id: int
    statement: str
    x: str
    y: str
    x_label: str
    y_label: str
    expected_direction: int
    lag: int
    smallest_effect: float
    level: str
    owner_name: str
    verdict: str | None
    decider: str | None
    r: float | None
    r_ci: tuple[float, float] | None
    n_units: int
    n_observations: int
    evaluated_at: dt.datetime | None
    checked_at: dt.datetime | None
    history: tuple[HistoryEntry, ...]
    owner_id: int | None = None
    # The plain-language reading of the current evidence (docs/evidence.md#the-reading).
    reading: str | None = None


@dataclass(frozen=True)
class Check:
    """What one evaluation did: the hypothesis, and the history row it added (None: unchanged)."""

    hypothesis: Hypothesis
    recorded: HypothesisEvaluation | None

    @property
    def changed(self) -> bool:
        """Whether a history row was added."""
        return self.recorded is not None


@dataclass(frozen=True)
class _Figures:
    """The answer to a hypothesis' question, as stored."""

    verdict: str
    decider: str | None
    n_units: int
    n_observations: int
    r: float | None
    r_ci: tuple[float, float] | None
    p: float | None
    window: tuple[dt.date, dt.date]
    evidence: dict[str, Any] | None


# --- access ------------------------------------------------------------------------------------


def can_read_register(scope: Scope) -> bool:
    """Whether ``scope`` may read the register: only scopes covering every unit (the verdicts
    are organization-wide figures)."""
    return scope.all_units


def can_manage(user: User | None) -> bool:
    """Whether ``user`` may create, edit, archive and re-evaluate hypotheses (None: the system)."""
    return user is None or user.role in MANAGING_ROLES


def _require_reader(scope: Scope) -> None:
    """Raise ``ScopeError`` unless ``scope`` may read the register."""
    if not can_read_register(scope):
        raise ScopeError("the hypotheses register holds organization-wide figures")


def _require_manager(user: User | None) -> None:
    """Raise ``ScopeError`` unless ``user`` may change the register."""
    if not can_manage(user):
        raise ScopeError("only change leaders and admins change the hypotheses register")


# --- checking what is asked --------------------------------------------------------------------


def _today(today: dt.date | None, config: Mapping[str, Any] | None) -> dt.date:
    """``today``, or the organization's today when not given."""
    if today is not None:
        return today
    return org_today((config or current_app.config)["ORG_TIMEZONE"])


def _checked(statement: str, x: str, y: str, expected_direction: Any, lag: Any, smallest_effect: Any,
             owner: User | None, level: Any, today: dt.date) -> dict[str, Any]:
    """The hypothesis' fields, checked and normalised; ``HypothesisError`` naming each bad field."""
    errors: dict[str, str] = {}
    text = (statement or "").strip()
    if not text:
        errors["statement"] = "Say what you believe, e.g. “Teams that log activities daily see CSAT rise a month later”."
    elif len(text) > MAX_STATEMENT_LENGTH:
        errors["statement"] = f"Keep the statement under {MAX_STATEMENT_LENGTH} characters."
    values: dict[str, Any] = {"statement": text}
    for name, parse, raw in (("expected_direction", evidence.parse_direction, expected_direction),
                             ("smallest_effect", evidence.parse_smallest_effect, smallest_effect),
                             ("level", evidence.parse_level, level)):
        try:
            values[name] = parse(None if _blank(raw) else raw)
        except evidence.EvidenceError as exc:
            errors[name] = str(exc)
    values["level"] = str(values.get("level", "team"))
    try:
        values["lag"] = int(lag)
        if isinstance(lag, float) and lag != int(lag):
            raise ValueError(lag)
    except (TypeError, ValueError):
        errors["lag"] = f"The lag is a whole number of months (got {lag!r})."
    else:
        if abs(values["lag"]) > MAX_HYPOTHESIS_LAG:
            errors["lag"] = f"Lags are limited to -{MAX_HYPOTHESIS_LAG}..{MAX_HYPOTHESIS_LAG} months."
    if owner is None:
        errors["owner"] = "Choose the person accountable for this hypothesis."
    elif not owner.is_enabled or owner.role not in OWNER_ROLES:
        errors["owner"] = "The owner must be an enabled change leader, executive, admin or manager."
    values["owner"] = owner
    values["x"], values["y"] = (x or "").strip(), (y or "").strip()
    for name in ("x", "y"):
        if not values[name]:
            errors[name] = f"Choose the metric {name} (e.g. adoption_rate, csat)."
    if not errors.keys() & {"x", "y"}:
        try:
            question = evidence.make_question(values["x"], values["y"], today=today)
            evidence.check_known(question)
        except evidence.EvidenceError as exc:
            known = set(evidence.known_metrics())
            errors["y" if values["x"] in known else "x"] = str(exc)
    if errors:
        raise HypothesisError(errors)
    return values


def _blank(value: Any) -> bool:
    """Whether a form value is missing."""
    return value is None or (isinstance(value, str) and not value.strip())


# --- recording -----------------------------------------------------------------------------------


def create_hypothesis(statement: str, x: str, y: str, expected_direction: int, lag: int,
                      smallest_effect: float, owner: User, created_by: User | None, level: str = "team",
                      *, today: dt.date | None = None, config: Mapping[str, Any] | None = None) -> Hypothesis:
    """Record a hypothesis and evaluate it at once (trigger 'created'); ``created_by`` must be a
    change leader or admin (``ScopeError``), None for the system. Flushes."""
    _require_manager(created_by)
    today = _today(today, config)
    values = _checked(statement, x, y, expected_direction, lag, smallest_effect, owner, level, today)
    hypothesis = Hypothesis(created_by=created_by, created_at=utcnow(), **values)
    db.session.add(hypothesis)
    db.session.flush()
    evaluate(hypothesis, today, config, trigger="created")
    return hypothesis


def update_hypothesis(hypothesis: Hypothesis, acting: User | None, *, statement: str | None = None,
                      x: str | None = None, y: str | None = None, expected_direction: int | None = None,
                      lag: int | None = None, smallest_effect: float | None = None, level: str | None = None,
                      owner: User | None = None, today: dt.date | None = None,
                      config: Mapping[str, Any] | None = None) -> Hypothesis:
    """Change what is given (None keeps a field); a changed question (x, y, lag, direction,
    smallest effect, level) is re-evaluated and recorded as 'edited'. Flushes."""
    _require_manager(acting)
    if hypothesis.archived_at is not None:
        raise HypothesisError({"statement": "This hypothesis is archived; it can no longer be edited."})
    today = _today(today, config)
    given = {"statement": statement, "x": x, "y": y, "expected_direction": expected_direction, "lag": lag,
             "smallest_effect": smallest_effect, "level": level, "owner": owner}
    current = {name: getattr(hypothesis, name) for name in given}
    values = _checked(**{name: current[name] if value is None else value for name, value in given.items()},
                      today=today)
    edited = any(values[name] != current[name] for name in QUESTION_FIELDS)
    for name, value in values.items():
        setattr(hypothesis, name, value)
    db.session.flush()
    if edited:
        evaluate(hypothesis, today, config, trigger="edited")
    return hypothesis


def archive_hypothesis(hypothesis: Hypothesis, acting: User | None) -> Hypothesis:
    """Take a hypothesis off the register and the schedule, keeping its history. Flushes."""
    _require_manager(acting)
    if hypothesis.archived_at is None:
        hypothesis.archived_at = utcnow()
        db.session.flush()
    return hypothesis


def reevaluate(hypothesis: Hypothesis, acting: User | None, *, today: dt.date | None = None,
               config: Mapping[str, Any] | None = None) -> Check:
    """"Re-evaluate now" (trigger 'manual') for a change leader or admin. Flushes."""
    _require_manager(acting)
    if hypothesis.archived_at is not None:
        raise HypothesisError({"statement": "This hypothesis is archived; it is no longer evaluated."})
    return Check(hypothesis, evaluate(hypothesis, _today(today, config), config, trigger="manual"))


# --- evaluating ----------------------------------------------------------------------------------


def _assess(hypothesis: Hypothesis, today: dt.date, config: Mapping[str, Any] | None) -> _Figures:
    """Ask the hypothesis' question organization-wide over ``default_window(today)``. A question
    that can no longer be asked (a metric gone) is inconclusive, ``decider`` saying why."""
    try:
        question = evidence.make_question(
            hypothesis.x, hypothesis.y, lag=hypothesis.lag, level=hypothesis.level,
            direction=hypothesis.expected_direction, smallest_effect=hypothesis.smallest_effect, today=today,
        )
        answer = evidence.assess(evidence.ORGANIZATION, question, config)[0]
    except evidence.EvidenceError as exc:
        return _Figures(INCONCLUSIVE, str(exc), 0, 0, None, None, None, evidence.default_window(today), None)
    linkage = answer.linkage
    r_ci = None if linkage.r_ci is None else (float(linkage.r_ci[0]), float(linkage.r_ci[1]))
    return _Figures(
        verdict=answer.verdict, decider=answer.decider, n_units=int(linkage.n_units),
        n_observations=int(linkage.n_observations), r=None if linkage.r is None else float(linkage.r),
        r_ci=r_ci, p=None if linkage.p is None else float(linkage.p), window=(question.start, question.end),
        evidence=answer.as_dict(),
    )


def _rounded(r: float | None) -> float | None:
    """r at the precision it is shown with."""
    return None if r is None else round(r, R_DIGITS)


def _same_story(latest: HypothesisEvaluation, figures: _Figures) -> bool:
    """Whether ``figures`` tell what the latest row already says (verdict, n, r to 2 decimals)."""
    return (latest.verdict == figures.verdict and latest.n_units == figures.n_units
            and latest.n_observations == figures.n_observations and _rounded(latest.r) == _rounded(figures.r))


def _lock(hypothesis: Hypothesis, now: dt.datetime) -> None:
    """Write ``checked_at`` first: the row's lock on PostgreSQL (as SELECT ... FOR UPDATE) and the
    database's write lock on SQLite, held until the caller commits. A concurrent evaluation of
    the same hypothesis waits here, then reads the history row this one added."""
    db.session.execute(update(Hypothesis).where(Hypothesis.id == hypothesis.id).values(checked_at=now),
                       execution_options={"synchronize_session": False})
    set_committed_value(hypothesis, "checked_at", now)  # what the row holds now; nothing more to write


def evaluate(hypothesis: Hypothesis, today: dt.date, config: Mapping[str, Any] | None = None,
             trigger: str = "schedule") -> HypothesisEvaluation | None:
    """Re-read the hypothesis' evidence (organization-wide, ``default_window(today)``) and
    record it: a new history row when the verdict or figures changed or ``trigger`` is
    'created'/'edited', else only ``checked_at`` moves. Returns the row added, or None. Flushes.

    Idempotent and safe to run twice at once: the latest row is compared inside the transaction
    after taking the hypothesis' lock (``_lock``), so a second run finds the first's row.
    """
    if trigger not in EVALUATION_TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    figures = _assess(hypothesis, today, config)  # the slow part, before the lock
    now = utcnow()
    _lock(hypothesis, now)
    latest = db.session.scalars(
        select(HypothesisEvaluation).where(HypothesisEvaluation.hypothesis_id == hypothesis.id)
        .order_by(HypothesisEvaluation.id.desc()).limit(1)
    ).first()
    if trigger not in QUESTION_TRIGGERS and latest is not None and _same_story(latest, figures):
        return None
    low, high = figures.r_ci if figures.r_ci is not None else (None, None)
    row = HypothesisEvaluation(
        hypothesis=hypothesis, evaluated_at=now, trigger=trigger, x=hypothesis.x, y=hypothesis.y,
        lag=hypothesis.lag, expected_direction=hypothesis.expected_direction,
        smallest_effect=hypothesis.smallest_effect, level=hypothesis.level, verdict=figures.verdict,
        decider=figures.decider, n_units=figures.n_units, n_observations=figures.n_observations, r=figures.r,
        r_low=low, r_high=high, p=figures.p, window_start=figures.window[0], window_end=figures.window[1],
        evidence=figures.evidence,
    )
    db.session.add(row)
    hypothesis.verdict, hypothesis.decider = figures.verdict, figures.decider
    hypothesis.evidence, hypothesis.evaluated_at = figures.evidence, now
    db.session.flush()
    return row


def active_hypotheses() -> list[Hypothesis]:
    """Hypotheses on the register (not archived), oldest first."""
    return list(db.session.scalars(
        select(Hypothesis).where(Hypothesis.archived_at.is_(None)).order_by(Hypothesis.id)
    ))


def has_active_hypotheses() -> bool:
    """Whether any hypothesis is on the register (one indexed read)."""
    return bool(db.session.scalar(select(exists().where(Hypothesis.archived_at.is_(None)))))


def evaluate_all(today: dt.date, config: Mapping[str, Any] | None = None, trigger: str = "schedule",
                 on_checked: Callable[[Check], None] | None = None) -> list[Check]:
    """``evaluate`` every hypothesis on the register, oldest first. ``on_checked`` is called
    after each one (a job commits there, so a long run does not hold the lock). Flushes."""
    checks = []
    for hypothesis in active_hypotheses():
        check = Check(hypothesis, evaluate(hypothesis, today, config, trigger))
        checks.append(check)
        if on_checked is not None:
            on_checked(check)
    return checks


# --- reading -------------------------------------------------------------------------------------


def get_hypothesis(scope: Scope, hypothesis_id: int) -> Hypothesis:
    """The hypothesis ``hypothesis_id`` of the register (``HypothesisNotFound`` when missing or
    archived; ``ScopeError`` when ``scope`` may not read the register)."""
    _require_reader(scope)
    hypothesis = db.session.get(Hypothesis, hypothesis_id)
    if hypothesis is None or hypothesis.archived_at is not None:
        raise HypothesisNotFound(hypothesis_id)
    return hypothesis


def _history(rows: Iterable[HypothesisEvaluation]) -> dict[int, list[HistoryEntry]]:
    """History entries by hypothesis id, newest first."""
    by_hypothesis: dict[int, list[HistoryEntry]] = {}
    for row in sorted(rows, key=lambda r: r.id, reverse=True):
        r_ci = None if row.r_low is None or row.r_high is None else (row.r_low, row.r_high)
        by_hypothesis.setdefault(row.hypothesis_id, []).append(HistoryEntry(
            evaluated_at=row.evaluated_at, verdict=row.verdict, r=row.r, r_ci=r_ci, n_units=row.n_units,
            trigger=row.trigger, n_observations=row.n_observations, decider=row.decider, x=row.x, y=row.y,
            lag=row.lag, expected_direction=row.expected_direction, smallest_effect=row.smallest_effect,
            level=row.level,
        ))
    return by_hypothesis


def _entries(hypotheses: list[Hypothesis]) -> list[RegisterEntry]:
    """Register entries of ``hypotheses`` (their histories and owners in two more reads)."""
    ids = [h.id for h in hypotheses]
    rows = db.session.scalars(select(HypothesisEvaluation).where(HypothesisEvaluation.hypothesis_id.in_(ids))) \
        if ids else []
    histories = _history(rows)
    owners = {uid: name or email for uid, email, name in db.session.execute(
        select(User.id, User.email, Employee.full_name).outerjoin(Employee, Employee.id == User.employee_id)
        .where(User.id.in_({h.owner_id for h in hypotheses}))
    )} if ids else {}
    entries = []
    for h in hypotheses:
        history = tuple(histories.get(h.id, ()))
        latest = history[0] if history else None
        entries.append(RegisterEntry(
            id=h.id, statement=h.statement, x=h.x, y=h.y, x_label=evidence.label(h.x), y_label=evidence.label(h.y),
            expected_direction=h.expected_direction, lag=h.lag, smallest_effect=h.smallest_effect, level=h.level,
            owner_name=owners.get(h.owner_id, ""), verdict=h.verdict, decider=h.decider,
            r=latest.r if latest else None, r_ci=latest.r_ci if latest else None,
            n_units=latest.n_units if latest else 0, n_observations=latest.n_observations if latest else 0,
            evaluated_at=h.evaluated_at, checked_at=h.checked_at, history=history, owner_id=h.owner_id,
            reading=(h.evidence or {}).get("reading"),
        ))
    return entries


def register_entries(scope: Scope) -> list[RegisterEntry]:
    """The register: every hypothesis not archived, oldest first, with its verdict and history.
    ``ScopeError`` unless ``scope`` covers every unit (change leaders, admins, executives)."""
    _require_reader(scope)
    return _entries(active_hypotheses())


def register_entry(scope: Scope, hypothesis_id: int) -> RegisterEntry:
    """One hypothesis of the register (``HypothesisNotFound``, ``ScopeError`` as ``get_hypothesis``)."""
    return _entries([get_hypothesis(scope, hypothesis_id)])[0]


def metric_choices() -> list[tuple[str, str]]:
    """(name, label) of every metric a hypothesis may name (``evidence.known_metrics``)."""
    return [(name, f"{evidence.label(name)} ({name})") for name in evidence.known_metrics()]


def owner_choices() -> list[tuple[int, str]]:
    """(user id, name) of the enabled users who may own a hypothesis, by name."""
    rows = db.session.execute(
        select(User.id, User.email, User.role, Employee.full_name)
        .outerjoin(Employee, Employee.id == User.employee_id)
        .where(User.is_enabled.is_(True), User.role.in_(OWNER_ROLES),
               Employee.id.is_(None) | Employee.active.is_(True))
    )
    people = [(uid, name or email, role) for uid, email, role, name in rows]
    people.sort(key=lambda p: (p[1].casefold(), p[0]))
    return [(uid, f"{name} ({role.replace('_', ' ')})") for uid, name, role in people]
