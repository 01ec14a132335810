"""The organization's "today": the one place the dashboards read the clock.

Metrics never call it; a page passes the date it shows into queries and metrics.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def org_today() -> dt.date:
    """Today's date in the organization's time zone (``ORG_TIMEZONE``), not the server's."""
    return dt.datetime.now(ZoneInfo(current_app.config["ORG_TIMEZONE"])).date()
