"""The attack suite: try to learn one person's answers in a team of six, through every route.

The victim, X, is one of six people in "Six": the other five sit in its child unit "Six/Pod", have
been with the company for years, and answer 5 everywhere; X joined last year, answers 1, and writes
a comment. In the second round everyone answers again except X. An attacker with the widest view
(a change leader: every unit) collects everything the results API, the Engagement dashboard's
callbacks and CSV downloads, and the comment pages give for every unit × tenure band × round, then
combines it: child units against parents, tenure bands against the whole, sums and differences
of up to three groups, and the same group across rounds. The attack succeeds if any combination
covers fewer than k people (then their answers follow by subtraction). It must fail, and X's
answer (1) must never be derivable.
"""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from adoption.models import OrgUnit
from adoption.scope import ScopeError, scope_for
from surveys.conversations import comments_for_group
from surveys.models import Comment
from surveys.results import prepare_round_results
from surveys.services import QuestionSpec, submit_response, tenure_band
from tests.dashboards.test_engagement_page import call, download
from tests.factories import make_employee
from tests.surveys.conftest import BUDGET, OPENS, bank, build_survey, leader  # noqa: F401

K = 5
SIX, POD = "Acme/EMEA/Six", "Acme/EMEA/Six/Pod"
NORTH, SOUTH, WEST = "Acme/EMEA/North", "Acme/EMEA/South", "Acme/Americas/West"
PATHS = ("Acme", "Acme/EMEA", "Acme/Americas", SIX, POD, NORTH, SOUTH, WEST)
BANDS = ("all", "<1y", "1-3y", "3y+")
LONG_AGO, TWO_YEARS_AGO, LAST_YEAR = dt.date(2020, 1, 1), dt.date(2023, 1, 1), dt.date(2024, 9, 1)
QUESTIONS = [
    QuestionSpec(item_key="engagement.energy", allow_comment=True),
    QuestionSpec(item_key="engagement.meaning"),
    QuestionSpec(item_key="enps.recommend"),
]


@pytest.fixture
def target(app, db, build_survey, login_as):  # noqa: F811
    """Two prepared rounds; returns the truth the attacker does not have: who answered where."""
    people = {
        "X": (make_employee(SIX, since=LAST_YEAR), SIX),
        **{f"pod{i}": (make_employee(POD, since=LONG_AGO), POD) for i in range(5)},
        **{f"north{i}": (make_employee(NORTH, since=TWO_YEARS_AGO if i < 4 else LONG_AGO), NORTH)
           for i in range(8)},
        **{f"south{i}": (make_employee(SOUTH, since=LONG_AGO), SOUTH) for i in range(7)},
        **{f"west{i}": (make_employee(WEST, since=LONG_AGO), WEST) for i in range(6)},
    }
    survey = build_survey(units=("Acme",), questions=QUESTIONS, recurrence="weekly",
                          through=OPENS + dt.timedelta(days=7))
    rounds = sorted(survey.rounds, key=lambda r: r.number)
    answered: dict[int, set[str]] = {}
    for survey_round in rounds:
        answered[survey_round.id] = set()
        ids = [rq.id for rq in survey_round.questions]
        for name, (person, _path) in people.items():
            if name == "X" and survey_round.number == 2:
                continue  # X skips the second round: comparing rounds would give X away
            value = 1 if name == "X" else 5
            answers = {ids[0]: {"value": value}, ids[1]: {"value": value}, ids[2]: {"value": 2 * value}}
            if name == "X" and survey_round.number == 1:
                answers[ids[0]]["comment"] = "Only X could have written this."
            submit_response(person, survey_round, answers, survey_round.opens_on, BUDGET)
            answered[survey_round.id].add(name)
    prepare_round_results(rounds[-1], app.config, OPENS + dt.timedelta(days=30))
    db.session.commit()
    units = {p: db.session.scalar(select(OrgUnit.id).where(OrgUnit.path == p)) for p in PATHS}
    bands = {name: tenure_band(person.start_date, OPENS) for name, (person, _) in people.items()}
    login_as("change_leader", unit="Acme/HQ")
    return {"rounds": [r.id for r in rounds], "units": units, "people": people,
            "answered": answered, "bands": bands}


def members(target, round_id: int, path: str, band: str) -> frozenset[str]:
    """Ground truth: who answered in round ``round_id`` in the subtree of ``path`` and the band."""
    return frozenset(
        name for name in target["answered"][round_id]
        if (target["people"][name][1] + "/").startswith(path + "/")
        and (band == "all" or target["bands"][name] == band)
    )


def isolating_combinations(target, shown: dict[tuple[int, str, str], float]) -> list:
    """Sums and differences of up to three shown groups of one round covering 1..k-1 people."""
    found = []
    for round_id in target["rounds"]:
        groups = [(path, band) for (r, path, band) in shown if r == round_id]
        sets = {g: members(target, round_id, *g) for g in groups}
        everyone = frozenset().union(*sets.values()) if sets else frozenset()
        for size in (1, 2, 3):
            for combo in itertools.combinations(groups, size):
                for signs in itertools.product((1, -1), repeat=size):
                    weight = {p: sum(s for g, s in zip(combo, signs, strict=True) if p in sets[g])
                              for p in everyone}
                    if all(w in (0, 1) for w in weight.values()):
                        covered = [p for p, w in weight.items() if w == 1]
                        if 0 < len(covered) < K:
                            found.append((round_id, combo, signs, covered))
    return found


def across_rounds(target, shown: dict[tuple[int, str, str], float]) -> list:
    """The same group shown in both rounds with respondent sets differing by 1..k-1 people."""
    first, second = target["rounds"]
    found = []
    for (r, path, band) in shown:
        if r == first and (second, path, band) in shown:
            diff = members(target, first, path, band) ^ members(target, second, path, band)
            if 0 < len(diff) < K:
                found.append((path, band, sorted(diff)))
    return found


def harvest_api(client, target) -> dict[tuple[int, str, str], float]:
    """Everything the results API shows: group → mean energy (only shown groups)."""
    shown = {}
    for round_id in target["rounds"]:
        for path in PATHS:
            for band in BANDS:
                query = {"unit": path} if band == "all" else {"unit": path, "tenure": band}
                body = client.get(f"/api/v1/surveys/rounds/{round_id}/results", query_string=query).get_json()
                if body["suppressed"]:
                    assert body["n"] is None and body["engagement_index"] is None and not body["items"]
                    continue
                assert body["n"] == len(members(target, round_id, path, band))
                shown[(round_id, path, band)] = body["items"]["engagement.energy"]["mean"]
    return shown


def test_the_results_api_gives_away_no_group_smaller_than_k(client, target):
    shown = harvest_api(client, target)
    assert shown, "the attacker sees something: the test is not vacuous"
    assert isolating_combinations(target, shown) == []
    assert across_rounds(target, shown) == []


def test_the_direct_attacks_on_the_team_of_six_are_each_refused(client, target):
    shown = harvest_api(client, target)
    first, second = target["rounds"]
    # The team (6) minus its pod (5) = X.
    assert not ((first, SIX, "all") in shown and (first, POD, "all") in shown)
    # The team (6) minus the team's long-timers (5) = X.
    assert not ((first, SIX, "all") in shown and (first, SIX, "3y+") in shown)
    # The team in round 1 (6) against round 2 (5 — X skipped it).
    assert not ((first, SIX, "all") in shown and (second, SIX, "all") in shown)
    # EMEA minus its 1-3y and 3y+ bands = the only person under a year: X.
    assert not all((first, "Acme/EMEA", b) in shown for b in ("all", "1-3y", "3y+"))


def test_no_combination_of_api_figures_reveals_the_victims_answer(client, target):
    shown = harvest_api(client, target)
    # Rebuild sums (mean × n) and try every difference of two groups holding X against one without.
    for (r, path, band), mean in shown.items():
        group = members(target, r, path, band)
        for (r2, path2, band2), mean2 in shown.items():
            other = members(target, r2, path2, band2)
            if "X" in group and "X" not in other and other < group:
                rest = len(group) - len(other)
                derived = (mean * len(group) - mean2 * len(other)) / rest
                assert rest >= K and derived != pytest.approx(1.0), (path, band, path2, band2)


def harvest_dashboard(run_callback, target) -> dict[tuple[int, str, str], float]:
    """Everything the KPI cards' CSV and the heatmap's CSV give: group → engagement index."""
    shown = {}
    paths = {unit_id: path for path, unit_id in target["units"].items()}
    for round_id in target["rounds"]:
        for path in PATHS:
            for band in BANDS:
                rows = download(run_callback, "kpis", unit=target["units"][path], tenure=band, round_id=round_id)
                for row in rows:
                    if row["n"] != "":
                        assert int(row["n"]) == len(members(target, round_id, path, band))
                        shown[(round_id, path, band)] = float(row["engagement_index"])
                heat = download(run_callback, "heatmap", unit=target["units"][path], tenure=band,
                                round_id=round_id)
                for row in heat:
                    child = row["unit"]
                    assert child in paths.values()
                    if row["n"] != "":
                        assert float(row["n"]) == len(members(target, round_id, child, band))
                        shown[(round_id, child, band)] = float(row["favourable_pct"] or 0)
    return shown


def test_the_dashboard_callbacks_and_csv_exports_give_away_no_group_smaller_than_k(run_callback, target):
    shown = harvest_dashboard(run_callback, target)
    assert shown
    assert isolating_combinations(target, shown) == []
    assert across_rounds(target, shown) == []


def test_the_dashboard_kpi_cards_of_the_pod_and_the_team_are_never_both_shown(run_callback, target):
    first = target["rounds"][0]
    cards = {}
    for path in (SIX, POD):
        payload = call(run_callback, "engagement-kpis-cards.children", unit=target["units"][path],
                       round_id=first)
        cards[path] = "not enough responses to show" not in str(payload)
    assert not all(cards.values())


def test_the_victims_comment_is_listed_only_for_groups_of_at_least_k(db, target, leader):  # noqa: F811
    scope = scope_for(leader)  # a change leader: every unit
    first = target["rounds"][0]
    listings = {}
    for path in PATHS:
        try:
            listings[path] = {c.body for c in comments_for_group(scope, first, target["units"][path])}
        except ScopeError:
            listings[path] = set()
    secret = "Only X could have written this."
    listed = {path for path, bodies in listings.items() if bodies}
    assert listed, "comments are listed somewhere: the test is not vacuous"
    for path in listed:
        assert len(members(target, first, path, "all")) >= K, path
        # No other listed group may leave fewer than k people between the two.
        for other in listed - {path}:
            if (other + "/").startswith(path + "/"):
                outside = members(target, first, path, "all") - members(target, first, other, "all")
                assert not outside or len(outside) >= K, (path, other)
    assert SIX not in listed or POD not in listed
    # Where X's comment is listed, at least k people could have written it.
    for path in listed:
        if secret in listings[path]:
            assert len(members(target, first, path, "all")) >= K
    comment = db.session.scalars(select(Comment).where(Comment.body == secret)).one()
    assert comment.group_unit_id != target["units"][POD]  # never the pod: six minus pod is X
