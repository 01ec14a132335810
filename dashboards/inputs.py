"""Reading the raw values a Dash callback receives: a callback is a public POST endpoint, so
every input may be anything JSON can carry, and what cannot be read becomes ``None``."""

from __future__ import annotations

import datetime as dt
from typing import Any


def parse_day(value: Any) -> dt.date | None:
    """The date a picker sent (``YYYY-MM-DD`` or an ISO timestamp); ``None`` if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_int(value: Any) -> int | None:
    """An integer (a unit id, a depth) from a dropdown; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
