"""The starter curriculum shipped in training/curriculum: complete, publishable, loaded idempotently."""
from __future__ import annotations

from training.markdown import render
from training.starter import STARTER_SLUGS, load_starter_curriculum

EXPECTED = {
    "crm-customer-strategy": ["account_plan_updated"],
    "customer-insight-first": ["activity_logged"],
    "pipeline-hygiene": ["opportunity_updated"],
    "informed-skeptic": [],
}


def test_starter_curriculum_loads_published_modules_with_every_step_kind(db):
    modules = load_starter_curriculum()
    assert [m.slug for m in modules] == list(STARTER_SLUGS) == list(EXPECTED)
    for module in modules:
        assert module.status == "published" and module.key_behaviours == EXPECTED[module.slug]
        assert 15 <= module.estimated_minutes <= 25
        assert {s.kind for s in module.steps} == {"lesson", "case_study", "check", "commitment"}
        assert module.steps[-1].kind == "commitment"
        for step in module.steps:
            if step.kind == "case_study":
                assert step.body and step.commentary and 2 <= len(step.discussion) <= 3
            if step.kind == "check":
                assert 4 <= len(step.questions) <= 6 and step.pass_mark_pct == 80 and step.attempts_allowed == 3
                assert all(q.explanation for q in step.questions)
            if step.kind in ("lesson", "case_study"):
                assert "<h2>" in render(step.body) or "<p>" in render(step.body)


def test_loading_the_starter_curriculum_twice_changes_nothing(db):
    first = load_starter_curriculum()
    db.session.commit()
    versions = [(m.id, m.version) for m in first]
    second = load_starter_curriculum()
    assert [(m.id, m.version) for m in second] == versions
    assert not db.session.dirty and not db.session.new
