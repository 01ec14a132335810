""""You said, we did": action plans, their public updates, the employees' ledger and follow-up items (S5).

A plan belongs to a unit and to the round whose results prompted it (optionally to a bank item
asked in that round, or to a conversation about one of its comments). Managers write plans for
the units of their subtree, change leaders for any unit; the plan's owner and those leaders post
its public updates. Every employee sees the plans of their current unit and of the units above it
(``ledger_for_employee``), and nothing of the other units.

A plan may ask "Has this action made a difference?" of its unit in the survey's next round: a
custom likert5 question of the survey, retired from the start so sampling never picks it, added
to that round with ``RoundQuestion.unit_id`` set to the plan's unit, so only people in the unit's
subtree are shown it (``surveys.services.questions_for``). Its result is read from the prepared
round's statistics under the same disclosure rules as every other figure.

Services flush and never commit; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from adoption.extensions import db
from adoption.models import Employee, OrgUnit, Role, User
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.org import subtree_filter, unit_on
from adoption.scope import Scope, ScopeError
from surveys import metrics
from surveys.disclosure import SUPPRESSED_MESSAGE, group_disclosure, thresholds
from surveys.models import (
    PLAN_STATUSES,
    ActionPlan,
    ActionPlanUpdate,
    CommentThread,
    PlanStatus,
    Recurrence,
    RoundItemStats,
    RoundQuestion,
    Scale,
    Survey,
    SurveyItemVersion,
    SurveyQuestion,
    SurveyRound,
    SurveyStatus,
)
from surveys.services import SurveyError, round_opening

#: Who writes plans: managers (for their subtree) and change leaders (for any unit).
PLAN_AUTHORS = (Role.MANAGER.value, Role.CHANGE_LEADER.value)

#: Where a plan may go next: planned → in progress → done, and any plan may be dropped.
STATUS_MOVES: dict[str, tuple[str, ...]] = {
    PlanStatus.PLANNED.value: (PlanStatus.IN_PROGRESS.value, PlanStatus.DROPPED.value),
    PlanStatus.IN_PROGRESS.value: (PlanStatus.DONE.value, PlanStatus.DROPPED.value),
    PlanStatus.DONE.value: (PlanStatus.DROPPED.value,),
    PlanStatus.DROPPED.value: (),
}

STATUS_LABELS = {
    PlanStatus.PLANNED.value: "Planned",
    PlanStatus.IN_PROGRESS.value: "In progress",
    PlanStatus.DONE.value: "Done",
    PlanStatus.DROPPED.value: "Dropped",
}

FOLLOW_UP_WORDING = 'Has this action made a difference? "{title}"'
MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 5000


class ActionPlanError(SurveyError):
    """A plan or update refused; ``errors`` maps the field at fault to a message fit to show."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


class PlanNotFound(LookupError):
    """No action plan with this id."""


# ------------------------------------------------------------------ who may do what


def _in_subtree(path: str, root: str) -> bool:
    """True when the unit at ``path`` is ``root`` or lies below it."""
    return path == root or path.startswith(root + UNIT_PATH_SEPARATOR)


def _require_author(scope: Scope, unit_id: int) -> None:
    """Raise ``ScopeError`` unless the scope's user may write plans for the unit."""
    if scope.role.value not in PLAN_AUTHORS:
        raise ScopeError("only managers and change leaders write action plans")
    scope.require_unit(unit_id)


def can_update(user: User, scope: Scope, plan: ActionPlan) -> bool:
    """True when the user may post updates on the plan: its owner, or a plan author covering its unit."""
    if user.id == plan.owner_id:
        return True
    return scope.role.value in PLAN_AUTHORS and scope.allows_unit(plan.unit_id)


def can_see_results(scope: Scope, plan: ActionPlan) -> bool:
    """True when the user may read the plan unit's figures (the follow-up result): never an employee."""
    return scope.sees_aggregates and scope.allows_unit(plan.unit_id)


def plan_for(user: User, scope: Scope, plan_id: int) -> ActionPlan:
    """The plan, for a plan author covering its unit or its owner (``ScopeError`` otherwise)."""
    plan = db.session.get(ActionPlan, plan_id)
    if plan is None:
        raise PlanNotFound(f"there is no action plan {plan_id}")
    if not can_update(user, scope, plan):
        raise ScopeError(f"action plan {plan_id} is outside this user's scope")
    return plan


# ------------------------------------------------------------------ creating plans


def _clean_text(value: str | None) -> str:
    """Text without surrounding blanks, Windows line breaks made plain (inner ones kept)."""
    return (value or "").replace("\r\n", "\n").strip()


def _survey_has_next_round(survey: Survey, today: dt.date) -> bool:
    """True when a round of the survey opens after ``today`` (scheduled or still to be)."""
    if survey.status == SurveyStatus.CLOSED.value:
        return False
    if any(r.opens_on > today for r in survey.rounds):
        return True
    if survey.recurrence == Recurrence.NONE.value:
        return False
    number = max((r.number for r in survey.rounds), default=0) + 1
    while round_opening(survey, number) <= today:
        number += 1
    return survey.ends_on is None or round_opening(survey, number) <= survey.ends_on


def create_plan(
    scope: Scope,
    created_by: User,
    *,
    unit_id: int,
    round_id: int,
    title: str,
    description: str,
    owner_id: int,
    due_on: dt.date,
    item_version_id: int | None = None,
    thread_id: int | None = None,
    follow_up: bool = False,
    today: dt.date,
) -> ActionPlan:
    """Record what a unit will do about a round's results, who owns it and by when.

    Managers write plans for units of their subtree, change leaders for any unit (``ScopeError``
    otherwise, before anything else is checked). Raises ``ActionPlanError`` with a message per
    field: the round must have opened and its survey's audience include the unit; the item must
    have been asked in the round; the conversation must be about a comment of the round listed
    in the unit's subtree; the owner must be an active user; the due date not in the past. With
    ``follow_up``, the survey must have a round opening after ``today``: the follow-up item is
    created now and added to that round (now if it is scheduled, else when it is).
    """
    _require_author(scope, unit_id)
    errors: dict[str, str] = {}
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        errors["unit"] = "Choose the unit the plan is for."
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None:
        errors["round"] = "Choose the survey round the plan answers."
    elif survey_round.opens_on > today:
        errors["round"] = "This round has not opened yet: a plan answers a round that has taken place."
    elif unit is not None and not any(_in_subtree(unit.path, u.path) for u in survey_round.survey.audience_units):
        errors["round"] = f"{unit.path} is not in the audience of \u201c{survey_round.survey.title}\u201d."

    title = " ".join((title or "").split())
    if not title:
        errors["title"] = "Give the plan a title."
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = f"Keep the title under {MAX_TITLE_LENGTH} characters."
    description = _clean_text(description)
    if len(description) > MAX_TEXT_LENGTH:
        errors["description"] = f"Keep the description under {MAX_TEXT_LENGTH} characters."

    owner = db.session.get(User, owner_id) if owner_id is not None else None
    if owner is None or not owner.is_active:
        errors["owner"] = "Choose an owner whose account is active."
    if due_on is None:
        errors["due_on"] = "Give a due date."
    elif due_on < today:
        errors["due_on"] = "The due date cannot be in the past."

    if item_version_id is not None and survey_round is not None:
        asked = db.session.scalar(
            select(func.count()).select_from(RoundQuestion)
            .join(SurveyQuestion, SurveyQuestion.id == RoundQuestion.question_id)
            .where(RoundQuestion.round_id == survey_round.id, SurveyQuestion.item_version_id == item_version_id)
        )
        if not asked:
            errors["item"] = "That item was not asked in this round."
    if thread_id is not None and survey_round is not None:
        thread = db.session.get(CommentThread, thread_id)
        thread_unit = db.session.get(OrgUnit, thread.unit_id) if thread is not None else None
        if thread is None or thread.round_id != survey_round.id:
            errors["thread_id"] = "There is no conversation with this number in this round."
        elif unit is not None and not _in_subtree(thread_unit.path, unit.path):
            errors["thread_id"] = f"That conversation is about a comment outside {unit.path}."
    if follow_up and survey_round is not None and not _survey_has_next_round(survey_round.survey, today):
        errors["follow_up"] = (
            "This survey has no round opening after today, so the follow-up question could never be asked."
        )
    if errors:
        raise ActionPlanError(errors)

    plan = ActionPlan(
        unit_id=unit_id, round_id=round_id, item_version_id=item_version_id, thread_id=thread_id,
        title=title, description=description, owner_id=owner.id, due_on=due_on,
        status=PlanStatus.PLANNED.value, follow_up=bool(follow_up), created_by_id=created_by.id,
    )
    db.session.add(plan)
    db.session.flush()
    if follow_up:
        _create_follow_up_question(plan, survey_round.survey)
        # The next round may be scheduled already (``schedule_rounds`` run ahead of time).
        upcoming = next((r for r in survey_round.survey.rounds if r.opens_on > today), None)
        if upcoming is not None:
            _attach(plan, upcoming)
    return plan


def _create_follow_up_question(plan: ActionPlan, survey: Survey) -> SurveyQuestion:
    """The plan's follow-up question: custom likert5, optional, no comment, retired so never sampled."""
    position = max((q.position for q in survey.questions), default=0) + 1
    question = SurveyQuestion(
        survey_id=survey.id, position=position, item_version_id=None,
        custom_wording=FOLLOW_UP_WORDING.format(title=plan.title), custom_scale=Scale.LIKERT5.value,
        custom_options=None, allow_comment=False, required=False, retired=True,
    )
    db.session.add(question)
    db.session.flush()
    plan.follow_up_question_id = question.id
    db.session.expire(survey, ["questions"])
    return question


def _attach(plan: ActionPlan, survey_round: SurveyRound) -> RoundQuestion:
    """Ask the plan's follow-up question at the end of ``survey_round``, of the plan's unit only."""
    position = max((rq.position for rq in survey_round.questions), default=0) + 1
    round_question = RoundQuestion(question_id=plan.follow_up_question_id, position=position, unit_id=plan.unit_id)
    survey_round.questions.append(round_question)
    db.session.flush()
    plan.follow_up_round_question_id = round_question.id
    db.session.flush()
    return round_question


def attach_follow_ups(survey_round: SurveyRound) -> list[ActionPlan]:
    """Add to a newly scheduled round the follow-up items of the survey's plans still waiting for one.

    Called by ``schedule_rounds`` for each round it creates. A plan waits from its creation until
    the first round of its survey scheduled after it that opens after the plan's own round; a
    plan dropped meanwhile is not followed up. Returns the plans whose item was added.
    """
    plans = db.session.scalars(
        select(ActionPlan)
        .join(SurveyRound, SurveyRound.id == ActionPlan.round_id)
        .where(SurveyRound.survey_id == survey_round.survey_id,
               SurveyRound.number < survey_round.number,
               ActionPlan.follow_up.is_(True),
               ActionPlan.follow_up_question_id.isnot(None),
               ActionPlan.follow_up_round_question_id.is_(None),
               ActionPlan.status != PlanStatus.DROPPED.value)
        .order_by(ActionPlan.id)
    ).all()
    for plan in plans:
        _attach(plan, survey_round)
    return list(plans)


# ------------------------------------------------------------------ updates


def next_statuses(status: str) -> tuple[str, ...]:
    """The statuses a plan in ``status`` may move to."""
    return STATUS_MOVES.get(status, ())


def add_update(user: User, scope: Scope, plan: ActionPlan, body: str, status: str | None = None) -> ActionPlanUpdate:
    """Post a public progress note on the plan, optionally moving its status.

    Only the plan's owner and plan authors covering its unit may (``ScopeError``). Statuses move
    planned → in progress → done, and any plan but a dropped one may be dropped
    (``ActionPlanError`` otherwise). The update records the status it moved the plan to, or
    none when the status stays.
    """
    if not can_update(user, scope, plan):
        raise ScopeError(f"action plan {plan.id} is outside this user's scope")
    body = _clean_text(body)
    errors: dict[str, str] = {}
    if not body:
        errors["body"] = "Write what happened: updates are read by the whole unit."
    elif len(body) > MAX_TEXT_LENGTH:
        errors["body"] = f"Keep the update under {MAX_TEXT_LENGTH} characters."
    new_status = status or None
    if new_status == plan.status:
        new_status = None
    if new_status is not None:
        if new_status not in PLAN_STATUSES:
            errors["status"] = "Choose a known status."
        elif new_status not in next_statuses(plan.status):
            allowed = " or ".join(STATUS_LABELS[s].lower() for s in next_statuses(plan.status))
            errors["status"] = (
                f"A plan that is {STATUS_LABELS[plan.status].lower()} can move to {allowed}, "
                f"not to {STATUS_LABELS[new_status].lower()}." if allowed
                else f"A {STATUS_LABELS[plan.status].lower()} plan keeps its status."
            )
    if errors:
        raise ActionPlanError(errors)
    update = ActionPlanUpdate(plan_id=plan.id, author_id=user.id, body=body, status=new_status)
    db.session.add(update)
    if new_status is not None:
        plan.status = new_status
    db.session.flush()
    db.session.expire(plan, ["updates"])
    return update


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class UpdateEntry:
    """A public update as the unit reads it."""

    created_at: dt.datetime
    author_name: str
    body: str
    status: str | None


@dataclass(frozen=True)
class PlanEntry:
    """A plan as it is listed: what employees of the unit read, and what leaders filter on."""

    id: int
    unit_id: int
    unit_name: str
    unit_path: str
    survey_title: str
    round_number: int
    title: str
    description: str
    owner_name: str
    due_on: dt.date
    status: str
    about: str | None  # the wording of the bank item the plan answers, if any
    follow_up: bool
    updates: tuple[UpdateEntry, ...]

    @property
    def is_open(self) -> bool:
        """True while the plan is planned or in progress."""
        return self.status in (PlanStatus.PLANNED.value, PlanStatus.IN_PROGRESS.value)

    def overdue(self, today: dt.date) -> bool:
        """True when the plan is still open after its due date."""
        return self.is_open and self.due_on < today


def user_names(user_ids: Iterable[int]) -> dict[int, str]:
    """Display names of users: their roster name, or their e-mail when they have no employee record."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.email, Employee.full_name)
        .outerjoin(Employee, Employee.id == User.employee_id)
        .where(User.id.in_(ids))
    )
    return {uid: name or email for uid, email, name in rows}


def entries(plans: Iterable[ActionPlan]) -> list[PlanEntry]:
    """The plans as listed, in the given order."""
    plans = list(plans)
    if not plans:
        return []
    units = {u.id: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_({p.unit_id for p in plans})))}
    rounds = {r.id: (r.number, title) for r, title in db.session.execute(
        select(SurveyRound, Survey.title).join(Survey, Survey.id == SurveyRound.survey_id)
        .where(SurveyRound.id.in_({p.round_id for p in plans}))
    )}
    items = dict(db.session.execute(
        select(SurveyItemVersion.id, SurveyItemVersion.wording)
        .where(SurveyItemVersion.id.in_({p.item_version_id for p in plans if p.item_version_id}))
    ).all())
    updates: dict[int, list[ActionPlanUpdate]] = {p.id: [] for p in plans}
    for update in db.session.scalars(
        select(ActionPlanUpdate).where(ActionPlanUpdate.plan_id.in_(updates)).order_by(ActionPlanUpdate.id)
    ):
        updates[update.plan_id].append(update)
    names = user_names([p.owner_id for p in plans] + [u.author_id for ups in updates.values() for u in ups])
    result = []
    for p in plans:
        number, survey_title = rounds[p.round_id]
        unit = units[p.unit_id]
        result.append(PlanEntry(
            id=p.id, unit_id=unit.id, unit_name=unit.name, unit_path=unit.path, survey_title=survey_title,
            round_number=number, title=p.title, description=p.description, owner_name=names.get(p.owner_id, ""),
            due_on=p.due_on, status=p.status, about=items.get(p.item_version_id), follow_up=p.follow_up,
            updates=tuple(UpdateEntry(u.created_at, names.get(u.author_id, ""), u.body, u.status)
                          for u in updates[p.id]),
        ))
    return result


def plans_for_unit(unit_id: int) -> list[ActionPlan]:
    """The plans of one unit (not its subtree), by due date."""
    return list(db.session.scalars(
        select(ActionPlan).where(ActionPlan.unit_id == unit_id).order_by(ActionPlan.due_on, ActionPlan.id)
    ))


def plans_in_scope(scope: Scope, *, status: str | None = None, unit_id: int | None = None) -> list[ActionPlan]:
    """The plans of the units in scope, optionally of one status and of one unit's subtree, by due date."""
    stmt = select(ActionPlan).where(scope.unit_filter(ActionPlan.unit_id))
    if status:
        if status not in PLAN_STATUSES:
            raise ValueError(f"unknown plan status {status!r}")
        stmt = stmt.where(ActionPlan.status == status)
    if unit_id is not None:
        scope.require_unit(unit_id)
        unit = db.session.get(OrgUnit, unit_id)
        if unit is None:
            return []
        stmt = stmt.join(OrgUnit, OrgUnit.id == ActionPlan.unit_id).where(subtree_filter(unit))
    return list(db.session.scalars(stmt.order_by(ActionPlan.due_on, ActionPlan.id)))


def plans_by_status(scope: Scope) -> dict[str, int]:
    """How many plans of the units in scope are in each status (every status present)."""
    counts = dict.fromkeys(PLAN_STATUSES, 0)
    for status, count in db.session.execute(
        select(ActionPlan.status, func.count()).where(scope.unit_filter(ActionPlan.unit_id))
        .group_by(ActionPlan.status)
    ):
        counts[status] = count
    return counts


def ledger_for_employee(employee: Employee, today: dt.date) -> list[PlanEntry]:
    """"You said, we did" for one employee: the plans of their unit on ``today`` and of every unit above it.

    Nearest unit first, open plans before closed ones, then by due date. Plans of any other
    unit (siblings, children, other branches) are never returned. Empty for someone in no unit.
    """
    unit = unit_on(employee, today)
    if unit is None:
        return []
    chain: list[int] = []
    current: OrgUnit | None = unit
    while current is not None:
        chain.append(current.id)
        current = current.parent
    nearness = {unit_id: i for i, unit_id in enumerate(chain)}
    plans = db.session.scalars(select(ActionPlan).where(ActionPlan.unit_id.in_(chain))).all()
    listed = entries(plans)
    return sorted(listed, key=lambda e: (nearness[e.unit_id], not e.is_open, e.due_on, e.id))


# ------------------------------------------------------------------ choices for the plan form


def owner_choices(scope: Scope) -> list[tuple[int, str]]:
    """(user id, name) of the active users a plan author may name as owner, by name.

    A manager picks among the people of their subtree and themselves, a change leader among
    everyone. (``create_plan`` accepts any active user.)
    """
    # Active as ``User.is_active`` says: the account enabled, and its employee (if any) active.
    stmt = (
        select(User.id, User.email, Employee.full_name)
        .outerjoin(Employee, Employee.id == User.employee_id)
        .where(User.is_enabled.is_(True), Employee.id.is_(None) | Employee.active.is_(True))
    )
    if not scope.all_units:
        stmt = stmt.where(scope.unit_filter(Employee.unit_id) | (User.id == scope.user_id))
    people = [(uid, name or email, email) for uid, email, name in db.session.execute(stmt)]
    people.sort(key=lambda p: (p[1].casefold(), p[0]))
    return [(uid, name if name == email else f"{name} ({email})") for uid, name, email in people]


def rounds_for_plans(scope: Scope, today: dt.date) -> list[SurveyRound]:
    """Rounds opened by ``today`` whose survey's audience reaches a unit in scope, newest first."""
    rounds = db.session.scalars(
        select(SurveyRound).where(SurveyRound.opens_on <= today)
        .order_by(SurveyRound.opens_on.desc(), SurveyRound.survey_id, SurveyRound.number.desc())
    ).all()
    if scope.all_units:
        return list(rounds)
    paths = list(db.session.scalars(select(OrgUnit.path).where(scope.unit_filter(OrgUnit.id))))
    return [r for r in rounds
            if any(_in_subtree(p, a.path) or _in_subtree(a.path, p) for a in r.survey.audience_units for p in paths)]


def round_items(round_ids: Iterable[int]) -> list[SurveyItemVersion]:
    """The bank items asked in the rounds, by wording (each version once)."""
    ids = sorted(set(round_ids))
    if not ids:
        return []
    return list(db.session.scalars(
        select(SurveyItemVersion).where(SurveyItemVersion.id.in_(
            select(SurveyQuestion.item_version_id)
            .join(RoundQuestion, RoundQuestion.question_id == SurveyQuestion.id)
            .where(RoundQuestion.round_id.in_(ids), SurveyQuestion.item_version_id.isnot(None))
        )).order_by(SurveyItemVersion.wording, SurveyItemVersion.id)
    ))


# ------------------------------------------------------------------ the follow-up result


def follow_up_result(plan: ActionPlan, *, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the plan's follow-up item says, under the same disclosure rules as every result.

    ``state`` is one of: ``none`` (no follow-up asked for), ``dropped`` (dropped before it was
    asked), ``pending`` (waiting for the next round to be scheduled), ``waiting`` (asked in
    ``round``, whose results are not prepared), ``suppressed`` (the unit's group is not shown in
    that round, or fewer than k answered the item: ``message`` is ``SUPPRESSED_MESSAGE`` and there
    are no numbers) or ``shown`` (``n`` answers, ``favourable_pct`` scoring 4–5 and ``mean``
    on 1–5, summed from ``round_item_stats`` over the unit's subtree). ``config`` gives the
    threshold k (default: the app's settings).
    """
    if not plan.follow_up:
        return {"state": "none", "message": None}
    if plan.follow_up_round_question_id is None:
        if plan.status == PlanStatus.DROPPED.value:
            return {"state": "dropped", "message": "Not asked: the plan was dropped before the next round."}
        return {"state": "pending", "message": "To be asked of the unit in the survey's next round."}
    round_question = db.session.get(RoundQuestion, plan.follow_up_round_question_id)
    survey_round = round_question.round
    if survey_round.results_ready_at is None:
        return {"state": "waiting", "round": survey_round,
                "message": f"Asked in round {survey_round.number}; the result appears once it closes on "
                           f"{survey_round.closes_on:%d %b %Y} and its results are prepared."}
    if not group_disclosure(survey_round.id, plan.unit_id).shown:
        return {"state": "suppressed", "round": survey_round, "message": SUPPRESSED_MESSAGE}
    unit = db.session.get(OrgUnit, plan.unit_id)
    n, total, favourable = db.session.execute(
        select(func.coalesce(func.sum(RoundItemStats.n), 0), func.coalesce(func.sum(RoundItemStats.total), 0),
               func.coalesce(func.sum(RoundItemStats.favourable), 0))
        .join(OrgUnit, OrgUnit.id == RoundItemStats.unit_id)
        .where(RoundItemStats.round_id == survey_round.id, RoundItemStats.round_question_id == round_question.id,
               subtree_filter(unit))
    ).one()
    # As for every item in a shown group: hidden again when fewer than k people answered it.
    if int(n) < _k(config):
        return {"state": "suppressed", "round": survey_round, "message": SUPPRESSED_MESSAGE}
    return {"state": "shown", "round": survey_round, "message": None, "n": int(n),
            "favourable_pct": metrics.favourable_pct(int(favourable), int(n)),
            "mean": metrics.mean(float(total), int(n))}


def _k(config: Mapping[str, Any] | None) -> int:
    """The anonymity threshold for scores (the app's settings when ``config`` is None)."""
    if config is None:
        from flask import current_app

        config = current_app.config
    return thresholds(config).scores
