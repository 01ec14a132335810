"""The sponsors' weekly digest (dashboards/digest.py) on the hand-built organization of
test_commitment_indicators: its content, that it says only what its sponsor may read, and that
a week's digest goes out once."""
# The hand-built organization's fixtures are imported from there, so pytest finds them by name;
# the test functions' parameters of the same names are what ruff's F811 would flag.
# ruff: noqa: F811

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from adoption.models import OutboxMessage, SponsorDigest
from adoption.sponsors import record_activity, set_plan
from dashboards import commitment, digest
from tests.dashboards.test_commitment_indicators import (  # noqa: F401 (fixtures)
    EAST,
    TODAY,
    east_comments,
    leader,
    org,
    plan,
    pulse,
    reply,
)
from tests.factories import make_unit
from tests.surveys.conftest import bank, build_survey  # noqa: F401 (fixtures)

CONFIG = {"BASE_URL": "https://uptake.example.com/", "WEEK_START": 0}


def digests(db) -> list[OutboxMessage]:
    """The digests in the outbox, oldest first."""
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == digest.DIGEST_KIND)
                                   .order_by(OutboxMessage.id)))


def test_a_digest_gives_the_sponsors_own_figures_and_links_to_the_dashboard(db, org):
    scope = org.leader_scope
    set_plan(org.leader, scope, sponsor_id=org.ana.id, quarter_start=dt.date(2025, 4, 1), counts={"team_visit": 4})
    record_activity(org.leader, scope, sponsor_id=org.ana.id, kind="team_visit", occurred_on=dt.date(2025, 4, 2),
                    unit_ids=[make_unit(EAST).id], today=TODAY)
    message = digest.compose(org.ana, TODAY, CONFIG)
    assert message.email == org.ana.email
    assert message.subject.startswith("Your CRM commitment this week: 1 of 4 planned")
    assert "Your commitment to the CRM initiative, 2025 Q2" in message.body
    assert "- Visible actions: 1 of 4 planned; reach" in message.body
    assert "areas: Acme/North/East, Acme/North/West" in message.body
    assert "Your dashboard: https://uptake.example.com/dashboards/executive" in message.body


def test_early_in_a_quarter_a_digest_opens_with_how_the_last_one_closed(db, org):
    scope = org.leader_scope
    set_plan(org.leader, scope, sponsor_id=org.ana.id, quarter_start=dt.date(2025, 1, 1), counts={"team_visit": 3})
    for day in (dt.date(2025, 1, 20), dt.date(2025, 3, 3)):
        record_activity(org.leader, scope, sponsor_id=org.ana.id, kind="team_visit", occurred_on=day,
                        unit_ids=[make_unit(EAST).id], today=TODAY)
    assert (TODAY - dt.date(2025, 4, 1)).days < commitment.NEW_QUARTER_DAYS
    body = digest.compose(org.ana, TODAY, CONFIG).body
    closed = "Last quarter, 2025 Q1 (1 Jan – 31 Mar 2025), closed at: visible actions 2 of 3 planned; commitment score "
    assert closed in body
    # ... before the current quarter so far, which the rest of the digest is about.
    assert body.index(closed) < body.index("Your commitment to the CRM initiative, 2025 Q2 (1 Apr – 15 Apr 2025)")
    # Four weeks in, the quarter has enough days of its own: the closed one is no longer recalled.
    later = TODAY + dt.timedelta(days=commitment.NEW_QUARTER_DAYS)
    assert "Last quarter" not in digest.compose(org.ana, later, CONFIG).body


def test_a_digest_lists_the_comments_and_actions_that_need_the_sponsor(db, org, pulse):
    first = reply(org, east_comments(db)[0], dt.datetime(2025, 3, 12))
    first.awaiting_leader = True
    first.last_message_at = dt.datetime(2025, 4, 10)
    db.session.add(plan(EAST, pulse.id, org.leader, dt.date(2025, 2, 1), "in_progress"))
    db.session.flush()
    body = digest.compose(org.ana, TODAY, CONFIG).body
    needs = body.split("What needs you this week:\n", 1)[1]
    assert "- 1 comment in your units awaits a reply (oldest 5 days)" in needs
    assert "action of \"you said, we did\" overdue in your units" in needs


def test_a_digest_without_anything_owed_says_so(db, org):
    body = digest.compose(org.ben, TODAY, CONFIG).body
    assert "- Nothing: no comments awaiting a reply, no actions due." in body


def test_a_digest_names_no_other_sponsor(db, org):
    body = digest.compose(org.ana, TODAY, CONFIG).body
    assert org.ben.full_name not in body and "Acme/South" not in body


def test_send_digests_sends_one_per_sponsor_to_that_sponsor_alone(db, org):
    run = digest.send_digests(TODAY, CONFIG)
    assert (run.sent, run.already_sent) == (2, 0)
    sent = digests(db)
    assert sorted(tuple(m.recipients) for m in sent) == sorted([(org.ana.email,), (org.ben.email,)])


def test_a_second_run_in_the_same_week_sends_nothing(db, org):
    digest.send_digests(TODAY, CONFIG)
    run = digest.send_digests(TODAY + dt.timedelta(days=2), CONFIG)  # Thursday of the same week
    assert (run.sent, run.already_sent) == (0, 2)
    assert len(digests(db)) == 2


def test_the_next_week_gets_its_own_digest(db, org):
    digest.send_digests(TODAY, CONFIG)
    run = digest.send_digests(TODAY + dt.timedelta(days=7), CONFIG)
    assert run.sent == 2
    weeks = sorted(set(db.session.scalars(select(SponsorDigest.week_start))))
    assert weeks == [dt.date(2025, 4, 14), dt.date(2025, 4, 21)]


def test_an_inactive_sponsor_gets_no_digest(db, org):
    org.ben.active = False
    db.session.flush()
    assert digest.send_digests(TODAY, CONFIG).sent == 1
    assert [tuple(m.recipients) for m in digests(db)] == [(org.ana.email,)]


@pytest.mark.parametrize(("day", "first_weekday", "expected"), [
    (dt.date(2025, 4, 15), 0, dt.date(2025, 4, 14)),  # Tuesday → Monday
    (dt.date(2025, 4, 14), 0, dt.date(2025, 4, 14)),
    (dt.date(2025, 4, 15), 6, dt.date(2025, 4, 13)),  # weeks starting on Sunday
])
def test_week_start_follows_the_organizations_first_weekday(day, first_weekday, expected):
    assert digest.week_start(day, first_weekday) == expected


def test_the_send_digests_command_sends_once_a_week_and_says_so(app, db, org):
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-digests", "--today", "2025-04-15"])
    assert first.exit_code == 0, first.output
    assert first.output.strip().endswith("digests: sent=2 already_sent=0")
    again = runner.invoke(args=["send-digests", "--today", "2025-04-17"])
    assert again.output.strip().endswith("digests: sent=0 already_sent=2")
    assert len(digests(db)) == 2
