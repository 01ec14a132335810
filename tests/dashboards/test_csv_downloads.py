"""Every dashboard CSV download goes through ``components.send_csv``: text a spreadsheet would run
as a formula (OWASP "CSV injection") arrives as plain text, numbers and dates as they were."""
from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from adoption.csv_export import spreadsheet_safe
from dashboards.components import send_csv


@pytest.mark.parametrize("value, shown", [
    ('=HYPERLINK("http://evil.example","Open")', '\'=HYPERLINK("http://evil.example","Open")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+9)*cmd|' /C calc'!A0", "'@SUM(1+9)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("-3", "-3"), ("+2.5", "+2.5"), ("-1e3", "-1e3"),
    ("Acme/EMEA/Sales North", "Acme/EMEA/Sales North"), ("a=b", "a=b"), ("", ""),
])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(value, shown):
    assert spreadsheet_safe(value) == shown


def test_the_download_keeps_numbers_and_neutralises_each_text_column():
    frame = pd.DataFrame({
        "unit": ["Acme/=1+1", "Acme/North"],
        "full_name": pd.array(["@Dan", "Nora"], dtype="string"),
        "adoption_rate": [-12.5, 40.0],
        "week_start": ["2024-06-03", "2024-06-10"],
    })
    data = send_csv(frame, "adoption-rate.csv")
    assert data["filename"] == "adoption-rate.csv"
    rows = list(csv.DictReader(io.StringIO(data["content"])))
    assert rows == [
        {"unit": "Acme/=1+1", "full_name": "'@Dan", "adoption_rate": "-12.5", "week_start": "2024-06-03"},
        {"unit": "Acme/North", "full_name": "Nora", "adoption_rate": "40.0", "week_start": "2024-06-10"},
    ]
    assert frame.loc[0, "full_name"] == "@Dan"  # the chart's own frame is untouched
