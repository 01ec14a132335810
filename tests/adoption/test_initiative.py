"""The initiative: validation, idempotency by name, sponsors must be executives."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from adoption.initiative import InitiativeError, current_initiative, save_initiative
from adoption.models import Initiative
from tests.factories import make_employee

START = dt.date(2026, 1, 12)


def save(**overrides):
    values = {"start_date": START, "licensed_seats": 450, "adoption_target_pct": 80,
                  "key_behaviours": ["opportunity_updated", "activity_logged"]}
    values.update(overrides)
    return save_initiative(overrides.pop("name", "CRM rollout"), **{k: v for k, v in values.items() if k != "name"})


def test_saving_twice_updates_the_same_initiative(db):
    save()
    save(licensed_seats=500, key_behaviours=["activity_logged", "activity_logged"])
    assert db.session.scalar(select(func.count()).select_from(Initiative)) == 1
    initiative = current_initiative()
    assert initiative.licensed_seats == 500 and initiative.key_behaviours == ["activity_logged"]


def test_sponsors_must_be_active_executives(db):
    ceo = make_employee("Acme", is_executive=True)
    rep = make_employee()
    assert save(sponsors=[ceo]).sponsors == [ceo]
    with pytest.raises(InitiativeError, match="active executives"):
        save(sponsors=[ceo, rep])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("adoption_target_pct", 120, "percentage"), ("licensed_seats", -1, "negative"),
     ("key_behaviours", ["Opportunity Updated"], "event type names")],
)
def test_invalid_settings_are_refused(db, field, value, message):
    with pytest.raises(InitiativeError, match=message):
        save(**{field: value})
