"""The organization's calendar: today's date in its time zone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def org_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date in ``timezone`` (``now`` defaults to the current instant)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(timezone)).date()
