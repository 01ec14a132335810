"""The demo loaded on Friday 2 April 2027, just into a quarter, whose week's Monday is still in the
quarter before: the checks of every load day (tests/dashboards/demo_load_days.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.dashboards.demo_load_days import *  # its __all__: the fixtures and the checks of every load day
from tests.dashboards.demo_load_days import DAYS

# It loads the demo for itself (a minute or two): started first (tests/conftest.py).
pytestmark = pytest.mark.long_module


@pytest.fixture(scope="module")
def load_day() -> dt.date:
    """The day this module's demo is built for."""
    return DAYS[1]
