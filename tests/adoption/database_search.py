"""Searching every text column of every table for what names someone: the erasure tests' proof
that nothing in the database names an erased person or account any more."""
from __future__ import annotations

import json
import re

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Interval, Numeric, Time, select

from adoption.extensions import db

# Column types whose values cannot hold a name.
CANNOT_HOLD_TEXT = (Boolean, Date, DateTime, Float, Integer, Interval, Numeric, Time)


def as_text(value) -> str | None:
    """A column's value as text to search: JSON as written (not escaped), bytes decoded."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


def mentions_of(needles: list[str]) -> re.Pattern:
    """One pattern for every needle, each as a whole token (an HR id inside a longer id does not
    count), run over the text of a whole table at once."""
    return re.compile("|".join(rf"(?<![\w.-]){re.escape(n)}(?![\w-])"
                               for n in sorted(set(needles), key=len, reverse=True)), re.IGNORECASE)


def mentions_in_database(needles: list[str]) -> list[tuple[str, str]]:
    """(table, the text found) for every whole-token mention of a needle, any case, in any column
    that can hold text."""
    mentions = mentions_of(needles)
    found = []
    for table in db.metadata.sorted_tables:
        # A name can only be held as text: numbers, dates and flags are not read.
        columns = [c for c in table.columns if not isinstance(c.type, CANNOT_HOLD_TEXT)]
        if not columns:
            continue
        values = (as_text(v) for row in db.session.execute(select(*columns)) for v in row)
        text = "\n".join(v for v in values if v)
        # The pattern (one alternative per needle) is slow over megabytes: it runs only on a table
        # where some needle appears at all, which a plain substring search finds quickly.
        lowered = text.lower()
        if any(n.lower() in lowered for n in needles):
            found += [(table.name, match.group(0)) for match in mentions.finditer(text)]
    return found
