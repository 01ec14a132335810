"""The small demo's two-way conversations and "you said, we did" action plans, through the services.

After each closed round of the demo pulse, the leaders answer part of the comments they may read:
the demo manager in their own team, the change leader elsewhere: most of them within days in the
region of the visible sponsor, few and late in the regions of the other two
(``adoption.demo.SPONSOR_STORIES``). Some authors answer back (still anonymous), a few close their
thread, and some replies are still awaited on the demo's "today". The person behind the demo's
employee login (who comments in every round they answer, ``surveys.demo``) has conversations of
their own with the demo manager: each older one answered back and closed by them, the latest with
the manager's answer to their answer still unread, so signing in with that login shows "My
conversations" and its badge.
Leaders also turn the themes they heard into action plans: planned, in progress, done and one
dropped, with public updates, and one that puts a follow-up item ("Has this action made a
difference?") into the pulse's next round. Everything goes through ``surveys.conversations`` and
``surveys.actions`` with historical dates, so the demo holds only what the app itself would write.

Deterministic: comments are taken in a content order (their ids are random UUIDs) and every
choice comes from a ``random.Random`` seeded with the demo seed and stable names.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select

from adoption.demo import ABSENT, UNCOMMITTED, VISIBLE, region_story
from adoption.extensions import db
from adoption.models import Employee, OrgUnit, Role, User
from adoption.models.org import UNIT_PATH_SEPARATOR
from adoption.scope import Scope, scope_for
from surveys.actions import add_update, create_plan
from surveys.authorship import is_author
from surveys.conversations import (
    close_thread,
    comment_units,
    comments_for_group,
    mark_read,
    reply_as_author,
    reply_as_leader,
)
from surveys.demo import COMMENT_THEMES
from surveys.models import Comment, CommentThread, SurveyRound
from surveys.models.actions import ActionPlan, PlanStatus


class _Script(NamedTuple):
    """One conversation, each message following from the one before: the leader's reply, the
    author's answer to it, the leader's answer to that."""

    reply: str
    answer: str
    follow_up: str


# Two conversations per comment theme (the construct of the question the comment was left on).
_SCRIPTS = {
    "tools": (
        _Script("Thanks for raising this. I have passed it to the CRM team with the steps you describe; "
                "can you tell me which screens take the most clicks?",
                "Thanks for the answer. The account screen is the worst: four tabs to log one visit.",
                "Thanks, that helps. The account screen is on the CRM team's list for the next release; "
                "I will post here when it ships."),
        _Script("Understood. We are testing the new mobile release with three of you next week. "
                "Would you like to be one of them?",
                "Yes, happy to test the new release.",
                "Thank you, you are in the test group. I will post here what the group finds before the "
                "release reaches everyone."),
    ),
    "time": (
        _Script("Fair point. From next month we will drop the weekly call-report spreadsheet, which "
                "the CRM now replaces.",
                "Dropping the spreadsheet would give us back the hour, thanks.",
                "It goes on the first of the month. Tell me here if it creeps back in another form."),
        _Script("Thank you. Let's block 30 minutes on Friday mornings for updates and see whether that "
                "is enough.",
                "That would help. Friday mornings work for most of us.",
                "Noted. We will check in a month whether Friday mornings are enough, and adjust if not."),
    ),
    "training": (
        _Script("You are right that the first training was too generic. We are planning short "
                "sessions built on our own daily tasks; what should the first one cover?",
                "Good to hear. Could the session include how to log calls from the phone?",
                "Good idea: it is now on the agenda of the first session. Thanks for suggesting it."),
        _Script("Thanks. The recordings are now linked from the team page, and new joiners get a "
                "buddy for their first CRM week.",
                "Thanks, the buddy idea would have helped me a lot in my first month.",
                "Glad to hear it. If you would like to be the buddy of our next joiner, say so here."),
    ),
    "leadership": (
        _Script("Heard. From this quarter our pipeline review runs from the CRM, not the "
                "spreadsheet. Tell me if you still see the old way creeping back.",
                "Thanks for answering. Seeing the review run from the CRM would convince people.",
                "Agreed. The first review from the CRM is this month; I will say here how it went."),
        _Script("Thank you for being direct. We will report back on this in the next pulse, "
                "with what we changed and what we could not.",
                "Appreciated. Let's see whether it changes in practice.",
                "Fair. Hold us to it: the next pulse will show whether it changed in practice."),
    ),
}
# The demo employee's conversation on a comment of each theme.
_EMPLOYEE_SCRIPTS = {"tools": 1, "time": 1, "training": 0, "leadership": 1}


@dataclass(frozen=True)
class _ReplyHabit:
    """How a region's leaders answer comments: the share of teams the change leader takes up in
    a round, the share of those teams' comments answered, the days after the round closes, and
    whether they answer an author's answer too."""

    teams: float
    comments: float
    days: tuple[int, int]
    answers_back: bool = False


# Where the sponsor is visible (adoption.demo.SPONSOR_STORIES) nearly every comment is answered
# within days; where the sponsor is absent or not seen as committed, few are, and late. Days
# start at 2: results come out the morning after a round closes.
_USUAL_HABIT = _ReplyHabit(0.35, 0.6, (2, 9))
_REPLY_HABITS = {
    VISIBLE: _ReplyHabit(0.9, 0.9, (2, 4), answers_back=True),
    ABSENT: _ReplyHabit(0.25, 0.5, (5, 10)),
    UNCOMMITTED: _ReplyHabit(0.3, 0.5, (5, 10)),
}


def _reply_habit(path: str) -> _ReplyHabit:
    """How comments of the team at ``path`` get answered."""
    story = region_story(path)
    return _REPLY_HABITS[story.profile] if story else _USUAL_HABIT


@dataclass(frozen=True)
class _PlanSpec:
    """One demo action plan: what, where (a team kind), how it went."""

    title: str
    description: str
    theme: str
    status: str
    updates: tuple[str, ...]
    follow_up: bool = False


_PLANS = (
    _PlanSpec("Friday update slot",
              "Block 30 minutes every Friday morning for CRM updates, and drop the weekly "
              "call-report spreadsheet that the CRM replaces.",
              "time", PlanStatus.DONE.value,
              ("The Friday slot is in everyone's calendar from this week.",
               "The call-report spreadsheet is retired; the report now comes from the CRM."),
              follow_up=True),
    _PlanSpec("Hands-on CRM sessions on our own daily tasks",
              "Three 45-minute sessions built on our own accounts: logging a visit from the phone, "
              "updating an opportunity, preparing a review from the CRM.",
              "training", PlanStatus.IN_PROGRESS.value,
              ("The first session (logging visits from the phone) took place; two to go.",)),
    _PlanSpec("Pipeline review from the CRM",
              "The monthly pipeline review runs from the CRM dashboard, not from spreadsheets.",
              "leadership", PlanStatus.PLANNED.value, ()),
    _PlanSpec("Fewer mandatory fields on repeat orders",
              "Ask the CRM team to make four opportunity fields optional for repeat orders under "
              "5,000.",
              "tools", PlanStatus.DROPPED.value,
              (("The CRM team cannot change the fields before the ERP link is live; we will "
               "raise it again then."),)),
)


def _theme(comment: Comment) -> str | None:
    """The comment's theme, from the construct of its question."""
    version = comment.round_question.question.item_version
    return COMMENT_THEMES.get(version.item.construct) if version is not None else None


def _author(comment: Comment) -> Employee | None:
    """The comment's author among the people of its unit (the demo knows; the app never looks)."""
    candidates = db.session.scalars(
        select(Employee).where(Employee.unit_id == comment.unit_id).order_by(Employee.id))
    return next((e for e in candidates
                 if is_author(e.id, comment.round_id, comment.id, comment.author_key)), None)


def _at(day: dt.date, hour: int) -> dt.datetime:
    """A naive UTC instant on ``day``."""
    return dt.datetime.combine(day, dt.time(hour))


def _leaders() -> tuple[User, Scope, User | None, Scope | None, str | None]:
    """The change leader, and the demo manager with their team's path."""
    leader = db.session.scalar(
        select(User).where(User.role == Role.CHANGE_LEADER.value).order_by(User.id).limit(1))
    manager = db.session.scalar(
        select(User).where(User.role == Role.MANAGER.value, User.employee_id.is_not(None))
        .order_by(User.id).limit(1))
    team = manager.employee.unit.path if manager is not None else None
    return (leader, scope_for(leader), manager, scope_for(manager) if manager else None, team)


def _demo_employee() -> Employee | None:
    """The person behind the demo's employee login."""
    return db.session.scalar(
        select(Employee).join(User, User.employee_id == Employee.id)
        .where(User.role == Role.EMPLOYEE.value).order_by(User.id).limit(1))


def _written_by(employee: Employee | None, comment: Comment) -> bool:
    """True when ``employee`` wrote ``comment``."""
    return employee is not None and is_author(employee.id, comment.round_id, comment.id, comment.author_key)


def _converse_with_the_employee(rounds: list[SurveyRound], today: dt.date, seed: int, employee: Employee | None,
                                manager: User | None, scope: Scope | None) -> tuple[int, int, int]:
    """The demo manager's conversations on the demo employee's comments (their own team's) in the
    prepared ``rounds``: reply, the employee reads and answers back, the manager answers that;
    each older one is then closed by the employee, the latest is left with the manager's last
    reply unread. Returns (threads, author answers, closed); a comment with a thread is left alone."""
    if employee is None or manager is None or scope is None:
        return 0, 0, 0
    theirs = [
        (survey_round, comment)
        for survey_round in rounds
        for comment in sorted(comments_for_group(scope, survey_round.id, employee.unit_id),
                              key=lambda c: (c.round_question_id, c.body))
        if _written_by(employee, comment) and _theme(comment) is not None
    ]
    habit = _reply_habit(employee.unit.path)
    threads = answers = closed = 0
    for index, (survey_round, comment) in enumerate(theirs):
        if db.session.scalar(select(CommentThread.id).where(CommentThread.comment_id == comment.id)):
            continue
        rng = random.Random(f"{seed}:employee-conversation:{survey_round.number}:{index}")
        reply, answer, follow_up = _SCRIPTS[_theme(comment)][_EMPLOYEE_SCRIPTS[_theme(comment)]]
        replied_on = min(survey_round.closes_on + dt.timedelta(days=rng.randint(*habit.days)),
                         today - dt.timedelta(days=1))
        thread = reply_as_leader(manager, scope, comment.id, reply, _at(replied_on, rng.randint(8, 17)),
                                 today=replied_on)
        threads += 1
        answered_on = replied_on + dt.timedelta(days=rng.randint(1, 3))
        if answered_on >= today:
            continue
        mark_read(employee, [thread])  # they read the reply before answering it
        reply_as_author(employee, thread.id, answer, answered_on)
        answers += 1
        followed_on = answered_on + dt.timedelta(days=rng.randint(1, 3))
        if followed_on >= today:
            continue
        reply_as_leader(manager, scope, comment.id, follow_up, _at(followed_on, rng.randint(8, 17)),
                        today=followed_on)
        closed_on = followed_on + dt.timedelta(days=rng.randint(1, 3))
        if index < len(theirs) - 1 and closed_on < today:
            close_thread(employee, thread.id, closed_on)
            closed += 1
    return threads, answers, closed


def converse(rounds: list[SurveyRound], today: dt.date, seed: int) -> tuple[int, int, int]:
    """Replies, author answers and closings on the comments of the closed, prepared ``rounds``;
    returns (threads, author answers, closed). Idempotent: a comment with a thread is left alone."""
    leader, leader_scope, manager, manager_scope, team = _leaders()
    employee = _demo_employee()
    threads = answers = closed = 0
    for survey_round in rounds:
        if survey_round.closes_on >= today or survey_round.results_ready_at is None:
            continue
        teams = [u for u in comment_units(leader_scope, survey_round.id)
                 if u.path.count(UNIT_PATH_SEPARATOR) == 2]
        for unit in teams:
            mine = team is not None and unit.path == team
            user, scope = (manager, manager_scope) if mine else (leader, leader_scope)
            habit = _reply_habit(unit.path)
            rng = random.Random(f"{seed}:conversations:{survey_round.number}:{unit.path}")
            # The change leader answers some teams per round; the manager their own, always.
            if not mine and rng.random() > habit.teams:
                continue
            comments = sorted(comments_for_group(scope, survey_round.id, unit.id),
                              key=lambda c: (c.round_question_id, c.body))
            # The demo employee's comments get their own conversations (below); left out here,
            # they change none of the choices made for the other comments.
            comments = [c for c in comments if not _written_by(employee, c)]
            for index, comment in enumerate(comments):
                # One generator per comment: a second load makes the same choices for the
                # comments it skips as the first load made for them.
                rng = random.Random(f"{seed}:conversation:{survey_round.number}:{unit.path}:{index}")
                theme = _theme(comment)
                # The demo manager answers every comment of their team, the change leader most.
                if theme is None or (not mine and rng.random() > habit.comments):
                    continue
                if db.session.scalar(select(CommentThread.id).where(CommentThread.comment_id == comment.id)):
                    continue
                replied_on = min(survey_round.closes_on + dt.timedelta(days=rng.randint(*habit.days)),
                                 today - dt.timedelta(days=1))
                script = _SCRIPTS[theme][rng.randrange(len(_SCRIPTS[theme]))]
                thread = reply_as_leader(user, scope, comment.id, script.reply,
                                         _at(replied_on, rng.randint(8, 17)), today=replied_on)
                threads += 1
                author = _author(comment)
                answered_on = replied_on + dt.timedelta(days=rng.randint(1, 5))
                if author is None or answered_on >= today or rng.random() > 0.5:
                    continue
                # The answer follows the script; the draw that once chose it is kept, so that every
                # later choice (closings, dates) and the published demo figures stay the same.
                rng.randrange(len(_SCRIPTS[theme]))
                reply_as_author(author, thread.id, script.answer, answered_on)
                answers += 1
                if rng.random() < 0.4:
                    # The author is satisfied and closes the thread; otherwise the leader owes a reply.
                    close_thread(author, thread.id, answered_on)
                    closed += 1
                elif habit.answers_back:
                    # Where the sponsor is visible, leaders answer the author's answer too, within days.
                    followed_on = answered_on + dt.timedelta(days=rng.randint(1, 3))
                    if followed_on < today:
                        reply_as_leader(user, scope, comment.id, script.follow_up,
                                        _at(followed_on, rng.randint(8, 17)), today=followed_on)
    prepared = [r for r in rounds if r.closes_on < today and r.results_ready_at is not None]
    own = _converse_with_the_employee(prepared, today, seed, employee, manager, manager_scope)
    return threads + own[0], answers + own[1], closed + own[2]


def plan_actions(rounds: list[SurveyRound], today: dt.date, seed: int) -> int:
    """The demo's action plans on the last two closed rounds; returns how many were made
    (none when the demo already has plans)."""
    if db.session.scalar(select(ActionPlan.id).limit(1)) is not None:
        return 0
    leader, leader_scope, manager, manager_scope, team = _leaders()
    closed = [r for r in rounds if r.closes_on < today and r.results_ready_at is not None]
    if len(closed) < 2:
        return 0
    rng = random.Random(f"{seed}:action-plans")
    teams = sorted({u.path: u for r in closed[-2:] for u in comment_units(leader_scope, r.id)
                    if u.path.count(UNIT_PATH_SEPARATOR) == 2}.values(), key=lambda u: u.path)
    made = 0
    for index, spec in enumerate(_PLANS):
        # The first plan is the demo manager's, in their team; the others the change leader's.
        if index == 0 and manager is not None:
            unit = db.session.scalar(select(OrgUnit).where(OrgUnit.path == team))
            user, scope = manager, manager_scope
        else:
            unit = rng.choice(teams) if teams else None
            user, scope = leader, leader_scope
        if unit is None:
            continue
        survey_round = closed[-2] if spec.status in (PlanStatus.DONE.value, PlanStatus.DROPPED.value) else closed[-1]
        made_on = survey_round.closes_on + dt.timedelta(days=3)
        plan = create_plan(
            scope, user, unit_id=unit.id, round_id=survey_round.id, title=spec.title,
            description=spec.description, owner_id=user.id,
            due_on=made_on + dt.timedelta(days=45), follow_up=spec.follow_up, today=made_on,
        )
        statuses = {
            PlanStatus.DONE.value: (PlanStatus.IN_PROGRESS.value, PlanStatus.DONE.value),
            PlanStatus.IN_PROGRESS.value: (PlanStatus.IN_PROGRESS.value,),
            PlanStatus.DROPPED.value: (PlanStatus.DROPPED.value,),
            PlanStatus.PLANNED.value: (),
        }[spec.status]
        # Dated when they happen in the demo's story (made three days after the round closed,
        # updated every nine days, all before the plan's due date and "today"), not when the demo
        # is loaded: the commitment dashboard reads whether a plan was closed on time.
        plan.created_at = plan.updated_at = _at(made_on, 9)
        for step, (body, status) in enumerate(zip(spec.updates, statuses, strict=False), start=1):
            update = add_update(user, scope, plan, body, status)
            day = min(made_on + dt.timedelta(days=9 * step), plan.due_on - dt.timedelta(days=1),
                      today - dt.timedelta(days=1))
            update.created_at = plan.updated_at = _at(day, 9 + step)
        made += 1
    return made
