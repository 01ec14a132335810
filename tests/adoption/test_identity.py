"""Identity resolution, second half: unmatched actors are kept, listed, mapped by alias or roster
update, and their events attributed with their rollups recomputed."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from adoption.models import CrmAlias, DailyUsage, Employee, RollupBacklog, UsageEvent
from adoption.org import move_employee
from adoption.roster import import_roster
from adoption.telemetry.identity import (
    IdentityError,
    list_aliases,
    map_actor,
    reattribute_unmatched,
    unmatched_actors,
    unmatched_totals,
)
from tests.factories import DEFAULT_PASSWORD, make_employee, make_unit, make_user

DAY = dt.date(2024, 5, 1)  # a Wednesday; its week (WEEK_START Monday) starts on 29 April
WEEK = dt.date(2024, 4, 29)
ROSTER_HEADER = "employee_id,email,full_name,title,unit,manager_employee_id,start_date,end_date,crm_user_id,crm_username,is_executive"


def event(n: int, hour: int = 9, day: dt.date = DAY, **actor) -> dict:
    """A valid event with the given actor keys (and ``client``)."""
    value = {"event_id": f"evt-{n}", "occurred_at": f"{day.isoformat()}T{hour:02d}:30:00Z",
             "event_type": "record_updated", **actor}
    return value


def events_of(db, employee: Employee | None) -> list[str]:
    """Event ids attributed to ``employee`` (None: the unmatched ones), sorted."""
    condition = UsageEvent.employee_id.is_(None) if employee is None else UsageEvent.employee_id == employee.id
    return sorted(db.session.scalars(select(UsageEvent.event_id).where(condition)))


def daily_usage(db, employee: Employee) -> list[tuple[dt.date, str, int]]:
    """The employee's daily_usage rows."""
    rows = db.session.execute(select(DailyUsage.day, DailyUsage.event_type, DailyUsage.events)
                              .where(DailyUsage.employee_id == employee.id).order_by(DailyUsage.day))
    return [tuple(row) for row in rows]


def backlog(db) -> list[dt.date]:
    """The weeks queued for the weekly rollups."""
    return list(db.session.scalars(select(RollupBacklog.week_start).order_by(RollupBacklog.week_start)))


def clear_backlog(db) -> None:
    """Forget the queued weeks, so a test sees only what comes after."""
    db.session.query(RollupBacklog).delete()
    db.session.commit()


# ---------------------------------------------------------------- unmatched actors are stored and listed


def test_unmatched_events_are_stored_and_listed_by_their_best_key_with_counts(db, send):
    known = make_employee(email="ana@acme.example")
    db.session.commit()
    result = send(
        event(1, crm_user_id="005000000000XYZ", user_email="Ghost@Partner.example"),
        event(2, hour=11, crm_user_id="005000000000XYZ", client="integration"),
        event(3, crm_username="Bob.Smith@acme.example", user_email="bob@acme.example"),
        event(4, user_email="Carol@Partner.example"),
        event(5, user_email="ana@acme.example"),
    )
    assert result["accepted"] == 5
    assert events_of(db, None) == ["evt-1", "evt-2", "evt-3", "evt-4"]
    assert events_of(db, known) == ["evt-5"]

    actors = {(a.key_kind, a.key_value): a for a in unmatched_actors()}
    assert set(actors) == {("crm_user_id", "005000000000XYZ"), ("crm_username", "bob.smith@acme.example"),
                           ("user_email", "carol@partner.example")}
    ghost = actors[("crm_user_id", "005000000000XYZ")]
    assert (ghost.events, ghost.qualifying_events) == (2, 1)
    assert (ghost.first_seen, ghost.last_seen) == (dt.datetime(2024, 5, 1, 9, 30), dt.datetime(2024, 5, 1, 11, 30))
    assert ghost.other_keys == ("ghost@partner.example",)
    assert actors[("crm_username", "bob.smith@acme.example")].other_keys == ("bob@acme.example",)
    assert unmatched_totals() == (3, 4)
    # Most events first.
    assert unmatched_actors()[0].key_value == "005000000000XYZ"


def test_unmatched_actors_can_be_searched_and_paged(db, send):
    send(event(1, user_email="a@partner.example"), event(2, user_email="a@partner.example"),
         event(3, user_email="b@partner.example"), event(4, crm_username="B.Other"))
    assert [a.key_value for a in unmatched_actors(search="B")] == ["b.other", "b@partner.example"]
    assert unmatched_totals(search="b") == (2, 2)
    assert unmatched_totals(search="nobody") == (0, 0)
    assert [a.key_value for a in unmatched_actors(limit=1, offset=0)] == ["a@partner.example"]
    assert len(unmatched_actors(limit=2, offset=1)) == 2
    assert unmatched_actors(limit=2, offset=3) == []


def test_search_treats_like_wildcards_literally(db, send):
    send(event(1, user_email="a_b@partner.example"), event(2, user_email="axb@partner.example"))
    assert [a.key_value for a in unmatched_actors(search="a_b")] == ["a_b@partner.example"]


# ---------------------------------------------------------------- mapping by alias


def test_mapping_a_key_attributes_its_events_and_rebuilds_their_rollups(db, send):
    bob = make_employee()
    db.session.commit()
    send(event(1, crm_username="Bob.Smith"), event(2, hour=10, crm_username="BOB.SMITH"),
         event(3, crm_username="bob.smith", client="api"), event(4, crm_username="someone.else"))
    clear_backlog(db)
    assert daily_usage(db, bob) == []

    mapping = map_actor("crm_username", " Bob.Smith ", bob.id, created_by_id=None)
    db.session.commit()

    assert mapping.attributed == 3 and mapping.employee.id == bob.id
    assert (mapping.alias.key_kind, mapping.alias.key_value) == ("crm_username", "bob.smith")
    db.session.expire_all()
    assert events_of(db, bob) == ["evt-1", "evt-2", "evt-3"]
    assert events_of(db, None) == ["evt-4"]
    # The API call is stored but never counts as adoption.
    assert daily_usage(db, bob) == [(DAY, "record_updated", 2)]
    assert backlog(db) == [WEEK]
    assert [a.key_value for a in unmatched_actors()] == ["someone.else"]


def test_reattribution_keeps_existing_daily_usage_of_the_employee(db, send):
    ana = make_employee(email="ana@acme.example")
    db.session.commit()
    send(event(1, user_email="ana@acme.example"), event(2, day=DAY + dt.timedelta(days=1), user_email="ana.old@acme.example"))
    assert daily_usage(db, ana) == [(DAY, "record_updated", 1)]
    map_actor("user_email", "Ana.Old@acme.example", ana.id, created_by_id=None)
    db.session.commit()
    assert daily_usage(db, ana) == [(DAY, "record_updated", 1), (DAY + dt.timedelta(days=1), "record_updated", 1)]


def test_an_18_character_alias_also_attributes_events_sent_with_the_15_character_id(db, send):
    ann = make_employee()
    db.session.commit()
    send(event(1, crm_user_id="005000000000abc"), event(2, crm_user_id="005000000000abcQAA"),
         event(3, crm_user_id="005000000000ABC"))  # another user: 15-character ids are case-sensitive
    mapping = map_actor("crm_user_id", "005000000000abcQAA", ann.id, created_by_id=None)
    db.session.commit()
    assert mapping.attributed == 2
    assert events_of(db, ann) == ["evt-1", "evt-2"]
    assert events_of(db, None) == ["evt-3"]


def test_ingest_after_an_alias_exists_resolves_directly(db, send):
    carol = make_employee()
    map_actor("user_email", "carol@partner.example", carol.id, created_by_id=None)
    db.session.commit()
    send(event(1, user_email="Carol@Partner.example"))
    assert events_of(db, carol) == ["evt-1"]
    assert daily_usage(db, carol) == [(DAY, "record_updated", 1)]
    assert unmatched_totals() == (0, 0)


def test_roster_id_wins_over_an_alias_and_an_alias_id_over_a_roster_username(db, send):
    rosa = make_employee(crm_user_id="005000000000ROS", crm_username="rosa")
    alice = make_employee()
    map_actor("user_email", "shared@partner.example", alice.id, created_by_id=None)
    map_actor("crm_user_id", "005000000000ALI", alice.id, created_by_id=None)
    db.session.commit()
    send(event(1, crm_user_id="005000000000ROS", user_email="shared@partner.example"),
         event(2, crm_user_id="005000000000ALI", crm_username="rosa"),
         event(3, crm_username="rosa", user_email="shared@partner.example"))
    assert events_of(db, rosa) == ["evt-1", "evt-3"]
    assert events_of(db, alice) == ["evt-2"]


def test_roster_wins_over_an_older_alias_for_the_same_key(db, send):
    alice = make_employee()
    map_actor("crm_username", "zed", alice.id, created_by_id=None)
    # Later the roster gives the username to someone else: the roster is the authority.
    zed = make_employee(crm_username="zed")
    db.session.commit()
    send(event(1, crm_username="Zed"))
    assert events_of(db, zed) == ["evt-1"]
    assert events_of(db, alice) == []


def test_alias_for_a_key_that_maps_to_someone_else_is_refused(db):
    holder = make_employee(crm_user_id="005000000000HLDQAA")
    other = make_employee()
    with pytest.raises(IdentityError, match=re.escape(f"already maps to {holder.full_name} ({holder.hr_id})")):
        map_actor("crm_user_id", "005000000000HLD", other.id, created_by_id=None)
    map_actor("user_email", "x@partner.example", holder.id, created_by_id=None)
    with pytest.raises(IdentityError, match="already maps to"):
        map_actor("user_email", "X@Partner.example", other.id, created_by_id=None)
    assert [(a.key_value, a.employee_hr_id) for a in list_aliases()] == [("x@partner.example", holder.hr_id)]


def test_mapping_the_same_key_to_the_same_employee_again_keeps_one_alias(db):
    dan = make_employee()
    first = map_actor("crm_username", "dan", dan.id, created_by_id=None)
    again = map_actor("crm_username", "DAN", dan.id, created_by_id=None)
    assert first.alias.id == again.alias.id
    assert len(db.session.scalars(select(CrmAlias)).all()) == 1


@pytest.mark.parametrize("kind, value, message", [
    ("nickname", "dan", "Unknown key kind"),
    ("user_email", "  ", "is empty"),
    ("crm_user_id", "x" * 65, "longer than 64"),
])
def test_malformed_key_is_refused(db, kind, value, message):
    dan = make_employee()
    with pytest.raises(IdentityError, match=message):
        map_actor(kind, value, dan.id, created_by_id=None)


def test_alias_to_an_inactive_or_unknown_employee_is_refused(db):
    leaver = make_employee(active=False)
    with pytest.raises(IdentityError, match="no longer active"):
        map_actor("crm_username", "leaver", leaver.id, created_by_id=None)
    with pytest.raises(IdentityError, match="no employee with id"):
        map_actor("crm_username", "ghost", 999_999, created_by_id=None)
    assert db.session.scalars(select(CrmAlias)).all() == []


def test_reattribution_without_new_keys_attributes_nothing(db, send):
    make_employee()
    db.session.commit()
    send(event(1, user_email="nobody@partner.example"))
    assert reattribute_unmatched() == 0
    assert events_of(db, None) == ["evt-1"]


# ---------------------------------------------------------------- roster updates


def test_roster_update_giving_a_crm_user_id_attributes_earlier_events(db, send):
    rows = ["R1,r1@acme.example,Rita Roe,Rep,Acme/EMEA/Sales North,,2024-01-01,,,,false"]
    import_roster(io.StringIO("\n".join([ROSTER_HEADER, *rows]) + "\n"), effective=dt.date(2024, 1, 1))
    db.session.commit()
    # A 15-character id in the events, the 18-character form of the same id in the roster.
    send(event(1, crm_user_id="005000000000RIT"), event(2, hour=10, crm_user_id="005000000000RIT"))
    clear_backlog(db)

    rows = ["R1,r1@acme.example,Rita Roe,Rep,Acme/EMEA/Sales North,,2024-01-01,,005000000000RITEAZ,,false"]
    plan = import_roster(io.StringIO("\n".join([ROSTER_HEADER, *rows]) + "\n"), effective=dt.date(2024, 6, 3), full=False)
    db.session.commit()

    assert plan.counts()["updated"] == 1
    rita = db.session.scalar(select(Employee).where(Employee.hr_id == "R1"))
    assert events_of(db, rita) == ["evt-1", "evt-2"]
    assert daily_usage(db, rita) == [(DAY, "record_updated", 2)]
    weeks = backlog(db)
    # The events' week (re-attribution) and every week from the effective date on (membership).
    assert WEEK in weeks and dt.date(2024, 6, 3) in weeks and dt.date(2024, 6, 10) in weeks


def test_new_hire_dated_before_the_effective_date_queues_weeks_back_to_the_first_usage_only(db, send):
    ana = make_employee(email="ana@acme.example")
    db.session.commit()
    send(event(1, user_email="ana@acme.example"))  # the first usage ever counted: DAY
    clear_backlog(db)
    rows = ["N1,n1@acme.example,Nia New,Rep,Acme,,2024-03-04,,,,false"]
    import_roster(io.StringIO("\n".join([ROSTER_HEADER, *rows]) + "\n"), effective=dt.date(2024, 6, 3), full=False)
    weeks = backlog(db)
    # Nia counts in her unit from 4 March, but no week before the first usage has anything to show.
    assert weeks[0] == WEEK and dt.date(2024, 5, 27) in weeks and dt.date(2024, 6, 3) in weeks
    assert daily_usage(db, ana) == [(DAY, "record_updated", 1)]


def test_reimporting_an_unchanged_roster_queues_nothing(db):
    rows = ["R1,r1@acme.example,Rita Roe,Rep,Acme,,2024-01-01,,,,false"]
    text = "\n".join([ROSTER_HEADER, *rows]) + "\n"
    import_roster(io.StringIO(text), effective=dt.date(2024, 1, 1))
    db.session.commit()
    clear_backlog(db)
    import_roster(io.StringIO(text), effective=dt.date(2024, 6, 3))
    db.session.commit()
    assert backlog(db) == []


def test_moving_an_employee_queues_the_weeks_from_the_effective_date(app, db):
    app.config["ORG_TIMEZONE"] = "UTC"
    mover = make_employee(since=dt.date(2024, 1, 1))
    clear_backlog(db)
    move_employee(mover, make_unit("Acme/EMEA/Sales South"), dt.date(2024, 5, 1))
    weeks = backlog(db)
    assert weeks[0] == WEEK
    # Through the current week: every week after the move counts the mover elsewhere.
    assert len(weeks) >= 2 and weeks[1] == WEEK + dt.timedelta(days=7)


# ---------------------------------------------------------------- the admin page


def test_admin_page_lists_unmatched_keys_with_counts_and_aliases(client, db, login_as, send):
    send(event(1, crm_user_id="005000000000GHO"), event(2, crm_user_id="005000000000GHO"))
    login_as("admin")
    html = client.get("/admin/unmatched").get_data(as_text=True)
    assert "Unmatched CRM users" in html
    row = re.search(r"<tr>\s*<td>CRM user id</td>.*?</tr>", html, re.DOTALL).group(0)
    assert "005000000000GHO" in row and '<td class="text-end">2</td>' in row
    assert "No aliases yet." in html
    assert 'href="/admin/unmatched" aria-current="page">Unmatched CRM users<' in html


def test_admin_page_is_paginated_and_searchable(client, db, login_as, send):
    send(*(event(n, user_email=f"solo{n:02d}@partner.example") for n in range(55)))
    login_as("admin")
    first = client.get("/admin/unmatched").get_data(as_text=True)
    assert "55 unmatched keys" in first and "Page 1 of 2" in first and 'href="/admin/unmatched?page=2"' in first
    assert first.count('name="employee"') == 50
    second = client.get("/admin/unmatched?page=2").get_data(as_text=True)
    assert second.count('name="employee"') == 5
    found = client.get("/admin/unmatched?q=solo07").get_data(as_text=True)
    assert "solo07@partner.example" in found and "solo08@partner.example" not in found


def test_admin_maps_a_key_by_hr_id_and_sees_how_many_events_were_attributed(client, db, login_as, send):
    gus = make_employee(full_name="Gus Grant")
    db.session.commit()
    send(event(1, crm_user_id="005000000000GUS"), event(2, crm_user_id="005000000000GUS"))
    admin = login_as("admin")
    response = client.post("/admin/unmatched/map", data={"key_kind": "crm_user_id", "key_value": "005000000000GUS",
                                                        "employee": gus.hr_id}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 events attributed to Gus Grant." in html
    assert "Every event is attributed to someone on the roster." in html
    alias = db.session.scalar(select(CrmAlias))
    assert (alias.key_value, alias.employee_id, alias.created_by_id) == ("005000000000GUS", gus.id, admin.id)
    assert events_of(db, gus) == ["evt-1", "evt-2"]


def test_admin_maps_a_key_by_e_mail(client, db, login_as, send):
    hal = make_employee(full_name="Hal Hart", email="hal@acme.example")
    db.session.commit()
    send(event(1, crm_username="hhart"))
    login_as("admin")
    response = client.post("/admin/unmatched/map", data={"key_kind": "crm_username", "key_value": "hhart",
                                                        "employee": "HAL@acme.example"}, follow_redirects=True)
    assert "1 events attributed to Hal Hart." in response.get_data(as_text=True)
    assert events_of(db, hal) == ["evt-1"]


def test_mapping_to_an_unknown_employee_shows_a_clear_error(client, db, login_as, send):
    send(event(1, crm_username="hhart"))
    login_as("admin")
    response = client.post("/admin/unmatched/map", data={"key_kind": "crm_username", "key_value": "hhart",
                                                        "employee": "E99999"})
    assert response.status_code == 400
    assert "No employee has the HR id or e-mail &#39;E99999&#39;." in response.get_data(as_text=True)
    assert db.session.scalars(select(CrmAlias)).all() == []


def test_mapping_a_key_taken_by_someone_else_shows_why(client, db, login_as, send):
    make_employee(full_name="Ida Iles", crm_username="iiles")
    other = make_employee()
    db.session.commit()
    login_as("admin")
    response = client.post("/admin/unmatched/map", data={"key_kind": "crm_username", "key_value": "iiles",
                                                        "employee": other.hr_id})
    assert response.status_code == 400
    assert "already maps to Ida Iles" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["change_leader", "manager", "employee"])
def test_unmatched_page_is_for_admins_only(client, db, login_as, role):
    target = make_employee()
    login_as(role)
    assert client.get("/admin/unmatched").status_code == 403
    response = client.post("/admin/unmatched/map", data={"key_kind": "crm_username", "key_value": "x",
                                                        "employee": target.hr_id})
    assert response.status_code == 403
    assert db.session.scalars(select(CrmAlias)).all() == []


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_mapping_form_needs_the_csrf_token(client, db, send):
    june = make_employee(full_name="June Jay")
    user = make_user("admin")
    db.session.commit()
    send(event(1, crm_username="jjay"))
    client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                "csrf_token": _csrf_token(client.get("/login").get_data(as_text=True))})
    data = {"key_kind": "crm_username", "key_value": "jjay", "employee": june.hr_id}
    assert client.post("/admin/unmatched/map", data=data).status_code == 400
    assert db.session.scalars(select(CrmAlias)).all() == []
    token = _csrf_token(client.get("/admin/unmatched").get_data(as_text=True))
    assert client.post("/admin/unmatched/map", data={**data, "csrf_token": token}).status_code == 302
    assert events_of(db, june) == ["evt-1"]
