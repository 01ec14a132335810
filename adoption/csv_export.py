"""CSV files that people open in a spreadsheet: text a spreadsheet would run as a formula is
written as plain text (OWASP, "CSV injection"). Used by the access log's download and the
dashboards' chart downloads (``dashboards.components.send_csv``). The imports' rejects files do
not use it on purpose: they keep each refused value as sent, to be corrected and imported again.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

#: What a spreadsheet reads as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """``value`` with an apostrophe in front when a spreadsheet would run it as a formula; text
    that is a plain number ("-3", "+2.5") stays as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    """``header`` and ``rows`` as CSV text, every cell through ``spreadsheet_safe``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return out.getvalue()
