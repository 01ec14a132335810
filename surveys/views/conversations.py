"""Routes for comments and conversations (S4): see surveys/conversations.py.

- leaders (managers, change leaders): a prepared round's comments group by group, replies, the
  conversations awaiting a reply and the time to first reply;
- employees: "My conversations", where they read the replies to their comments, answer
  anonymously and close a conversation; the navigation shows how many have unread replies.

No page for leaders carries anything about an author beyond "Anonymous" and the day.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from adoption.access import current_scope, role_required
from adoption.extensions import db
from adoption.models import OrgUnit, Role
from adoption.timekeeping import org_today, utcnow
from adoption.views.errors import render_error
from adoption.views.shell import register_nav_badge
from surveys.conversation_forms import CloseConversationForm, ReplyForm
from surveys.conversations import (
    NOT_YOURS,
    ONLY_AUTHOR_CLOSES,
    ConversationError,
    NotTheAuthor,
    awaiting_threads,
    close_thread,
    comment_units,
    comments_for_group,
    comments_visible,
    conversation_stats,
    leader_names,
    mark_read,
    my_threads,
    readable_rounds,
    reply_as_author,
    reply_as_leader,
    threads_for,
    unread_count,
)
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import CommentKind, SurveyRound, ThreadStatus
from surveys.views import bp

LEADERS = (Role.MANAGER, Role.CHANGE_LEADER)

KIND_LABELS = {
    CommentKind.COMMENT.value: "Comment on the question",
    CommentKind.ANSWER.value: "Answer to the question",
}
#: Comments per page on the leaders' page: a company-wide group can hold thousands, each with a form.
COMMENTS_PER_PAGE = 25
#: Conversations listed under "Awaiting a reply" (the others are found with the page's filter).
WAITING_SHOWN = 10


@dataclass(frozen=True)
class CommentPage:
    """One page of a group's comments (they keep their stable random order across pages)."""

    number: int  # 1-based
    pages: int
    total: int
    first: int  # 1-based position of the page's first comment (0 when there are none)
    last: int


def _page_of(comments: list, wanted: int | None, target: uuid.UUID | None) -> tuple[list, CommentPage]:
    """The page ``wanted`` of ``comments`` or, without one, the page holding the comment ``target``
    (a link to a comment, a reply sent or refused), else the first; out-of-range pages are clamped."""
    pages = max(1, -(-len(comments) // COMMENTS_PER_PAGE))
    number = wanted
    if number is None and target is not None:
        index = next((i for i, c in enumerate(comments) if c.id == target), None)
        number = None if index is None else index // COMMENTS_PER_PAGE + 1
    number = min(max(number or 1, 1), pages)
    start = (number - 1) * COMMENTS_PER_PAGE
    shown = comments[start:start + COMMENTS_PER_PAGE]
    return shown, CommentPage(number, pages, len(comments), start + 1 if shown else 0, start + len(shown))


def _today() -> dt.date:
    """Today in the organization's time zone."""
    return org_today(current_app.config["ORG_TIMEZONE"])


def duration(delta: dt.timedelta | None) -> str:
    """A waiting time in words a leader reads at a glance ("45 min", "5 h", "2.5 days")."""
    if delta is None:
        return "—"
    minutes = delta.total_seconds() / 60
    if minutes < 60:
        return f"{max(1, round(minutes))} min"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h"
    return f"{minutes / 60 / 24:.1f} days"


def round_label(survey_round: SurveyRound) -> str:
    """A round as leaders and authors see it: the survey, the round number and its month."""
    return f"{survey_round.survey.title}, round {survey_round.number} ({survey_round.opens_on:%b %Y})"


# ------------------------------------------------------------------ the notification badge


def _unread_for_current_user() -> int:
    """The signed-in employee's conversations with unread replies, computed once per request."""
    if "uptake_unread_conversations" not in g:
        employee = current_user.employee if current_user.is_authenticated else None
        g.uptake_unread_conversations = unread_count(employee) if employee is not None else 0
    return g.uptake_unread_conversations


@bp.record_once
def _register_badge(state) -> None:
    """The unread count beside "My conversations" in the navigation (computed only where drawn)."""
    register_nav_badge(state.app, "unread-conversations", _unread_for_current_user)


# ------------------------------------------------------------------ leaders


def _selection() -> dict:
    """The round, unit and filter asked for in the query string (defaults: newest round, first unit)."""
    scope = current_scope()
    rounds = readable_rounds(scope)
    round_id = request.args.get("round", type=int)
    if round_id is None and rounds:
        round_id = rounds[0].id
    units = comment_units(scope, round_id) if round_id is not None else []
    unit_id = request.args.get("unit", type=int)
    if unit_id is None and units:
        own = current_user.employee.unit_id if current_user.employee is not None else None
        unit_id = next((u.id for u in units if u.id == own), units[0].id)
    return {"scope": scope, "rounds": rounds, "round_id": round_id, "units": units, "unit_id": unit_id,
            "awaiting": request.args.get("awaiting") == "1", "page": request.args.get("page", type=int),
            "comment": request.args.get("comment", type=uuid.UUID)}


def _leader_page(reply_errors: dict[uuid.UUID, tuple[str, list[str]]] | None = None, status: int = 200,
                 refusal: str | None = None):
    """The comments of the selected group with their threads, and what awaits a reply.

    ``reply_errors`` maps a comment id to the text its reply form sent back and why it was refused;
    ``refusal`` is said at the top of the page (the form may be gone, e.g. from a closed thread).
    """
    s = _selection()
    scope, round_id, unit_id = s["scope"], s["round_id"], s["unit_id"]
    comments, threads, visible, stats = [], {}, False, None
    target = next(iter(reply_errors), None) if reply_errors else s["comment"]
    page = None
    if round_id is not None and unit_id is not None:
        comments = comments_for_group(scope, round_id, unit_id)  # ScopeError outside the scope: 403
        visible = comments_visible(round_id, unit_id)
        threads = threads_for(comments)
        stats = conversation_stats(scope, unit_id)
        if s["awaiting"]:
            comments = [c for c in comments if c.id in threads and threads[c.id].awaiting_leader
                        and threads[c.id].status == ThreadStatus.OPEN.value]
        comments, page = _page_of(comments, None if reply_errors else s["page"], target)
    waiting = awaiting_threads(scope)
    return render_template(
        "surveys/conversations.html",
        rounds=s["rounds"], units=s["units"], round_id=round_id, unit_id=unit_id, awaiting=s["awaiting"],
        survey_round=db.session.get(SurveyRound, round_id) if round_id is not None else None,
        unit=db.session.get(OrgUnit, unit_id) if unit_id is not None else None,
        comments=comments, page=page, threads=threads, visible=visible, stats=stats, waiting=waiting,
        waiting_shown=WAITING_SHOWN,
        names=leader_names(list(threads.values())),
        reply_errors=reply_errors or {}, refusal=refusal, suppressed=SUPPRESSED_MESSAGE,
        kind_labels=KIND_LABELS, duration=duration, round_label=round_label, closed=ThreadStatus.CLOSED.value,
    ), status


def _back_to_list(comment_id: uuid.UUID | None = None):
    """Redirect to the leaders' page with the same selection, at the comment."""
    args = {k: request.args[k] for k in ("round", "unit", "awaiting") if request.args.get(k)}
    if comment_id is None:
        return redirect(url_for("surveys.conversations", **args))
    # Back on the page that holds the comment, at the comment.
    return redirect(url_for("surveys.conversations", **args, comment=comment_id) + f"#comment-{comment_id}")


@bp.route("/conversations/")
@role_required(*LEADERS)
def conversations():
    """Leaders: a prepared round's comments for one unit group, replies, and what awaits a reply."""
    return _leader_page()


@bp.route("/conversations/comments/<uuid:comment_id>/reply", methods=["POST"])
@role_required(*LEADERS)
def reply(comment_id: uuid.UUID):
    """A leader replies to a comment, signed with their name; the author is notified."""
    form = ReplyForm()
    if not form.validate_on_submit():
        return _leader_page({comment_id: (form.body.data or "", form.body.errors)}, 422,
                            refusal="Your reply was not sent: " + " ".join(form.body.errors))
    try:
        reply_as_leader(current_user, current_scope(), comment_id, form.body.data, utcnow(), today=_today())
    except ConversationError as exc:
        db.session.rollback()
        return _leader_page({comment_id: (form.body.data or "", [str(exc)])}, 422, refusal=str(exc))
    db.session.commit()
    flash("Reply sent. The author sees it under \u201cMy conversations\u201d.", "success")
    return _back_to_list(comment_id)


# ------------------------------------------------------------------ the author


def _author_page(employee, reply_errors: dict[int, tuple[str, list[str]]] | None = None, status: int = 200,
                 refusal: str | None = None):
    """The employee's conversations; opening the page marks their replies read."""
    threads = my_threads(employee) if employee is not None else []
    unread = {t.id for t in threads if t.author_unread}
    if unread:
        mark_read(employee, [t for t in threads if t.id in unread])
        db.session.commit()
    return render_template(
        "surveys/my_conversations.html", has_employee=employee is not None, threads=threads, unread=unread,
        names=leader_names(threads), reply_errors=reply_errors or {}, refusal=refusal,
        kind_labels=KIND_LABELS, round_label=round_label, closed=ThreadStatus.CLOSED.value,
    ), status


def _refused(message: str):
    """A 403 page that says why, for a conversation that is not the user's."""
    return render_error(403, ("Not allowed", message,
                              "Only the person who wrote a comment can act on its conversation."))


@bp.route("/my-conversations")
@login_required
def my_conversations():
    """The author's conversations: leaders' replies, their own answers, a reply form and a close button."""
    return _author_page(current_user.employee)


@bp.route("/my-conversations/<int:thread_id>/reply", methods=["POST"])
@login_required
def answer_thread(thread_id: int):
    """The author answers a leader, still anonymous."""
    employee = current_user.employee
    if employee is None:
        return _refused(NOT_YOURS)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _author_page(employee, {thread_id: (form.body.data or "", form.body.errors)}, 422,
                            refusal="Your answer was not sent: " + " ".join(form.body.errors))
    try:
        reply_as_author(employee, thread_id, form.body.data, _today())
    except NotTheAuthor as exc:
        db.session.rollback()
        return _refused(str(exc))
    except ConversationError as exc:
        db.session.rollback()
        return _author_page(employee, {thread_id: (form.body.data or "", [str(exc)])}, 422, refusal=str(exc))
    db.session.commit()
    flash("Answer sent. Leaders see it without your name, dated by the day only.", "success")
    return redirect(url_for("surveys.my_conversations") + f"#thread-{thread_id}")


@bp.route("/my-conversations/<int:thread_id>/close", methods=["POST"])
@login_required
def close_conversation(thread_id: int):
    """The author closes their conversation; anyone else is refused."""
    employee = current_user.employee
    if employee is None:
        return _refused(ONLY_AUTHOR_CLOSES)
    if not CloseConversationForm().validate_on_submit():
        abort(400)
    try:
        close_thread(employee, thread_id, _today())
    except NotTheAuthor as exc:
        db.session.rollback()
        return _refused(str(exc))
    except ConversationError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for("surveys.my_conversations"))
    db.session.commit()
    flash("Conversation closed. Leaders can no longer reply to it.", "success")
    return redirect(url_for("surveys.my_conversations") + f"#thread-{thread_id}")
