"""Authoring training modules (T2): create and edit modules, their steps and check questions, publish.

Every function adds and flushes; the caller (a view, a CLI command, an import) commits once.

Keys are stable: a module's ``slug`` and a step's ``key`` are made from the title when not given
and never change afterwards, because they are the last part of the xAPI activity IRIs and the
names of files in an exported folder.

Versions: a module starts at version 1. Once it has been published, the first change made to it
in a transaction (one saved form, one CLI import) raises its version by one; further changes in
the same transaction stay in that version. A change that changes nothing (saving a form as it
was, re-importing an unchanged folder) raises nothing. Drafts never published keep their version.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from adoption.extensions import db
from adoption.models import Role, User
from adoption.scope import Scope, ScopeError
from training.models import (
    CaseAnswer,
    CheckAttempt,
    CheckAttemptAnswer,
    CheckQuestion,
    Commitment,
    Module,
    ModuleStatus,
    ModuleStep,
    QuestionKind,
    StepCompletion,
    StepKind,
)
from training.models.content import DEFAULT_REACTION_QUESTION

#: Slugs and step keys: lower case letters, digits and hyphens, as in a URL or a file name.
KEY_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
# Event type names as the telemetry uses them (the same rule as the initiative's key behaviours).
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TITLE = 200
MAX_KEY = 80
MAX_REACTION_QUESTION = 300
MAX_MINUTES = 600
MIN_OPTIONS, MAX_OPTIONS = 2, 12

#: The fields each kind of step uses (``title`` and ``body`` for every kind).
STEP_FIELDS: dict[str, frozenset[str]] = {
    StepKind.LESSON.value: frozenset({"title", "body"}),
    StepKind.CASE_STUDY.value: frozenset({"title", "body", "commentary", "discussion"}),
    StepKind.CHECK.value: frozenset({"title", "body", "pass_mark_pct", "attempts_allowed"}),
    StepKind.COMMITMENT.value: frozenset({"title", "body"}),
}
MODULE_FIELDS = frozenset({"title", "summary", "audience", "estimated_minutes", "key_behaviours", "reaction_question"})
AUTHORS = frozenset({Role.CHANGE_LEADER, Role.ADMIN})


class AuthoringError(ValueError):
    """An authoring operation refused, with a message fit to show to the author."""


@dataclass(frozen=True)
class QuestionSpec:
    """A knowledge-check question as an author gives it: ``correct`` holds 0-based indexes or option texts."""

    prompt: str
    kind: str = QuestionKind.SINGLE.value
    options: Sequence[str] = ()
    correct: Sequence[int | str] = ()
    explanation: str = ""


@dataclass
class _Checked:
    """A question that passed its checks, ready to store."""

    prompt: str
    kind: str
    options: list[str]
    correct: list[int]
    explanation: str
    problems: list[tuple[str, str]] = field(default_factory=list)


# ------------------------------------------------------------------ reading (scoped)

def require_author(scope: Scope) -> None:
    """Raise ``ScopeError`` unless the scope belongs to a change leader or an admin."""
    if scope.role not in AUTHORS:
        raise ScopeError("only change leaders and admins author training modules")


def modules_for_authoring(scope: Scope) -> list[Module]:
    """Every module, drafts and retired ones included, for an author; newest first."""
    require_author(scope)
    return list(db.session.scalars(select(Module).order_by(Module.id.desc())))


def module_for_authoring(scope: Scope, module_id: int) -> Module | None:
    """The module with ``module_id`` for an author (None when there is none)."""
    require_author(scope)
    return db.session.get(Module, module_id)


def step_counts(modules: Iterable[Module]) -> dict[int, int]:
    """How many steps each module has, by module id."""
    ids = [m.id for m in modules]
    if not ids:
        return {}
    rows = db.session.execute(
        select(ModuleStep.module_id, func.count()).where(ModuleStep.module_id.in_(ids)).group_by(ModuleStep.module_id))
    counts = dict.fromkeys(ids, 0)
    counts.update({module_id: n for module_id, n in rows})
    return counts


# ------------------------------------------------------------------ keys and text

def make_key(title: str) -> str:
    """A key made from ``title``: ASCII lower case words joined by hyphens (at most 80 characters)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return key[:MAX_KEY].rstrip("-") or "step"


def _unique(key: str, taken: set[str]) -> str:
    """``key``, or ``key-2``, ``key-3``... the first one not in ``taken``."""
    candidate, n = key, 1
    while candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = key[: MAX_KEY - len(suffix)].rstrip("-") + suffix
    return candidate


def _text(value: Any) -> str:
    """Text as stored: Unix line ends, no surrounding blank space (so an export round-trips)."""
    return str(value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _title(value: Any, what: str) -> str:
    """A required one-line title of at most 200 characters."""
    title = " ".join(str(value or "").split())
    if not title:
        raise AuthoringError(f"{what} needs a title")
    if len(title) > MAX_TITLE:
        raise AuthoringError(f"{what}'s title is longer than {MAX_TITLE} characters")
    return title


def check_key(key: str, what: str) -> str:
    """``key`` when it is a valid slug or step key; ``AuthoringError`` otherwise."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise AuthoringError(f"{what} {key!r} must be lower case letters, digits and hyphens "
                             f"(at most {MAX_KEY} characters, no hyphen at either end)")
    return key


def check_key_behaviours(values: Iterable[Any]) -> list[str]:
    """The key behaviours without duplicates, each an event type name; ``AuthoringError`` otherwise."""
    behaviours = list(dict.fromkeys(str(v).strip() for v in values))
    bad = [b for b in behaviours if not EVENT_TYPE_PATTERN.match(b)]
    if bad:
        raise AuthoringError(f"key behaviours must be event type names like 'activity_logged', not {', '.join(bad)}")
    return behaviours


def _minutes(value: Any) -> int:
    """An estimated duration in whole minutes, 1 to 600."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        raise AuthoringError(f"the estimated duration must be a whole number of minutes from 1 to {MAX_MINUTES}")
    return value


def _reaction_question(value: Any) -> str:
    """The reaction question (the default wording when empty)."""
    text = " ".join(str(value or "").split()) or DEFAULT_REACTION_QUESTION
    if len(text) > MAX_REACTION_QUESTION:
        raise AuthoringError(f"the reaction question is longer than {MAX_REACTION_QUESTION} characters")
    return text


# ------------------------------------------------------------------ versions

_RAISED = "training.versions_raised"


def _edited(module: Module) -> None:
    """Record that ``module`` changed: a published (or retired) module's version rises once per transaction."""
    if module.status == ModuleStatus.DRAFT.value or module.id is None:
        return
    transaction = db.session().get_transaction()
    marker = db.session.info.get(_RAISED)
    if marker is None or marker[0] is not transaction:
        marker = (transaction, set())
        db.session.info[_RAISED] = marker
    if module.id in marker[1]:
        return
    module.version += 1
    marker[1].add(module.id)


def _assign(obj: Any, values: Mapping[str, Any]) -> bool:
    """Set the attributes of ``obj`` that differ from ``values``; True when any did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


# ------------------------------------------------------------------ modules

def module_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Checked module fields, ready to store."""
    unknown = set(fields) - MODULE_FIELDS
    if unknown:
        raise AuthoringError(f"a module has no field {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    if "title" in fields:
        values["title"] = _title(fields["title"], "the module")
    if "summary" in fields:
        values["summary"] = _text(fields["summary"])
    if "audience" in fields:
        values["audience"] = _text(fields["audience"])
    if "estimated_minutes" in fields:
        values["estimated_minutes"] = _minutes(fields["estimated_minutes"])
    if "key_behaviours" in fields:
        values["key_behaviours"] = check_key_behaviours(fields["key_behaviours"] or [])
    if "reaction_question" in fields:
        values["reaction_question"] = _reaction_question(fields["reaction_question"])
    return values


def module_by_slug(slug: str) -> Module | None:
    """The module whose slug is ``slug``, if any."""
    return db.session.scalar(select(Module).where(Module.slug == slug))


def create_module(
    title: str,
    *,
    slug: str | None = None,
    summary: str = "",
    audience: str = "",
    estimated_minutes: int,
    key_behaviours: Sequence[str] = (),
    reaction_question: str | None = None,
    created_by: User | None = None,
) -> Module:
    """A new draft module; its slug is made from the title when not given (and never changes)."""
    values = module_values({
        "title": title, "summary": summary, "audience": audience, "estimated_minutes": estimated_minutes,
        "key_behaviours": key_behaviours, "reaction_question": reaction_question,
    })
    if slug:
        check_key(slug, "the slug")
        if module_by_slug(slug) is not None:
            raise AuthoringError(f"a module with the slug {slug!r} already exists")
    else:
        base = make_key(values["title"])
        taken = set(db.session.scalars(select(Module.slug).where(Module.slug.like(f"{base}%"))))
        slug = _unique(base, taken)
    module = Module(slug=slug, status=ModuleStatus.DRAFT.value, version=1,
                    created_by_id=created_by.id if created_by is not None else None, **values)
    db.session.add(module)
    db.session.flush()
    return module


def update_module(module: Module, **fields: Any) -> Module:
    """Change the module's title, summary, audience, duration, key behaviours or reaction question."""
    if fields.pop("slug", None) not in (None, module.slug):
        raise AuthoringError("a module's slug never changes (it identifies the module in learning records)")
    if _assign(module, module_values(fields)):
        _edited(module)
    db.session.flush()
    return module


def publish_problems(module: Module) -> list[str]:
    """What stops ``module`` from being published, in words (empty when it may be)."""
    problems: list[str] = []
    if not module.steps:
        problems.append("the module has no steps")
    bad = [b for b in module.key_behaviours or [] if not isinstance(b, str) or not EVENT_TYPE_PATTERN.match(b)]
    if bad:
        problems.append(f"key behaviours must be event type names, not {', '.join(map(str, bad))}")
    for step in module.steps:
        name = f"step {step.position} ({step.title})"
        if step.kind == StepKind.LESSON.value and not step.body.strip():
            problems.append(f"{name}: the lesson has no text")
        elif step.kind == StepKind.CASE_STUDY.value:
            if not step.body.strip():
                problems.append(f"{name}: the case study has no scenario")
            if not step.commentary.strip():
                problems.append(f"{name}: the case study has no expert commentary")
        elif step.kind == StepKind.CHECK.value:
            if step.pass_mark_pct is None:
                problems.append(f"{name}: the check has no pass mark")
            if not step.questions:
                problems.append(f"{name}: the check has no questions")
            for question in step.questions:
                checked = check_question(QuestionSpec(question.prompt, question.kind, question.options,
                                                      question.correct, question.explanation))
                problems += [f"{name}, question {question.position}: {message}" for _, message in checked.problems]
    return problems


def publish_module(module: Module) -> Module:
    """Publish ``module`` (learners may then be assigned it) once it is complete; see ``publish_problems``."""
    problems = publish_problems(module)
    if problems:
        raise AuthoringError("the module cannot be published: " + "; ".join(problems))
    module.status = ModuleStatus.PUBLISHED.value
    db.session.flush()
    return module


def retire_module(module: Module) -> Module:
    """Retire a published module: no new assignments; learners' records stay."""
    if module.status != ModuleStatus.PUBLISHED.value:
        raise AuthoringError("only a published module can be retired")
    module.status = ModuleStatus.RETIRED.value
    db.session.flush()
    return module


# ------------------------------------------------------------------ steps

def step_values(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Checked step fields for a step of ``kind``, ready to store."""
    allowed = STEP_FIELDS[kind]
    unknown = set(fields) - allowed
    if unknown:
        raise AuthoringError(f"a {kind.replace('_', ' ')} step has no {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    if "title" in fields:
        values["title"] = _title(fields["title"], "a step")
    for name in ("body", "commentary"):
        if name in fields:
            values[name] = _text(fields[name])
    if "discussion" in fields:
        values["discussion"] = [q for q in (_text(d) for d in fields["discussion"] or []) if q]
    if "pass_mark_pct" in fields:
        mark = fields["pass_mark_pct"]
        if mark is not None and (isinstance(mark, bool) or not isinstance(mark, int) or not 1 <= mark <= 100):
            raise AuthoringError("the pass mark must be a whole percentage from 1 to 100")
        values["pass_mark_pct"] = mark
    if "attempts_allowed" in fields:
        attempts = fields["attempts_allowed"]
        if attempts is not None and (isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1):
            raise AuthoringError("attempts allowed must be a whole number of at least 1 (or empty for unlimited)")
        values["attempts_allowed"] = attempts
    return values


def add_step(module: Module, kind: str, *, key: str | None = None, position: int | None = None,
             **fields: Any) -> ModuleStep:
    """Add a step of ``kind`` at the end (or at ``position``); its key is made from the title when not given."""
    if kind not in STEP_FIELDS:
        raise AuthoringError(f"a step is a lesson, case_study, check or commitment, not {kind!r}")
    values = step_values(kind, {"title": fields.get("title", ""), **fields})
    taken = {s.key for s in module.steps}
    if key:
        check_key(key, "the step key")
        if key in taken:
            raise AuthoringError(f"the module already has a step with the key {key!r}")
    else:
        key = _unique(make_key(values["title"]), taken)
    step = ModuleStep(key=key, kind=kind, position=len(module.steps) + 1, **values)
    module.steps.append(step)
    db.session.flush()
    if position is not None and position != step.position:
        move_step(step, position)
    _edited(module)
    db.session.flush()
    return step


def update_step(step: ModuleStep, **fields: Any) -> ModuleStep:
    """Change a step's title and the fields its kind uses (its key and kind never change)."""
    if fields.pop("key", step.key) != step.key:
        raise AuthoringError("a step's key never changes (it identifies the step in learning records)")
    if fields.pop("kind", step.kind) != step.kind:
        raise AuthoringError("a step's kind cannot change; add a new step instead")
    if _assign(step, step_values(step.kind, fields)):
        _edited(step.module)
    db.session.flush()
    return step


def _renumber(module: Module, ordered: Sequence[ModuleStep]) -> None:
    """Number ``ordered`` (the module's steps) 1, 2, 3... in that order."""
    # Two passes: the unique (module, position) constraint is checked row by row.
    for i, step in enumerate(ordered, start=1):
        step.position = -i
    db.session.flush()
    for i, step in enumerate(ordered, start=1):
        step.position = i
    db.session.flush()
    db.session.expire(module, ["steps"])  # reloaded in the new order when next read


def order_steps(module: Module, ordered: Sequence[ModuleStep]) -> None:
    """Put the module's steps in the order of ``ordered`` (all of them, each once), numbered from 1."""
    if sorted(id(s) for s in ordered) != sorted(id(s) for s in module.steps):
        raise AuthoringError("the new order must list each of the module's steps once")
    if [s.position for s in ordered] == list(range(1, len(ordered) + 1)):
        return
    _renumber(module, ordered)
    _edited(module)


def move_step(step: ModuleStep, new_position: int) -> ModuleStep:
    """Move ``step`` to ``new_position`` (1-based), shifting the steps in between."""
    module = step.module
    if not 1 <= new_position <= len(module.steps):
        raise AuthoringError(f"a step's position is between 1 and {len(module.steps)}")
    ordered = [s for s in module.steps if s is not step]
    ordered.insert(new_position - 1, step)
    order_steps(module, ordered)
    return step


def learner_records(step: ModuleStep) -> int:
    """How many learner records (completions, case answers, check attempts, commitments) the step has."""
    return sum(
        db.session.scalar(select(func.count()).select_from(model).where(model.step_id == step.id)) or 0
        for model in (StepCompletion, CaseAnswer, CheckAttempt, Commitment)
    ) if step.id is not None else 0


def delete_step(step: ModuleStep) -> None:
    """Delete a step no learner has a record of; the steps after it move up."""
    if learner_records(step):
        raise AuthoringError(f"learners have already done the step {step.key!r}; it cannot be deleted "
                             "(edit it, or retire the module and write a new one)")
    module = step.module
    remaining = [s for s in module.steps if s is not step]
    module.steps.remove(step)
    db.session.flush()
    _renumber(module, remaining)
    _edited(module)


# ------------------------------------------------------------------ check questions

def check_question(spec: QuestionSpec | Mapping[str, Any]) -> _Checked:
    """The question normalized, with its problems as (field, message) pairs (none when it is valid)."""
    if isinstance(spec, Mapping):
        spec = QuestionSpec(prompt=spec.get("prompt", ""), kind=spec.get("kind") or QuestionKind.SINGLE.value,
                            options=spec.get("options") or (), correct=spec.get("correct") or (),
                            explanation=spec.get("explanation") or "")
    problems: list[tuple[str, str]] = []
    prompt = _text(spec.prompt)
    if not prompt:
        problems.append(("prompt", "the question has no prompt"))
    kind = spec.kind
    if kind not in (QuestionKind.SINGLE.value, QuestionKind.MULTIPLE.value):
        problems.append(("kind", f"a question is single or multiple, not {kind!r}"))
    if isinstance(spec.options, str) or not isinstance(spec.options, Sequence):
        problems.append(("options", "the options must be a list"))
        options: list[str] = []
    else:
        options = [" ".join(str(o).split()) if o is not None else "" for o in spec.options]
        if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            problems.append(("options", f"a question has {MIN_OPTIONS} to {MAX_OPTIONS} options, not {len(options)}"))
        if any(not o for o in options):
            problems.append(("options", "an option is empty"))
        if len(set(options)) != len(options):
            problems.append(("options", "two options have the same text"))
    correct: list[int] = []
    raw = spec.correct
    if isinstance(raw, (str, int)) and not isinstance(raw, bool):
        raw = [raw]
    for value in raw or ():
        if isinstance(value, bool):
            problems.append(("correct", f"{value!r} is neither an option's index nor its text"))
        elif isinstance(value, int):
            if 0 <= value < len(options):
                correct.append(value)
            else:
                message = f"there is no option {value} (indexes start at 0; this question has {len(options)} options)"
                problems.append(("correct", message))
        elif " ".join(str(value).split()) in options:
            correct.append(options.index(" ".join(str(value).split())))
        else:
            problems.append(("correct", f"{value!r} is not one of the options"))
    correct = sorted(set(correct))
    if not correct and not any(f == "correct" for f, _ in problems):
        problems.append(("correct", "the question has no right answer"))
    if kind == QuestionKind.SINGLE.value and len(correct) > 1:
        problems.append(("correct", "a single-choice question has exactly one right answer"))
    return _Checked(prompt, kind, options, correct, _text(spec.explanation), problems)


def set_questions(step: ModuleStep, questions: Sequence[QuestionSpec | Mapping[str, Any]]) -> list[CheckQuestion]:
    """Make ``questions`` the check's questions, in order (matched to the current ones by position)."""
    if step.kind != StepKind.CHECK.value:
        raise AuthoringError("only a knowledge check has questions")
    checked = [check_question(q) for q in questions]
    problems = [f"question {i}: {message}" for i, q in enumerate(checked, start=1) for _, message in q.problems]
    if problems:
        raise AuthoringError("; ".join(problems))
    surplus = step.questions[len(checked):]
    answered = [q.position for q in surplus if db.session.scalar(
        select(func.count()).select_from(CheckAttemptAnswer).where(CheckAttemptAnswer.question_id == q.id))]
    if answered:
        raise AuthoringError(f"learners have answered question {', '.join(map(str, answered))}; "
                             "it cannot be removed (reword it instead)")
    changed = bool(surplus)
    for question in surplus:
        step.questions.remove(question)
    db.session.flush()
    for position, q in enumerate(checked, start=1):
        values = {"prompt": q.prompt, "kind": q.kind, "options": q.options, "correct": q.correct,
                  "explanation": q.explanation}
        if position <= len(step.questions):
            changed |= _assign(step.questions[position - 1], values)
        else:
            step.questions.append(CheckQuestion(position=position, **values))
            changed = True
    db.session.flush()
    if changed:
        _edited(step.module)
    return list(step.questions)
