"""Records from another learning system, end to end over HTTP: the LMS sends xAPI statements to
the running server with its token as a Basic password (as LMS connectors do), the learner finds
them on "My training" in Chromium, and the change leader reads them on the Training dashboard."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from adoption.extensions import db
from adoption.tokens import issue_token

COURSE = "https://lms.acme.example/courses/crm-data-quality"


def send(url: str, token: str, body) -> tuple[int, object]:
    """POST ``body`` to the server's statement resource as an LMS does; (status, JSON answer)."""
    request = urllib.request.Request(
        f"{url}/xapi/statements", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Experience-API-Version": "1.0.3",
                 "Authorization": "Basic " + base64.b64encode(f"lms:{token}".encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.browser
def test_an_lms_sends_a_completion_the_learner_and_the_change_leader_see_it(live_server, sign_in):
    _token, secret = issue_token("Acme Learning", "xapi:write", created_by_id=None)
    db.session.commit()
    statement = {"actor": {"objectType": "Agent", "mbox": "mailto:employee@acme.example"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
                 "object": {"id": COURSE, "definition": {"name": {"en-US": "CRM data quality"}}},
                 "result": {"success": True, "score": {"scaled": 0.92}},
                 "timestamp": "2026-11-02T09:30:00Z"}

    status, answer = send(live_server.url, secret, [statement, {"actor": {}, "verb": {}, "object": {}}])
    assert status == 400 and {p["index"] for p in answer["problems"]} == {1}  # nothing stored
    status, ids = send(live_server.url, secret, [statement])
    assert status == 200 and len(ids) == 1

    page = sign_in("employee")
    page.goto("/training/")
    records = page.get_by_role("region", name="Recorded by other learning systems")
    expect(records).to_contain_text("CRM data quality")
    expect(records).to_contain_text("Passed 02 Nov 2026")
    expect(records).to_contain_text("score 92%")

    page.context.clear_cookies()
    leader = sign_in("change_leader")
    leader.goto("/dashboards/training")
    table = leader.locator("#training-external-table")
    row = table.get_by_role("row", name="CRM data quality")
    # learners, completed, passed, failed an attempt
    expect(row.get_by_role("cell")).to_have_text(["1", "0", "1", "0"])
    expect(leader.locator("#training-external-n")).to_contain_text("n = learners with a record")


@pytest.mark.browser
def test_an_admin_maps_a_personal_address_and_the_learner_then_sees_the_record(live_server, sign_in):
    _token, secret = issue_token("Acme Learning", "xapi:write", created_by_id=None)
    db.session.commit()
    statement = {"actor": {"mbox": "mailto:eve.private@mail.example"},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                 "object": {"id": COURSE, "definition": {"name": {"en-US": "CRM data quality"}}},
                 "timestamp": "2026-11-02T09:30:00Z"}
    status, _ids = send(live_server.url, secret, [statement])
    assert status == 200

    admin = sign_in("admin")
    admin.goto("/training/manage/external")
    unmatched = admin.get_by_role("region", name="Learners who match no one on the roster")
    unmatched.get_by_label("Employee (HR id or e-mail) for mbox:mailto:eve.private@mail.example").fill(
        "employee@acme.example")
    unmatched.get_by_role("button", name="Map").click()
    expect(admin.get_by_role("status")).to_contain_text("1 record attributed to Eve Employee")
    expect(admin.get_by_test_id("learner-aliases")).to_contain_text("Eve Employee")
    expect(unmatched).to_contain_text("Every learner the records name is on the roster.")

    admin.context.clear_cookies()
    page = sign_in("employee")
    page.goto("/training/")
    expect(page.get_by_role("region", name="Recorded by other learning systems")).to_contain_text("CRM data quality")
