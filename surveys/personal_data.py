"""The surveys' part of a person's data (adoption/personal_data.py): the rounds they answered,
their unfinished drafts, the comments they wrote and the conversations on them.

Only the person sees these, in their own download: an admin answering a request for them gets a
note instead, because even admins must not learn who answered a round or wrote a comment. The
answers themselves are in nobody's download: no response row names or points to anyone.

``erase_surveys`` is the surveys' part of erasing a leaver (adoption/erasure.py): their drafts go,
and their name gives way to their pseudonym in what they wrote as a leader. Their responses and
comments stay, as they are: nothing links them to anyone. Which rounds they
answered stays too, linked only to the pseudonymized record (a round's response count is made of it).
"""
from __future__ import annotations

from sqlalchemy import delete, select, true

from adoption.erasure import names_in_text, scrub_texts
from adoption.extensions import db
from adoption.models import Employee, User
from adoption.personal_data import Contribution, NotIncluded, Section, records
from surveys.authorship import is_author
from surveys.conversations import my_threads
from surveys.models import (
    ActionPlan,
    ActionPlanUpdate,
    Comment,
    Participation,
    ResponseDraft,
    RoundQuestion,
    Survey,
    SurveyRound,
    ThreadMessage,
)

ANSWERS = NotIncluded(
    "Your answers to pulse surveys",
    "They are stored without your name, id or the time you answered, so nothing links them to you, not even "
    "for Uptake: they cannot be found, shown or deleted for one person.")
ONLY_YOURS = NotIncluded(
    "Which surveys the person answered, their drafts, the comments they wrote and the conversations on them",
    "Kept in confidence: only the person can download them (My data), so that no one else, admins included, "
    "learns who answered or who wrote what.")


def survey_contribution(employee: Employee | None, _user: User | None, own: bool) -> Contribution:
    """The person's survey records, when they read their own document."""
    if employee is None:
        return Contribution([])  # an account without an employee record answers no survey
    if not own:
        return Contribution([], [ANSWERS, ONLY_YOURS])
    rounds = (select(Survey.title.label("survey"), SurveyRound.number.label("round"), SurveyRound.opens_on,
                     SurveyRound.closes_on)
              .join(Survey, Survey.id == SurveyRound.survey_id))
    answered = records(rounds.add_columns(Participation.submitted_on)
                       .join(Participation, Participation.round_id == SurveyRound.id)
                       .where(Participation.employee_id == employee.id).order_by(SurveyRound.opens_on))
    drafts = records(rounds.add_columns(ResponseDraft.answers, ResponseDraft.updated_at)
                     .join(ResponseDraft, ResponseDraft.round_id == SurveyRound.id)
                     .where(ResponseDraft.employee_id == employee.id).order_by(SurveyRound.opens_on))
    return Contribution([
        Section("survey_participation", "Pulse rounds you answered",
                "So that each person answers once per round; it holds the day only, and nothing links it to "
                "your answers.", answered),
        Section("survey_drafts", "Answers you started and have not submitted",
                "Saved as you go so you can come back; deleted when you submit.", drafts),
        Section("survey_comments", "Comments you wrote in pulse surveys",
                "Stored with your unit and a keyed code only the app can check, so that you can read and answer "
                "leaders' replies without being identified.", _my_comments(employee)),
        Section("conversations", "Conversations on your comments",
                "Leaders' replies and your answers.", [{
                    "comment": thread.comment.body, "status": thread.status, "started": thread.created_at,
                    "messages": [{"from": "you" if m.from_author else "a leader", "on": m.created_on, "text": m.body}
                                 for m in thread.messages]} for thread in my_threads(employee)]),
    ], [ANSWERS])


def _my_comments(employee: Employee) -> list[dict]:
    """Every comment the employee wrote, found by its author key in the rounds they answered."""
    rounds = select(Participation.round_id).where(Participation.employee_id == employee.id)
    rows = db.session.execute(
        select(Comment.id, Comment.round_id, Comment.author_key, Comment.kind, Comment.body,
               SurveyRound.opens_on, RoundQuestion.position)
        .join(SurveyRound, SurveyRound.id == Comment.round_id)
        .outerjoin(RoundQuestion, RoundQuestion.id == Comment.round_question_id)
        .where(Comment.round_id.in_(rounds))
        .order_by(SurveyRound.opens_on, RoundQuestion.position))
    return [{"round_opened": opens_on, "question": position, "kind": kind, "text": body}
            for comment_id, round_id, key, kind, body, opens_on, position in rows
            if key and is_author(employee.id, round_id, comment_id, key)]


def erase_surveys(employee: Employee, _user: User | None) -> dict[str, int]:
    """Delete a leaver's unsubmitted answer drafts, and put their pseudonym for their name wherever
    survey text names them: what they wrote as a leader (replies, action plans and updates: often
    signed) and what others wrote about them (an anonymous comment, a reply, a plan that names
    them); returns counts."""
    counts = {"survey_drafts": db.session.execute(
        delete(ResponseDraft).where(ResponseDraft.employee_id == employee.id)).rowcount}
    names = names_in_text(employee)
    # Comments stay anonymous: the text changes, nothing about who wrote it does.
    counts["texts_naming_them"] = (
        scrub_texts([Comment.body], true(), names)
        + scrub_texts([ThreadMessage.body], true(), names)
        + scrub_texts([ActionPlanUpdate.body], true(), names)
        + scrub_texts([ActionPlan.title, ActionPlan.description], true(), names))
    return counts
