"""The demo employee's own conversations (S4 on the small demo): signing in with the demo's
employee login shows a leader's reply to their comment, their anonymous answer and the leader's
answer to it, still unread, while the leader learns nothing of who wrote it.

The tests share one demo load (one database for the module). Opening "My conversations" marks
its replies read, so the test that does it comes last; the ones above only read.
"""
from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from adoption.demo import DEMO_PASSWORD
from adoption.extensions import db as _db
from adoption.models import Employee, User
from surveys.authorship import is_author
from surveys.conversations import NotTheAuthor, close_thread, my_threads, unread_count
from surveys.demo import REFERENCE_DATE, SURVEY_TITLE
from surveys.models import Comment, Survey, ThreadStatus
from tests.conftest import demo_loaded
from tests.surveys.test_conversations_views import TIME_OF_DAY, Browser

SEED = 7


@pytest.fixture(scope="module")
def app_loaded(tmp_path_factory):
    """The small demo with every feature's demo data, loaded once for this module."""
    with demo_loaded(tmp_path_factory.mktemp("employee_conversations"), SEED) as loaded:
        yield loaded


@pytest.fixture
def app(app_loaded):
    """The demo app; the session is rolled back after each test."""
    yield app_loaded[0]
    _db.session.rollback()


@pytest.fixture
def logins(app_loaded) -> dict[str, str]:
    """role -> e-mail of the demo logins."""
    return dict(app_loaded[1].logins)


def _user(email: str) -> User:
    return _db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def employee(logins) -> Employee:
    """The person behind the demo's employee login."""
    return _user(logins["employee"]).employee


@pytest.fixture
def manager(logins) -> User:
    """The demo manager's account."""
    return _user(logins["manager"])


def _sign_in(app, email: str) -> Browser:
    """A new client signed in with a demo login."""
    browser = Browser(app)
    response = browser.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def _open_thread(employee: Employee):
    """The employee's one open conversation."""
    (thread,) = [t for t in my_threads(employee) if t.status == ThreadStatus.OPEN.value]
    return thread


def test_the_demo_employee_commented_in_closed_rounds_and_leaders_may_read_it(app, employee):
    survey = _db.session.scalar(select(Survey).where(Survey.title == SURVEY_TITLE))
    closed = {r.id for r in survey.rounds if r.closes_on < REFERENCE_DATE}
    theirs = [c for c in _db.session.scalars(select(Comment).where(Comment.unit_id == employee.unit_id))
              if is_author(employee.id, c.round_id, c.id, c.author_key)]
    assert theirs
    assert {c.round_id for c in theirs} <= closed
    assert all(c.group_unit_id is not None for c in theirs)  # shown to leaders


def test_the_demo_employee_has_one_open_conversation_and_older_ones_they_closed(app, employee):
    threads = my_threads(employee)
    statuses = [t.status for t in threads]
    assert statuses.count(ThreadStatus.OPEN.value) == 1
    assert statuses.count(ThreadStatus.CLOSED.value) >= 1
    open_round = _open_thread(employee).comment.round
    assert all(t.comment.round.number < open_round.number for t in threads if t.status == ThreadStatus.CLOSED.value)


def test_their_manager_replied_they_answered_back_and_the_manager_answered_again(app, employee, manager):
    messages = _open_thread(employee).messages
    assert [m.from_author for m in messages] == [False, True, False]
    assert {m.sender_id for m in messages if not m.from_author} == {manager.id}
    assert manager.employee_id == employee.manager_id  # the employee's own manager
    # Their answer is anonymous and dated by the day only, like any author's.
    assert messages[1].sender_id is None and messages[1].created_at is None
    assert messages[0].created_on < messages[1].created_on < messages[2].created_on < REFERENCE_DATE


def test_the_managers_latest_reply_is_unread_by_the_demo_employee(app, employee):
    thread = _open_thread(employee)
    assert thread.author_unread and not thread.awaiting_leader
    assert unread_count(employee) == 1


def test_the_navigation_shows_one_unread_conversation_to_the_demo_employee(app, logins):
    home = _sign_in(app, logins["employee"]).get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-conversations">1<', home)


def test_the_manager_reads_the_answer_back_without_learning_who_wrote_it(app, logins, employee):
    thread = _open_thread(employee)
    answer_back = thread.messages[1].body
    key = thread.comment.author_key
    html = _sign_in(app, logins["manager"]).get(
        "/surveys/conversations/", query_string={"round": thread.round_id, "unit": thread.unit_id}
    ).get_data(as_text=True)
    assert escape(answer_back) in html and "Anonymous author" in html
    for trace in (employee.full_name, employee.email, employee.hr_id, key):
        assert trace not in html
    # Days only, for every message: no time of day anywhere on the page.
    assert not TIME_OF_DAY.search(html)


def test_neither_the_manager_nor_a_teammate_can_close_the_demo_employees_conversation(app, employee, manager):
    thread = _open_thread(employee)
    teammate = _db.session.scalar(select(Employee).where(
        Employee.unit_id == employee.unit_id, Employee.id.not_in([employee.id, manager.employee_id]))
        .order_by(Employee.id).limit(1))
    for other in (manager.employee, teammate):
        with pytest.raises(NotTheAuthor):
            close_thread(other, thread.id, REFERENCE_DATE)
        assert thread.id not in {t.id for t in my_threads(other)}
    assert thread.status == ThreadStatus.OPEN.value


def test_my_conversations_shows_the_demo_employee_the_replies_and_their_own_answer(app, logins, employee, manager):
    # Opening the page marks the replies read: this test comes last.
    thread = _open_thread(employee)
    reply, answer_back, follow_up = (m.body for m in thread.messages)
    client = _sign_in(app, logins["employee"])
    html = client.get("/surveys/my-conversations").get_data(as_text=True)
    assert html.count('data-testid="thread"') == len(my_threads(employee))
    assert escape(thread.comment.body) in html
    for body in (reply, answer_back, follow_up):
        assert escape(body) in html
    assert manager.employee.full_name in html and "New reply" in html
    assert 'data-testid="unread-conversations"' not in client.get("/").get_data(as_text=True)
