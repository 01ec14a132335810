"""The demo loaded on Monday 4 January 2027, the first day of a quarter and of a year: the checks of
every load day (tests/dashboards/demo_load_days.py), and the same day loaded again into a fresh
database gives the same data."""

from __future__ import annotations

import datetime as dt

import pytest

from adoption.demo import load_demo
from adoption.extensions import db as _db
from tests.conftest import app_of_its_own
from tests.dashboards.demo_load_days import *  # its __all__: the fixtures and the checks of every load day
from tests.dashboards.demo_load_days import DAYS, SEED, fingerprint

# It loads the demo for itself (a minute or two): started first (tests/conftest.py).
pytestmark = pytest.mark.long_module


@pytest.fixture(scope="module")
def load_day() -> dt.date:
    """The day this module's demo is built for."""
    return DAYS[0]


# Last in the module: on PostgreSQL the fresh database empties the day's tables.
@pytest.mark.usefixtures("loaded")
def test_the_same_day_gives_the_same_data_twice(tmp_path):
    first = fingerprint()
    _db.session.rollback()  # on PostgreSQL the fresh database empties these tables: no lock held
    with app_of_its_own(tmp_path) as _other:
        load_demo(size="small", seed=SEED, today=DAYS[0])
        _db.session.commit()
        again = fingerprint()
    assert all(first.values())
    assert again == first
