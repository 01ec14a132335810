"""Issue 6 on the small demo: the planted relation reads "supported", the null ones do not, the
CLI and the API answer the same JSON, and the Evidence page shows it with its n."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from adoption.extensions import db as _db
from adoption.initiative import current_initiative
from adoption.models import OrgUnit, OutcomeMeasure
from adoption.outcomes import judge_outcomes, store_outcomes
from adoption.timekeeping import utcnow
from adoption.tokens import issue_token
from dashboards.demo import CSAT, NPS, RETENTION
from dashboards.pages import evidence as page
from tests.conftest import demo_loaded
from tests.dashboards.conftest import texts


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The small demo with every feature's demo data (customer outcomes included)."""
    with demo_loaded(tmp_path_factory.mktemp("evidence_demo")) as (application, _summary):
        yield application


@pytest.fixture
def token(app):
    """A read token's plaintext."""
    _, plaintext = issue_token("evidence reader", "read", created_by_id=None)
    _db.session.commit()
    return plaintext


def api(client, token, **params):
    """GET /api/v1/evidence with a bearer token; the response."""
    return client.get("/api/v1/evidence", query_string=params,
                      headers={"Authorization": f"Bearer {token}"})


def cli_json(app, *args):
    """``flask evidence ... --json`` parsed."""
    result = app.test_cli_runner().invoke(args=["evidence", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_demo_has_monthly_csat_nps_and_retention_for_every_team(app):
    counts = dict(_db.session.execute(
        select(OutcomeMeasure.metric, func.count()).group_by(OutcomeMeasure.metric)).all())
    assert counts == {CSAT: 40 * 7, NPS: 40 * 7, RETENTION: 40 * 7}
    responses = _db.session.scalars(
        select(OutcomeMeasure.responses).where(OutcomeMeasure.metric == CSAT)).all()
    assert min(responses) >= 15


def test_planted_adoption_to_csat_a_month_later_is_supported_with_its_interval(client, token):
    answer = api(client, token, x="adoption_rate", y="csat", lag=1).get_json()
    assert answer["verdict"] == "supported"
    assert answer["n_units"] == 40
    low, high = answer["r_ci"]
    assert 0 < low < answer["r"] < high
    assert answer["slope"] > 0 and answer["slope_ci"][0] > 0
    assert "40 units" in answer["reading"]


def test_a_metric_planted_with_no_relation_is_inconclusive(client, token):
    answer = api(client, token, x="adoption_rate", y="retention", lag=1).get_json()
    assert answer["verdict"] == "inconclusive"
    assert answer["r_ci"][0] < 0 < answer["r_ci"][1]
    assert "would decide it" in answer["reading"]


def test_expecting_the_opposite_of_the_planted_relation_is_contradicted(client, token):
    answer = api(client, token, x="adoption_rate", y="csat", lag=1, direction="negative").get_json()
    assert answer["verdict"] == "contradicted"


def test_cli_and_api_return_the_same_json(app, client, token):
    from_api = api(client, token, x="adoption_rate", y="csat", lag=1).get_json()
    assert cli_json(app, "--x", "adoption_rate", "--y", "csat", "--lag", "1") == from_api


def test_a_range_of_lags_is_a_list_adjusted_across_the_lags(app, client, token):
    answers = api(client, token, x="adoption_rate", y="csat", lags="-1..1").get_json()
    assert [a["lag"] for a in answers] == [-1, 0, 1]
    for answer in answers:
        assert answer["p_adjusted"] >= answer["p"]
    assert cli_json(app, "--x", "adoption_rate", "--y", "csat", "--lags", "-1..1") == answers


def test_unknown_metric_is_a_clear_400_naming_the_known_ones(client, token):
    response = api(client, token, x="adoption_rat", y="csat")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_question"
    assert "adoption_rate" in body["message"] and "csat" in body["message"]


def test_cli_refuses_a_bad_lag_range_with_a_usage_error(app):
    result = app.test_cli_runner().invoke(args=["evidence", "--x", "adoption_rate", "--y", "csat",
                                                "--lags", "3..-3"])
    assert result.exit_code == 2
    assert "backwards" in result.output


def test_api_needs_a_token_or_a_session(client):
    response = client.get("/api/v1/evidence", query_string={"x": "adoption_rate", "y": "csat"})
    assert response.status_code == 401


def test_a_manager_asks_within_their_own_units_only(client, login_as):
    login_as("manager", unit="Acme/North America/Field Sales Northeast")
    answer = client.get("/api/v1/evidence", query_string={"x": "adoption_rate", "y": "csat"}).get_json()
    assert answer["n_units"] == 1  # their team, not the organization's 40
    assert answer["r"] is None and answer["verdict"] == "inconclusive"
    assert "at least 10" in answer["reading"]


def test_an_employee_gets_403_not_figures(client, login_as):
    login_as("employee", unit="Acme/North America/Field Sales Northeast")
    response = client.get("/api/v1/evidence", query_string={"x": "adoption_rate", "y": "csat"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "out_of_scope"


# --- the page -----------------------------------------------------------------------------------


def call(run_callback, output, x="adoption_rate", y="csat", lag=1):
    """The response payload of the Evidence callback producing ``output``."""
    values = {f"{page.X}.value": x, f"{page.Y}.value": y, f"{page.LAG}.value": lag,
              f"{page.PERIOD}.start_date": None, f"{page.PERIOD}.end_date": None}
    response = run_callback(output, values)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


@pytest.mark.parametrize("role", ["change_leader", "executive"])
def test_page_shows_the_planted_relation_as_supported_with_n(login_as, run_callback, role):
    login_as(role, unit="Acme/HQ")
    payload = call(run_callback, f"{page.LINKAGE_FIGURE}.figure")
    n_line = payload[page.LINKAGE_N]["children"]
    assert n_line.startswith("n = 40 units, 240 unit-months; r = ")
    figure = payload[page.LINKAGE_FIGURE]["figure"]
    assert figure["layout"]["title"]["text"] == "n = 40 units, 240 unit-months"
    points = next(t for t in figure["data"] if t.get("mode") == "markers")
    assert len(points["text"]) == 240  # one hover per unit-month (plotly sends x/y as binary)
    reading = texts(payload[page.READING]["children"])
    assert reading[0] == "supported"
    assert "Within a unit" in " ".join(reading)


def test_pickers_offer_every_metric_and_start_on_adoption_and_csat(login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, f"{page.X}.options", x=None, y=None)
    values = [o["value"] for o in payload[page.X]["options"]]
    assert {"adoption_rate", "engagement_index", "csat", "nps", "retention"} <= set(values)
    assert payload[page.X]["value"] == "adoption_rate" and payload[page.Y]["value"] == "csat"


def test_lag_profile_shows_seven_lags_with_the_planted_one_clear(login_as, run_callback):
    login_as("executive", unit="Acme/HQ")
    payload = call(run_callback, f"{page.PROFILE_FIGURE}.figure")
    points = payload[page.PROFILE_FIGURE]["figure"]["data"][0]
    assert [t.split(":")[0] for t in points["text"]] == [f"lag {lag:+d}" for lag in range(-3, 4)]
    r = [float(t.split("r = ")[1].split(" ")[0]) for t in points["text"]]
    assert r.index(max(r)) == 4  # the planted lag, +1
    assert "7 lags tested at once" in payload[page.PROFILE_N]["children"]


def test_null_pair_reads_inconclusive_on_the_page(login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, f"{page.READING}.children", y="retention")
    assert texts(payload[page.READING]["children"])[0] == "inconclusive"


def test_csv_of_the_scatter_holds_the_pairs_behind_r(login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    values = {f"{page.X}.value": "adoption_rate", f"{page.Y}.value": "csat", f"{page.LAG}.value": 1,
              "evidence-linkage-csv.n_clicks": 1}
    payload = run_callback("evidence-linkage-download.data", values).get_json()["response"]
    content = payload["evidence-linkage-download"]["data"]["content"]
    lines = content.strip().splitlines()
    assert lines[0] == "unit,period,x,y,x_centred,y_centred,weight"
    assert len(lines) == 1 + 240


def test_the_register_shows_the_three_starter_hypotheses_and_all_three_verdicts(login_as, run_callback):
    login_as("executive", unit="Acme/HQ")
    payload = call(run_callback, f"{page.REGISTER_TABLE}.children")
    shown = texts(payload[page.REGISTER_TABLE]["children"])
    for verdict in ("supported", "inconclusive", "contradicted"):
        assert verdict in shown
    assert "Teams that adopt the CRM delight their customers a month later." in shown
    assert payload[page.REGISTER_N]["children"].startswith(
        "3 hypotheses: 1 supported, 1 contradicted, 1 inconclusive")


def test_a_new_months_outcomes_reach_the_page_at_once(login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    before = call(run_callback, f"{page.LINKAGE_FIGURE}.figure")[page.LINKAGE_N]["children"]
    assert before.startswith("n = 40 units, 240 unit-months")  # the grid is now kept
    teams = _db.session.scalars(select(OutcomeMeasure.unit_id).where(OutcomeMeasure.metric == CSAT)
                                .distinct()).all()
    paths = _db.session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(teams))).all()
    valid, rejected = judge_outcomes([{"unit": path, "metric": CSAT, "period_start": "2026-12-01",
                                       "period_end": "2026-12-31", "value": 80, "responses": 20}
                                      for path in paths])
    assert not rejected
    store_outcomes(valid, source="file", token_id=None, now=utcnow())
    _db.session.commit()
    try:
        after = call(run_callback, f"{page.LINKAGE_FIGURE}.figure")[page.LINKAGE_N]["children"]
        assert after.startswith("n = 40 units, 280 unit-months")  # November's adoption → December
    finally:
        _db.session.execute(OutcomeMeasure.__table__.delete().where(
            OutcomeMeasure.period_start == dt.date(2026, 12, 1)))
        _db.session.commit()


def test_one_question_about_a_key_behaviour_keeps_every_key_behaviour(app, login_as, run_callback):
    behaviours = [f"key_behaviour:{b}" for b in current_initiative().key_behaviours]
    assert len(behaviours) >= 2
    app.extensions.pop(page.CACHE_KEY, None)  # this module's app is shared: start empty
    login_as("change_leader", unit="Acme/HQ")
    call(run_callback, f"{page.LINKAGE_FIGURE}.figure", x=behaviours[0])
    cache, _ = app.extensions[page.CACHE_KEY]
    kept = {key[2]: frame for key, (_stamp, frame) in cache.items()}
    assert set(kept) == {"behaviours", "outcomes"}  # one entry per family asked about
    assert set(kept["behaviours"]["metric"]) == set(behaviours)  # the sibling is already kept
    assert set(kept["outcomes"]["metric"]) == {CSAT, NPS, RETENTION}


def test_a_forged_metric_name_reads_nothing(login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, f"{page.LINKAGE_FIGURE}.figure", x="salary'; DROP TABLE users;--")
    assert payload[page.LINKAGE_N]["children"].startswith("n = 0 units, 0 unit-months. Not enough data")


def test_a_manager_cannot_open_the_page_or_run_its_callbacks(login_as, run_callback):
    login_as("manager", unit="Acme/North America/Field Sales Northeast")
    payload = call(run_callback, f"{page.LINKAGE_FIGURE}.figure")
    assert payload[page.LINKAGE_N]["children"] == page.NOT_ALLOWED
