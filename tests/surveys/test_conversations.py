"""Comments for leaders and anonymous conversations with their authors (surveys/conversations.py).

The helpers at the top (``answer``, ``prepare``, ``pulse``) are shared with
test_conversations_views.py.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import random
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import event, select

from adoption import create_app
from adoption.extensions import db as sqla
from adoption.models import Employee, OrgUnit, User
from adoption.scope import ScopeError, scope_for
from surveys.conversations import (
    ONLY_AUTHOR_CLOSES,
    ConversationError,
    NotTheAuthor,
    awaiting_threads,
    close_thread,
    comment_units,
    comments_for_group,
    comments_visible,
    conversation_stats,
    mark_read,
    my_threads,
    readable_rounds,
    reply_as_author,
    reply_as_leader,
    unread_count,
)
from surveys.disclosure import prepare_disclosure
from surveys.models import Comment, CommentThread, SurveyRound, ThreadStatus
from surveys.results import prepare_round_results
from surveys.services import submit_response
from tests.factories import make_employee, make_user
from tests.surveys.conftest import BUDGET

#: When the test round's results were prepared (the round closed on 9 March).
READY = dt.datetime(2025, 3, 11, 9, 0)
LATER = dt.date(2025, 3, 12)
NORTH, SOUTH = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South"


def answer(survey_round: SurveyRound, employee: Employee, comment: str | None = None) -> None:
    """Submit a response for ``employee`` on the round's opening day, with an optional comment."""
    q = [rq.id for rq in survey_round.questions]
    first = {"value": 4, **({"comment": comment} if comment else {})}
    submit_response(employee, survey_round, {q[0]: first, q[1]: {"value": 8}}, survey_round.opens_on, BUDGET)


def prepare(survey_round: SurveyRound, config, ready: dt.datetime = READY) -> None:
    """Prepare the closed round's results, as if at ``ready`` (the start of the time to first reply)."""
    assert prepare_round_results(survey_round, config, survey_round.closes_on + dt.timedelta(days=1))
    survey_round.results_ready_at = ready
    sqla.session.flush()


@dataclass
class Pulse:
    """A prepared round: five respondents with a comment each in Sales North and in Sales South."""

    round: SurveyRound
    north: list[Employee]
    south: list[Employee]

    @property
    def author(self) -> Employee:
        """The writer of the first North comment."""
        return self.north[0]

    def comment_of(self, employee: Employee) -> Comment:
        """The comment ``employee`` wrote (found the test's way: by its text)."""
        index = (self.north + self.south).index(employee)
        return sqla.session.scalars(select(Comment).where(Comment.body == _body(index))).one()


def _body(index: int) -> str:
    return f"Comment number {index}: the CRM asks for too many fields"


def make_pulse(app, build_survey, config=None) -> Pulse:
    """Build, answer and prepare the round; committed."""
    survey_round = build_survey().rounds[0]
    north = [make_employee(NORTH) for _ in range(5)]
    south = [make_employee(SOUTH) for _ in range(5)]
    for index, person in enumerate(north + south):
        answer(survey_round, person, _body(index))
    prepare(survey_round, config or app.config)
    sqla.session.commit()
    return Pulse(survey_round, north, south)


def leader_of(unit: str | None, role: str = "manager", **fields) -> User:
    """A signed-up leader: a manager of ``unit``, or a change leader (``unit`` None)."""
    employee = make_employee(unit or "Acme/HQ", **fields)
    user = make_user(role, employee)
    sqla.session.commit()
    return user


def unit_id(path: str) -> int:
    return sqla.session.scalar(select(OrgUnit.id).where(OrgUnit.path == path))


@contextlib.contextmanager
def count_queries():
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(sqla.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(sqla.engine, "before_cursor_execute", record)


@pytest.fixture
def pulse(app, db, build_survey) -> Pulse:
    return make_pulse(app, build_survey)


@pytest.fixture
def change_leader(db) -> User:
    return leader_of(None, "change_leader")


def _reply(user: User, comment: Comment, body="Thank you, we are on it.", now=READY + dt.timedelta(hours=2)):
    thread = reply_as_leader(user, scope_for(user), comment.id, body, now)
    sqla.session.commit()
    return thread


# ------------------------------------------------------------------ reading comments


def test_a_change_leader_reads_a_groups_comments_with_their_question(pulse, change_leader):
    comments = comments_for_group(scope_for(change_leader), pulse.round.id, unit_id(NORTH))
    assert sorted(c.body for c in comments) == sorted(_body(i) for i in range(5))
    assert {c.round_question.question.wording for c in comments} == {pulse.round.questions[0].question.wording}


def test_a_unit_group_lists_the_comments_of_its_whole_subtree(pulse, change_leader):
    comments = comments_for_group(scope_for(change_leader), pulse.round.id, unit_id("Acme"))
    assert len(comments) == 10


def test_a_manager_reads_the_comments_of_their_own_unit(pulse):
    manager = leader_of(NORTH)
    assert len(comments_for_group(scope_for(manager), pulse.round.id, unit_id(NORTH))) == 5
    assert [u.path for u in comment_units(scope_for(manager), pulse.round.id)] == [NORTH]
    assert readable_rounds(scope_for(manager)) == [pulse.round]


def test_a_manager_outside_the_group_can_neither_read_nor_reply(pulse):
    manager = leader_of(SOUTH)
    with pytest.raises(ScopeError):
        comments_for_group(scope_for(manager), pulse.round.id, unit_id(NORTH))
    with pytest.raises(ScopeError):
        reply_as_leader(manager, scope_for(manager), pulse.comment_of(pulse.author).id, "Hello", READY)
    assert sqla.session.scalars(select(CommentThread)).all() == []


@pytest.mark.parametrize("role", ["executive", "admin", "employee"])
def test_only_managers_and_change_leaders_read_comments(pulse, role):
    user = make_user(role, make_employee("Acme/HQ") if role != "admin" else None)
    with pytest.raises(ScopeError):
        comments_for_group(scope_for(user), pulse.round.id, unit_id("Acme"))
    with pytest.raises(ScopeError):
        reply_as_leader(user, scope_for(user), pulse.comment_of(pulse.author).id, "Hello", READY)


def test_comments_of_a_round_not_yet_prepared_are_not_listed(app, db, build_survey, change_leader):
    survey_round = build_survey().rounds[0]
    for index in range(5):
        answer(survey_round, make_employee(NORTH), _body(index))
    prepare_disclosure(survey_round, app.config)  # decided, but the results are not marked ready
    assert not comments_visible(survey_round.id, unit_id(NORTH))
    assert comments_for_group(scope_for(change_leader), survey_round.id, unit_id(NORTH)) == []
    assert readable_rounds(scope_for(change_leader)) == []


def test_comments_below_the_comment_threshold_are_not_listed(app, db, build_survey, change_leader):
    # Five people answered in each team: enough for scores, not for comments at a threshold of 6.
    pulse = make_pulse(app, build_survey, {**app.config, "SURVEY_MIN_COMMENT_RESPONDENTS": 6})
    leader = scope_for(change_leader)
    assert not comments_visible(pulse.round.id, unit_id(NORTH))
    assert comments_for_group(leader, pulse.round.id, unit_id(NORTH)) == []
    # Their comments go to the smallest group large enough: the whole company.
    assert len(comments_for_group(leader, pulse.round.id, unit_id("Acme"))) == 10
    manager = leader_of(NORTH)
    assert comment_units(scope_for(manager), pulse.round.id) == []
    assert comments_for_group(scope_for(manager), pulse.round.id, unit_id(NORTH)) == []


def test_a_team_too_small_for_comments_has_them_shown_only_with_its_parent(app, db, build_survey, change_leader):
    survey_round = build_survey().rounds[0]
    for index in range(5):
        answer(survey_round, make_employee(NORTH), f"north {index}")
    for index in range(2):
        answer(survey_round, make_employee("Acme/EMEA/Sales Tiny"), f"tiny {index}")
    prepare(survey_round, app.config)
    leader = scope_for(change_leader)
    assert comments_for_group(leader, survey_round.id, unit_id("Acme/EMEA/Sales Tiny")) == []
    bodies = {c.body for c in comments_for_group(leader, survey_round.id, unit_id("Acme"))}
    assert {"tiny 0", "tiny 1"} <= bodies


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_comments_come_in_the_order_of_their_random_ids_not_of_submission(
        app, db, build_survey, change_leader, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=rng.getrandbits(128), version=4))
    survey_round = build_survey().rounds[0]
    submitted = [f"comment written {i}th" for i in range(8)]
    for body in submitted:
        answer(survey_round, make_employee(NORTH), body)
    prepare(survey_round, app.config)
    listed = comments_for_group(scope_for(change_leader), survey_round.id, unit_id(NORTH))
    assert [c.id for c in listed] == sorted(c.id for c in listed)
    # With these seeds the ids do not happen to come out in submission order.
    assert [c.body for c in listed] != submitted
    # Stable: the same order on every read.
    sqla.session.expire_all()
    again = comments_for_group(scope_for(change_leader), survey_round.id, unit_id(NORTH))
    assert [c.body for c in again] == [c.body for c in listed]


# ------------------------------------------------------------------ a leader replies


def test_the_first_reply_opens_a_thread_listed_under_the_comments_group(pulse, change_leader):
    comment = pulse.comment_of(pulse.author)
    now = READY + dt.timedelta(hours=3)
    thread = _reply(change_leader, comment, now=now)
    assert (thread.comment_id, thread.round_id, thread.unit_id) == (comment.id, pulse.round.id, unit_id(NORTH))
    assert thread.first_reply_at == now and thread.last_message_at == now
    assert thread.author_unread and not thread.awaiting_leader
    [message] = thread.messages
    assert (message.from_author, message.sender_id, message.created_at) == (False, change_leader.id, now)


def test_a_second_reply_joins_the_thread_and_keeps_the_first_reply_time(pulse, change_leader):
    comment = pulse.comment_of(pulse.author)
    first = _reply(change_leader, comment, now=READY + dt.timedelta(hours=1))
    second = _reply(change_leader, comment, "And one more thing.", now=READY + dt.timedelta(hours=5))
    assert second.id == first.id and len(second.messages) == 2
    assert second.first_reply_at == READY + dt.timedelta(hours=1)


def test_a_manager_of_a_parent_unit_replies_to_a_teams_comment(pulse):
    regional = leader_of("Acme/EMEA")
    thread = _reply(regional, pulse.comment_of(pulse.author))
    assert thread.unit_id == unit_id(NORTH)


def test_an_empty_reply_is_refused(pulse, change_leader):
    with pytest.raises(ConversationError, match="Write a message first"):
        reply_as_leader(change_leader, scope_for(change_leader), pulse.comment_of(pulse.author).id, "  ", READY)


def test_a_comment_that_does_not_exist_is_refused_like_one_out_of_scope(pulse, change_leader):
    with pytest.raises(ScopeError):
        reply_as_leader(change_leader, scope_for(change_leader), uuid.uuid4(), "Hello", READY)


# ------------------------------------------------------------------ the author


def test_the_author_finds_their_thread_and_nobody_else_does(pulse, change_leader):
    thread = _reply(change_leader, pulse.comment_of(pulse.author))
    assert my_threads(pulse.author) == [thread]
    for other in pulse.north[1:] + pulse.south[:1] + [change_leader.employee]:
        assert my_threads(other) == []


def test_the_author_answers_anonymously_and_keeps_the_day_only(pulse, change_leader):
    replied = READY + dt.timedelta(hours=2)
    thread = _reply(change_leader, pulse.comment_of(pulse.author), now=replied)
    message = reply_as_author(pulse.author, thread.id, "Thanks, that would help.", LATER)
    assert (message.from_author, message.sender_id, message.created_at, message.created_on) == (
        True, None, None, LATER)
    assert thread.awaiting_leader
    # The thread's last activity moves to the author's day, never to the moment they wrote.
    assert thread.last_message_at == dt.datetime.combine(LATER, dt.time())


def test_an_author_answer_on_the_leaders_day_keeps_the_leaders_time(pulse, change_leader):
    replied = READY + dt.timedelta(hours=2)
    thread = _reply(change_leader, pulse.comment_of(pulse.author), now=replied)
    reply_as_author(pulse.author, thread.id, "Thanks.", replied.date())
    assert thread.last_message_at == replied


def test_another_employee_cannot_answer_in_the_thread(pulse, change_leader):
    thread = _reply(change_leader, pulse.comment_of(pulse.author))
    with pytest.raises(NotTheAuthor):
        reply_as_author(pulse.north[1], thread.id, "Pretending", LATER)
    assert len(thread.messages) == 1


@pytest.mark.parametrize("who", ["the replying leader", "another employee", "an admin", "the team's manager"])
def test_only_the_author_closes_a_thread(pulse, change_leader, who):
    thread = _reply(change_leader, pulse.comment_of(pulse.author))
    person = {
        "the replying leader": lambda: change_leader.employee,
        "another employee": lambda: pulse.north[1],
        "an admin": lambda: make_user("admin", make_employee("Acme/HQ")).employee,
        "the team's manager": lambda: leader_of(NORTH).employee,
    }[who]()
    with pytest.raises(NotTheAuthor, match=ONLY_AUTHOR_CLOSES):
        close_thread(person, thread.id, LATER)
    assert thread.status == ThreadStatus.OPEN.value and thread.closed_at is None


def test_the_author_closes_their_thread_keeping_the_day_only(pulse, change_leader):
    thread = _reply(change_leader, pulse.comment_of(pulse.author))
    reply_as_author(pulse.author, thread.id, "Good.", LATER)
    close_thread(pulse.author, thread.id, LATER)
    assert thread.status == ThreadStatus.CLOSED.value
    assert thread.closed_at == dt.datetime.combine(LATER, dt.time())
    assert not thread.awaiting_leader


def test_a_closed_thread_takes_no_more_messages(pulse, change_leader):
    comment = pulse.comment_of(pulse.author)
    thread = _reply(change_leader, comment)
    close_thread(pulse.author, thread.id, LATER)
    with pytest.raises(ConversationError, match="closed"):
        reply_as_leader(change_leader, scope_for(change_leader), comment.id, "Still there?", READY)
    with pytest.raises(ConversationError, match="closed"):
        reply_as_author(pulse.author, thread.id, "One more", LATER)
    with pytest.raises(ConversationError, match="already closed"):
        close_thread(pulse.author, thread.id, LATER)


def test_the_unread_count_rises_with_each_reply_and_falls_when_read(pulse, change_leader):
    author = pulse.author
    assert unread_count(author) == 0
    thread = _reply(change_leader, pulse.comment_of(author))
    assert unread_count(author) == 1
    assert unread_count(pulse.north[1]) == 0
    mark_read(author, my_threads(author))
    assert unread_count(author) == 0
    reply_as_author(author, thread.id, "Thanks.", LATER)
    assert unread_count(author) == 0  # their own answer is no news to them
    _reply(change_leader, pulse.comment_of(author), "Done: the fields are gone.")
    assert unread_count(author) == 1


def test_mark_read_refuses_a_thread_of_someone_else(pulse, change_leader):
    thread = _reply(change_leader, pulse.comment_of(pulse.author))
    with pytest.raises(NotTheAuthor):
        mark_read(pulse.north[1], [thread])
    assert thread.author_unread


def test_finding_the_authors_threads_does_not_query_per_comment(pulse, change_leader):
    _reply(change_leader, pulse.comment_of(pulse.author))
    sqla.session.expire_all()
    sqla.session.refresh(pulse.author)
    with count_queries() as few:
        assert unread_count(pulse.author) == 1
    assert len(few) == 1
    sqla.session.expire_all()
    sqla.session.refresh(pulse.author)
    with count_queries() as before:
        my_threads(pulse.author)
    for person in pulse.north[1:] + pulse.south:
        _reply(change_leader, pulse.comment_of(person))
    sqla.session.expire_all()
    sqla.session.refresh(pulse.author)
    with count_queries() as after:
        assert len(my_threads(pulse.author)) == 1
    assert len(after) == len(before)


def test_the_author_cannot_be_found_without_the_apps_secret(app, pulse, change_leader, tmp_path):
    thread = _reply(change_leader, pulse.comment_of(pulse.author))
    author_id = pulse.author.id

    def threads_seen_with(secret):
        other = create_app({"ENV": "testing", "SECRET_KEY": secret, "INSTANCE_PATH": str(tmp_path / secret),
                            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]})
        with other.app_context():
            try:
                author = sqla.session.get(Employee, author_id)
                return [t.id for t in my_threads(author)], unread_count(author)
            finally:
                sqla.session.remove()
                sqla.engine.dispose()

    assert threads_seen_with(app.config["SECRET_KEY"]) == ([thread.id], 1)
    assert threads_seen_with("another secret") == ([], 0)


# ------------------------------------------------------------------ what leaders see of it all


def test_conversation_stats_count_threads_awaiting_and_the_median_time_to_first_reply(pulse, change_leader):
    hours = [1, 2, 5]
    threads = [_reply(change_leader, pulse.comment_of(person), now=READY + dt.timedelta(hours=h))
               for person, h in zip(pulse.north, hours, strict=False)]
    reply_as_author(pulse.north[0], threads[0].id, "Thanks", LATER)
    reply_as_author(pulse.north[1], threads[1].id, "Thanks", LATER)
    close_thread(pulse.north[1], threads[1].id, LATER)
    stats = conversation_stats(scope_for(change_leader), unit_id(NORTH))
    assert stats == {"comments": 5, "threads": 3, "awaiting_reply": 1, "closed": 1,
                     "median_first_reply": dt.timedelta(hours=2)}
    assert conversation_stats(scope_for(change_leader), unit_id(SOUTH))["threads"] == 0
    assert conversation_stats(scope_for(change_leader), unit_id("Acme"))["comments"] == 10


def test_conversation_stats_need_the_unit_in_scope(pulse):
    with pytest.raises(ScopeError):
        conversation_stats(scope_for(leader_of(SOUTH)), unit_id(NORTH))


def test_threads_awaiting_a_reply_are_listed_for_leaders_in_scope_only(pulse, change_leader):
    thread = _reply(change_leader, pulse.comment_of(pulse.author))
    assert awaiting_threads(scope_for(change_leader)) == []
    reply_as_author(pulse.author, thread.id, "Thanks", LATER)
    sqla.session.commit()
    assert [(t.id, u.path) for t, u in awaiting_threads(scope_for(change_leader))] == [(thread.id, NORTH)]
    assert [t.id for t, _u in awaiting_threads(scope_for(leader_of(NORTH)))] == [thread.id]
    assert awaiting_threads(scope_for(leader_of(SOUTH))) == []


def test_a_leavers_signed_replies_keep_their_text_with_the_pseudonym_after_erasure(pulse):
    """Erasing a manager who left (adoption/erasure.py): the conversation stays whole for its author,
    and the name the manager signed with gives way to their pseudonym."""
    from adoption.erasure import erase_on_request
    from adoption.org import end_membership

    manager = leader_of(NORTH, full_name="Marta Manager")
    thread = _reply(manager, pulse.comment_of(pulse.author), body="We are on it. Marta Manager")
    manager.employee.active = False
    end_membership(manager.employee, LATER)
    erase_on_request(scope_for(make_user("admin")), manager.employee, READY + dt.timedelta(days=30))
    sqla.session.commit()
    [message] = my_threads(pulse.author)[0].messages
    assert message.id == thread.messages[0].id
    assert message.body == f"We are on it. Former employee {manager.employee.id}"
