"""The learner's pages: My training, start/resume, one page per step in order, the commentary only
after the answer, check results with explanations, commitment, reaction, certificate access."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.timekeeping import org_today
from tests.factories import make_employee
from tests.training.test_progress import COMMENTARY, assign, build_module, right_answers, steps
from training.models import Commitment, Enrollment, StepCompletion

BASE = "/training/modules/customer-insight"


@pytest.fixture
def module(db):
    """The published four-step module."""
    module = build_module(db)
    db.session.commit()
    return module


@pytest.fixture
def learner(login_as):
    """A signed-in employee; returns their employee record."""
    return login_as("employee").employee


def started(client, module) -> None:
    """Start the module through its start page."""
    response = client.post(BASE)
    assert response.status_code == 302


def take_lesson_and_case(client, module) -> None:
    s = steps(module)
    assert client.post(f"{BASE}/steps/{s['lesson'].key}").status_code == 302
    assert client.post(f"{BASE}/steps/{s['case_study'].key}", data={"answer": "Tell the renewal owner."}).status_code == 302


def check_form(module, answers: dict[int, list[int]]) -> dict[str, list[str]]:
    """Form fields of a check attempt."""
    return {f"q{qid}": [str(i) for i in chosen] for qid, chosen in answers.items()}


def test_my_training_shows_assigned_modules_with_due_date_and_is_in_the_navigation(app, client, db, module, learner):
    due = org_today(app.config["ORG_TIMEZONE"]) + dt.timedelta(days=7)
    assign(db, module, learner, due)
    db.session.commit()
    page = client.get("/training/").get_data(as_text=True)
    assert 'href="/training/"' in page and ">My training<" in page
    assert "Customer insight first" in page
    assert f"Due {due:%d %b %Y}" in page
    assert "Not started" in page
    assert 'aria-valuetext="0 of 4 steps done"' in page


def test_starting_a_module_enrolls_and_opens_the_first_step(client, db, module, learner):
    page = client.get(BASE).get_data(as_text=True)
    assert "Start the module" in page
    response = client.post(BASE)
    assert response.headers["Location"].endswith(f"{BASE}/steps/why-it-matters")
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1
    lesson = client.get(f"{BASE}/steps/why-it-matters").get_data(as_text=True)
    assert "<strong>customer</strong>" in lesson  # Markdown rendered
    assert 'aria-current="step"' in lesson
    # Starting again resumes instead of enrolling twice.
    assert client.post(BASE).headers["Location"].endswith(f"{BASE}/steps/why-it-matters")
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_a_later_step_redirects_to_the_current_one_and_cannot_be_taken(client, db, module, learner):
    started(client, module)
    response = client.get(f"{BASE}/steps/check")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{BASE}/steps/why-it-matters")
    posted = client.post(f"{BASE}/steps/renewal-call", data={"answer": "skipping ahead"})
    assert posted.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(StepCompletion)) == 0
    assert "Steps are taken in order" in client.get("/training/").get_data(as_text=True)


def test_case_commentary_is_not_in_the_page_before_the_answer_is_saved(client, db, module, learner):
    started(client, module)
    client.post(f"{BASE}/steps/why-it-matters")
    before = client.get(f"{BASE}/steps/renewal-call").get_data(as_text=True)
    assert "evaluating a competitor" in before
    assert COMMENTARY not in before and "What is the risk of waiting?" not in before
    empty = client.post(f"{BASE}/steps/renewal-call", data={"answer": ""})
    assert empty.status_code == 422 and COMMENTARY not in empty.get_data(as_text=True)
    client.post(f"{BASE}/steps/renewal-call", data={"answer": "Tell the renewal owner today."})
    after = client.get(f"{BASE}/steps/renewal-call").get_data(as_text=True)
    assert COMMENTARY in after and "What is the risk of waiting?" in after
    assert "Tell the renewal owner today." in after


def test_check_shows_score_and_explanations_after_a_failed_attempt_then_passes(client, db, module, learner):
    started(client, module)
    take_lesson_and_case(client, module)
    check = steps(module)["check"]
    q1 = check.questions[0]
    client.post(f"{BASE}/steps/check", data=check_form(module, {q1.id: [0]}))
    page = client.get(f"{BASE}/steps/check").get_data(as_text=True)
    assert "Attempt 1: 0% right" in page and "Not passed yet" in page
    assert "Memory fades within a day." in page  # explanations after each attempt
    assert "Try again" in page
    client.post(f"{BASE}/steps/check", data=check_form(module, right_answers(module)))
    passed = client.get(f"{BASE}/steps/check").get_data(as_text=True)
    assert "Attempt 2: 100% right" in passed and "You passed this check." in passed
    assert 'href="/training/modules/customer-insight/steps/commitment"' in passed


def test_commitment_then_reaction_complete_the_module_and_show_the_certificate(client, db, module, learner):
    started(client, module)
    take_lesson_and_case(client, module)
    client.post(f"{BASE}/steps/check", data=check_form(module, right_answers(module)))
    assert client.get(f"{BASE}/reaction").status_code == 302  # not before the commitment
    response = client.post(f"{BASE}/steps/commitment",
                           data={"text": "log every call the same day", "key_behaviour": "activity_logged"})
    assert response.headers["Location"].endswith(f"{BASE}/reaction")
    commitment = db.session.scalar(select(Commitment))
    assert commitment.key_behaviour == "activity_logged" and len(commitment.follow_ups) == 3
    reaction = client.get(f"{BASE}/reaction").get_data(as_text=True)
    assert "How useful was this module for your daily work?" in reaction
    done = client.post(f"{BASE}/reaction", data={"score": "4", "comment": "Good cases"})
    assert done.headers["Location"].endswith(f"{BASE}/certificate")
    certificate = client.get(f"{BASE}/certificate").get_data(as_text=True)
    assert "Certificate of completion" in certificate and learner.full_name in certificate
    assert db.session.scalar(select(Enrollment)).reaction_score == 4


def test_an_unknown_key_behaviour_is_refused(client, db, module, learner):
    started(client, module)
    take_lesson_and_case(client, module)
    client.post(f"{BASE}/steps/check", data=check_form(module, right_answers(module)))
    response = client.post(f"{BASE}/steps/commitment", data={"text": "x", "key_behaviour": "made_up"})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Commitment)) == 0


def test_a_draft_module_is_not_found(client, db, learner):
    build_module(db, "draft-module", status="draft")
    db.session.commit()
    assert client.get("/training/modules/draft-module").status_code == 404
    assert client.post("/training/modules/draft-module").status_code == 404


def test_post_without_a_csrf_token_is_refused(app, client, db, module, learner):
    started(client, module)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"{BASE}/steps/why-it-matters").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(select(func.count()).select_from(StepCompletion)) == 0


@pytest.fixture
def completer(db, module):
    """An employee of Sales North who completed the module (built through the services)."""
    from tests.training.test_progress import NOW, TODAY, finish_steps
    from training.services import give_reaction, start_module

    person = make_employee("Acme/EMEA/Sales North", full_name="Carla Completer")
    enrollment = start_module(person, module, NOW)
    finish_steps(module, enrollment)
    give_reaction(enrollment, 5, "", TODAY, NOW)
    db.session.commit()
    return person


@pytest.mark.parametrize(("role", "unit", "status"), [
    ("manager", "Acme/EMEA", 200),
    ("manager", "Acme/Americas", 404),
    ("employee", "Acme/EMEA/Sales North", 404),
    ("executive", "Acme", 404),
    ("change_leader", "Acme/HQ", 200),
    ("admin", "Acme/HQ", 200),
])
def test_certificate_of_another_person_only_within_scope(client, login_as, module, completer, role, unit, status):
    login_as(role, unit=unit)
    response = client.get(f"{BASE}/certificate/{completer.id}")
    assert response.status_code == status
    if status == 200:
        assert "Carla Completer" in response.get_data(as_text=True)


def test_own_certificate_is_not_found_before_completion(client, module, learner):
    started(client, module)
    assert client.get(f"{BASE}/certificate").status_code == 404


def test_the_module_page_resumes_an_enrollment_in_progress(client, db, module, learner):
    started(client, module)
    client.post(f"{BASE}/steps/why-it-matters")
    response = client.get(BASE)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{BASE}/steps/renewal-call")
    page = client.get("/training/").get_data(as_text=True)
    assert "Resume" in page and 'aria-valuetext="1 of 4 steps done"' in page
