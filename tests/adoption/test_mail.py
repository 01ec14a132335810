"""Outgoing e-mail: the outbox without SMTP, Flask-Mail with it, and the admin Outbox page."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from adoption.extensions import mail
from adoption.mail import OUTBOX_PAGE_SIZE, send_mail
from adoption.models import OutboxMessage
from tests.conftest import outbox

SMTP = {"MAIL_SERVER": "smtp.example.invalid", "MAIL_DEFAULT_SENDER": "uptake@acme.example"}
PEOPLE = ["ann@acme.example", "bob@acme.example", "cy@acme.example"]



def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def _message(created_at: dt.datetime, n: int, *, hidden: bool = False, recipients=("ann@acme.example",)):
    return OutboxMessage(kind="survey_reminder" if hidden else "notice", recipients=list(recipients),
                         hide_recipients=hidden, subject=f"Message {n}", body=f"Body {n}", created_at=created_at)


# ---------------------------------------------------------------- send_mail without SMTP


def test_without_mail_server_the_message_is_kept_in_the_outbox(app, db):
    assert app.config["MAIL_SERVER"] is None
    with mail.record_messages() as sent:
        count = send_mail(["ann@acme.example", "bob@acme.example"], "Hello", "Body text", kind="notice")
    assert count == 1 and sent == []
    (message,) = outbox()
    assert (message.kind, message.recipients, message.hide_recipients, message.subject, message.body) == (
        "notice", ["ann@acme.example", "bob@acme.example"], False, "Hello", "Body text")
    assert message.created_at is not None


def test_outbox_message_is_flushed_not_committed(db):
    send_mail(["ann@acme.example"], "Hello", "Body", kind="notice")
    db.session.rollback()
    assert _count(db) == 0


def test_hidden_recipients_get_one_outbox_row_each(db):
    count = send_mail(PEOPLE, "Reminder", "Same body", kind="survey_reminder", hide_recipients=True)
    rows = outbox()
    assert count == 3
    assert [r.recipients for r in rows] == [[p] for p in PEOPLE]
    assert all(r.hide_recipients and r.body == "Same body" for r in rows)


def test_blank_and_repeated_addresses_are_dropped(db):
    assert send_mail(["", " ann@acme.example ", "ann@acme.example", None], "Hi", "Body", kind="notice") == 1
    assert outbox()[0].recipients == ["ann@acme.example"]


def test_no_recipients_means_no_message(db):
    assert send_mail([], "Hi", "Body", kind="notice") == 0
    assert _count(db) == 0


def test_subject_is_kept_to_one_line(db):
    send_mail(["ann@acme.example"], "Pulse\r\nBcc: everyone@acme.example", "Body", kind="notice")
    assert outbox()[0].subject == "Pulse Bcc: everyone@acme.example"


# ---------------------------------------------------------------- send_mail through Flask-Mail


@pytest.mark.parametrize("app_config", [SMTP])
def test_with_mail_server_flask_mail_sends_and_nothing_goes_to_the_outbox(app, db):
    assert app.extensions["mail"].suppress  # TESTING: Flask-Mail records but never connects
    with mail.record_messages() as sent:
        count = send_mail(["ann@acme.example"], "Hello", "Body text", kind="notice")
    assert count == 1 and _count(db) == 0
    (message,) = sent
    assert (message.subject, message.body, message.recipients, message.sender) == (
        "Hello", "Body text", ["ann@acme.example"], "uptake@acme.example")


@pytest.mark.parametrize("app_config", [SMTP])
@pytest.mark.parametrize("hide", [True, False])
def test_with_mail_server_each_recipient_gets_a_message_addressed_to_them_alone(db, hide):
    with mail.record_messages() as sent:
        count = send_mail(PEOPLE, "Reminder", "Same body", kind="survey_reminder", hide_recipients=hide)
    assert count == 3
    assert [m.recipients for m in sent] == [[p] for p in PEOPLE]
    assert all(not m.cc and not m.bcc and m.send_to == {m.recipients[0]} for m in sent)
    assert {m.body for m in sent} == {"Same body"}


# ---------------------------------------------------------------- the Outbox page


def test_outbox_page_lists_newest_first_with_subject_kind_time_body_and_recipients(client, db, login_as):
    start = dt.datetime(2025, 3, 3, 9, 0)
    db.session.add_all([_message(start, 1, recipients=PEOPLE[:2]), _message(start + dt.timedelta(hours=1), 2)])
    login_as("admin")
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert html.index("Message 2") < html.index("Message 1")
    assert "2025-03-03 10:00 UTC" in html and "<code>notice</code>" in html and "Body 1" in html
    assert "ann@acme.example, bob@acme.example" in html


def test_outbox_page_shows_only_the_count_of_hidden_recipients(client, db, login_as):
    db.session.add_all([
        _message(dt.datetime(2025, 3, 3, 9, 0), 1, hidden=True, recipients=["secret@acme.example"]),
        _message(dt.datetime(2025, 3, 3, 9, 1), 2, hidden=True, recipients=["a@acme.example", "b@acme.example"]),
    ])
    login_as("admin")
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert "1 recipient (hidden: a reminder&#39;s recipients are the people who have not answered)" in html
    assert "2 recipients (hidden:" in html
    assert "secret@acme.example" not in html and "a@acme.example" not in html and "b@acme.example" not in html


def test_outbox_page_is_paginated_by_fifty(client, db, login_as):
    start = dt.datetime(2025, 3, 3, 9, 0)
    db.session.add_all(_message(start + dt.timedelta(minutes=n), n) for n in range(OUTBOX_PAGE_SIZE + 3))
    login_as("admin")
    first = client.get("/admin/outbox").get_data(as_text=True)
    second = client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert first.count('data-testid="outbox-message"') == 50 and "Page 1 of 2" in first
    assert second.count('data-testid="outbox-message"') == 3 and "Page 2 of 2" in second
    assert re.search(r"Message 52<", first) and re.search(r"Message 0<", second)
    assert client.get("/admin/outbox?page=99").get_data(as_text=True).count('data-testid="outbox-message"') == 3


def test_admin_navigation_links_to_the_outbox(client, login_as):
    login_as("admin")
    html = client.get("/admin/outbox").get_data(as_text=True)
    assert re.search(r'href="/admin/outbox" aria-current="page">Outbox<', html)


@pytest.mark.parametrize("role", ["employee", "manager", "change_leader", "executive"])
def test_outbox_page_is_forbidden_to_other_roles(client, db, login_as, role):
    db.session.add(_message(dt.datetime(2025, 3, 3, 9, 0), 1))
    login_as(role)
    response = client.get("/admin/outbox")
    assert response.status_code == 403
    assert "Body 1" not in response.get_data(as_text=True)


def test_outbox_page_sends_a_signed_out_visitor_to_the_login(client):
    response = client.get("/admin/outbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
