"""Clocks: now as the database stores it, and today's date in the organization's time zone."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def org_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """Today's date in ``timezone`` (``now`` defaults to the current instant)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(timezone)).date()


def utcnow() -> dt.datetime:
    """The current instant as the naive UTC every timestamp column holds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
