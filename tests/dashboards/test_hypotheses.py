"""The hypotheses register's service (dashboards/hypotheses.py) on a hand-built organization
whose verdicts are known: teams Acme/North/Team 01.. with NPS over five months and a CSAT a month
later that follows it closely (r = 0.95 [0.84, 0.99] over 12 teams), so "NPS goes with CSAT a
month later" is supported with 12 teams, contradicted when expected the other way, and
inconclusive below 10 teams (the evidence service refuses) or at lag 0 (no relation).
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select

from adoption import jobs
from adoption.models import Hypothesis, HypothesisEvaluation, OutcomeMeasure
from adoption.scope import ScopeError, scope_for
from adoption.timekeeping import org_today
from adoption.tokens import issue_token
from dashboards import hypotheses
from dashboards.hypotheses import (
    HypothesisError,
    archive_hypothesis,
    create_hypothesis,
    evaluate,
    evaluate_all,
    reevaluate,
    register_entries,
    register_entry,
    update_hypothesis,
)
from dashboards.jobs import evaluate_hypotheses
from tests.factories import make_employee, make_unit, make_user

TODAY = dt.date(2025, 7, 20)
STAMP = dt.datetime(2025, 7, 1)
STATEMENT = "Teams whose customers recommend us more report a higher CSAT a month later"


def team(i: int) -> str:
    """The path of team ``i``."""
    return f"Acme/North/Team {i:02d}"


def month(today: dt.date, offset: int) -> dt.date:
    """The first day of the month ``offset`` months from ``today``'s."""
    index = today.year * 12 + today.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(start: dt.date) -> dt.date:
    """The last day of ``start``'s month."""
    return month(start, 1) - dt.timedelta(days=1)


def nps(i: int, start: dt.date) -> float:
    """Team ``i``'s NPS in the month of ``start``: spread across teams, different every month."""
    return float((i * 7 + start.month * 3) % 13 * 5 - 20)


def csat(i: int, start: dt.date) -> float:
    """Team ``i``'s CSAT in the month of ``start``: its NPS of the month before, halved, plus a
    little noise (r = 0.95 [0.84, 0.99] over 12 teams)."""
    return 60 + nps(i, month(start, -1)) / 2 + ((i * 5 + start.month * 11) % 7 - 3) * 1.5


def data(teams, today: dt.date = TODAY, months: int = 5) -> list[tuple[str, dt.date, str, float]]:
    """(team, month, metric, value): NPS in the ``months`` months ending two months before
    ``today``'s, CSAT in the month after each."""
    firsts = [month(today, offset) for offset in range(-months - 1, -1)]
    return [row for i in teams for start in firsts
            for row in ((team(i), start, "nps", nps(i, start)),
                        (team(i), month(start, 1), "csat", csat(i, month(start, 1))))]


def add_outcome(db, path: str, start: dt.date, metric: str, value: float) -> None:
    """One monthly outcome row, as an import stores it."""
    db.session.add(OutcomeMeasure(unit_id=make_unit(path).id, metric=metric, period_start=start,
                                  period_end=month_end(start), value=value, responses=None, source="file",
                                  content_hash="0" * 64, created_at=STAMP, updated_at=STAMP))


def add_teams(db, teams, today: dt.date = TODAY) -> None:
    """``data(teams, today)`` stored."""
    for path, start, metric, value in data(teams, today):
        add_outcome(db, path, start, metric, value)
    db.session.flush()


def outcomes_csv(teams, today: dt.date) -> str:
    """``data(teams, today)`` as a file for ``flask import-outcomes`` (the teams are created)."""
    for i in teams:
        make_unit(team(i))
    lines = ["unit,period_start,period_end,metric,value,responses"]
    lines += [f"{path},{start},{month_end(start)},{metric},{value}," for path, start, metric, value in data(teams, today)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def _no_leftover_jobs():
    """A test's in-process jobs end before its database goes away."""
    yield
    assert jobs.wait_for_local_jobs(timeout=60)


@pytest.fixture
def leader(db):
    """A change leader, the usual author and owner."""
    return make_user("change_leader", make_employee("Acme/North/Team 01", full_name="Chris Leader"))


@pytest.fixture
def twelve_teams(db):
    """Twelve teams whose CSAT follows their NPS a month later."""
    add_teams(db, range(1, 13))


def record(leader, **overrides) -> Hypothesis:
    """A hypothesis "NPS goes with CSAT a month later, positively, by at least 0.3"."""
    arguments = {"statement": STATEMENT, "x": "nps", "y": "csat", "expected_direction": 1, "lag": 1,
                 "smallest_effect": 0.3, "owner": leader, "created_by": leader, "today": TODAY}
    arguments.update(overrides)
    return create_hypothesis(**arguments)


def rows(db, hypothesis: Hypothesis) -> list[HypothesisEvaluation]:
    """Its history rows, oldest first."""
    return list(db.session.scalars(select(HypothesisEvaluation)
                                   .where(HypothesisEvaluation.hypothesis_id == hypothesis.id)
                                   .order_by(HypothesisEvaluation.id)))


# --- verdicts ----------------------------------------------------------------------------------


def test_a_relation_that_holds_across_teams_is_supported_with_its_interval_and_n(db, leader, twelve_teams):
    hypothesis = record(leader)
    assert hypothesis.verdict == "supported"
    assert hypothesis.decider is None
    (row,) = rows(db, hypothesis)
    assert (row.verdict, row.trigger, row.n_units, row.n_observations) == ("supported", "created", 12, 60)
    assert (round(row.r, 2), round(row.r_low, 2), round(row.r_high, 2)) == (0.95, 0.84, 0.99)
    assert (row.window_start, row.window_end) == (dt.date(2023, 8, 1), TODAY)
    assert hypothesis.evidence["verdict"] == "supported" and hypothesis.evidence["n_units"] == 12


def test_the_same_relation_expected_the_other_way_is_contradicted(db, leader, twelve_teams):
    hypothesis = record(leader, expected_direction=-1)
    assert hypothesis.verdict == "contradicted"


def test_below_ten_teams_it_is_inconclusive_and_says_how_many_more_would_decide_it(db, leader):
    add_teams(db, range(1, 8))
    hypothesis = record(leader)
    assert hypothesis.verdict == "inconclusive"
    assert hypothesis.decider == "At least 10 units with paired data are needed; there are 7 (3 more)."
    (row,) = rows(db, hypothesis)
    assert (row.n_units, row.r, row.r_low) == (7, None, None)


def test_a_relation_the_data_cannot_decide_is_inconclusive_with_how_many_more_units_would(db, leader,
                                                                                          twelve_teams):
    hypothesis = record(leader, lag=0)  # NPS and CSAT of the same month: no relation here
    assert hypothesis.verdict == "inconclusive"
    assert hypothesis.decider.startswith("About 16 more units (28 in all) would decide it if the correlation "
                                         "stayed at -0.09")


def test_more_teams_turn_the_verdict_and_the_history_tells_it(db, leader):
    add_teams(db, range(1, 8))
    hypothesis = record(leader)
    add_teams(db, range(8, 13))
    assert evaluate(hypothesis, TODAY, trigger="import") is not None
    story = [(r.verdict, r.trigger, r.n_units) for r in rows(db, hypothesis)]
    assert story == [("inconclusive", "created", 7), ("supported", "import", 12)]
    assert hypothesis.verdict == "supported" and hypothesis.decider is None


def test_a_metric_that_no_longer_exists_makes_it_inconclusive_saying_why(db, leader, twelve_teams):
    hypothesis = record(leader)
    db.session.execute(OutcomeMeasure.__table__.delete().where(OutcomeMeasure.metric == "nps"))
    evaluate(hypothesis, TODAY)
    assert hypothesis.verdict == "inconclusive"
    assert hypothesis.decider.startswith("Unknown metric 'nps'. Known metrics:")
    assert rows(db, hypothesis)[-1].evidence is None


# --- history -----------------------------------------------------------------------------------


def test_an_unchanged_recheck_adds_no_history_row_and_only_moves_checked_at(db, leader, twelve_teams):
    hypothesis = record(leader)
    evaluated_at = hypothesis.evaluated_at
    first_check = hypothesis.checked_at
    assert evaluate(hypothesis, TODAY, trigger="schedule") is None
    assert evaluate(hypothesis, TODAY, trigger="manual") is None
    db.session.refresh(hypothesis)
    assert len(rows(db, hypothesis)) == 1
    assert hypothesis.evaluated_at == evaluated_at
    assert hypothesis.checked_at >= first_check


def test_new_months_that_change_the_figures_add_a_row_even_when_the_verdict_stays(db, leader, twelve_teams):
    hypothesis = record(leader)
    june, july = dt.date(2025, 6, 1), dt.date(2025, 7, 1)
    for i in range(1, 13):
        add_outcome(db, team(i), june, "nps", nps(i, june))
        add_outcome(db, team(i), july, "csat", csat(i, july))
    row = evaluate(hypothesis, TODAY, trigger="schedule")
    assert (row.verdict, row.n_observations, row.trigger) == ("supported", 72, "schedule")


def test_editing_the_question_re_evaluates_and_records_edited(db, leader, twelve_teams):
    hypothesis = record(leader)
    update_hypothesis(hypothesis, leader, expected_direction=-1, today=TODAY)
    story = [(r.verdict, r.trigger, r.expected_direction) for r in rows(db, hypothesis)]
    assert story == [("supported", "created", 1), ("contradicted", "edited", -1)]
    assert hypothesis.verdict == "contradicted"


def test_editing_an_unchanged_question_again_still_records_the_edit(db, leader, twelve_teams):
    hypothesis = record(leader)
    update_hypothesis(hypothesis, leader, lag=2, today=TODAY)
    update_hypothesis(hypothesis, leader, lag=1, today=TODAY)
    assert [(r.trigger, r.lag) for r in rows(db, hypothesis)] == [("created", 1), ("edited", 2), ("edited", 1)]


def test_editing_only_the_statement_or_the_owner_adds_no_history_row(db, leader, twelve_teams):
    hypothesis = record(leader)
    sponsor = make_user("executive", make_employee("Acme/North", is_executive=True))
    update_hypothesis(hypothesis, leader, statement="NPS leads CSAT", owner=sponsor, today=TODAY)
    assert (hypothesis.statement, hypothesis.owner) == ("NPS leads CSAT", sponsor)
    assert len(rows(db, hypothesis)) == 1


@pytest.mark.usefixtures("_no_leftover_jobs")
def test_two_evaluations_at_once_add_one_history_row(app, db, leader, monkeypatch):
    today = real_today(app)  # the job evaluates as of the organization's today
    add_teams(db, range(1, 8), today)
    hypothesis = record(leader, today=today)
    add_teams(db, range(8, 13), today)
    db.session.commit()
    # Both runs read the evidence before either records it: without the lock both would add a row.
    both_read = threading.Barrier(2, timeout=30)
    real_assess = hypotheses._assess

    def assess_then_wait(*args):
        figures = real_assess(*args)
        both_read.wait()
        return figures

    monkeypatch.setattr(hypotheses, "_assess", assess_then_wait)
    jobs.enqueue(evaluate_hypotheses, "import")
    jobs.enqueue(evaluate_hypotheses, "import")
    assert jobs.wait_for_local_jobs(timeout=60)
    db.session.rollback()
    assert [(r.verdict, r.trigger) for r in rows(db, hypothesis)] == [
        ("inconclusive", "created"), ("supported", "import")]


def test_evaluate_all_checks_every_hypothesis_on_the_register_but_not_the_archived(db, leader, twelve_teams):
    kept, archived = record(leader), record(leader, statement="Archived one")
    archive_hypothesis(archived, leader)
    checks = evaluate_all(TODAY, trigger="schedule")
    assert [(c.hypothesis.id, c.changed) for c in checks] == [(kept.id, False)]


# --- validation --------------------------------------------------------------------------------


def test_an_unknown_metric_is_refused_naming_the_known_ones(db, leader, twelve_teams):
    with pytest.raises(HypothesisError) as refused:
        record(leader, y="happiness")
    assert refused.value.errors["y"].startswith("Unknown metric 'happiness'. Known metrics: adoption_rate,")
    assert "csat" in refused.value.errors["y"]


@pytest.mark.parametrize(("field", "value"), [("lag", 13), ("lag", -13), ("smallest_effect", 1.0),
                                                ("smallest_effect", -0.1), ("expected_direction", 0)])
def test_lags_beyond_a_year_effects_outside_0_1_and_no_direction_are_refused(db, leader, twelve_teams,
                                                                             field, value):
    with pytest.raises(HypothesisError) as refused:
        record(leader, **{field: value})
    assert list(refused.value.errors) == [field]
    assert db.session.scalar(select(func.count()).select_from(Hypothesis)) == 0


def test_the_same_metric_twice_and_an_employee_owner_are_refused(db, leader, twelve_teams):
    employee = make_user("employee", make_employee("Acme/North/Team 02"))
    with pytest.raises(HypothesisError) as refused:
        record(leader, y="nps", owner=employee)
    assert refused.value.errors["y"] == "x and y are the same metric; pick two different ones."
    assert set(refused.value.errors) == {"y", "owner"}


# --- access ------------------------------------------------------------------------------------


def test_an_executive_reads_the_register_but_cannot_change_it(db, leader, twelve_teams):
    hypothesis = record(leader)
    executive = make_user("executive", make_employee("Acme/North", is_executive=True))
    assert [e.id for e in register_entries(scope_for(executive))] == [hypothesis.id]
    with pytest.raises(ScopeError):
        record(leader, created_by=executive)
    with pytest.raises(ScopeError):
        update_hypothesis(hypothesis, executive, lag=2, today=TODAY)
    with pytest.raises(ScopeError):
        archive_hypothesis(hypothesis, executive)
    with pytest.raises(ScopeError):
        reevaluate(hypothesis, executive, today=TODAY)
    assert len(rows(db, hypothesis)) == 1 and hypothesis.archived_at is None


@pytest.mark.parametrize("role", ["manager", "employee"])
def test_managers_and_employees_cannot_read_the_register(db, leader, twelve_teams, role):
    hypothesis = record(leader)
    user = make_user(role, make_employee("Acme/North/Team 01"))
    with pytest.raises(ScopeError):
        register_entries(scope_for(user))
    with pytest.raises(ScopeError):
        register_entry(scope_for(user), hypothesis.id)


def test_an_admin_manages_the_register(db, leader, twelve_teams):
    admin = make_user("admin")
    hypothesis = record(leader, created_by=admin)
    assert reevaluate(hypothesis, admin, today=TODAY).changed is False
    archive_hypothesis(hypothesis, admin)
    assert register_entries(scope_for(admin)) == []


def test_the_system_may_record_without_a_user(db, leader, twelve_teams):
    hypothesis = record(leader, created_by=None)
    assert hypothesis.created_by is None and hypothesis.verdict == "supported"


# --- reading -----------------------------------------------------------------------------------


def test_a_register_entry_carries_labels_owner_figures_and_history_newest_first(db, leader, twelve_teams):
    hypothesis = record(leader)
    update_hypothesis(hypothesis, leader, expected_direction=-1, today=TODAY)
    (entry,) = register_entries(scope_for(leader))
    assert (entry.x_label, entry.y_label, entry.owner_name) == ("NPS", "CSAT", "Chris Leader")
    assert (entry.verdict, entry.n_units, entry.n_observations) == ("contradicted", 12, 60)
    assert round(entry.r, 2) == 0.95 and tuple(round(v, 2) for v in entry.r_ci) == (0.84, 0.99)
    assert [(h.verdict, h.trigger) for h in entry.history] == [("contradicted", "edited"), ("supported", "created")]
    assert entry.reading.startswith("Across 12 units (60 unit-months)")


def test_archiving_hides_the_hypothesis_from_the_register_and_its_page(db, leader, twelve_teams):
    hypothesis = record(leader)
    archive_hypothesis(hypothesis, leader)
    assert register_entries(scope_for(leader)) == []
    with pytest.raises(hypotheses.HypothesisNotFound):
        register_entry(scope_for(leader), hypothesis.id)
    assert len(rows(db, hypothesis)) == 1  # the history stays


# --- re-evaluation after imports and on schedule -----------------------------------------------


def real_today(app) -> dt.date:
    """The organization's today, which the background job evaluates as of."""
    return org_today(app.config["ORG_TIMEZONE"])


def _import(app, tmp_path, text: str):
    """``flask import-outcomes`` on ``text``."""
    path = tmp_path / "outcomes.csv"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["import-outcomes", str(path)])


@pytest.mark.usefixtures("_no_leftover_jobs")
def test_an_outcomes_file_import_re_evaluates_the_register_in_the_background(app, db, leader, tmp_path):
    today = real_today(app)
    assert _import(app, tmp_path, outcomes_csv(range(1, 8), today)).exit_code == 0
    hypothesis = record(leader, today=today)
    db.session.commit()
    result = _import(app, tmp_path, outcomes_csv(range(8, 13), today))
    assert result.output.strip().endswith("accepted=50 duplicates=0 rejected=0")
    db.session.rollback()  # the command waited for the job; read what it committed
    assert [(r.verdict, r.trigger) for r in rows(db, hypothesis)] == [
        ("inconclusive", "created"), ("supported", "import")]


@pytest.mark.usefixtures("_no_leftover_jobs")
def test_an_import_with_nothing_new_starts_no_evaluation(app, db, leader, tmp_path, monkeypatch):
    today = real_today(app)
    text = outcomes_csv(range(1, 13), today)
    _import(app, tmp_path, text)
    record(leader, today=today)
    db.session.commit()
    enqueued = []
    monkeypatch.setattr("dashboards.jobs.enqueue", lambda *args: enqueued.append(args))
    result = _import(app, tmp_path, text)
    assert result.output.strip().endswith("accepted=0 duplicates=120 rejected=0")
    assert enqueued == []


def test_without_hypotheses_an_import_starts_no_evaluation(app, db, tmp_path, monkeypatch):
    enqueued = []
    monkeypatch.setattr("dashboards.jobs.enqueue", lambda *args: enqueued.append(args))
    result = _import(app, tmp_path, outcomes_csv(range(1, 3), real_today(app)))
    assert result.output.strip().endswith("accepted=20 duplicates=0 rejected=0")
    assert enqueued == []


@pytest.mark.usefixtures("_no_leftover_jobs")
def test_outcomes_posted_to_the_api_re_evaluate_the_register(app, db, client, leader):
    today = real_today(app)
    add_teams(db, range(1, 8), today)
    hypothesis = record(leader, today=today)
    _, token = issue_token("bi export", "outcomes:write", created_by_id=None)
    for i in range(8, 13):
        make_unit(team(i))
    db.session.commit()
    items = [{"unit": path, "period_start": str(start), "period_end": str(month_end(start)), "metric": metric,
              "value": value} for path, start, metric, value in data(range(8, 13), today)]
    response = client.post("/api/v1/outcomes", json={"outcomes": items}, headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["accepted"] == 50
    assert jobs.wait_for_local_jobs(timeout=60)
    db.session.rollback()
    assert [(r.verdict, r.trigger) for r in rows(db, hypothesis)] == [
        ("inconclusive", "created"), ("supported", "import")]


@pytest.mark.usefixtures("_no_leftover_jobs")
def test_an_event_file_import_re_checks_the_register(app, db, leader, tmp_path):
    today = real_today(app)
    add_teams(db, range(1, 13), today)
    hypothesis = record(leader, today=today)
    db.session.commit()
    checked = hypothesis.checked_at
    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps({"event_id": "ev-1", "occurred_at": f"{month(today, -2)}T09:00:00Z",
                                "event_type": "login", "user_email": "someone@acme.example"}) + "\n")
    result = app.test_cli_runner().invoke(args=["ingest-events", str(path), "--format", "ndjson"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert hypothesis.checked_at > checked  # checked again, after the command's job
    assert len(rows(db, hypothesis)) == 1  # the same story: no new row


def test_the_daily_command_prints_each_verdict_and_what_changed(app, db, leader):
    add_teams(db, range(1, 8))
    first = record(leader)
    second = record(leader, statement="The other way round", expected_direction=-1, lag=-1)
    add_teams(db, range(8, 13))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["evaluate-hypotheses", "--today", str(TODAY)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == (f"#{first.id} supported (r = 0.95 [0.84, 0.99], 12 units, 60 unit-months), changed: "
                        f"{STATEMENT}")
    assert lines[1].startswith(f"#{second.id} ")
    assert lines[-1] == "hypotheses: 2 evaluated, 2 changed"
    again = app.test_cli_runner().invoke(args=["evaluate-hypotheses", "--today", str(TODAY)])
    assert again.output.strip().splitlines()[-1] == "hypotheses: 2 evaluated, 0 changed"
    db.session.rollback()
    assert [r.trigger for r in rows(db, first)] == ["created", "schedule"]
