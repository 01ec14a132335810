"""The module editor pages: authors only; create, steps, questions, reorder, preview, publish, import."""
from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import select

from training.authoring import QuestionSpec, add_step, create_module, set_questions
from training.models import Module


@pytest.fixture
def author(client, login_as):
    """The client signed in as a change leader."""
    login_as("change_leader", unit="Acme/HQ")
    return client


def _module(db) -> Module:
    module = create_module("Pipeline hygiene", estimated_minutes=20, key_behaviours=["opportunity_updated"])
    add_step(module, "lesson", title="Stages", body="## Stages are **customer** steps\n\n<script>x()</script>")
    add_step(module, "case_study", title="Jonas", body="Jonas has 30 deals.", commentary="Close the dead ones.",
             discussion=["Which would you close?"])
    check = add_step(module, "check", title="Check", pass_mark_pct=80, attempts_allowed=3)
    set_questions(check, [QuestionSpec("Good close date?", "single", ["Quarter end", "The customer's date"], [1],
                                       "Dates come from the customer.")])
    add_step(module, "commitment", title="Commit", body="What will you do?")
    db.session.commit()
    return module


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_change_leaders_and_admins_reach_the_editor(client, login_as, db, role):
    module = _module(db)
    login_as(role)
    for url in ("/training/manage/", "/training/manage/new", f"/training/manage/{module.id}",
                f"/training/manage/{module.id}/preview", "/training/manage/import"):
        assert client.get(url).status_code in (403, 404), url
    assert client.post(f"/training/manage/{module.id}/publish").status_code in (403, 404)
    assert client.post(f"/training/manage/{module.id}/steps/{module.steps[0].id}/delete").status_code in (403, 404)
    db.session.expire_all()
    assert module.status == "draft" and len(module.steps) == 4


def test_admin_sees_the_list_with_status_version_steps_and_duration(client, login_as, db):
    _module(db)
    login_as("admin")
    page = client.get("/training/manage/").get_data(as_text=True)
    assert "Pipeline hygiene" in page and "Draft" in page and "20 min" in page and "<td>4</td>" in page


def test_create_module_then_add_each_kind_of_step(author, db):
    response = author.post("/training/manage/new", data={
        "title": "Customer insight first", "estimated_minutes": "18", "key_behaviours": "activity_logged",
        "summary": "What to record.", "save": "Save module"})
    module = db.session.scalars(select(Module)).one()
    assert response.status_code == 302 and module.slug == "customer-insight-first"
    assert module.key_behaviours == ["activity_logged"] and module.status == "draft"
    base = f"/training/manage/{module.id}/steps/new"
    assert author.post(f"{base}/lesson", data={"title": "Heard, means, next", "body": "Three lines."}).status_code == 302
    assert author.post(f"{base}/case_study", data={"title": "Tomás", "body": "A call.", "commentary": "Log it.",
                                                   "discussion": "Who should know?\nWhen?\n"}).status_code == 302
    response = author.post(f"{base}/check", data={"title": "Check", "pass_mark_pct": "80", "attempts_allowed": "3"})
    db.session.expire_all()
    check = db.session.get(Module, module.id).steps[2]
    assert response.location.endswith(f"/steps/{check.id}/questions")
    response = author.post(f"/training/manage/{module.id}/steps/{check.id}/questions", data={
        "questions-0-prompt": "Which note helps?", "questions-0-kind": "multiple",
        "questions-0-options": "Call made\nShe said X\nNext: Y by Friday", "questions-0-correct": "2, 3",
        "questions-0-explanation": "Words and next steps.", "questions-1-prompt": ""})
    assert response.status_code == 302
    assert author.post(f"{base}/commitment", data={"title": "Commit", "body": "What will you do?"}).status_code == 302
    db.session.expire_all()
    module = db.session.get(Module, module.id)
    assert [s.kind for s in module.steps] == ["lesson", "case_study", "check", "commitment"]
    assert module.steps[1].discussion == ["Who should know?", "When?"]
    assert module.steps[2].questions[0].correct == [1, 2]


def test_invalid_questions_are_refused_with_the_reason(author, db):
    module = _module(db)
    check = module.steps[2]
    response = author.post(f"/training/manage/{module.id}/steps/{check.id}/questions", data={
        "questions-0-prompt": "Pick one", "questions-0-kind": "single", "questions-0-options": "a\nb",
        "questions-0-correct": "1, 2"})
    assert response.status_code == 422 and "exactly one right answer" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Module, module.id).steps[2].questions[0].prompt == "Good close date?"


def test_edit_move_and_delete_steps(author, db):
    module = _module(db)
    lesson, commitment = module.steps[0], module.steps[3]
    response = author.post(f"/training/manage/{module.id}/steps/{lesson.id}/edit",
                           data={"title": "Stages, renamed", "body": "New text"})
    assert response.status_code == 302
    assert author.post(f"/training/manage/{module.id}/steps/{commitment.id}/move", data={"position": "1"}).status_code == 302
    assert author.post(f"/training/manage/{module.id}/steps/{lesson.id}/delete").status_code == 302
    db.session.expire_all()
    module = db.session.get(Module, module.id)
    assert [s.key for s in module.steps] == ["commit", "jonas", "check"]


def test_publish_and_retire_from_the_module_page(author, db):
    module = create_module("Empty", estimated_minutes=15)
    db.session.commit()
    response = author.post(f"/training/manage/{module.id}/publish", follow_redirects=True)
    assert "no steps" in response.get_data(as_text=True)
    module = _module(db)
    author.post(f"/training/manage/{module.id}/publish")
    db.session.expire_all()
    assert db.session.get(Module, module.id).status == "published"
    author.post(f"/training/manage/{module.id}/retire")
    db.session.expire_all()
    assert db.session.get(Module, module.id).status == "retired"


def test_editing_a_published_module_raises_its_version(author, db):
    module = _module(db)
    author.post(f"/training/manage/{module.id}/publish")
    response = author.post(f"/training/manage/{module.id}/edit", data={
        "title": "Pipeline hygiene that helps you", "estimated_minutes": "20", "key_behaviours": "opportunity_updated"})
    assert response.status_code == 302
    db.session.expire_all()
    module = db.session.get(Module, module.id)
    assert module.version == 2 and module.slug == "pipeline-hygiene"


def test_preview_renders_steps_as_a_learner_sees_them_with_sanitized_markdown(author, db):
    module = _module(db)
    page = author.get(f"/training/manage/{module.id}/preview").get_data(as_text=True)
    assert "<h2>Stages are <strong>customer</strong> steps</h2>" in page
    assert "<script>x()</script>" not in page
    assert "Close the dead ones." in page and "Which would you close?" in page
    assert "Dates come from the customer." in page and "In the next 30 days I will" in page
    assert page.count('data-testid="preview-step"') == 4


def test_import_a_zipped_folder_lists_problems_or_creates_the_module(author, db):
    def upload(files: dict[str, str]):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        buffer.seek(0)
        return author.post("/training/manage/import", data={"archive": (buffer, "module.zip"), "publish": "publish"},
                           content_type="multipart/form-data")

    yaml_text = ("slug: zipped\ntitle: Zipped\nestimated_minutes: 10\nsteps:\n"
                 "  - {key: one, kind: lesson, title: One, file: lessons/one.md}\n")
    response = upload({"zipped/module.yaml": yaml_text})
    assert response.status_code == 422
    assert "module.yaml:5" in response.get_data(as_text=True) and "does not exist" in response.get_data(as_text=True)
    response = upload({"zipped/module.yaml": yaml_text, "zipped/lessons/one.md": "Text."})
    assert response.status_code == 302
    module = db.session.scalars(select(Module)).one()
    assert (module.slug, module.status, module.steps[0].body) == ("zipped", "published", "Text.")
