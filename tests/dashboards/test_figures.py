"""Figures from frames: what a reader sees, including when there is nothing to see."""

import pandas as pd

from dashboards import figures
from dashboards.metrics import organization as metrics


def test_empty_data_gives_a_figure_that_says_no_data_in_your_scope():
    figure = figures.headcount_figure(
        metrics.roll_up(pd.DataFrame(columns=["path", "name", "employees", "licensed"]), 0)
    )
    assert len(figure.data) == 0
    assert [a.text for a in figure.layout.annotations] == ["No data in your scope"]


def test_headcount_figure_has_employees_and_licensed_bars_with_n_per_unit():
    rolled = pd.DataFrame(
        {
            "path": ["Acme/EMEA", "Acme/Americas"],
            "name": ["EMEA", "Americas"],
            "depth": [1, 1],
            "units": [3, 2],
            "employees": [11, 6],
            "licensed": [7, 0],
            "licence_share": [7 / 11, 0.0],
        }
    )
    figure = figures.headcount_figure(rolled)
    employees, licensed = figure.data
    assert (employees.name, licensed.name) == ("Employees", "Licensed")
    assert employees.orientation == licensed.orientation == "h"
    assert list(employees.y) == ["Acme/EMEA", "Acme/Americas"]
    assert list(employees.x) == [11, 6]
    assert list(licensed.x) == [7, 0]
    assert list(employees.text) == ["n = 11", "n = 6"]
    assert list(licensed.text) == ["7 (64%)", "0 (0%)"]
