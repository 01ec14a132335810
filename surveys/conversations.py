"""Comments and the anonymous conversations leaders hold with their authors (S4).

Leaders — a unit's manager (for their subtree) or a change leader (every unit) — read the comments
of a prepared round group by group, only where the group's comments may be shown (their own
threshold, surveys/disclosure.py). Comments come in primary-key order (random UUIDs: random, and the
same on every visit), with the question they were written under and the round, never a date, never
the author's unit, never beside the author's scores. Executives and admins read no comments:
comments are not aggregates.

A leader's reply opens a thread on the comment. The thread never records its author: the app finds
an employee's threads by testing ``comments.author_key`` (an HMAC needing the app's secret,
surveys/authorship.py) against the rounds they took part in. The author answers anonymously, keeps
only the day of each of their messages, and is the only one who can close the thread.

Every function adds and flushes; the caller commits. Refusals are ``ConversationError`` (a message
fit to show, never naming the author; ``NotTheAuthor`` when someone else acts on a thread) or
``adoption.scope.ScopeError`` (outside the user's scope).
"""
from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from adoption.extensions import db
from adoption.models import Employee, OrgUnit, Role, User
from adoption.org import subtree_filter
from adoption.scope import Scope, ScopeError
from surveys.authorship import is_author
from surveys.disclosure import group_disclosure
from surveys.models import (
    ALL_BANDS,
    Comment,
    CommentThread,
    Participation,
    RoundGroup,
    RoundQuestion,
    SurveyQuestion,
    SurveyRound,
    ThreadMessage,
    ThreadStatus,
)
from surveys.services import MAX_TEXT_LENGTH, SurveyError

#: Who reads comments and replies to them.
READER_ROLES = frozenset({Role.MANAGER, Role.CHANGE_LEADER})

NOT_YOURS = "This conversation is not one of yours."
ONLY_AUTHOR_CLOSES = "Only the author of the comment can close this conversation."


class ConversationError(SurveyError):
    """A conversation operation refused, with a message fit to show (it never names the author)."""


class NotTheAuthor(ConversationError):
    """Someone other than the comment's author acted on its conversation (or it does not exist)."""


# ------------------------------------------------------------------ leaders: reading comments


def _require_reader(scope: Scope) -> None:
    """Refuse anyone but managers and change leaders (executives and admins see aggregates only)."""
    if scope.role not in READER_ROLES:
        raise ScopeError("comments are read by managers and change leaders only")


def _comment_options():
    """Eager loads for showing a comment: its question's wording and its round's survey."""
    return (
        selectinload(Comment.round_question).selectinload(RoundQuestion.question)
        .selectinload(SurveyQuestion.item_version),
        selectinload(Comment.round).selectinload(SurveyRound.survey),
    )


def comments_visible(round_id: int, unit_id: int) -> bool:
    """True when the round's results are prepared and the unit group's comments may be shown."""
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None or survey_round.results_ready_at is None:
        return False
    return group_disclosure(round_id, unit_id, ALL_BANDS).comments_shown


def readable_rounds(scope: Scope) -> list[SurveyRound]:
    """Prepared rounds in which some unit of the scope has comments that may be shown, newest first."""
    _require_reader(scope)
    shown_here = exists().where(
        RoundGroup.round_id == SurveyRound.id,
        RoundGroup.tenure_band == ALL_BANDS,
        RoundGroup.comments_shown.is_(True),
        scope.unit_filter(RoundGroup.unit_id),
    )
    return list(db.session.scalars(
        select(SurveyRound).options(selectinload(SurveyRound.survey))
        .where(SurveyRound.results_ready_at.isnot(None), shown_here)
        .order_by(SurveyRound.results_ready_at.desc(), SurveyRound.id.desc())
    ))


def comment_units(scope: Scope, round_id: int) -> list[OrgUnit]:
    """The units of the scope whose comments may be shown for the round, in path order."""
    _require_reader(scope)
    survey_round = db.session.get(SurveyRound, round_id)
    if survey_round is None or survey_round.results_ready_at is None:
        return []
    return list(db.session.scalars(
        select(OrgUnit).join(RoundGroup, RoundGroup.unit_id == OrgUnit.id)
        .where(RoundGroup.round_id == round_id, RoundGroup.tenure_band == ALL_BANDS,
               RoundGroup.comments_shown.is_(True), scope.unit_filter(OrgUnit.id))
        .order_by(OrgUnit.path)
    ))


def comments_for_group(scope: Scope, round_id: int, unit_id: int) -> list[Comment]:
    """The comments of the unit's group in a prepared round, in random but stable order.

    Empty when the group's comments may not be shown (below the comment threshold, differencing,
    round not prepared): the caller says ``SUPPRESSED_MESSAGE``. Raises ``ScopeError`` for a unit
    outside the scope, and for executives and admins.
    """
    _require_reader(scope)
    scope.require_unit(unit_id)
    if not comments_visible(round_id, unit_id):
        return []
    unit = db.session.get(OrgUnit, unit_id)
    subtree = select(OrgUnit.id).where(subtree_filter(unit))
    return list(db.session.scalars(
        select(Comment).options(*_comment_options())
        .where(Comment.round_id == round_id, Comment.unit_id.in_(subtree),
               Comment.group_unit_id.isnot(None))
        # Random UUIDs: an order that says nothing about who answered first, yet never reshuffles.
        .order_by(Comment.id)
    ))


def threads_for(comments: Sequence[Comment]) -> dict[uuid.UUID, CommentThread]:
    """The threads opened on ``comments`` (already read through the scope), with their messages."""
    ids = [c.id for c in comments]
    if not ids:
        return {}
    threads = db.session.scalars(
        select(CommentThread).options(selectinload(CommentThread.messages))
        .where(CommentThread.comment_id.in_(ids))
    )
    return {t.comment_id: t for t in threads}


def leader_names(threads: Iterable[CommentThread]) -> dict[int, str]:
    """user id -> how a leader signs their messages (their name, else their e-mail)."""
    ids = {m.sender_id for t in threads for m in t.messages if m.sender_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.email, Employee.full_name)
        .outerjoin(Employee, Employee.id == User.employee_id).where(User.id.in_(ids))
    )
    return {user_id: name or email for user_id, email, name in rows}


def _owed_a_reply(scope: Scope) -> tuple:
    """WHERE: open threads of the scope's units whose last message is the author's."""
    return (CommentThread.awaiting_leader.is_(True), CommentThread.status == ThreadStatus.OPEN.value,
            scope.unit_filter(CommentThread.unit_id))


def awaiting_threads(scope: Scope) -> list[tuple[CommentThread, OrgUnit]]:
    """Open threads of the scope's units whose last message is the author's (a reply is owed),
    each with the unit it is listed under."""
    _require_reader(scope)
    rows = db.session.execute(
        select(CommentThread, OrgUnit)
        .options(selectinload(CommentThread.comment).options(*_comment_options()))
        .join(OrgUnit, OrgUnit.id == CommentThread.unit_id)
        .where(*_owed_a_reply(scope))
        .order_by(CommentThread.round_id.desc(), OrgUnit.path, CommentThread.id)
    )
    return [(thread, unit) for thread, unit in rows]


def awaiting_summary(scope: Scope) -> tuple[int, int | None]:
    """(how many threads ``awaiting_threads`` lists, the earliest round among them) without loading them."""
    _require_reader(scope)
    count, first_round = db.session.execute(
        select(func.count(CommentThread.id), func.min(CommentThread.round_id)).where(*_owed_a_reply(scope))
    ).one()
    return int(count), first_round


def conversation_stats(scope: Scope, unit_id: int) -> dict:
    """Comments and threads of the unit's subtree over every prepared round.

    Keys: ``comments`` (shown to leaders), ``threads`` (comments replied to), ``awaiting_reply``
    (open threads whose last message is the author's), ``closed``, ``median_first_reply``
    (a timedelta from the round's results to the first reply, or None without threads).
    """
    _require_reader(scope)
    scope.require_unit(unit_id)
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        raise ScopeError(f"unit {unit_id} does not exist")
    subtree = select(OrgUnit.id).where(subtree_filter(unit))
    comments = db.session.scalar(
        select(func.count()).select_from(Comment).join(SurveyRound, SurveyRound.id == Comment.round_id)
        .where(SurveyRound.results_ready_at.isnot(None), Comment.group_unit_id.in_(subtree))
    )
    rows = db.session.execute(
        select(CommentThread.status, CommentThread.awaiting_leader, CommentThread.first_reply_at,
               SurveyRound.results_ready_at)
        .join(SurveyRound, SurveyRound.id == CommentThread.round_id)
        .where(CommentThread.unit_id.in_(subtree))
    ).all()
    waits = [max((first - ready).total_seconds(), 0.0)
             for _status, _awaiting, first, ready in rows if first is not None and ready is not None]
    return {
        "comments": comments,
        "threads": len(rows),
        "awaiting_reply": sum(1 for status, awaiting, _f, _r in rows
                              if awaiting and status == ThreadStatus.OPEN.value),
        "closed": sum(1 for status, *_rest in rows if status == ThreadStatus.CLOSED.value),
        "median_first_reply": dt.timedelta(seconds=statistics.median(waits)) if waits else None,
    }


# ------------------------------------------------------------------ leaders: replying


def _clean_body(body: str | None) -> str:
    """The message text, stripped; refuse an empty or over-long one."""
    text = (body or "").strip()
    if not text:
        raise ConversationError("Write a message first.")
    if len(text) > MAX_TEXT_LENGTH:
        raise ConversationError(f"Keep the message under {MAX_TEXT_LENGTH} characters.")
    return text


def reply_as_leader(user: User, scope: Scope, comment_id: uuid.UUID, body: str, now: dt.datetime,
                    *, today: dt.date | None = None) -> CommentThread:
    """Reply to a comment of a group in the leader's scope; the first reply opens the thread.

    ``now`` is the naive UTC instant (a leader's message keeps its time); ``today`` the
    organization's date (default ``now``'s date). Refused on a closed thread.
    """
    _require_reader(scope)
    if scope.user_id != user.id:
        raise ValueError("the scope is not this user's")
    comment = db.session.get(Comment, comment_id)
    # The same refusal whether the comment does not exist, is shown to nobody or lies elsewhere.
    if comment is None or comment.group_unit_id is None or comment.round.results_ready_at is None:
        raise ScopeError("this comment is not shown to this user")
    scope.require_unit(comment.group_unit_id)
    text = _clean_body(body)
    thread = db.session.scalar(select(CommentThread).where(CommentThread.comment_id == comment.id))
    if thread is None:
        thread = CommentThread(comment_id=comment.id, round_id=comment.round_id, unit_id=comment.group_unit_id,
                               status=ThreadStatus.OPEN.value, first_reply_at=now)
        db.session.add(thread)
    elif thread.status == ThreadStatus.CLOSED.value:
        raise ConversationError("The author closed this conversation: it takes no more replies.")
    thread.messages.append(ThreadMessage(from_author=False, sender_id=user.id, body=text,
                                         created_on=today or now.date(), created_at=now))
    if thread.first_reply_at is None:
        thread.first_reply_at = now
    thread.last_message_at = now
    thread.awaiting_leader = False
    thread.author_unread = True
    try:
        db.session.flush()
    except IntegrityError as exc:
        # Two leaders opening the thread at once: the unique comment id lets one through.
        raise ConversationError("Another leader replied at the same moment: reload the page and try again.") from exc
    return thread


# ------------------------------------------------------------------ the author


def _authored(employee: Employee, *conditions) -> list[tuple[int, bool]]:
    """(id, author_unread) of the threads the employee wrote the comment of, among those matching
    ``conditions``.

    One query: the threads (with their comment's round, id and key) of every round the employee
    took part in; the HMAC is tested in Python, as only the app holds the secret. The rounds are
    matched on the thread's own column, so the query reads the few threads rather than every
    comment of those rounds (it runs on every page, for the navigation's badge).
    """
    rounds = select(Participation.round_id).where(Participation.employee_id == employee.id)
    rows = db.session.execute(
        select(CommentThread.id, CommentThread.author_unread, Comment.round_id, Comment.id, Comment.author_key)
        .join(Comment, Comment.id == CommentThread.comment_id)
        .where(CommentThread.round_id.in_(rounds), *conditions)
    )
    return [(thread_id, bool(unread)) for thread_id, unread, round_id, comment_id, key in rows
            if is_author(employee.id, round_id, comment_id, key)]


def _my_thread_ids(employee: Employee, *conditions) -> list[int]:
    """Ids of the threads the employee wrote the comment of, among those matching ``conditions``."""
    return [thread_id for thread_id, _unread in _authored(employee, *conditions)]


def my_threads(employee: Employee) -> list[CommentThread]:
    """The conversations on the employee's comments: open ones first, latest activity first."""
    ids = _my_thread_ids(employee)
    if not ids:
        return []
    return list(db.session.scalars(
        select(CommentThread)
        .options(selectinload(CommentThread.messages),
                 selectinload(CommentThread.comment).options(*_comment_options()))
        .where(CommentThread.id.in_(ids))
        .order_by(CommentThread.status.desc(),  # "open" before "closed"
                  CommentThread.last_message_at.desc(), CommentThread.id.desc())
    ))


def unread_count(employee: Employee) -> int:
    """How many of the employee's conversations have a leader's message they have not read."""
    return len(_my_thread_ids(employee, CommentThread.author_unread.is_(True)))


def my_thread_counts(employee: Employee) -> tuple[int, int]:
    """(the employee's conversations, of those with an unread leader's message), in one query."""
    threads = _authored(employee)
    return len(threads), sum(1 for _thread_id, unread in threads if unread)


def _authored_thread(employee: Employee, thread_id: int, refusal: str = NOT_YOURS) -> CommentThread:
    """The thread, when the employee wrote its comment; otherwise ``refusal`` (missing or not theirs alike)."""
    thread = db.session.get(CommentThread, thread_id)
    if thread is None or not is_author(employee.id, thread.comment.round_id, thread.comment_id,
                                       thread.comment.author_key):
        raise NotTheAuthor(refusal)
    return thread


def _day_start(today: dt.date) -> dt.datetime:
    """Midnight of ``today``: the only time kept for what the author does."""
    return dt.datetime.combine(today, dt.time())


def reply_as_author(employee: Employee, thread_id: int, body: str, today: dt.date) -> ThreadMessage:
    """The author answers in their thread, still anonymous; only the day is kept."""
    thread = _authored_thread(employee, thread_id)
    if thread.status == ThreadStatus.CLOSED.value:
        raise ConversationError("This conversation is closed.")
    message = ThreadMessage(from_author=True, sender_id=None, body=_clean_body(body),
                            created_on=today, created_at=None)
    thread.messages.append(message)
    thread.awaiting_leader = True
    # Never the exact time of the author's message: at most its day (a leader's later time stays).
    thread.last_message_at = max(thread.last_message_at or _day_start(today), _day_start(today))
    db.session.flush()
    return message


def close_thread(employee: Employee, thread_id: int, today: dt.date) -> CommentThread:
    """The author closes their thread (nobody else can); only the day of closing is kept."""
    thread = _authored_thread(employee, thread_id, ONLY_AUTHOR_CLOSES)
    if thread.status == ThreadStatus.CLOSED.value:
        raise ConversationError("This conversation is already closed.")
    thread.status = ThreadStatus.CLOSED.value
    thread.closed_at = _day_start(today)
    thread.awaiting_leader = False
    thread.author_unread = False
    db.session.flush()
    return thread


def mark_read(employee: Employee, threads: Iterable[CommentThread]) -> int:
    """Clear the notification of the employee's ``threads``; returns how many were unread."""
    cleared = 0
    for thread in threads:
        if not is_author(employee.id, thread.comment.round_id, thread.comment_id, thread.comment.author_key):
            raise NotTheAuthor(NOT_YOURS)
        if thread.author_unread:
            thread.author_unread = False
            cleared += 1
    db.session.flush()
    return cleared
