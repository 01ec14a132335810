"""The Engagement page through Dash's real dispatch view, on prepared survey rounds.

Two weekly rounds of a pulse are answered through ``submit_response`` with known answers and
prepared with ``prepare_round_results``, so every figure below can be worked out by hand:

- North: 10 respondents (5 joined under a year ago, 5 long ago), South: 6, West: 6, all in both
  rounds; Tiny: 2 people invited who never answer (suppressed).
- Each person answers from a "mood" m (1–5): both engagement items m, eNPS 2m, awareness m,
  desire 3 (so the first barrier is awareness when m ≤ 3, else desire), "feedback leads to
  action" 6 − m (r = −1 with the engagement index) and "tools" a fixed pattern (r ≈ −0.21).
"""

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from adoption.models import OrgUnit
from adoption.scope import scope_for
from dashboards.pages import engagement as page
from surveys.actions import add_update, create_plan
from surveys.conversations import reply_as_author, reply_as_leader
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import Comment, CommentThread, SurveyRound
from surveys.results import prepare_round_results
from surveys.services import QuestionSpec, submit_response
from tests.dashboards.conftest import DISPATCH, texts
from tests.factories import make_employee
from tests.surveys.conftest import BUDGET, OPENS, bank, build_survey, leader  # noqa: F401

NORTH, SOUTH, TINY = "Acme/EMEA/North", "Acme/EMEA/South", "Acme/EMEA/Tiny"
WEST = "Acme/Americas/West"
MOODS = {
    1: {NORTH: [5, 5, 5, 5, 4, 4, 4, 3, 2, 1], SOUTH: [2, 2, 2, 3, 3, 4], WEST: [4, 4, 4, 4, 5, 5]},
    2: {NORTH: [5, 5, 5, 5, 4, 4, 4, 3, 2, 1], SOUTH: [4, 4, 4, 3, 3, 4], WEST: [4, 4, 4, 4, 5, 5]},
}
TOOLS = [3, 1, 4, 1, 5, 2, 3, 5, 4, 2]
LONG_AGO, LAST_YEAR = dt.date(2020, 1, 1), dt.date(2024, 6, 1)
QUESTIONS = [
    QuestionSpec(item_key="engagement.energy"),
    QuestionSpec(item_key="engagement.meaning"),
    QuestionSpec(item_key="enps.recommend"),
    QuestionSpec(item_key="readiness.awareness.why"),
    QuestionSpec(item_key="readiness.desire.personal"),
    QuestionSpec(item_key="feedback.action", allow_comment=True),
    QuestionSpec(item_key="enablement.tools"),
]


def index_of(moods):
    """The group's engagement index: the mean of each respondent's (m − 1) / 4 × 100."""
    return sum((m - 1) * 25 for m in moods) / len(moods)


def _answers(survey_round, mood, tools, comment=None):
    """One person's answers to the round, from their mood."""
    by_key = {rq.question.item_version.item.key: rq.id for rq in survey_round.questions}
    answers = {
        by_key["engagement.energy"]: {"value": mood},
        by_key["engagement.meaning"]: {"value": mood},
        by_key["enps.recommend"]: {"value": 2 * mood},
        by_key["readiness.awareness.why"]: {"value": mood},
        by_key["readiness.desire.personal"]: {"value": 3},
        by_key["feedback.action"]: {"value": 6 - mood},
        by_key["enablement.tools"]: {"value": tools},
    }
    if comment:
        answers[by_key["feedback.action"]]["comment"] = comment
    return answers


@pytest.fixture
def pulse(app, db, build_survey):  # noqa: F811
    """Two answered weekly rounds of a pulse to the whole company; prepared unless told not to."""

    def _pulse(prepare=True):
        people = {
            NORTH: [make_employee(NORTH, since=LAST_YEAR if i < 5 else LONG_AGO)
                    for i in range(10)],
            SOUTH: [make_employee(SOUTH, since=LONG_AGO) for _ in range(6)],
            WEST: [make_employee(WEST, since=LONG_AGO) for _ in range(6)],
        }
        for _ in range(2):
            make_employee(TINY, since=LONG_AGO)
        survey = build_survey(units=("Acme",), questions=QUESTIONS, recurrence="weekly",
                              through=OPENS + dt.timedelta(days=7))
        rounds = sorted(survey.rounds, key=lambda r: r.number)
        for number, survey_round in enumerate(rounds, start=1):
            for path, moods in MOODS[number].items():
                for i, (person, mood) in enumerate(zip(people[path], moods, strict=True)):
                    comment = f"North comment {i}" if number == 1 and path == NORTH and i < 5 \
                        else None
                    submit_response(person, survey_round,
                                    _answers(survey_round, mood, TOOLS[i], comment),
                                    survey_round.opens_on, BUDGET)
        if prepare:
            prepare_round_results(rounds[-1], app.config, OPENS + dt.timedelta(days=30))
        db.session.commit()
        units = {path: db.session.scalar(select(OrgUnit.id).where(OrgUnit.path == path))
                 for path in ("Acme", "Acme/EMEA", "Acme/Americas", NORTH, SOUTH, TINY, WEST)}
        return {"rounds": [r.id for r in rounds], "units": units, "people": people}

    return _pulse


@pytest.fixture
def prepared(pulse):
    """The pulse with both rounds prepared."""
    return pulse()


def call(run_callback, output, unit=None, tenure="all", round_id=None, **extra):
    """The response payload of the page callback producing ``output``."""
    values = {
        "engagement-round.value": round_id,
        "engagement-unit.value": unit,
        "engagement-tenure.value": tenure,
        **extra,
    }
    response = run_callback(output, values)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def download(run_callback, key, unit=None, tenure="all", round_id=None):
    """The CSV rows the download button of chart ``key`` delivers."""
    payload = call(run_callback, f"engagement-{key}-download.data", unit, tenure, round_id,
                   **{f"engagement-{key}-csv.n_clicks": 1})
    data = payload[f"engagement-{key}-download"]["data"]
    assert data["filename"] == f"engagement-{key}.csv"
    return list(csv.DictReader(io.StringIO(data["content"])))


def figure_of(payload, component):
    """The plotly figure a callback returned for ``component``."""
    return payload[component]["figure"]


# --- roles and layout -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "change_leader", "executive"])
def test_page_renders_for_each_role_with_results(prepared, login_as, run_callback, role):
    login_as(role, unit=NORTH if role == "manager" else "Acme/HQ")
    payload = call(run_callback, "dashboards-content.children",
                   **{"dashboards-location.pathname": "/dashboards/engagement"})
    content = json.dumps(payload["dashboards-content"]["children"])
    for component in (page.ROUND, page.UNIT, page.TENURE, page.KPIS, page.TREND_FIGURE,
                      page.HEATMAP_FIGURE, page.BARRIERS_FIGURE, page.DRIVERS_FIGURE,
                      page.CONVERSATIONS_TABLE, page.PLANS_FIGURE):
        assert f'"id": "{component}"' in content
    assert "Engagement" in texts(payload["dashboards-nav"]["children"])


def test_admin_has_no_engagement_page_and_its_callbacks_give_nothing(prepared, login_as,
                                                                     run_callback):
    login_as("admin")
    payload = call(run_callback, "dashboards-content.children",
                   **{"dashboards-location.pathname": "/dashboards/engagement"})
    assert "Not allowed" in texts(payload["dashboards-content"]["children"])
    assert "Engagement" not in texts(payload["dashboards-nav"]["children"])
    kpis = call(run_callback, "engagement-kpis-cards.children")
    assert kpis["engagement-kpis-n"]["children"] == page.NOT_ALLOWED
    assert run_callback("engagement-kpis-download.data",
                        {"engagement-kpis-csv.n_clicks": 1}).status_code == 204


def test_employee_is_refused_the_page_and_its_callbacks(prepared, login_as, client):
    login_as("employee", unit=NORTH)
    assert client.get("/dashboards/engagement").status_code == 403
    response = client.post(DISPATCH, json={
        "output": "engagement-kpis-download.data",
        "outputs": {"id": "engagement-kpis-download", "property": "data"},
        "inputs": [{"id": "engagement-kpis-csv", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "engagement-round", "property": "value", "value": None},
            {"id": "engagement-unit", "property": "value", "value": None},
            {"id": "engagement-tenure", "property": "value", "value": "all"},
        ],
        "changedPropIds": ["engagement-kpis-csv.n_clicks"],
    })
    assert response.status_code == 403
    assert "respondents" not in response.get_data(as_text=True)


def test_pickers_offer_prepared_rounds_newest_first_and_only_units_in_scope(
    prepared, login_as, run_callback
):
    login_as("manager", employee=prepared["people"][NORTH][9])
    payload = call(run_callback, "engagement-round.options")
    rounds = payload["engagement-round"]["options"]
    assert [o["value"] for o in rounds] == prepared["rounds"][::-1]
    assert rounds[0]["label"] == "CRM pulse · round 2 (2025-03-10 to 2025-03-16)"
    assert [o["label"] for o in payload["engagement-unit"]["options"]] == [NORTH]


# --- headline figures ---------------------------------------------------------------------------


def test_manager_sees_their_teams_headline_figures_with_n(prepared, login_as, run_callback):
    login_as("manager", employee=prepared["people"][NORTH][9])
    payload = call(run_callback, "engagement-kpis-cards.children")
    shown = texts(payload["engagement-kpis-cards"]["children"])
    # Index 70 = mean of (m − 1) × 25; eNPS: 4 promoters (m = 5), 3 detractors (m ≤ 3) of 10.
    assert index_of(MOODS[2][NORTH]) == 70
    assert shown == [
        "Response rate", "100%", "n = 10 respondents of 10 invited",
        "Engagement index", "70 / 100", "n = 10 respondents",
        "eNPS", "+10", "n = 10 respondents",
    ]
    assert payload["engagement-kpis-n"]["children"] == (
        f"CRM pulse · round 2 (2025-03-10 to 2025-03-16), {NORTH}: "
        "n = 10 respondents of 10 invited."
    )


def test_a_suppressed_group_shows_the_message_and_no_figure_in_cards_and_csv(
    prepared, login_as, run_callback
):
    login_as("change_leader", unit="Acme/HQ")
    tiny = prepared["units"][TINY]
    payload = call(run_callback, "engagement-kpis-cards.children", unit=tiny)
    assert texts(payload["engagement-kpis-cards"]["children"]) == [
        f"{TINY}: {SUPPRESSED_MESSAGE}."
    ]
    assert payload["engagement-kpis-n"]["children"].endswith(f"{TINY}: {SUPPRESSED_MESSAGE}.")
    rows = download(run_callback, "kpis", unit=tiny)
    assert len(rows) == 1
    assert rows[0]["message"] == SUPPRESSED_MESSAGE
    for column in ("invited", "n", "response_rate", "engagement_index", "enps"):
        assert rows[0][column] == "", column


def test_tenure_filter_narrows_the_group_and_suppresses_what_would_repeat_another(
    prepared, login_as, run_callback
):
    login_as("change_leader", unit="Acme/HQ")
    # The five who joined last year are all in North: the company-wide band is shown ...
    company = call(run_callback, "engagement-kpis-cards.children", unit=prepared["units"]["Acme"],
                   tenure="<1y")
    assert "n = 5 respondents" in company["engagement-kpis-n"]["children"]
    assert "under 1 year" in company["engagement-kpis-n"]["children"]
    # ... and North's own band, the very same five people, is not shown twice.
    north = call(run_callback, "engagement-kpis-cards.children", unit=prepared["units"][NORTH],
                 tenure="<1y")
    assert SUPPRESSED_MESSAGE in north["engagement-kpis-n"]["children"]
    assert "n = " not in json.dumps(north)


# --- charts -------------------------------------------------------------------------------------


def test_trend_has_a_point_per_round_with_n_and_its_csv_holds_the_same_values(
    prepared, login_as, run_callback
):
    login_as("change_leader", unit="Acme/HQ")
    south = prepared["units"][SOUTH]
    payload = call(run_callback, "engagement-trend-figure.figure", unit=south)
    lines = {t["name"]: t for t in figure_of(payload, page.TREND_FIGURE)["data"]}
    index = lines["Engagement index (0–100)"]
    assert index["x"] == ["#1 2025-03-03", "#2 2025-03-10"]
    assert index["y"] == pytest.approx([index_of(MOODS[1][SOUTH]), index_of(MOODS[2][SOUTH])])
    assert index["text"] == ["n=6", "n=6"]
    assert lines["feedback.action"]["visible"] == "legendonly"
    rows = download(run_callback, "trend", unit=south)
    csv_index = [r for r in rows if r["series"] == "engagement_index"]
    assert [float(r["value"]) for r in csv_index] == pytest.approx(index["y"])
    assert [r["n"] for r in csv_index] == ["6", "6"]


def test_trend_of_a_group_suppressed_in_every_round_is_blank_and_its_csv_says_why(
    prepared, login_as, run_callback
):
    login_as("change_leader", unit="Acme/HQ")
    tiny = prepared["units"][TINY]
    payload = call(run_callback, "engagement-trend-figure.figure", unit=tiny)
    figure = figure_of(payload, page.TREND_FIGURE)
    assert figure["data"] == []
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Not enough responses to show"]
    rows = download(run_callback, "trend", unit=tiny)
    assert [(r["series"], r["value"], r["n"], r["message"]) for r in rows] == [
        ("all", "", "", SUPPRESSED_MESSAGE)
    ] * 2


def test_heatmap_shows_child_units_by_item_and_leaves_suppressed_cells_blank(
    prepared, login_as, run_callback
):
    login_as("change_leader", unit="Acme/HQ")
    emea = prepared["units"]["Acme/EMEA"]
    payload = call(run_callback, "engagement-heatmap-figure.figure", unit=emea)
    heat = figure_of(payload, page.HEATMAP_FIGURE)["data"][0]
    assert heat["y"] == [f"{NORTH} (n = 10)", f"{SOUTH} (n = 6)",
                         f"{TINY} — {SUPPRESSED_MESSAGE}"]
    assert heat["x"][:2] == ["engagement.energy", "engagement.meaning"]
    # North round 2: 7 of 10 answered 4 or 5; South: 4 of 6.
    assert heat["z"][0][0] == 70.0 and heat["text"][0][0] == "70%"
    assert heat["z"][1][0] == pytest.approx(400 / 6)
    assert heat["z"][2] == [None] * len(heat["x"])
    assert heat["text"][2] == [""] * len(heat["x"])
    assert heat["customdata"][2] == [SUPPRESSED_MESSAGE] * len(heat["x"])
    assert "3 unit(s) directly below" in payload[page.HEATMAP_N]["children"]

    rows = download(run_callback, "heatmap", unit=emea)
    assert [float(r["favourable_pct"]) for r in rows if r["unit"] == NORTH] == heat["z"][0]
    tiny = [r for r in rows if r["unit"] == TINY]
    assert tiny and all(r["message"] == SUPPRESSED_MESSAGE for r in tiny)
    assert all(r["favourable_pct"] == r["n"] == r["item_n"] == "" for r in tiny)


def test_barriers_count_respondents_at_their_first_barrier(prepared, login_as, run_callback):
    login_as("manager", employee=prepared["people"][NORTH][9])
    payload = call(run_callback, "engagement-barriers-figure.figure")
    bars = figure_of(payload, page.BARRIERS_FIGURE)["data"][0]
    assert bars["x"] == ["Awareness", "Desire", "Knowledge", "Ability", "Reinforcement",
                         "No barrier"]
    assert bars["y"] == [3, 7, 0, 0, 0, 0]
    assert bars["text"][:2] == ["3 (30%)", "7 (70%)"]
    assert payload[page.BARRIERS_N]["children"].startswith("n = 10 respondents")
    rows = download(run_callback, "barriers")
    assert [int(r["respondents"]) for r in rows] == bars["y"]


def test_drivers_show_r_with_interval_n_and_mark_the_non_significant(
    prepared, login_as, run_callback
):
    login_as("manager", employee=prepared["people"][NORTH][9])
    payload = call(run_callback, "engagement-drivers-figure.figure")
    traces = {t.get("name"): t for t in figure_of(payload, page.DRIVERS_FIGURE)["data"]}
    significant = traces["Significant (95% CI excludes 0)"]
    assert significant["x"] == pytest.approx([1.0, 1.0, -1.0])
    assert "feedback.action (n = 10)" in significant["y"]
    quiet = traces["Not significant"]
    assert quiet["y"] == ["enablement.tools (n = 10)"]
    assert quiet["x"][0] == pytest.approx(-0.2132, abs=1e-3)
    assert quiet["text"] == ["r = -0.21 (not significant)"]
    assert quiet["error_x"]["array"][0] > 0 and quiet["error_x"]["arrayminus"][0] > 0
    rows = download(run_callback, "drivers")
    tools = next(r for r in rows if r["item_key"] == "enablement.tools")
    assert (tools["n"], tools["significant"]) == ("10", "False")
    assert float(tools["ci_low"]) < 0 < float(tools["ci_high"])
    # Constant answers (desire) have no r: listed, no point.
    desire = next(r for r in rows if r["item_key"] == "readiness.desire.personal")
    assert desire["r"] == ""


def test_drivers_of_a_suppressed_group_say_so_and_draw_nothing(prepared, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "engagement-drivers-figure.figure",
                   unit=prepared["units"][NORTH], tenure="<1y")
    assert figure_of(payload, page.DRIVERS_FIGURE)["data"] == []
    assert SUPPRESSED_MESSAGE in payload[page.DRIVERS_N]["children"]
    rows = download(run_callback, "drivers", unit=prepared["units"][NORTH], tenure="<1y")
    assert [(r["r"], r["n"], r["message"]) for r in rows] == [("", "", SUPPRESSED_MESSAGE)]


def test_conversations_count_the_threads_awaiting_a_reply(prepared, db, login_as, run_callback):
    chloe = login_as("change_leader", unit="Acme/HQ")
    comment = db.session.scalars(select(Comment).where(Comment.body == "North comment 0")).one()
    thread = reply_as_leader(chloe, scope_for(chloe), comment.id, "Thank you, we are on it.",
                             dt.datetime(2025, 4, 2, 10, 0), today=dt.date(2025, 4, 2))
    db.session.commit()
    payload = call(run_callback, "engagement-conversations-table.children",
                   unit=prepared["units"][NORTH])
    assert payload[page.CONVERSATIONS_N]["children"] == (
        f"n = 5 comments shown to leaders in {NORTH}; 0 conversation(s) awaiting a reply."
    )
    reply_as_author(prepared["people"][NORTH][0], thread.id, "When?", dt.date(2025, 4, 3))
    db.session.commit()
    payload = call(run_callback, "engagement-conversations-table.children",
                   unit=prepared["units"][NORTH])
    cells = texts(payload[page.CONVERSATIONS_TABLE]["children"])
    assert cells[-6:] == [NORTH, "5", "1", "1", "0", cells[-1]]
    rows = download(run_callback, "conversations", unit=prepared["units"][NORTH])
    assert [(r["comments"], r["threads"], r["awaiting_reply"]) for r in rows] == [("5", "1", "1")]
    assert db.session.scalar(select(CommentThread.awaiting_leader)) is True


def test_action_plans_of_the_unit_are_counted_by_status(prepared, db, login_as, run_callback):
    boss = prepared["people"][NORTH][9]
    user = login_as("manager", employee=boss)
    today = dt.date(2025, 4, 1)
    for title in ("Fewer mandatory fields", "Pipeline clinic", "Weekly CRM tips"):
        plan = create_plan(scope_for(user), user, unit_id=prepared["units"][NORTH],
                           round_id=prepared["rounds"][1], title=title, description="",
                           owner_id=user.id, due_on=dt.date(2025, 6, 30), today=today)
    add_update(user, scope_for(user), plan, "Started.", status="in_progress")
    db.session.commit()
    payload = call(run_callback, "engagement-plans-figure.figure")
    bars = figure_of(payload, page.PLANS_FIGURE)["data"][0]
    assert bars["x"] == ["Planned", "In progress", "Done", "Dropped"]
    assert bars["y"] == [2, 1, 0, 0]
    assert bars["text"] == ["n = 2", "n = 1", "n = 0", "n = 0"]
    assert payload[page.PLANS_N]["children"].startswith("n = 3 action plans")
    rows = download(run_callback, "plans")
    assert [(r["status"], r["plans"]) for r in rows] == [
        ("planned", "2"), ("in_progress", "1"), ("done", "0"), ("dropped", "0")
    ]


def test_executives_get_no_conversation_figures(prepared, login_as, run_callback):
    login_as("executive", unit="Acme/HQ")
    payload = call(run_callback, "engagement-conversations-table.children")
    assert payload[page.CONVERSATIONS_N]["children"] == page.COMMENTS_FOR_LEADERS
    assert run_callback("engagement-conversations-download.data", {
        "engagement-conversations-csv.n_clicks": 1, "engagement-tenure.value": "all",
    }).status_code == 204


# --- the data layer is the protection -------------------------------------------------------------

DISPLAY_OUTPUTS = (
    "engagement-kpis-cards.children",
    "engagement-trend-figure.figure",
    "engagement-heatmap-figure.figure",
    "engagement-barriers-figure.figure",
    "engagement-drivers-figure.figure",
    "engagement-conversations-table.children",
    "engagement-plans-figure.figure",
)


def test_manager_posting_another_units_id_gets_no_data(prepared, login_as, run_callback):
    login_as("manager", employee=prepared["people"][NORTH][9])
    units = prepared["units"]
    for forged in (units[WEST], units[SOUTH], units["Acme"], units["Acme/EMEA"], 999_999, -1):
        for output in DISPLAY_OUTPUTS:
            payload = call(run_callback, output, unit=forged)
            body = json.dumps(payload)
            assert page.OUT_OF_SCOPE in body, (forged, output)
            assert "respondents" not in body and "n = " not in body, (forged, output)
            assert "South" not in body and "West" not in body, (forged, output)
        for key in page.CHARTS:
            response = run_callback(f"engagement-{key}-download.data", {
                f"engagement-{key}-csv.n_clicks": 1, "engagement-unit.value": forged,
                "engagement-tenure.value": "all",
            })
            assert response.status_code == 204, (forged, key)


def test_a_forged_round_or_tenure_gives_nothing_or_the_whole_group(prepared, login_as,
                                                                    run_callback):
    login_as("manager", employee=prepared["people"][NORTH][9])
    payload = call(run_callback, "engagement-kpis-cards.children", round_id=987_654)
    assert payload["engagement-kpis-n"]["children"] == page.UNKNOWN_ROUND
    # An unknown band is read as "all tenures", never passed on.
    payload = call(run_callback, "engagement-kpis-cards.children", tenure="'; drop")
    assert "n = 10 respondents of 10 invited" in payload["engagement-kpis-n"]["children"]


# --- the refresh boundary -------------------------------------------------------------------------


def test_closed_rounds_are_prepared_and_committed_before_the_first_callback(
    pulse, db, login_as, run_callback
):
    made = pulse(prepare=False)
    login_as("change_leader", unit="Acme/HQ")
    before = call(run_callback, "engagement-round.options")
    # The pickers' own request prepared the rounds: both are offered.
    assert [o["value"] for o in before["engagement-round"]["options"]] == made["rounds"][::-1]
    db.session.remove()
    ready = db.session.scalars(select(SurveyRound.results_ready_at)).all()
    assert len(ready) == 2 and all(r is not None for r in ready)
    payload = call(run_callback, "engagement-kpis-cards.children",
                   unit=made["units"][NORTH])
    assert "n = 10 respondents of 10 invited" in payload["engagement-kpis-n"]["children"]


def test_without_any_prepared_round_the_page_says_when_results_appear(db, login_as,
                                                                      run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "engagement-heatmap-figure.figure")
    assert payload[page.HEATMAP_N]["children"] == page.NO_ROUNDS
    assert run_callback("engagement-heatmap-download.data", {
        "engagement-heatmap-csv.n_clicks": 1}).status_code == 204

