"""The Training page through Dash's real dispatch view, on training records written through the
models, so every figure can be worked out by hand (T = the organization's today):

- one published module "Pipeline hygiene" (key behaviour ``activity_logged``) with a knowledge
  check of two questions and a commitment step, assigned to everyone on T − 100, due T − 40;
- North: 12 people who completed on T − 60 (on time). Reactions 5, 4, 5, 4, … (mean 4.5). First
  attempts: the even ones 100%, the odd ones 50% (question 2 wrong) and passed at the second.
  Each committed on T − 60: the 30-day follow-up answered "done" by 8, unanswered by 4; the
  60-day one due today, unanswered; the 90-day one not asked yet. Weekly activity: 2 ± 1 events
  in the 4 weeks before the completion week, 5 ± 1 after (mean change +3);
- South: 12 people, never completed (overdue); weekly activity 2 then 2 ± 1 (mean change 0);
- West: 3 people, one completed late on T − 10 (its post window is not over), no activity.
So the difference-in-differences is exactly +3 with 12 completers and 15 comparison people.
"""

import csv
import datetime as dt
import io
import json

import pandas as pd
import pytest
from sqlalchemy import select

from adoption import create_app
from adoption.extensions import db as _db
from adoption.models import DailyUsage, Employee, OrgUnit
from adoption.timekeeping import org_today
from dashboards.metrics import training as metrics
from dashboards.metrics.adoption import week_of
from dashboards.pages import training as page
from tests.conftest import TEST_DATABASE_URL, _reset_postgres
from tests.dashboards.conftest import DISPATCH, texts
from tests.factories import make_employee
from training.models import (
    AssignedTraining,
    Assignment,
    CheckAttempt,
    CheckAttemptAnswer,
    CheckQuestion,
    Commitment,
    CommitmentFollowUp,
    Enrollment,
    Module,
    ModuleStep,
)

NORTH, SOUTH, WEST = "Acme/EMEA/North", "Acme/EMEA/South", "Acme/Americas/West"
BEHAVIOUR = "activity_logged"
LONG_AGO = dt.date(2020, 1, 1)


def _usage(db, employee, cohort, pre, post):
    """One day of ``pre`` events in each of the 4 weeks before ``cohort``, ``post`` after."""
    for k in range(1, 5):
        for day, events in ((cohort - dt.timedelta(weeks=k), pre),
                            (cohort + dt.timedelta(weeks=k), post)):
            if events:
                db.session.add(DailyUsage(day=day, employee_id=employee.id,
                                          event_type=BEHAVIOUR, events=events))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app and database for the module: the tests read, each signing in a user of its own
    (who has no training record, so changes no figure)."""
    path = tmp_path_factory.mktemp("training-page")
    application = create_app({
        "ENV": "testing",
        "INSTANCE_PATH": str(path / "instance"),
        "DATABASE_URL": TEST_DATABASE_URL or f"sqlite:///{path / 'test.db'}",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    })
    with application.app_context():
        if TEST_DATABASE_URL:
            _reset_postgres()
        else:
            _db.create_all()
        yield application
        _db.session.remove()
        if TEST_DATABASE_URL:
            _db.engine.dispose()


@pytest.fixture(scope="module")
def trained(app):
    """The organization described in the module docstring; returns ids and dates."""
    db = _db
    today = org_today(app.config["ORG_TIMEZONE"])
    completed = today - dt.timedelta(days=60)
    cohort = week_of(completed, int(app.config["WEEK_START"]))
    module = Module(slug="pipeline-hygiene", title="Pipeline hygiene", estimated_minutes=20,
                    status="published", key_behaviours=[BEHAVIOUR])
    check = ModuleStep(key="check", kind="check", title="Check", position=1, pass_mark_pct=80,
                       attempts_allowed=None)
    commit_step = ModuleStep(key="commit", kind="commitment", title="Commit", position=2)
    module.steps = [check, commit_step]
    questions = [
        CheckQuestion(position=i, prompt=prompt, kind="single", options=["a", "b"], correct=[0])
        for i, prompt in enumerate(("Why log a call?", "When is a deal stale?"), start=1)
    ]
    check.questions = questions
    db.session.add(module)
    assignment = Assignment(module=module, due_on=today - dt.timedelta(days=40),
                            assigned_on=today - dt.timedelta(days=100))
    db.session.add(assignment)
    db.session.flush()
    people = {path: [make_employee(path, since=LONG_AGO, crm_user_id=f"crm-{path[-5:]}-{i}")
                     for i in range(n)]
              for path, n in ((NORTH, 12), (SOUTH, 12), (WEST, 3))}
    stamp = dt.datetime.combine(completed, dt.time(10))
    for person in [p for group in people.values() for p in group]:
        db.session.add(AssignedTraining(assignment=assignment, employee_id=person.id,
                                        assigned_on=assignment.assigned_on,
                                        due_on=assignment.due_on))
    for i, person in enumerate(people[NORTH]):
        enrollment = Enrollment(employee_id=person.id, module=module, module_version=1,
                                started_at=stamp, last_activity_at=stamp, completed_at=stamp,
                                completed_on=completed, reaction_score=5 if i % 2 == 0 else 4)
        db.session.add(enrollment)
        db.session.flush()
        first_right = i % 2 == 0
        attempt = CheckAttempt(enrollment_id=enrollment.id, step_id=check.id, number=1,
                               score_pct=100.0 if first_right else 50.0, passed=first_right,
                               submitted_at=stamp)
        attempt.answers = [
            CheckAttemptAnswer(question=questions[0], chosen=[0], correct=True),
            CheckAttemptAnswer(question=questions[1], chosen=[0] if first_right else [1],
                               correct=first_right),
        ]
        db.session.add(attempt)
        if not first_right:
            db.session.add(CheckAttempt(enrollment_id=enrollment.id, step_id=check.id, number=2,
                                        score_pct=100.0, passed=True, submitted_at=stamp))
        commitment = Commitment(enrollment_id=enrollment.id, step_id=commit_step.id,
                                employee_id=person.id, module_id=module.id,
                                text="Log every call the same day",
                                key_behaviour=BEHAVIOUR if i < 3 else None,
                                committed_on=completed, created_at=stamp)
        commitment.follow_ups = [
            CommitmentFollowUp(day_offset=days, due_on=completed + dt.timedelta(days=days),
                               status="done" if days == 30 and i < 8 else None)
            for days in (30, 60, 90)
        ]
        db.session.add(commitment)
        _usage(db, person, cohort, pre=2 + (1 if i % 2 else -1), post=5 + (1 if i % 2 else -1)
               + (1 if i % 2 else -1))
    for i, person in enumerate(people[SOUTH]):
        _usage(db, person, cohort, pre=2, post=2 + (1 if i % 2 else -1))
    # Telemetry is current: someone used the CRM yesterday (another behaviour).
    db.session.add(DailyUsage(day=today - dt.timedelta(days=1), employee_id=people[WEST][1].id,
                              event_type="login", events=1))
    late = today - dt.timedelta(days=10)
    db.session.add(Enrollment(employee_id=people[WEST][0].id, module=module, module_version=1,
                              started_at=stamp, last_activity_at=stamp, completed_on=late,
                              completed_at=dt.datetime.combine(late, dt.time(9)),
                              reaction_score=1))
    db.session.commit()
    units = {path: db.session.scalar(select(OrgUnit.id).where(OrgUnit.path == path))
             for path in (NORTH, SOUTH, WEST, "Acme", "Acme/EMEA")}
    return {"module": module.id, "units": units, "today": today,
            "people": {path: [p.id for p in group] for path, group in people.items()},
            "names": [p.full_name for group in people.values() for p in group]}


def call(run_callback, output, module=None, unit=None, **extra):
    """The response payload of the page callback producing ``output``."""
    values = {"training-module.value": module, "training-unit.value": unit,
              "training-period.start_date": None, "training-period.end_date": None, **extra}
    response = run_callback(output, values)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]


def download(run_callback, key, module=None, unit=None):
    """The CSV rows the download button of chart ``key`` delivers."""
    payload = call(run_callback, f"training-{key}-download.data", module, unit,
                   **{f"training-{key}-csv.n_clicks": 1})
    data = payload[f"training-{key}-download"]["data"]
    assert data["filename"] == f"training-{key}.csv"
    return list(csv.DictReader(io.StringIO(data["content"])))


# --- roles and layout -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "change_leader", "executive", "admin"])
def test_page_renders_for_each_dashboard_role(trained, login_as, run_callback, role):
    login_as(role, unit=NORTH if role == "manager" else "Acme/HQ")
    payload = call(run_callback, "dashboards-content.children",
                   **{"dashboards-location.pathname": "/dashboards/training"})
    content = json.dumps(payload["dashboards-content"]["children"])
    for component in (page.MODULE, page.UNIT, page.PERIOD, page.COMPLETION_FIGURE,
                      page.REACTION_FIGURE, page.LEARNING_FIGURE, page.MISSED_TABLE,
                      page.COMMITMENTS_FIGURE, page.BEHAVIOUR_FIGURE):
        assert f'"id": "{component}"' in content
    assert page.RESULTS_ON_EVIDENCE in content
    assert "Training" in texts(payload["dashboards-nav"]["children"])


def test_employee_is_refused_the_page_and_its_callbacks(trained, login_as, client):
    login_as("employee", unit=NORTH)
    assert client.get("/dashboards/training").status_code == 403
    response = client.post(DISPATCH, json={
        "output": "training-behaviour-download.data",
        "outputs": {"id": "training-behaviour-download", "property": "data"},
        "inputs": [{"id": "training-behaviour-csv", "property": "n_clicks", "value": 1}],
        "state": [{"id": i, "property": p, "value": None} for i, p in (
            (page.MODULE, "value"), (page.UNIT, "value"), (page.PERIOD, "start_date"),
            (page.PERIOD, "end_date"))],
        "changedPropIds": ["training-behaviour-csv.n_clicks"],
    })
    assert response.status_code == 403


def test_pickers_offer_modules_and_only_units_in_scope(trained, login_as, run_callback):
    login_as("manager", unit=NORTH)
    payload = call(run_callback, "training-module.options")
    assert payload["training-module"]["options"] == [
        {"label": "Pipeline hygiene", "value": trained["module"]}]
    assert [o["label"] for o in payload["training-unit"]["options"]] == [NORTH]


# --- the sections -----------------------------------------------------------------------------------


def test_completion_by_unit_against_due_dates_with_n(trained, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    rows = download(run_callback, "completion", unit=trained["units"]["Acme/EMEA"])
    by = {(r["unit"], r["status"]): int(r["assignees"]) for r in rows}
    assert by[(NORTH, "on_time")] == 12 and by[(NORTH, "overdue")] == 0
    assert by[(SOUTH, "overdue")] == 12 and by[(SOUTH, "on_time")] == 0
    assert {r["unit"] for r in rows} == {NORTH, SOUTH}
    payload = call(run_callback, "training-completion-figure.figure")
    labels = payload["training-completion-figure"]["figure"]["data"][0]["y"]
    assert labels == ["Acme/Americas (n = 3)", "Acme/EMEA (n = 24)"]
    assert "n = 27 assignees" in payload["training-completion-n"]["children"]
    west = {(r["unit"], r["status"]): int(r["assignees"])
            for r in download(run_callback, "completion")}
    assert west[("Acme/Americas", "late")] == 1 and west[("Acme/Americas", "overdue")] == 2


def test_reaction_mean_interval_and_n(trained, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    [row] = download(run_callback, "reaction", unit=trained["units"]["Acme/EMEA"])
    assert int(row["n"]) == 12 and float(row["mean"]) == pytest.approx(4.5)
    assert float(row["ci_low"]) < 4.5 < float(row["ci_high"])
    payload = call(run_callback, "training-reaction-figure.figure")
    # With West's late completer: 13 reactions.
    assert payload["training-reaction-figure"]["figure"]["data"][0]["y"] == [
        "Pipeline hygiene (n = 13)"]


def test_learning_rates_and_most_missed_questions(trained, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    [row] = download(run_callback, "learning")
    assert int(row["first_attempts"]) == 12
    assert float(row["first_attempt_score"]) == pytest.approx(75.0)
    assert float(row["first_attempt_pass_rate"]) == pytest.approx(0.5)
    assert float(row["pass_rate"]) == pytest.approx(1.0)
    missed = download(run_callback, "missed")
    assert [(r["prompt"], int(r["n"]), int(r["wrong"])) for r in missed] == [
        ("When is a deal stale?", 12, 6), ("Why log a call?", 12, 0)]
    table = call(run_callback, "training-missed-table.children")
    assert "When is a deal stale?" in texts(table["training-missed-table"]["children"])


def test_commitment_follow_up_status_per_offset(trained, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    rows = download(run_callback, "commitments")
    by = {(int(r["day_offset"]), r["state"]): int(r["follow_ups"]) for r in rows}
    assert by[(30, "done")] == 8 and by[(30, "unanswered")] == 4
    assert by[(60, "unanswered")] == 12
    assert by[(90, "not_due")] == 12
    payload = call(run_callback, "training-commitments-figure.figure")
    assert "n = 12 commitments made in the period (3 naming a key behaviour)" in \
        payload["training-commitments-n"]["children"]


def test_behaviour_difference_in_differences_with_interval_and_n(trained, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    [row] = download(run_callback, "behaviour", module=trained["module"])
    assert row["behaviour"] == BEHAVIOUR
    assert float(row["estimate"]) == pytest.approx(3.0)
    assert float(row["ci_low"]) < 3.0 < float(row["ci_high"])
    assert (int(row["n_completers"]), int(row["n_comparison"])) == (12, 15)
    payload = call(run_callback, "training-behaviour-figure.figure", module=trained["module"])
    figure = payload["training-behaviour-figure"]["figure"]
    assert figure["data"][0]["y"] == [
        f"Pipeline hygiene · {BEHAVIOUR} (completers n = 12, comparison n = 15)"]
    assert figure["data"][0]["x"] == [pytest.approx(3.0)]


# --- scope --------------------------------------------------------------------------------------


def test_manager_sees_only_their_subtree_and_too_few_colleagues_there(trained, login_as,
                                                                      run_callback):
    login_as("manager", unit=NORTH)
    rows = download(run_callback, "completion")
    assert {r["unit"] for r in rows} == {NORTH}
    [row] = download(run_callback, "behaviour")
    assert row["message"] == metrics.NOT_ENOUGH_DATA and row["estimate"] == ""
    assert (int(row["n_completers"]), int(row["n_comparison"])) == (12, 0)


def test_manager_posting_a_unit_outside_their_subtree_gets_nothing(trained, login_as,
                                                                   run_callback):
    login_as("manager", unit=NORTH)
    south = trained["units"][SOUTH]
    for output, n_output in ((page.COMPLETION_FIGURE, page.COMPLETION_N),
                             (page.BEHAVIOUR_FIGURE, page.BEHAVIOUR_N),
                             (page.REACTION_FIGURE, page.REACTION_N)):
        payload = call(run_callback, f"{output}.figure", unit=south)
        assert payload[n_output]["children"] == page.OUT_OF_SCOPE
        assert "n = " not in json.dumps(payload)
    for key in page.CHARTS:
        response = run_callback(f"training-{key}-download.data",
                                {"training-unit.value": south, f"training-{key}-csv.n_clicks": 1})
        assert response.status_code == 204, key


def test_forged_unit_and_module_ids_show_nothing(trained, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")
    payload = call(run_callback, "training-completion-figure.figure", unit=999_999)
    assert payload[page.COMPLETION_N]["children"] == page.OUT_OF_SCOPE
    payload = call(run_callback, "training-completion-figure.figure", module="1 OR 1=1")
    assert payload[page.COMPLETION_N]["children"] == page.UNKNOWN_MODULE


def test_executive_gets_aggregates_only_and_small_groups_without_figures(
    trained, login_as, run_callback
):
    login_as("executive", unit="Acme/HQ")
    everything = []
    for key in page.CHARTS:
        everything.append(json.dumps(download(run_callback, key)))
    for output in (page.COMPLETION_FIGURE, page.REACTION_FIGURE, page.LEARNING_FIGURE,
                   page.COMMITMENTS_FIGURE, page.BEHAVIOUR_FIGURE):
        everything.append(json.dumps(call(run_callback, f"{output}.figure")))
    everything.append(json.dumps(call(run_callback, f"{page.MISSED_TABLE}.children")))
    blob = "\n".join(everything)
    for name in trained["names"]:
        assert name not in blob
    west = [r for r in download(run_callback, "completion") if r["unit"] == "Acme/Americas"]
    assert all(r["hidden"] == "True" and r["assignees"] == "" for r in west)
    assert {r["n"] for r in west} == {"3"}


def test_people_in_the_population_are_counted_in_their_current_unit(trained, login_as,
                                                                    run_callback, db):
    login_as("change_leader", unit="Acme/HQ")
    mover = db.session.get(Employee, trained["people"][SOUTH][0])
    mover.unit_id = trained["units"][NORTH]
    db.session.commit()
    try:
        rows = download(run_callback, "completion", unit=trained["units"]["Acme/EMEA"])
    finally:
        mover.unit_id = trained["units"][SOUTH]
        db.session.commit()
    by = {(r["unit"], r["status"]): int(r["assignees"]) for r in rows}
    assert by[(NORTH, "overdue")] == 1 and by[(SOUTH, "overdue")] == 11


def test_a_new_completion_refreshes_the_cached_behaviour_analysis(trained, login_as,
                                                                  run_callback, db):
    login_as("change_leader", unit="Acme/HQ")
    [before] = download(run_callback, "behaviour", module=trained["module"])
    assert int(before["n_completers"]) == 12
    completed = trained["today"] - dt.timedelta(days=60)
    stamp = dt.datetime.combine(completed, dt.time(11))
    late_learner = Enrollment(employee_id=trained["people"][SOUTH][0],
                              module_id=trained["module"], module_version=1, started_at=stamp,
                              last_activity_at=stamp, completed_at=stamp, completed_on=completed)
    db.session.add(late_learner)
    db.session.commit()
    try:
        [after] = download(run_callback, "behaviour", module=trained["module"])
    finally:
        db.session.delete(late_learner)
        db.session.commit()
    assert (int(after["n_completers"]), int(after["n_comparison"])) == (13, 14)


def test_late_telemetry_for_a_past_week_refreshes_the_cached_behaviour_analysis(
        trained, login_as, run_callback, db):
    from adoption.telemetry.rollups import queue_weeks

    login_as("change_leader", unit="Acme/HQ")
    [before] = download(run_callback, "behaviour", module=trained["module"])
    # A late batch: 40 more activities for one North completer in the week after completion
    # (their post window), arriving now; the dashboards refresh that week before the callback.
    day = trained["today"] - dt.timedelta(days=60) + dt.timedelta(weeks=1)
    person = trained["people"][NORTH][0]
    row = db.session.get(DailyUsage, (day, person, BEHAVIOUR))
    if row is None:
        db.session.add(DailyUsage(day=day, employee_id=person, event_type=BEHAVIOUR, events=40))
    else:
        row.events += 40
    queue_weeks([day])
    db.session.commit()
    [after] = download(run_callback, "behaviour", module=trained["module"])
    # 40 events over 4 post weeks = +10 a week for one of 12 completers: the estimate moves by 10/12.
    assert float(after["estimate"]) == pytest.approx(float(before["estimate"]) + 10 / 12, abs=1e-6)


def test_the_panel_cache_keeps_one_entry_per_key_and_replaces_it_when_its_stamp_changes(app, monkeypatch):
    builds = []

    def build(value):
        def compute():
            builds.append(value)
            return pd.DataFrame({"change": [float(value)] * 10})
        return compute

    with app.app_context():
        app.extensions.pop(page.CACHE_KEY, None)  # this module's app is shared: start empty
        first = page._cached(("scope", 1, "b"), ("stamp", 1), build(1))
        again = page._cached(("scope", 1, "b"), ("stamp", 1), build(99))
        newer = page._cached(("scope", 1, "b"), ("stamp", 2), build(2))
        cache, _ = app.extensions[page.CACHE_KEY]
        assert again is first and builds == [1, 2]
        assert float(newer["change"].iloc[0]) == 2.0
        assert len(cache) == 1  # the stale panel was replaced, not kept beside the new one


def test_a_panel_larger_than_the_cache_budget_is_used_but_not_kept(app, monkeypatch):
    monkeypatch.setattr(page, "CACHE_BYTES", 100)
    with app.app_context():
        app.extensions.pop(page.CACHE_KEY, None)
        big = pd.DataFrame({"change": [0.0] * 1000})
        assert page._cached(("scope", 1, "b"), ("stamp",), lambda: big) is big
        cache, _ = app.extensions[page.CACHE_KEY]
        assert len(cache) == 0


# --- learning recorded by other systems -----------------------------------------------------------

COURSE = "https://lms.acme.example/courses/data-quality"
QUIZ = "https://lms.acme.example/courses/privacy-quiz"
WORKSHOP = "https://lms.acme.example/courses/west-workshop"


@pytest.fixture(scope="module")
def external(trained):
    """What the company's LMS sent, through the intake service: every North person completed
    COURSE (one completion voided, then sent again); 6 North and 2 South people passed QUIZ, the
    2 South people after failing it first; the 3 West people attended WORKSHOP; one learner
    is not on the roster. None of it changes the figures above."""
    from adoption.tokens import issue_token
    from training.xapi_intake import VOIDED_VERB, store_external_statements

    db = _db
    email = dict(db.session.execute(select(Employee.id, Employee.email)).all())
    token, _ = issue_token("LMS", "xapi:write", created_by_id=None)
    when = dt.datetime.combine(trained["today"] - dt.timedelta(days=20), dt.time(9))
    people = trained["people"]

    def statement(person, verb, activity, name, **extra):
        actor = {"mbox": f"mailto:{email[person]}"} if isinstance(person, int) else {"mbox": person}
        return {"actor": actor, "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
                "object": {"id": activity, "definition": {"name": {"en-US": name}}},
                "timestamp": when.isoformat() + "Z", **extra}

    mistaken = statement(people[NORTH][0], "completed", COURSE, "Data quality")
    mistaken["id"] = "7b0f0b64-35a6-4c0e-9a39-7a3b2e1c0d11"
    batch = [statement(p, "completed", COURSE, "Data quality") for p in people[NORTH]]
    batch += [mistaken, statement("mailto:contractor@partner.example", "completed", COURSE, "Data quality")]
    batch += [statement(p, "passed", QUIZ, "Privacy quiz") for p in people[NORTH][:6] + people[SOUTH][:2]]
    batch += [statement(p, "failed", QUIZ, "Privacy quiz") for p in people[SOUTH][:2]]
    batch += [statement(p, "attended", WORKSHOP, "West workshop") for p in people[WEST]]
    store_external_statements(batch, token, when + dt.timedelta(hours=1))
    store_external_statements([{"actor": {"mbox": "mailto:lms@acme.example"}, "verb": {"id": VOIDED_VERB},
                                "object": {"objectType": "StatementRef", "id": mistaken["id"]}}],
                              token, when + dt.timedelta(hours=2))
    db.session.commit()
    return trained


def _external_rows(run_callback, unit=None) -> dict[str, dict]:
    return {r["activity"]: r for r in download(run_callback, "external", unit=unit)}


def test_other_systems_learning_counts_learners_per_activity_and_outcome(external, login_as, run_callback):
    login_as("change_leader", unit="Acme/HQ")

    rows = _external_rows(run_callback)
    payload = call(run_callback, f"{page.EXTERNAL_TABLE}.children")

    assert {a: (r["learners"], r["completed"], r["passed"], r["failed"]) for a, r in rows.items()} == {
        COURSE: ("12", "12", "0", "0"),  # the voided completion's learner completed again
        QUIZ: ("8", "0", "8", "2"),
        WORKSHOP: ("3", "0", "0", "0"),
    }
    assert rows[QUIZ]["name"] == "Privacy quiz"
    table = texts(payload[page.EXTERNAL_TABLE]["children"])
    assert "Data quality" in table and "Privacy quiz" in table
    note = payload[page.EXTERNAL_N]["children"]
    assert "n = learners with a record" in note
    assert "1 record(s) of 1 learner(s) not on the roster" in note


def test_a_manager_sees_other_systems_learning_of_their_subtree_only(external, login_as, run_callback):
    login_as("manager", unit=NORTH)

    rows = _external_rows(run_callback)
    note = call(run_callback, f"{page.EXTERNAL_TABLE}.children")[page.EXTERNAL_N]["children"]

    assert {a: r["learners"] for a, r in rows.items()} == {COURSE: "12", QUIZ: "6"}
    assert "not on the roster" not in note  # records of no unit are not theirs to see


def test_an_executive_sees_small_groups_of_other_systems_learning_without_figures(external, login_as, run_callback):
    login_as("executive", unit="Acme/HQ")

    rows = _external_rows(run_callback)

    assert (rows[WORKSHOP]["learners"], rows[WORKSHOP]["hidden"], rows[WORKSHOP]["completed"]) == ("3", "True", "")
    assert (rows[QUIZ]["passed"], rows[QUIZ]["hidden"]) == ("8", "False")
