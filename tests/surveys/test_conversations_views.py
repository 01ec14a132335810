"""Conversations in the browser's place: the leaders' page, "My conversations", the badge, refusals."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from adoption.extensions import db as sqla
from surveys.conversations import ONLY_AUTHOR_CLOSES, reply_as_author
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import Comment, CommentThread, ThreadStatus
from surveys.views import conversations as conversations_views
from tests.factories import DEFAULT_PASSWORD, make_employee, make_user
from tests.surveys.test_conversations import (
    LATER,
    NORTH,
    SOUTH,
    leader_of,
    make_pulse,
    unit_id,
)

#: Something that looks like a time of day ("14:05", "9:30").
TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\b")


class Browser:
    """A test client whose every request runs in an app context of its own, as in production.

    The ``app`` fixture keeps one app context open for the test, and requests would otherwise share
    it, ``g`` included: the scope and unread count cached there for one user would leak into the
    next user's request.
    """

    def __init__(self, app):
        self.app, self.client = app, app.test_client()

    def get(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.get(*args, **kwargs)

    def post(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.post(*args, **kwargs)


def sign_in(app, user) -> Browser:
    """A new client signed in as ``user``."""
    browser = Browser(app)
    response = browser.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return browser


@pytest.fixture
def pulse(app, db, build_survey):
    """The prepared round of test_conversations.py, its first North comment by a recognisable author."""
    pulse = make_pulse(app, build_survey)
    author = pulse.author
    author.full_name, author.email, author.hr_id = "Zelda Quill", "zelda.quill@acme.example", "HR-ZQ-4711"
    sqla.session.commit()
    return pulse


@pytest.fixture
def author(pulse):
    """The account of the author of the first North comment."""
    user = make_user("employee", pulse.author)
    sqla.session.commit()
    return user


@pytest.fixture
def manager(db):
    """The manager of Sales North."""
    return leader_of(NORTH, full_name="Mia Manager")


def _page(client, round_id, unit, **extra):
    return client.get("/surveys/conversations/", query_string={"round": round_id, "unit": unit_id(unit), **extra})


def _reply(app, leader, comment, body="Thanks, we will cut the mandatory fields."):
    client = sign_in(app, leader)
    response = client.post(f"/surveys/conversations/comments/{comment.id}/reply", data={"body": body})
    assert response.status_code == 302, response.get_data(as_text=True)
    return sqla.session.scalar(select(CommentThread).where(CommentThread.comment_id == comment.id))


# ------------------------------------------------------------------ leaders


def test_the_leaders_page_lists_the_groups_comments_with_a_reply_form_each(app, pulse, manager):
    html = _page(sign_in(app, manager), pulse.round.id, NORTH).get_data(as_text=True)
    assert html.count('data-testid="comment"') == 5
    assert html.count('name="body"') == 5
    assert pulse.round.questions[0].question.wording in html
    assert "round 1" in html


def test_the_leaders_page_defaults_to_the_newest_round_and_the_managers_unit(app, pulse, manager):
    html = sign_in(app, manager).get("/surveys/conversations/").get_data(as_text=True)
    assert html.count('data-testid="comment"') == 5


def test_a_leader_reply_redirects_back_to_the_comment(app, pulse, manager):
    comment = pulse.comment_of(pulse.author)
    client = sign_in(app, manager)
    response = client.post(f"/surveys/conversations/comments/{comment.id}/reply?round={pulse.round.id}",
                           data={"body": "We hear you."})
    assert response.status_code == 302 and response.location.endswith(f"#comment-{comment.id}")
    html = client.get(response.location).get_data(as_text=True)
    assert "We hear you." in html and "Mia Manager" in html


COMMENT_ID = re.compile(r'id="comment-([0-9a-f-]{36})"')


@pytest.fixture
def two_per_page(monkeypatch):
    """Pages of two comments, so the five North comments take three."""
    monkeypatch.setattr(conversations_views, "COMMENTS_PER_PAGE", 2)


def test_a_groups_comments_come_in_pages_that_keep_their_stable_order(app, pulse, manager, two_per_page):
    client = sign_in(app, manager)
    first = _page(client, pulse.round.id, NORTH).get_data(as_text=True)
    assert "Comments 1–2 of 5" in first and 'data-testid="comment-pages"' in first
    pages = [COMMENT_ID.findall(_page(client, pulse.round.id, NORTH, page=n).get_data(as_text=True)) for n in (1, 2, 3)]
    assert [len(ids) for ids in pages] == [2, 2, 1]
    in_order = sorted(str(c.id) for c in sqla.session.scalars(
        select(Comment).where(Comment.round_id == pulse.round.id, Comment.unit_id == unit_id(NORTH))))
    assert pages[0] + pages[1] + pages[2] == in_order
    # A page beyond the last shows the last.
    assert COMMENT_ID.findall(_page(client, pulse.round.id, NORTH, page=9).get_data(as_text=True)) == pages[2]


def test_a_link_to_a_comment_opens_the_page_that_holds_it(app, pulse, manager, two_per_page):
    client = sign_in(app, manager)
    last = COMMENT_ID.findall(_page(client, pulse.round.id, NORTH, page=3).get_data(as_text=True))[0]
    html = _page(client, pulse.round.id, NORTH, comment=last).get_data(as_text=True)
    assert COMMENT_ID.findall(html) == [last] and "Comments 5–5 of 5" in html


def test_after_a_reply_the_leader_is_back_on_the_page_of_the_comment(app, pulse, manager, two_per_page):
    client = sign_in(app, manager)
    last = COMMENT_ID.findall(_page(client, pulse.round.id, NORTH, page=3).get_data(as_text=True))[0]
    response = client.post(f"/surveys/conversations/comments/{last}/reply?round={pulse.round.id}&unit={unit_id(NORTH)}",
                           data={"body": "Thank you, noted."})
    assert response.status_code == 302 and f"comment={last}" in response.location
    html = client.get(response.location).get_data(as_text=True)
    assert COMMENT_ID.findall(html) == [last] and "Thank you, noted." in html
    # A refused reply is shown again on the comment's page too, with its error.
    refused = client.post(f"/surveys/conversations/comments/{last}/reply?round={pulse.round.id}&unit={unit_id(NORTH)}",
                          data={"body": " "})
    assert refused.status_code == 422 and f'id="reply-{last}-error"' in refused.get_data(as_text=True)


def test_the_leaders_page_never_shows_who_wrote_a_comment(app, pulse, manager):
    thread = _reply(app, manager, pulse.comment_of(pulse.author))
    reply_as_author(pulse.author, thread.id, "That would help me a lot.", LATER)
    sqla.session.commit()
    change_leader = leader_of(None, "change_leader")
    key = pulse.comment_of(pulse.author).author_key
    for user, unit in [(manager, NORTH), (change_leader, NORTH), (change_leader, "Acme")]:
        html = _page(sign_in(app, user), pulse.round.id, unit).get_data(as_text=True)
        assert "That would help me a lot." in html and "Anonymous author" in html
        for trace in ("Zelda", "Quill", "zelda.quill", "HR-ZQ-4711", key):
            assert trace not in html
        # Days only, for every message: no time of day anywhere on the page.
        assert LATER.strftime("%d %b %Y") in html
        assert not TIME_OF_DAY.search(html)


def test_the_awaiting_filter_keeps_the_comments_whose_author_answered_last(app, pulse, manager):
    thread = _reply(app, manager, pulse.comment_of(pulse.author))
    client = sign_in(app, manager)
    assert 'data-testid="comment"' not in _page(client, pulse.round.id, NORTH, awaiting="1").get_data(as_text=True)
    reply_as_author(pulse.author, thread.id, "Any news?", LATER)
    sqla.session.commit()
    html = _page(client, pulse.round.id, NORTH, awaiting="1").get_data(as_text=True)
    assert html.count('data-testid="comment"') == 1 and "Any news?" in html
    assert "Awaiting a reply (1)" in html


def test_the_awaiting_list_shows_the_first_few_and_says_how_many_more(app, pulse, manager, monkeypatch):
    monkeypatch.setattr(conversations_views, "WAITING_SHOWN", 2)
    for person in pulse.north[:3]:
        thread = _reply(app, manager, pulse.comment_of(person))
        reply_as_author(person, thread.id, "Any news?", LATER)
        sqla.session.commit()
    html = _page(sign_in(app, manager), pulse.round.id, NORTH).get_data(as_text=True)
    waiting = html[html.index('id="waiting-title"'):html.index('id="group-title"')]
    assert "Awaiting a reply (3)" in waiting and waiting.count("list-group-item") == 2
    assert "1 more: choose their round and unit above" in waiting


def test_a_manager_outside_the_group_gets_403_and_cannot_reply(app, pulse):
    client = sign_in(app, leader_of(SOUTH))
    assert _page(client, pulse.round.id, NORTH).status_code == 403
    comment = pulse.comment_of(pulse.author)
    response = client.post(f"/surveys/conversations/comments/{comment.id}/reply", data={"body": "Hello"})
    assert response.status_code == 403
    assert sqla.session.scalars(select(CommentThread)).all() == []


@pytest.mark.parametrize("role", ["executive", "admin", "employee"])
def test_the_leaders_page_is_refused_to_other_roles(app, pulse, role):
    user = make_user(role, None if role == "admin" else make_employee("Acme/HQ"))
    sqla.session.commit()
    assert sign_in(app, user).get("/surveys/conversations/").status_code == 403


def test_a_group_below_the_comment_threshold_shows_the_suppression_message(app, db, build_survey):
    pulse = make_pulse(app, build_survey, {**app.config, "SURVEY_MIN_COMMENT_RESPONDENTS": 6})
    client = sign_in(app, leader_of(None, "change_leader"))
    html = _page(client, pulse.round.id, NORTH).get_data(as_text=True)
    assert SUPPRESSED_MESSAGE in html and 'data-testid="comment"' not in html
    html = sign_in(app, leader_of(NORTH)).get("/surveys/conversations/").get_data(as_text=True)
    assert "data-testid=\"comment\"" not in html


def test_an_empty_reply_is_refused_with_its_error_next_to_the_form(app, pulse, manager):
    comment = pulse.comment_of(pulse.author)
    response = sign_in(app, manager).post(
        f"/surveys/conversations/comments/{comment.id}/reply?round={pulse.round.id}&unit={unit_id(NORTH)}",
        data={"body": "   "})
    assert response.status_code == 422
    assert f'id="reply-{comment.id}-error"' in response.get_data(as_text=True)
    assert sqla.session.scalars(select(CommentThread)).all() == []


def test_a_reply_without_a_csrf_token_is_refused(app, pulse, manager):
    client = sign_in(app, manager)
    app.config["WTF_CSRF_ENABLED"] = True
    comment = pulse.comment_of(pulse.author)
    response = client.post(f"/surveys/conversations/comments/{comment.id}/reply", data={"body": "Hello"})
    assert response.status_code == 400
    assert sqla.session.scalars(select(CommentThread)).all() == []


# ------------------------------------------------------------------ the author


def test_the_author_sees_the_notification_reads_the_reply_and_answers(app, pulse, author, manager):
    thread = _reply(app, manager, pulse.comment_of(pulse.author), "We will cut three fields.")
    client = sign_in(app, author)
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-conversations">1<', home)

    html = client.get("/surveys/my-conversations").get_data(as_text=True)
    assert "We will cut three fields." in html and "Mia Manager" in html and "New reply" in html
    assert 'data-testid="unread-conversations"' not in html  # read now: the badge is gone
    assert 'data-testid="unread-conversations"' not in client.get("/").get_data(as_text=True)

    response = client.post(f"/surveys/my-conversations/{thread.id}/reply", data={"body": "Thank you!"})
    assert response.status_code == 302
    sqla.session.refresh(thread)
    assert thread.awaiting_leader and thread.messages[-1].sender_id is None


def test_my_conversations_shows_nothing_of_someone_elses_thread(app, pulse, manager):
    _reply(app, manager, pulse.comment_of(pulse.author), "We will cut three fields.")
    other = make_user("employee", pulse.north[1])
    sqla.session.commit()
    client = sign_in(app, other)
    html = client.get("/surveys/my-conversations").get_data(as_text=True)
    assert "We will cut three fields." not in html and "No conversations yet" in html


@pytest.mark.parametrize("who", ["the manager who replied", "another employee", "an admin"])
def test_only_the_author_closes_the_conversation_through_the_page(app, pulse, manager, who):
    thread = _reply(app, manager, pulse.comment_of(pulse.author))
    user = {
        "the manager who replied": lambda: manager,
        "another employee": lambda: make_user("employee", pulse.north[1]),
        "an admin": lambda: make_user("admin"),
    }[who]()
    sqla.session.commit()
    response = sign_in(app, user).post(f"/surveys/my-conversations/{thread.id}/close")
    assert response.status_code == 403
    assert ONLY_AUTHOR_CLOSES in response.get_data(as_text=True)
    sqla.session.refresh(thread)
    assert thread.status == ThreadStatus.OPEN.value


def test_the_author_closes_the_conversation_and_leaders_can_no_longer_reply(app, pulse, author, manager):
    comment = pulse.comment_of(pulse.author)
    thread = _reply(app, manager, comment)
    response = sign_in(app, author).post(f"/surveys/my-conversations/{thread.id}/close")
    assert response.status_code == 302
    sqla.session.refresh(thread)
    assert thread.status == ThreadStatus.CLOSED.value
    html = _page(sign_in(app, manager), pulse.round.id, NORTH).get_data(as_text=True)
    assert "The author closed this conversation." in html
    response = sign_in(app, manager).post(f"/surveys/conversations/comments/{comment.id}/reply",
                                          data={"body": "Wait"})
    assert response.status_code == 422 and "takes no more replies" in response.get_data(as_text=True)


def test_an_account_without_employee_record_has_no_conversations(app, client, login_as):
    login_as("admin")
    html = client.get("/surveys/my-conversations").get_data(as_text=True)
    assert "no employee record" in html
    assert 'href="/surveys/my-conversations"' not in html  # and no navigation link to them


def test_leaders_get_a_conversations_link_and_employees_my_conversations(app, pulse, author, manager):
    html = sign_in(app, manager).get("/").get_data(as_text=True)
    assert 'href="/surveys/conversations/"' in html and 'href="/surveys/my-conversations"' in html
    html = sign_in(app, author).get("/").get_data(as_text=True)
    assert 'href="/surveys/conversations/"' not in html and 'href="/surveys/my-conversations"' in html
