"""The sponsor log's service (adoption/sponsors.py) and the log page's read model
(adoption/sponsor_log.py): what may be recorded, by whom, messages sent from the app, quarterly
plans, areas, removal, and progress against plan."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from adoption.extensions import mail
from adoption.initiative import save_initiative
from adoption.models import (
    ACTIVITY_KINDS,
    SponsorActivity,
    SponsorArea,
    SponsorPlan,
    sponsor_activity_units,
)
from adoption.scope import ScopeError, scope_for
from adoption.sponsor_log import sponsor_log
from adoption.sponsors import (
    NOTE_LENGTH,
    OLDEST_DAYS,
    SponsorError,
    activities,
    areas_of,
    delete_activity,
    message_audience,
    plan_counts,
    quarter_bounds,
    quarter_label,
    quarter_starts,
    readable_sponsors,
    record_activity,
    require_sponsor,
    send_message,
    set_areas,
    set_plan,
)
from tests.conftest import outbox
from tests.factories import make_employee, make_unit, make_user

TODAY = dt.date(2026, 11, 20)
Q4 = dt.date(2026, 10, 1)
NORTH, SOUTH, EAST = "Acme/EMEA/Sales North", "Acme/EMEA/Sales South", "Acme/APAC/Sales East"


def build_org(db) -> SimpleNamespace:
    """Two top units (Acme, Labs) with teams; two sponsors (Vera, Sam), an executive who is not
    one (Olive); people active and gone; a change leader, an admin, a manager and an employee."""
    org = SimpleNamespace()
    org.acme, org.labs = make_unit("Acme"), make_unit("Labs")
    org.emea, org.north, org.south = make_unit("Acme/EMEA"), make_unit(NORTH), make_unit(SOUTH)
    org.east = make_unit(EAST)
    org.vera = make_employee("Acme", full_name="Vera Visible", is_executive=True)
    org.sam = make_employee("Acme/EMEA", full_name="Sam Sponsor", is_executive=True)
    org.olive = make_employee("Acme", full_name="Olive Other", is_executive=True)
    org.north_people = [make_employee(NORTH, full_name=f"North {n}") for n in (1, 2)]
    org.leaver = make_employee(NORTH, full_name="Lee Leaver", active=False)
    org.south_person = make_employee(SOUTH, full_name="South 1")
    org.east_person = make_employee(EAST, full_name="East 1")
    org.labs_person = make_employee("Labs", full_name="Labs 1")
    save_initiative("CRM rollout", start_date=dt.date(2026, 1, 12), licensed_seats=50, adoption_target_pct=80,
                    key_behaviours=["activity_logged"], sponsors=[org.vera, org.sam])
    org.vera_user = make_user("executive", org.vera)
    org.sam_user = make_user("executive", org.sam)
    org.olive_user = make_user("executive", org.olive)
    org.leader = make_user("change_leader", make_employee("Acme", full_name="Cleo Leader"))
    org.admin = make_user("admin")
    org.manager = make_user("manager", make_employee(NORTH, full_name="Max Manager"))
    org.employee = make_user("employee", org.north_people[0])
    db.session.commit()
    return org


@pytest.fixture
def org(db):
    """The organization of ``build_org``."""
    return build_org(db)


def record(user, sponsor, **overrides) -> SponsorActivity:
    """Record a town hall of ``sponsor`` for Sales North by ``user`` (overrides change it)."""
    values = {"sponsor_id": sponsor.id, "kind": "town_hall", "occurred_on": TODAY - dt.timedelta(days=3),
              "unit_ids": [make_unit(NORTH).id], "note": "Q&A on the new pipeline", "today": TODAY}
    values.update(overrides)
    return record_activity(user, scope_for(user), **values)


def send(user, sponsor, units, **overrides) -> SponsorActivity:
    """Send a message of ``sponsor`` to ``units`` by ``user``."""
    values = {"sponsor_id": sponsor.id, "unit_ids": [u.id for u in units], "subject": "Why we log every call",
              "body": "Thank you for the first month.", "today": TODAY}
    values.update(overrides)
    return send_message(user, scope_for(user), **values)



def count(db, model) -> int:
    """Rows of ``model``."""
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- recording an activity


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_change_leaders_and_admins_record_for_any_sponsor(org, role):
    user = getattr(org, role)
    for sponsor in (org.vera, org.sam):
        activity = record(user, sponsor)
        assert (activity.sponsor_id, activity.kind, activity.recorded_by_id) == (sponsor.id, "town_hall", user.id)
        assert [u.path for u in activity.units] == [NORTH]


@pytest.mark.parametrize("kind", ACTIVITY_KINDS)
def test_every_kind_of_activity_can_be_recorded(org, kind):
    assert record(org.leader, org.vera, kind=kind).kind == kind


def test_an_unknown_kind_is_refused(org):
    with pytest.raises(SponsorError, match="Unknown kind") as error:
        record(org.leader, org.vera, kind="golf_outing")
    assert error.value.field == "kind"


def test_a_future_date_is_refused(org):
    with pytest.raises(SponsorError, match="future") as error:
        record(org.leader, org.vera, occurred_on=TODAY + dt.timedelta(days=1))
    assert error.value.field == "occurred_on"


def test_today_and_the_oldest_allowed_day_are_accepted(org):
    assert record(org.leader, org.vera, occurred_on=TODAY).occurred_on == TODAY
    oldest = TODAY - dt.timedelta(days=OLDEST_DAYS)
    assert record(org.leader, org.vera, occurred_on=oldest).occurred_on == oldest


def test_a_date_more_than_366_days_ago_is_refused(org):
    with pytest.raises(SponsorError, match="366 days") as error:
        record(org.leader, org.vera, occurred_on=TODAY - dt.timedelta(days=367))
    assert error.value.field == "occurred_on"


def test_an_activity_needs_an_audience(org):
    with pytest.raises(SponsorError, match="at least one unit") as error:
        record(org.leader, org.vera, unit_ids=[])
    assert error.value.field == "units"


def test_an_audience_unit_that_does_not_exist_is_refused(org):
    with pytest.raises(SponsorError, match="does not exist"):
        record(org.leader, org.vera, unit_ids=[org.north.id, 99_999])


def test_a_note_over_the_limit_is_refused(org):
    with pytest.raises(SponsorError, match="note is longer") as error:
        record(org.leader, org.vera, note="x" * (NOTE_LENGTH + 1))
    assert error.value.field == "note"


def test_an_executive_sponsor_records_for_themself(org):
    activity = record(org.vera_user, org.vera)
    assert (activity.sponsor_id, activity.recorded_by_id) == (org.vera.id, org.vera_user.id)


def test_an_executive_sponsor_cannot_record_for_another_sponsor(org):
    with pytest.raises(ScopeError):
        record(org.vera_user, org.sam)


def test_an_executive_who_is_not_a_sponsor_cannot_record_for_a_sponsor(org):
    with pytest.raises(ScopeError):
        record(org.olive_user, org.vera)


def test_an_executive_who_is_not_a_sponsor_has_no_log_of_their_own(org):
    with pytest.raises(SponsorError, match="not a sponsor"):
        record(org.olive_user, org.olive)


def test_recording_for_someone_who_is_not_a_sponsor_is_refused(org):
    with pytest.raises(SponsorError, match="not a sponsor") as error:
        record(org.leader, org.olive)
    assert error.value.field == "sponsor"


@pytest.mark.parametrize("role", ["manager", "employee"])
def test_managers_and_employees_cannot_record(org, role):
    with pytest.raises(ScopeError):
        record(getattr(org, role), org.vera)


@pytest.mark.parametrize("role", ["manager", "employee"])
def test_managers_and_employees_learn_nothing_from_an_id_that_is_no_sponsor(org, role):
    with pytest.raises(ScopeError):
        require_sponsor(scope_for(getattr(org, role)), org.olive.id)


def test_recording_flushes_without_committing(db, org):
    record(org.leader, org.vera)
    db.session.rollback()
    assert count(db, SponsorActivity) == 0


# ---------------------------------------------------------------- reading


def test_change_leaders_and_admins_read_every_sponsor(org):
    for user in (org.leader, org.admin):
        assert [s.full_name for s in readable_sponsors(scope_for(user))] == ["Sam Sponsor", "Vera Visible"]


def test_an_executive_sponsor_reads_only_their_own_record(org):
    assert readable_sponsors(scope_for(org.vera_user)) == [org.vera]


def test_an_executive_who_is_not_a_sponsor_reads_no_individual_record(org):
    assert readable_sponsors(scope_for(org.olive_user)) == []


@pytest.mark.parametrize("role", ["manager", "employee"])
def test_managers_and_employees_read_no_sponsor_record(org, role):
    with pytest.raises(ScopeError):
        readable_sponsors(scope_for(getattr(org, role)))
    with pytest.raises(ScopeError):
        activities(scope_for(getattr(org, role)))


def test_an_executive_sponsor_lists_only_their_own_activities(org):
    mine = record(org.leader, org.vera)
    record(org.leader, org.sam)
    assert activities(scope_for(org.vera_user)) == [mine]


def test_an_executive_sponsor_cannot_ask_for_another_sponsors_activities(org):
    with pytest.raises(ScopeError):
        activities(scope_for(org.vera_user), sponsor_id=org.sam.id)


def test_activities_are_filtered_by_sponsor_and_dates_newest_first(org):
    old = record(org.leader, org.vera, occurred_on=dt.date(2026, 9, 30))
    first = record(org.leader, org.vera, occurred_on=dt.date(2026, 10, 1))
    last = record(org.leader, org.vera, occurred_on=dt.date(2026, 11, 2))
    record(org.leader, org.sam, occurred_on=dt.date(2026, 10, 5))
    found = activities(scope_for(org.leader), sponsor_id=org.vera.id, start=Q4, end=dt.date(2026, 12, 31))
    assert found == [last, first] and old not in found


# ---------------------------------------------------------------- messages from the app


def test_a_message_goes_to_the_outbox_for_each_active_person_in_the_audience_subtrees(db, org):
    send(org.leader, org.vera, [org.emea])
    [message] = outbox()
    # Sales North and South are below EMEA; the leaver is not active; APAC and Labs are elsewhere.
    expected = sorted(e.email for e in [org.sam, *org.north_people, org.south_person, org.manager.employee])
    assert sorted(message.recipients) == expected
    assert org.leaver.email not in message.recipients and org.east_person.email not in message.recipients
    assert (message.kind, message.subject) == ("sponsor_message", "Why we log every call")


def test_a_message_is_recorded_as_a_message_activity_with_its_recipient_count(org):
    activity = send(org.leader, org.vera, [org.north])
    # North 1, North 2 and the manager (the leaver is gone).
    assert (activity.kind, activity.occurred_on, activity.recipients) == ("message", TODAY, 3)
    assert activity.outbox_subject == "Why we log every call"
    assert [u.path for u in activity.units] == [NORTH]
    assert activities(scope_for(org.leader)) == [activity]


def test_a_message_is_signed_with_the_sponsors_name(db, org):
    send(org.leader, org.vera, [org.north])
    assert outbox()[0].body == "Thank you for the first month.\n\n— Vera Visible"


def test_overlapping_audience_units_reach_each_person_once(db, org):
    activity = send(org.leader, org.vera, [org.emea, org.north])
    assert activity.recipients == 5
    assert len(outbox()[0].recipients) == 5


def test_a_message_to_units_where_nobody_is_active_is_refused_and_nothing_is_sent(db, org):
    empty = make_unit("Acme/EMEA/Empty Team")
    with pytest.raises(SponsorError, match="Nobody is active") as error:
        send(org.leader, org.vera, [empty])
    assert error.value.field == "units"
    assert outbox() == [] and count(db, SponsorActivity) == 0


@pytest.mark.parametrize(("field", "blank"), [("subject", {"subject": "  "}), ("body", {"body": "\n"})])
def test_a_message_needs_a_subject_and_a_text(db, org, field, blank):
    with pytest.raises(SponsorError, match="needs a") as error:
        send(org.leader, org.vera, [org.north], **blank)
    assert error.value.field == field
    assert outbox() == []


def test_a_line_break_in_the_subject_is_joined_into_one_line(org):
    assert send(org.leader, org.vera, [org.north], subject="Why we\nlog").outbox_subject == "Why we log"


def test_an_executive_sponsor_sends_their_own_message_but_not_anothers(db, org):
    assert send(org.sam_user, org.sam, [org.south]).recipients == 1
    with pytest.raises(ScopeError):
        send(org.sam_user, org.vera, [org.south])
    assert len(outbox()) == 1


def test_the_audience_of_a_message_is_known_before_sending_and_nothing_is_sent(db, org):
    audience = message_audience(scope_for(org.leader), sponsor_id=org.vera.id, unit_ids=[org.north.id],
                                subject="Hello", body="Text")
    assert audience == sorted(e.email for e in [*org.north_people, org.manager.employee])
    assert outbox() == [] and count(db, SponsorActivity) == 0


@pytest.mark.parametrize("app_config", [{"MAIL_SERVER": "smtp.example.invalid",
                                         "MAIL_DEFAULT_SENDER": "uptake@acme.example"}])
def test_with_a_mail_server_each_person_gets_an_email_of_their_own(db, org):
    with mail.record_messages() as sent:
        activity = send(org.leader, org.vera, [org.north])
    assert sorted(m.recipients[0] for m in sent) == sorted(e.email for e in [*org.north_people,
                                                                             org.manager.employee])
    assert all(len(m.recipients) == 1 for m in sent)
    assert activity.recipients == 3 and outbox() == []


# ---------------------------------------------------------------- plans


def plan(user, sponsor, counts, quarter_start=Q4):
    """Set ``sponsor``'s plan for the quarter by ``user``."""
    return set_plan(user, scope_for(user), sponsor_id=sponsor.id, quarter_start=quarter_start, counts=counts)


def test_a_plan_sets_a_count_per_kind_for_a_quarter(org):
    saved = plan(org.leader, org.vera, {"town_hall": 2, "team_visit": 6})
    assert [(p.kind, p.planned, p.quarter_start) for p in saved] == [("town_hall", 2, Q4), ("team_visit", 6, Q4)]
    assert plan_counts(org.vera.id, Q4) == {"town_hall": 2, "team_visit": 6}


def test_setting_a_plan_again_replaces_its_counts(db, org):
    plan(org.leader, org.vera, {"town_hall": 2})
    plan(org.leader, org.vera, {"town_hall": 3})
    assert plan_counts(org.vera.id, Q4) == {"town_hall": 3}
    assert count(db, SponsorPlan) == 1


def test_kinds_left_out_keep_their_plan(org):
    plan(org.leader, org.vera, {"town_hall": 2, "recognition": 4})
    plan(org.leader, org.vera, {"town_hall": 1})
    assert plan_counts(org.vera.id, Q4) == {"town_hall": 1, "recognition": 4}


def test_a_zero_removes_a_kinds_plan(db, org):
    plan(org.leader, org.vera, {"town_hall": 2, "recognition": 4})
    plan(org.leader, org.vera, {"town_hall": 0})
    assert plan_counts(org.vera.id, Q4) == {"recognition": 4}
    assert count(db, SponsorPlan) == 1


def test_plans_are_kept_per_sponsor_and_quarter(org):
    plan(org.leader, org.vera, {"town_hall": 2})
    plan(org.leader, org.vera, {"town_hall": 5}, dt.date(2027, 1, 1))
    plan(org.leader, org.sam, {"town_hall": 1})
    assert plan_counts(org.vera.id, Q4) == {"town_hall": 2}
    assert plan_counts(org.vera.id, dt.date(2027, 1, 1)) == {"town_hall": 5}
    assert plan_counts(org.sam.id, Q4) == {"town_hall": 1}


@pytest.mark.parametrize("start", [dt.date(2026, 10, 2), dt.date(2026, 11, 1), dt.date(2026, 2, 1)])
def test_a_plan_must_start_on_the_first_day_of_a_quarter(org, start):
    with pytest.raises(SponsorError, match="calendar quarter") as error:
        plan(org.leader, org.vera, {"town_hall": 1}, start)
    assert error.value.field == "quarter"


@pytest.mark.parametrize("planned", [-1, 501])
def test_a_planned_count_out_of_range_is_refused(org, planned):
    with pytest.raises(SponsorError, match="between 0 and 500") as error:
        plan(org.leader, org.vera, {"team_visit": planned})
    assert error.value.field == "team_visit"


def test_a_plan_of_an_unknown_kind_is_refused(org):
    with pytest.raises(SponsorError, match="Unknown kind"):
        plan(org.leader, org.vera, {"golf_outing": 1})


def test_an_executive_sponsor_plans_their_own_quarter_but_not_anothers(org):
    plan(org.vera_user, org.vera, {"town_hall": 1})
    with pytest.raises(ScopeError):
        plan(org.vera_user, org.sam, {"town_hall": 1})
    assert plan_counts(org.sam.id, Q4) == {}


@pytest.mark.parametrize(("day", "first", "last"), [
    (dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    (dt.date(2026, 5, 31), dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    (dt.date(2026, 9, 30), dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
    (dt.date(2026, 12, 31), dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
])
def test_quarter_bounds_are_the_calendar_quarters_first_and_last_day(day, first, last):
    assert quarter_bounds(day) == (first, last)


# ---------------------------------------------------------------- areas


def areas(user, sponsor, units):
    """Set ``sponsor``'s areas by ``user``."""
    return set_areas(user, scope_for(user), sponsor_id=sponsor.id, unit_ids=[u.id for u in units])


def test_areas_default_to_the_organizations_top_units(org):
    assert [u.path for u in areas_of(org.vera.id)] == ["Acme", "Labs"]


def test_a_change_leader_sets_a_sponsors_areas(org):
    areas(org.leader, org.sam, [org.south, org.north])
    assert [u.path for u in areas_of(org.sam.id)] == [NORTH, SOUTH]
    assert [u.path for u in areas_of(org.vera.id)] == ["Acme", "Labs"]


def test_setting_areas_again_replaces_them(db, org):
    areas(org.admin, org.sam, [org.south, org.north])
    areas(org.admin, org.sam, [org.east])
    assert [u.path for u in areas_of(org.sam.id)] == [EAST]
    assert count(db, SponsorArea) == 1


def test_areas_need_a_unit(org):
    with pytest.raises(SponsorError, match="at least one unit"):
        areas(org.leader, org.sam, [])


@pytest.mark.parametrize("role", ["vera_user", "olive_user", "manager"])
def test_only_change_leaders_and_admins_set_areas(org, role):
    with pytest.raises(ScopeError):
        areas(getattr(org, role), org.vera, [org.north])


# ---------------------------------------------------------------- removing an activity


def test_a_wrongly_recorded_activity_is_removed_with_its_audience(db, org):
    activity = record(org.leader, org.vera)
    delete_activity(org.leader, scope_for(org.leader), activity.id)
    assert count(db, SponsorActivity) == 0
    assert db.session.scalar(select(func.count()).select_from(sponsor_activity_units)) == 0


def test_an_executive_sponsor_removes_their_own_activity(db, org):
    activity = record(org.vera_user, org.vera)
    delete_activity(org.vera_user, scope_for(org.vera_user), activity.id)
    assert count(db, SponsorActivity) == 0


def test_an_executive_sponsor_cannot_remove_another_sponsors_activity(db, org):
    activity = record(org.leader, org.sam)
    with pytest.raises(ScopeError):
        delete_activity(org.vera_user, scope_for(org.vera_user), activity.id)
    assert count(db, SponsorActivity) == 1


def test_a_message_sent_from_the_app_cannot_be_removed(db, org):
    activity = send(org.leader, org.vera, [org.north])
    with pytest.raises(SponsorError, match="stays on the record"):
        delete_activity(org.leader, scope_for(org.leader), activity.id)
    assert count(db, SponsorActivity) == 1


def test_a_message_recorded_by_hand_can_be_removed(db, org):
    activity = record(org.leader, org.vera, kind="message")
    delete_activity(org.leader, scope_for(org.leader), activity.id)
    assert count(db, SponsorActivity) == 0


def test_removing_an_unknown_activity_is_refused(org):
    with pytest.raises(SponsorError, match="No such activity"):
        delete_activity(org.leader, scope_for(org.leader), 12345)


# ---------------------------------------------------------------- the log page's read model


def test_the_log_shows_progress_against_the_quarters_plan_per_kind(org):
    plan(org.leader, org.vera, {"town_hall": 2, "team_visit": 3})
    record(org.leader, org.vera, kind="town_hall")
    record(org.leader, org.vera, kind="recognition")
    record(org.leader, org.vera, kind="town_hall", occurred_on=dt.date(2026, 9, 30))  # the quarter before
    [progress] = sponsor_log(scope_for(org.leader), sponsor_id=org.vera.id, quarter_start=Q4).progress
    by_kind = {k.kind: (k.done, k.planned) for k in progress.kinds}
    assert by_kind == {"town_hall": (1, 2), "team_visit": (0, 3), "message": (0, None),
                       "steering_meeting": (0, None), "recognition": (1, None), "escalation_decision": (0, None)}
    assert (progress.done, progress.planned) == (2, 5)


def test_a_sponsor_without_a_plan_has_no_planned_total(org):
    [progress] = sponsor_log(scope_for(org.leader), sponsor_id=org.sam.id, quarter_start=Q4).progress
    assert progress.planned is None


def test_the_log_names_who_recorded_each_activity_and_its_audience(org):
    record(org.leader, org.vera, unit_ids=[org.south.id, org.north.id])
    [entry] = sponsor_log(scope_for(org.vera_user), sponsor_id=None, quarter_start=Q4).entries
    assert (entry.recorded_by, entry.kind_label, entry.unit_paths) == ("Cleo Leader", "Town hall", (NORTH, SOUTH))


def test_an_executive_sponsors_log_has_only_their_own_progress_and_entries(org):
    record(org.leader, org.vera)
    record(org.leader, org.sam)
    page = sponsor_log(scope_for(org.vera_user), sponsor_id=None, quarter_start=Q4)
    assert [p.sponsor_name for p in page.progress] == ["Vera Visible"]
    assert {e.sponsor_name for e in page.entries} == {"Vera Visible"}


def test_quarters_are_offered_newest_first_across_years():
    assert quarter_starts(TODAY, back=4, ahead=1) == [dt.date(2027, 1, 1), Q4, dt.date(2026, 7, 1),
                                                      dt.date(2026, 4, 1), dt.date(2026, 1, 1),
                                                      dt.date(2025, 10, 1)]
    assert quarter_label(Q4) == "2026 Q4"
