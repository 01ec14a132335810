"""The demo loaded on Monday 4 January 2027, the first day of a quarter and of a year: the checks of
every load day (tests/dashboards/demo_load_days.py), and the same day loaded again into a fresh
database gives the same data."""

from __future__ import annotations

import datetime as dt

import pytest

from adoption.demo import load_demo
from adoption.extensions import db as _db
from tests.conftest import app_of_its_own
from tests.dashboards.demo_load_days import (  # noqa: F401 (fixtures and the checks of every load day)
    DAYS,
    SEED,
    app,
    day,
    fingerprint,
    loaded,
    test_early_in_a_quarter_the_page_opens_on_the_quarter_just_ended_and_late_in_it_on_the_current,
    test_loading_again_on_another_day_keeps_the_first_loads_dates,
    test_plans_cover_the_demos_three_quarters_and_the_load_days_own,
    test_the_cli_says_which_day_the_demo_was_built_for,
    test_the_data_ends_near_the_load_day,
    test_the_executive_sees_their_record_on_the_page_they_land_on,
    test_the_sponsors_stories_hold_on_the_commitment_pages_default_quarter,
    test_two_messages_went_out_from_the_app_naming_a_pulse_round_closed_before_them,
)

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
