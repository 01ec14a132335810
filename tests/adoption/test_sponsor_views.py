"""The sponsor log's pages (adoption/views/sponsors.py): who records and reads what, the forms
and their errors, the message confirmation, plans, areas, removal and CSRF, on the organization
of tests/adoption/test_sponsors.py (sponsors Vera and Sam, Olive an executive who is not one)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from adoption.models import OutboxMessage, SponsorActivity
from adoption.scope import scope_for
from adoption.sponsors import areas_of, plan_counts, quarter_bounds, record_activity, send_message
from adoption.timekeeping import org_today
from tests.adoption.test_sponsors import NORTH, SOUTH, build_org
from tests.factories import DEFAULT_PASSWORD, make_unit


@pytest.fixture
def today(app) -> dt.date:
    """The organization's today, as the pages use it."""
    return org_today(app.config["ORG_TIMEZONE"])


@pytest.fixture
def org(db):
    """The organization of ``build_org``, its users not signed in."""
    return build_org(db)


def sign_in(client, user) -> None:
    """Sign ``client`` in as ``user`` (CSRF off)."""
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302


def activity_form(sponsor, unit, day: dt.date, **overrides) -> dict:
    """A valid record-an-activity form."""
    data = {"sponsor": str(sponsor.id), "kind": "team_visit", "occurred_on": day.isoformat(),
            "units": [str(unit.id)], "note": "Visited the Monday pipeline review"}
    data.update(overrides)
    return data


def message_form(sponsor, units, **overrides) -> dict:
    """A valid message form (the first step: "Continue")."""
    data = {"sponsor": str(sponsor.id), "units": [str(u.id) for u in units], "subject": "Why we log every call",
            "body": "Thank you for the first month.\nKeep going.", "preview": "Continue"}
    data.update(overrides)
    return data


def activities(db) -> list[SponsorActivity]:
    """Every recorded activity, as committed."""
    db.session.rollback()
    return list(db.session.scalars(select(SponsorActivity).order_by(SponsorActivity.id)))


def outbox_count(db) -> int:
    """Messages in the outbox, as committed."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def record(db, org, sponsor, day: dt.date, **overrides) -> SponsorActivity:
    """A team visit of ``sponsor`` to Sales North on ``day``, recorded by the change leader."""
    values = {"sponsor_id": sponsor.id, "kind": "team_visit", "occurred_on": day, "unit_ids": [org.north.id],
              "note": "Visited the Monday pipeline review", "today": day}
    values.update(overrides)
    activity = record_activity(org.leader, scope_for(org.leader), **values)
    db.session.commit()
    return activity


def field_error(html: str, name: str) -> str:
    """The error text shown next to the control named ``name`` (tied to it by aria-describedby)."""
    control = re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control
    error_id = re.search(r'aria-describedby="[^"]*?(\S+-error)', control).group(1)
    return re.search(rf'id="{error_id}"[^>]*>([^<]*)<', html).group(1)


# ---------------------------------------------------------------- recording


def test_a_change_leader_records_an_activity_for_any_sponsor(client, db, org, today):
    sign_in(client, org.leader)
    for sponsor in (org.vera, org.sam):
        response = client.post("/sponsors/record", data=activity_form(sponsor, org.north, today))
        assert response.status_code == 302
    assert [(a.sponsor_id, a.kind, a.recorded_by_id) for a in activities(db)] == [
        (org.vera.id, "team_visit", org.leader.id), (org.sam.id, "team_visit", org.leader.id)]


def test_recording_returns_to_the_log_of_the_sponsor_and_quarter(client, org, today):
    sign_in(client, org.leader)
    response = client.post("/sponsors/record", data=activity_form(org.sam, org.north, today))
    quarter = quarter_bounds(today)[0].isoformat()
    assert response.headers["Location"] == f"/sponsors/?sponsor_id={org.sam.id}&quarter={quarter}"


def test_the_record_form_offers_a_change_leader_every_sponsor(client, org):
    sign_in(client, org.leader)
    html = client.get("/sponsors/record").get_data(as_text=True)
    assert f'<option value="{org.vera.id}">Vera Visible</option>' in html
    assert f'<option value="{org.sam.id}">Sam Sponsor</option>' in html
    assert "Olive Other" not in html


def test_the_record_form_starts_with_the_sponsors_areas_as_audience(client, db, org):
    sign_in(client, org.leader)
    html = client.get(f"/sponsors/record?sponsor_id={org.sam.id}").get_data(as_text=True)
    selected = re.findall(r'<option selected value="(\d+)">', html)
    assert sorted(int(i) for i in selected) == sorted([org.sam.id] + [u.id for u in areas_of(org.sam.id)])


def test_an_executive_sponsor_records_for_themself(client, db, org, today):
    sign_in(client, org.vera_user)
    page = client.get("/sponsors/record").get_data(as_text=True)
    assert "Vera Visible" in page and "Sam Sponsor" not in page
    response = client.post("/sponsors/record", data=activity_form(org.vera, org.north, today))
    assert response.status_code == 302
    assert [(a.sponsor_id, a.recorded_by_id) for a in activities(db)] == [(org.vera.id, org.vera_user.id)]


def test_an_executive_sponsor_forging_another_sponsor_in_the_post_gets_403(client, db, org, today):
    sign_in(client, org.vera_user)
    response = client.post("/sponsors/record", data=activity_form(org.sam, org.north, today))
    assert response.status_code == 403
    assert activities(db) == []


def test_an_executive_sponsor_asking_for_another_sponsors_form_gets_403(client, org):
    sign_in(client, org.vera_user)
    assert client.get(f"/sponsors/record?sponsor_id={org.sam.id}").status_code == 403


def test_an_executive_who_is_not_a_sponsor_posting_a_record_gets_403(client, db, org, today):
    sign_in(client, org.olive_user)
    response = client.post("/sponsors/record", data=activity_form(org.vera, org.north, today))
    assert response.status_code == 403
    assert activities(db) == []


def test_a_future_date_is_shown_next_to_the_date(client, db, org, today):
    sign_in(client, org.leader)
    response = client.post("/sponsors/record",
                           data=activity_form(org.vera, org.north, today + dt.timedelta(days=1)))
    assert response.status_code == 422
    assert "the date is in the future" in field_error(response.get_data(as_text=True), "occurred_on")
    assert activities(db) == []


def test_a_missing_audience_is_shown_next_to_the_units(client, db, org, today):
    sign_in(client, org.leader)
    response = client.post("/sponsors/record", data=activity_form(org.vera, org.north, today, units=[]))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "units") == "Choose at least one unit."


def test_a_sponsor_that_is_not_one_is_shown_next_to_the_sponsor(client, org, today):
    sign_in(client, org.leader)
    response = client.post("/sponsors/record", data=activity_form(org.olive, org.north, today))
    assert response.status_code == 422
    assert "not a sponsor" in field_error(response.get_data(as_text=True), "sponsor")


# ---------------------------------------------------------------- who reads the log


def test_the_log_shows_each_activity_with_kind_date_audience_note_and_recorder(client, db, org, today):
    record(db, org, org.vera, today, unit_ids=[org.north.id, org.south.id])
    sign_in(client, org.leader)
    html = client.get("/sponsors/").get_data(as_text=True)
    row = html.split('data-testid="activity"', 1)[1].split("</tr>", 1)[0]
    assert "Vera Visible" in row and "Team visit" in row and today.strftime("%d %b %Y") in row
    assert NORTH in row and SOUTH in row
    assert "Visited the Monday pipeline review" in row and "Cleo Leader" in row


def test_the_log_shows_progress_against_the_quarters_plan(client, db, org, today):
    quarter = quarter_bounds(today)[0]
    sign_in(client, org.leader)
    client.post("/sponsors/plan", data={"sponsor": org.vera.id, "quarter": quarter.isoformat(), "team_visit": "3",
                                        "town_hall": "1"})
    record(db, org, org.vera, today)
    html = client.get(f"/sponsors/?sponsor_id={org.vera.id}").get_data(as_text=True)
    visits = html.split('data-testid="progress-team_visit"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<td class="text-end">([^<]*)</td>', visits) == ["1", "3"]
    total = html.split('data-testid="progress-total"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'fw-semibold">([^<]*)</td>', total) == ["1", "4"]


def test_the_log_is_filtered_by_quarter(client, db, org, today):
    record(db, org, org.vera, today)
    sign_in(client, org.leader)
    previous = quarter_bounds(quarter_bounds(today)[0] - dt.timedelta(days=1))[0]
    html = client.get(f"/sponsors/?quarter={previous.isoformat()}").get_data(as_text=True)
    assert 'data-testid="activity"' not in html and "No activity recorded in this quarter." in html


def test_an_executive_sponsor_sees_only_their_own_log(client, db, org, today):
    record(db, org, org.vera, today, note="Vera's visit")
    record(db, org, org.sam, today, note="Sam's visit")
    sign_in(client, org.vera_user)
    html = client.get("/sponsors/").get_data(as_text=True)
    assert "Vera&#39;s visit" in html
    assert "Sam&#39;s visit" not in html and "Sam Sponsor" not in html


def test_an_executive_sponsor_asking_for_another_sponsors_log_gets_403(client, org):
    sign_in(client, org.vera_user)
    assert client.get(f"/sponsors/?sponsor_id={org.sam.id}").status_code == 403


def test_an_executive_who_is_not_a_sponsor_gets_an_explanation(client, db, org, today):
    record(db, org, org.vera, today)
    sign_in(client, org.olive_user)
    response = client.get("/sponsors/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You are not named as a sponsor of the initiative" in html
    assert "Vera Visible" not in html


def test_an_executive_who_is_not_a_sponsor_sees_no_log_after_a_change_leader_signed_out(client, db, org, today):
    record(db, org, org.vera, today)
    sign_in(client, org.leader)
    assert "Vera Visible" in client.get("/sponsors/").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, org.olive_user)
    html = client.get("/sponsors/").get_data(as_text=True)
    assert "You are not named as a sponsor" in html and "Vera Visible" not in html


@pytest.mark.parametrize("role", ["manager", "employee"])
@pytest.mark.parametrize("path", ["/sponsors/", "/sponsors/record", "/sponsors/message", "/sponsors/plan",
                                  "/sponsors/areas"])
def test_managers_and_employees_get_403(client, org, role, path):
    sign_in(client, getattr(org, role))
    assert client.get(path).status_code == 403


def test_a_manager_posting_an_activity_gets_403(client, db, org, today):
    sign_in(client, org.manager)
    assert client.post("/sponsors/record", data=activity_form(org.vera, org.north, today)).status_code == 403
    assert activities(db) == []


def test_the_navigation_links_the_sponsor_log_for_executives_but_not_managers(client, org):
    sign_in(client, org.olive_user)
    assert 'href="/sponsors/"' in client.get("/").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, org.manager)
    assert 'href="/sponsors/"' not in client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------- messages


def test_the_confirmation_says_how_many_people_the_message_goes_to(client, db, org):
    sign_in(client, org.leader)
    response = client.post("/sponsors/message", data=message_form(org.vera, [org.north]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # North 1, North 2 and the manager; not the leaver.
    assert re.search(r'data-testid="recipients">It goes to <strong>3 people</strong>', html)
    assert 'value="Send to 3 people"' in html
    assert outbox_count(db) == 0 and activities(db) == []


def test_sending_the_confirmed_message_fills_the_outbox_and_the_log(client, db, org, today):
    sign_in(client, org.leader)
    response = client.post("/sponsors/message", data=message_form(org.vera, [org.north], preview="",
                                                                      send="Send to 3 people"))
    assert response.status_code == 302
    [activity] = activities(db)
    assert (activity.kind, activity.occurred_on, activity.recipients) == ("message", today, 3)
    assert outbox_count(db) == 1
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Message sent to 3 people" in html and "Why we log every call" in html


def test_changing_the_message_returns_to_the_form_without_sending(client, db, org):
    sign_in(client, org.leader)
    response = client.post("/sponsors/message", data=message_form(org.vera, [org.north], preview="",
                                                                      edit="Change the message"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="body"' in html and "Keep going." in html
    assert outbox_count(db) == 0 and activities(db) == []


def test_a_message_to_units_where_nobody_is_active_is_shown_next_to_the_units(client, db, org):
    empty = make_unit("Acme/EMEA/Empty Team")
    db.session.commit()
    sign_in(client, org.leader)
    response = client.post("/sponsors/message", data=message_form(org.vera, [empty]))
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "units") == "Nobody is active in the audience units."


def test_an_executive_sponsor_forging_another_sponsors_message_gets_403(client, db, org):
    sign_in(client, org.vera_user)
    response = client.post("/sponsors/message", data=message_form(org.sam, [org.north], send="Send"))
    assert response.status_code == 403
    assert outbox_count(db) == 0


# ---------------------------------------------------------------- plans


def test_the_plan_form_saves_the_whole_plan(client, db, org, today):
    quarter = quarter_bounds(today)[0]
    sign_in(client, org.leader)
    response = client.post("/sponsors/plan", data={"sponsor": org.sam.id, "quarter": quarter.isoformat(),
                                                   "town_hall": "2", "team_visit": "5", "recognition": ""})
    assert response.status_code == 302
    assert plan_counts(org.sam.id, quarter) == {"town_hall": 2, "team_visit": 5}


def test_the_plan_form_shows_the_current_plan(client, db, org, today):
    quarter = quarter_bounds(today)[0]
    sign_in(client, org.leader)
    client.post("/sponsors/plan", data={"sponsor": org.sam.id, "quarter": quarter.isoformat(), "town_hall": "2"})
    html = client.get(f"/sponsors/plan?sponsor_id={org.sam.id}&quarter={quarter.isoformat()}").get_data(
        as_text=True)
    assert re.search(r'<input[^>]*name="town_hall"[^>]*value="2"', html)
    assert re.search(r'<input[^>]*name="team_visit"[^>]*value="0"', html)


def test_a_negative_planned_count_is_shown_next_to_its_field(client, org, today):
    sign_in(client, org.leader)
    response = client.post("/sponsors/plan", data={"sponsor": org.sam.id,
                                                   "quarter": quarter_bounds(today)[0].isoformat(),
                                                   "team_visit": "-1"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "team_visit") == "From 0 to 500."


def test_a_plan_that_does_not_start_a_quarter_is_shown_next_to_the_quarter(client, org, today):
    sign_in(client, org.leader)
    day = quarter_bounds(today)[0] + dt.timedelta(days=1)
    response = client.post("/sponsors/plan", data={"sponsor": org.sam.id, "quarter": day.isoformat(),
                                                   "town_hall": "1"})
    assert response.status_code == 422
    assert "calendar quarter" in field_error(response.get_data(as_text=True), "quarter")


def test_an_executive_sponsor_forging_another_sponsors_plan_gets_403(client, org, today):
    quarter = quarter_bounds(today)[0]
    sign_in(client, org.vera_user)
    response = client.post("/sponsors/plan", data={"sponsor": org.sam.id, "quarter": quarter.isoformat(),
                                                   "town_hall": "9"})
    assert response.status_code == 403
    assert plan_counts(org.sam.id, quarter) == {}


# ---------------------------------------------------------------- areas


def test_a_change_leader_sets_a_sponsors_areas(client, db, org):
    sign_in(client, org.leader)
    response = client.post("/sponsors/areas", data={"sponsor": org.sam.id,
                                                    "units": [str(org.north.id), str(org.south.id)]})
    assert response.status_code == 302
    db.session.rollback()
    assert [u.path for u in areas_of(org.sam.id)] == [NORTH, SOUTH]


def test_the_areas_page_lists_each_sponsors_areas(client, org):
    sign_in(client, org.admin)
    html = client.get("/sponsors/areas").get_data(as_text=True)
    rows = re.findall(r'data-testid="areas-of".*?</tr>', html, re.DOTALL)
    assert len(rows) == 2 and all("Acme" in r and "Labs" in r for r in rows)


def test_an_executive_sponsor_cannot_open_or_post_the_areas_form(client, db, org):
    sign_in(client, org.vera_user)
    assert client.get("/sponsors/areas").status_code == 403
    assert client.post("/sponsors/areas", data={"sponsor": org.vera.id, "units": [str(org.north.id)]}).status_code \
        == 403
    db.session.rollback()
    assert [u.path for u in areas_of(org.vera.id)] == ["Acme", "Labs"]


# ---------------------------------------------------------------- removing


def test_removing_a_wrongly_recorded_activity(client, db, org, today):
    activity = record(db, org, org.vera, today)
    sign_in(client, org.leader)
    response = client.post(f"/sponsors/activities/{activity.id}/delete?sponsor_id={org.vera.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/sponsors/?sponsor_id={org.vera.id}")
    assert activities(db) == []


def test_a_message_sent_from_the_app_has_no_remove_button_and_stays(client, db, org, today):
    activity = send_message(org.leader, scope_for(org.leader), sponsor_id=org.vera.id, unit_ids=[org.north.id],
                            subject="Thanks", body="Text", today=today)
    db.session.commit()
    sign_in(client, org.leader)
    html = client.get("/sponsors/").get_data(as_text=True)
    assert f"/sponsors/activities/{activity.id}/delete" not in html
    response = client.post(f"/sponsors/activities/{activity.id}/delete", follow_redirects=True)
    assert "stays on the record" in response.get_data(as_text=True)
    assert len(activities(db)) == 1


def test_an_executive_sponsor_removing_another_sponsors_activity_gets_403(client, db, org, today):
    activity = record(db, org, org.sam, today)
    sign_in(client, org.vera_user)
    assert client.post(f"/sponsors/activities/{activity.id}/delete").status_code == 403
    assert len(activities(db)) == 1


# ---------------------------------------------------------------- CSRF


def _token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.fixture
def csrf_client(app, client, org):
    """The client signed in as the change leader through the real form, with CSRF on."""
    app.config["WTF_CSRF_ENABLED"] = True
    token = _token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": org.leader.email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    return client


def test_recording_without_a_csrf_token_is_refused(csrf_client, db, org, today):
    response = csrf_client.post("/sponsors/record", data=activity_form(org.vera, org.north, today))
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert activities(db) == []


def test_recording_with_the_forms_csrf_token_works(csrf_client, db, org, today):
    token = _token(csrf_client.get("/sponsors/record").get_data(as_text=True))
    response = csrf_client.post("/sponsors/record",
                                data={**activity_form(org.vera, org.north, today), "csrf_token": token})
    assert response.status_code == 302
    assert len(activities(db)) == 1


def test_sending_a_message_without_a_csrf_token_is_refused(csrf_client, db, org):
    response = csrf_client.post("/sponsors/message", data=message_form(org.vera, [org.north], send="Send"))
    assert response.status_code == 400
    assert outbox_count(db) == 0


def test_the_confirmation_carries_the_token_that_sends_the_message(csrf_client, db, org):
    page = csrf_client.get("/sponsors/message").get_data(as_text=True)
    confirm = csrf_client.post("/sponsors/message",
                               data={**message_form(org.vera, [org.north]), "csrf_token": _token(page)})
    token = _token(confirm.get_data(as_text=True))
    response = csrf_client.post("/sponsors/message", data={**message_form(org.vera, [org.north], preview="",
                                                                          send="Send"), "csrf_token": token})
    assert response.status_code == 302
    assert outbox_count(db) == 1


def test_removing_without_a_csrf_token_is_refused(csrf_client, db, org, today):
    activity = record(db, org, org.vera, today)
    assert csrf_client.post(f"/sponsors/activities/{activity.id}/delete").status_code == 400
    assert len(activities(db)) == 1


def test_a_plan_without_a_csrf_token_is_refused(csrf_client, org, today):
    quarter = quarter_bounds(today)[0]
    response = csrf_client.post("/sponsors/plan", data={"sponsor": org.sam.id, "quarter": quarter.isoformat(),
                                                        "town_hall": "1"})
    assert response.status_code == 400
    assert plan_counts(org.sam.id, quarter) == {}


def test_areas_without_a_csrf_token_are_refused(csrf_client, org):
    response = csrf_client.post("/sponsors/areas", data={"sponsor": org.sam.id, "units": [str(org.north.id)]})
    assert response.status_code == 400
    assert [u.path for u in areas_of(org.sam.id)] == ["Acme", "Labs"]
