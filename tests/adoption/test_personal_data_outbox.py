"""A person's data on a database of its own (not the demo's): the outbox rows a download takes,
confidential reminders for the person only, addresses matched exactly."""
from __future__ import annotations

import datetime as dt

from adoption.models import OutboxMessage
from adoption.personal_data import personal_data
from adoption.scope import scope_for
from tests.factories import make_employee, make_user

NOW = dt.datetime(2026, 11, 23, 12)


def test_a_confidential_reminder_is_in_the_persons_own_download_only(app, db):
    """Survey reminders go to those who have not answered: an admin must not read them off."""
    eve = make_employee(email="eve@acme.example")
    eves_account = make_user("employee", eve)
    db.session.add_all([
        OutboxMessage(kind="survey_reminder", recipients=["eve@acme.example"], hide_recipients=True,
                      subject="The pulse closes on Friday", body=""),
        OutboxMessage(kind="invitation", recipients=["eve@acme.example"], hide_recipients=False,
                      subject="Your Uptake account", body=""),
    ])
    db.session.commit()
    admin = make_user("admin")

    def subjects(reader):
        document = personal_data(scope_for(reader), eve, eves_account, NOW)
        return [m["subject"] for s in document.sections if s.key == "outbox" for m in s.records]

    assert subjects(eves_account) == ["The pulse closes on Friday", "Your Uptake account"]
    assert subjects(admin) == ["Your Uptake account"]


def test_the_outbox_matches_the_address_exactly(app, db):
    """An underscore is a LIKE wildcard: a message to a_b@x must not show in ab@x's nor axb@x's data."""
    axb = make_employee(email="axb@acme.example")
    db.session.add_all([
        OutboxMessage(kind="test", recipients=["a_b@acme.example"], hide_recipients=False, subject="for a_b", body=""),
        OutboxMessage(kind="test", recipients=["axb@acme.example"], hide_recipients=False, subject="for axb", body=""),
    ])
    db.session.commit()
    found = {s.key: s.records for s in personal_data(scope_for(make_user("admin")), axb, None, NOW).sections}
    assert [m["subject"] for m in found["outbox"]] == ["for axb"]


def test_a_message_to_the_address_as_typed_in_another_case_is_theirs_too(app, db):
    """On PostgreSQL LIKE is case-sensitive: the outbox filter (OutboxMessage.addressed_to) lower-cases."""
    eve = make_employee(email="eve@acme.example")
    db.session.add(OutboxMessage(kind="test", recipients=["Eve@Acme.example"], hide_recipients=False,
                                 subject="typed with capitals", body=""))
    db.session.commit()
    found = {s.key: s.records for s in personal_data(scope_for(make_user("admin")), eve, None, NOW).sections}
    assert [m["subject"] for m in found["outbox"]] == ["typed with capitals"]
