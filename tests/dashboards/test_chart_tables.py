"""A chart's data as a table (dashboards/chart_tables.py): built from the figure, it says what
each point's tooltip says, keeps the chart's suppressions, and reads what is written on the chart."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import html

from dashboards import engagement_figures, figures, training_figures
from dashboards.chart_tables import MAX_CELLS, MAX_ROWS, chart_table
from dashboards.figures import empty_figure, plain_figure


def _text(component) -> str:
    """The text a component shows."""
    if isinstance(component, (list, tuple)):
        return "".join(_text(c) for c in component)
    if isinstance(component, html.Br):
        return " "
    if hasattr(component, "children"):
        return _text(component.children)
    return "" if component is None else str(component)


def _grid(children: list) -> list[list[str]]:
    """The table in ``children`` as rows of cell texts, its header row first."""
    table = next(c for c in children if isinstance(c, html.Table))
    head = next(c for c in table.children if isinstance(c, html.Thead))
    body = next(c for c in table.children if isinstance(c, html.Tbody))
    return [[_text(cell) for cell in head.children.children],
            *([_text(cell) for cell in row.children] for row in body.children)]


def _caption(children: list) -> str | None:
    table = next(c for c in children if isinstance(c, html.Table))
    return next((_text(c) for c in table.children if isinstance(c, html.Caption)), None)


def _weekly(rates: list[float | None]) -> pd.DataFrame:
    weeks = [dt.date(2026, 6, 1) + dt.timedelta(weeks=i) for i in range(len(rates))]
    licensed = [20] * len(rates)
    active = [0 if r is None else round(r * 20) for r in rates]
    return pd.DataFrame({"week_start": weeks, "licensed": licensed, "active": active,
                         "adoption_rate": [float("nan") if r is None else r for r in rates]})


def test_a_line_chart_gives_a_row_per_week_and_a_column_per_series_with_each_points_n():
    grid = _grid(chart_table(figures.adoption_rate_figure(_weekly([0.45, 0.5, 0.55]), 0.6)))

    assert grid[0] == ["Week starting", "Adoption rate", "Target 60%"]
    # The target's tooltip only names its series: the cell gives its value instead.
    assert grid[1] == ["2026-06-01", "45% active: 9 of 20 licensed (n)", "60%"]
    # The target is drawn from its two ends: the weeks between have no point of it.
    assert grid[2] == ["2026-06-08", "50% active: 10 of 20 licensed (n)", ""]
    assert len(grid) == 4


def test_a_week_without_a_value_says_so_instead_of_a_number():
    grid = _grid(chart_table(figures.adoption_rate_figure(_weekly([0.45, None]), None)))

    assert grid[2] == ["2026-06-08", "no value"]


def test_a_heatmap_gives_its_rows_and_columns_with_each_cells_tooltip_less_the_headers():
    grid_frame = pd.DataFrame({
        "path": ["Acme/EMEA", "Acme/EMEA", "Acme/APAC", "Acme/APAC"],
        "week_start": [dt.date(2026, 6, 1), dt.date(2026, 6, 8)] * 2,
        "licensed": [10, 10, 3, 3], "active": [5, 6, 1, 2],
        "adoption_rate": [0.5, 0.6, 1 / 3, 2 / 3], "small_n": [False, False, True, True],
    })

    grid = _grid(chart_table(figures.adoption_heatmap(grid_frame, min_n=5)))

    assert grid[0] == ["Category", "2026-06-01", "2026-06-08"]
    assert grid[1] == ["Acme/EMEA", "50%; 5 active of 10 licensed (n)",
                       "60%; 6 active of 10 licensed (n)"]
    assert grid[2][0] == "Acme/APAC"
    assert grid[2][1] == "33%*; 1 active of 3 licensed (n)"


def test_a_suppressed_cell_of_the_engagement_heatmap_shows_only_the_suppression_message():
    frame = pd.DataFrame({
        "unit": ["Acme/EMEA", "Acme/EMEA", "Acme/APAC", "Acme/APAC"],
        "item_key": ["engagement.pride", "feedback.action"] * 2,
        "n": [12, 12, 9, 9],
        "favourable_pct": [75.0, 40.0, 66.0, None],
        "item_n": [12, 12, 9, 2],
        "suppressed": [False, False, False, True],
        "message": [None, None, None, "not enough responses to show"],
    })

    grid = _grid(chart_table(engagement_figures.heatmap_figure(frame), rows="Unit"))

    assert grid[0] == ["Unit", "engagement.pride", "feedback.action"]
    assert grid[1] == ["Acme/EMEA (n = 12)", "75% favourable, n = 12 answers",
                       "40% favourable, n = 12 answers"]
    assert grid[2] == ["Acme/APAC (n = 9)", "66% favourable, n = 9 answers",
                       "not enough responses to show"]


def test_a_chart_with_nothing_to_draw_gives_its_message_and_no_table():
    children = chart_table(empty_figure("Not enough responses to show"))

    assert not any(isinstance(c, html.Table) for c in children)
    assert "Not enough responses to show" in _text(children)


def test_lines_drawn_only_as_context_are_left_out_and_a_plain_figures_title_is_the_caption():
    band = {"type": "scatter", "x": ["a", "b"], "y": [1, 2], "name": "95% band",
            "hoverinfo": "skip"}
    points = {"type": "bar", "x": ["a", "b"], "y": [3, 4], "name": "count",
              "hovertemplate": "%{x}: %{y} plan(s)<extra></extra>"}

    children = chart_table(plain_figure([band, points], "Plans <b>by</b> status", "status", "n"))

    assert _grid(children) == [["status", "count"], ["a", "3 plan(s)"], ["b", "4 plan(s)"]]
    assert _caption(children) == "Plans by status"


def test_horizontal_bars_give_a_row_per_bar_label_and_a_column_per_stack():
    frame = pd.DataFrame({
        "unit": ["Acme/EMEA", "Acme/EMEA"], "status": ["on_time", "late"],
        "assignees": [6, 4], "n": [10, 10], "share": [0.6, 0.4], "hidden": [False, False],
    })

    grid = _grid(chart_table(training_figures.completion_figure(frame)))

    assert grid[1][0] == "Acme/EMEA (n = 10)"
    on_time = grid[0].index("Completed on time")
    # The series' name heads the column; the cell does not say it again.
    assert grid[1][on_time] == "60% (6 of 10 assignees)"


def test_every_item_of_the_driver_chart_keeps_its_row_even_without_a_mark():
    drivers = pd.DataFrame({
        "item_key": ["enps.recommend", "feedback.action"], "n": [40, None],
        "r": [0.5, None], "ci_low": [0.2, None], "ci_high": [0.7, None],
        "significant": [True, False], "suppressed": [False, True],
        "message": [None, "not enough responses to show"],
    })

    grid = _grid(chart_table(engagement_figures.driver_figure(drivers)))

    assert grid[1] == ["enps.recommend (n = 40)", "r = 0.50, 95% CI [0.20, 0.70], n = 40"]
    assert grid[2] == ["feedback.action — not enough responses to show", ""]


def test_a_scatter_of_two_numbers_gives_a_numbered_row_per_point():
    trace = {"type": "scatter", "x": [0.1, -0.2], "y": [1.5, 2.25], "mode": "markers",
             "text": ["Acme/EMEA<br>2026-05", "Acme/APAC<br>2026-05"],
             "hovertemplate": "%{text}<extra></extra>"}

    grid = _grid(chart_table(plain_figure([trace], "", "x", "y")))

    assert grid == [["Point", "Details"], ["1", "Acme/EMEA; 2026-05"],
                    ["2", "Acme/APAC; 2026-05"]]


def test_a_chart_with_more_points_than_the_table_shows_says_where_the_rest_is():
    count = MAX_ROWS + 5
    trace = {"type": "scatter", "x": list(range(count)), "y": [0.5] * count,
             "hovertemplate": "%{y:.0%}<extra></extra>"}

    children = chart_table(plain_figure([trace], "", "x", "y"))

    assert len(_grid(children)) == MAX_ROWS + 1
    assert f"The first {MAX_ROWS} of {count} rows" in _text(children)


def test_what_is_written_beside_a_row_follows_the_table_as_a_note():
    frame = pd.DataFrame({
        "module": ["Pipeline basics"], "behaviour": ["activity_logged"],
        "n_completers": [3], "n_comparison": [40], "estimate": [None], "ci_low": [None],
        "ci_high": [None], "p_value": [None], "message": ["fewer than 5 completers"],
    })

    children = chart_table(training_figures.did_figure(frame))

    assert ("Pipeline basics · activity_logged (completers n = 3, comparison n = 40): "
            "fewer than 5 completers") in _text(children)


def test_a_row_label_holding_a_colon_is_not_repeated_in_its_cells():
    frame = pd.DataFrame({
        "module": ["Customer insight first: what to record"], "n": [12], "hidden": [False],
        "mean": [4.08], "ci_low": [3.8], "ci_high": [4.3],
    })

    grid = _grid(chart_table(training_figures.reaction_figure(frame)))

    assert grid[1] == ["Customer insight first: what to record (n = 12)",
                       "Mean 4.08 of 5 (n = 12), 95% interval shown"]


def test_a_heatmap_too_big_for_a_page_shows_whole_rows_up_to_its_cell_limit_and_says_so():
    columns, units = 50, MAX_CELLS // 50 + 3
    grid_frame = pd.DataFrame([
        {"path": f"Acme/Team {u:03d}", "week_start": dt.date(2026, 1, 5) + dt.timedelta(weeks=w),
         "licensed": 10, "active": 5, "adoption_rate": 0.5, "small_n": False}
        for u in range(units) for w in range(columns)])

    children = chart_table(figures.adoption_heatmap(grid_frame, min_n=5))

    grid = _grid(children)
    assert len(grid) - 1 == MAX_CELLS // columns
    assert all(len(row) == columns + 1 for row in grid)
    assert f"The first {MAX_CELLS // columns} of {units} rows" in _text(children)
