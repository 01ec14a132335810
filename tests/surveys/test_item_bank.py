"""The item bank: the file is valid, syncing is idempotent, a wording change makes a new version."""
from __future__ import annotations

from collections import Counter

import pytest
import yaml
from sqlalchemy import func, select

from surveys.models import SurveyItem, SurveyItemVersion
from surveys.services import ITEM_BANK_FILE, SurveyError, load_item_bank, sync_item_bank


def _write_bank(path, items):
    path.write_text(yaml.safe_dump({"items": items}), encoding="utf-8")
    return path


def _count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_bank_covers_every_construct_the_product_names():
    constructs = Counter(entry["construct"] for entry in load_item_bank())
    assert constructs["engagement"] >= 5
    assert constructs["enps"] == 1
    for element in ("awareness", "desire", "knowledge", "ability", "reinforcement"):
        assert constructs[f"readiness.{element}"] == 2
    assert constructs["leadership_commitment"] >= 2
    assert constructs["feedback_trust"] == 2
    for enabler in ("tools", "time", "training"):
        assert constructs[f"enablement.{enabler}"] >= 1
    assert constructs["conflicting_priorities"] >= 1
    assert constructs["training_usefulness"] == 1


def test_enps_item_is_on_the_eleven_point_scale():
    enps = [e for e in load_item_bank() if e["construct"] == "enps"]
    assert [e["scale"] for e in enps] == ["nps11"]


def test_first_sync_creates_one_version_per_item(db):
    result = sync_item_bank()
    n = len(load_item_bank())
    assert len(result.created) == n
    assert _count(db, SurveyItem) == n
    assert _count(db, SurveyItemVersion) == n


def test_second_sync_changes_nothing(db):
    sync_item_bank()
    result = sync_item_bank()
    assert result.created == [] and result.new_versions == []
    assert _count(db, SurveyItemVersion) == len(load_item_bank())


def test_changed_wording_creates_a_new_version_and_keeps_the_old(db, tmp_path):
    bank = tmp_path / "bank.yaml"
    item = {"key": "engagement.energy", "construct": "engagement", "scale": "likert5",
            "wording": "I start work with energy."}
    sync_item_bank(_write_bank(bank, [item]))
    result = sync_item_bank(_write_bank(bank, [{**item, "wording": "Most days I start work with energy."}]))
    stored = db.session.scalar(select(SurveyItem).where(SurveyItem.key == "engagement.energy"))
    assert result.new_versions == ["engagement.energy"]
    assert [(v.version, v.wording) for v in stored.versions] == [
        (1, "I start work with energy."),
        (2, "Most days I start work with energy."),
    ]


def test_whitespace_only_change_is_not_a_new_version(db, tmp_path):
    bank = tmp_path / "bank.yaml"
    item = {"key": "x.one", "construct": "x", "scale": "likert5", "wording": "I like it."}
    sync_item_bank(_write_bank(bank, [item]))
    result = sync_item_bank(_write_bank(bank, [{**item, "wording": "  I like   it. "}]))
    assert result.new_versions == [] and result.unchanged == 1


def test_changed_options_create_a_new_version(db, tmp_path):
    bank = tmp_path / "bank.yaml"
    item = {"key": "x.pick", "construct": "x", "scale": "single", "wording": "Pick", "options": ["A", "B"]}
    sync_item_bank(_write_bank(bank, [item]))
    result = sync_item_bank(_write_bank(bank, [{**item, "options": ["A", "B", "C"]}]))
    assert result.new_versions == ["x.pick"]


def test_bank_with_duplicate_key_is_refused(tmp_path):
    item = {"key": "x.one", "construct": "x", "scale": "likert5", "wording": "W"}
    with pytest.raises(SurveyError, match="twice"):
        load_item_bank(_write_bank(tmp_path / "bank.yaml", [item, item]))


def test_bank_with_unknown_scale_is_refused(tmp_path):
    item = {"key": "x.one", "construct": "x", "scale": "likert7", "wording": "W"}
    with pytest.raises(SurveyError, match="scale"):
        load_item_bank(_write_bank(tmp_path / "bank.yaml", [item]))


def test_bank_file_ships_inside_the_package():
    assert ITEM_BANK_FILE.is_file() and ITEM_BANK_FILE.parent.name == "surveys"


def test_documentation_lists_every_item_with_its_current_wording():
    docs = (ITEM_BANK_FILE.parent.parent / "docs" / "survey-items.md").read_text(encoding="utf-8")
    for entry in load_item_bank():
        assert f"| `{entry['key']}` | {entry['scale']} | {entry['wording']}" in docs, entry["key"]
