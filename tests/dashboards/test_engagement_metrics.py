"""Engagement frames and figures on hand-made results with known answers."""

import datetime as dt
import json

import pandas as pd

from dashboards import engagement_figures as figures
from dashboards.metrics import engagement as metrics
from surveys.disclosure import SUPPRESSED_MESSAGE
from surveys.models import ALL_BANDS, PLAN_STATUSES
from surveys.results import Driver, GroupResults, ItemResult, RoundInfo

R1 = RoundInfo(1, 10, "Pulse", 1, dt.date(2026, 6, 1), dt.date(2026, 6, 28), True)
R2 = RoundInfo(2, 10, "Pulse", 2, dt.date(2026, 7, 1), dt.date(2026, 7, 28), True)
R3 = RoundInfo(3, 10, "Pulse", 3, dt.date(2026, 8, 1), dt.date(2026, 8, 28), True)


_IDS: dict[str, int] = {}


def _id_of(key: str) -> int:
    """One id per item key, distinct for distinct keys in every run.

    (``hash(key) % 1000`` was salted per process, and two keys sometimes met on one id.)
    """
    return _IDS.setdefault(key, 100 + len(_IDS))


def item(key, favourable=None, n=None, *, scale="likert5", construct=None, version=None,
         enps=None):
    """An item result; no figures means hidden below the threshold."""
    return ItemResult(
        round_question_id=_id_of(key), item_key=key,
        construct=construct or key.split(".")[0], wording=f"Wording of {key}", scale=scale,
        n=n, mean=None, favourable_pct=favourable, enps=enps, choice_counts=None,
        item_version_id=version or _id_of(key), suppressed=n is None,
    )


def shown(info=R1, path="Acme/EMEA", n=12, invited=20, *, engagement=62.5, enps=10.0,
          items=None, barriers=None, unit_id=1):
    """A shown group."""
    items = items if items is not None else [
        item("engagement.energy", 75.0, 12), item("enps.recommend", None, 12, scale="nps11",
                                                  enps=10.0),
        item("feedback.action", 50.0, 10),
    ]
    return GroupResults(info, unit_id, path, ALL_BANDS, invited, n, False, None, n / invited,
                        engagement, enps, items, barriers)


def hidden(info=R1, path="Acme/EMEA/Tiny", unit_id=2, band=ALL_BANDS):
    """A suppressed group: only its invited count and the message."""
    return GroupResults(info, unit_id, path, band, 4, None, True, SUPPRESSED_MESSAGE,
                        None, None, None, [], None)


def values(frame, column):
    """A column as a list with NaN as None."""
    return [None if pd.isna(v) else v for v in frame[column].tolist()]


def test_kpis_of_a_shown_group_carry_n_and_invited():
    row = metrics.kpi_frame(shown()).iloc[0]
    assert (row["n"], row["invited"]) == (12, 20)
    assert row["response_rate"] == 0.6
    assert (row["engagement_index"], row["enps"]) == (62.5, 10.0)
    assert not row["suppressed"]
    assert row["round"] == "Pulse · round 1 (2026-06-01 to 2026-06-28)"


def test_kpis_of_a_suppressed_group_hold_the_message_and_no_figure_not_even_invited():
    frame = metrics.kpi_frame(hidden())
    row = frame.iloc[0]
    assert row["message"] == SUPPRESSED_MESSAGE and row["suppressed"]
    for column in ("invited", "n", "response_rate", "engagement_index", "enps"):
        assert row[column] is None, column


def test_trend_has_a_row_per_round_and_series_joined_by_item_version():
    points = [
        shown(R1, items=[item("engagement.energy", 70.0, 12, version=5),
                         item("enps.recommend", None, 12, scale="nps11", enps=5.0)]),
        hidden(R2, path="Acme/EMEA"),
        shown(R3, n=15, engagement=None, items=[item("engagement.energy", None, None, version=5),
                                                item("enps.recommend", None, 15, scale="nps11",
                                                     enps=20.0)]),
    ]
    trend = metrics.trend_frame(points)
    assert metrics.rounds_with(trend) == ["#1 2026-06-01", "#2 2026-07-01", "#3 2026-08-01"]
    energy = trend[trend["series"] == "v5"]
    assert values(energy, "value") == [70.0, None]
    assert values(energy, "n") == [12, None]
    assert values(energy, "message") == [None, SUPPRESSED_MESSAGE]
    index = trend[trend["series"] == metrics.ENGAGEMENT_SERIES]
    # Round 3: the group is shown, its engagement index is hidden (fewer than k answered it).
    assert values(index, "value") == [62.5, None]
    assert index["suppressed"].tolist() == [False, True]
    whole = trend[trend["round_id"] == 2]
    assert whole["series"].tolist() == ["all"]
    assert values(whole, "value") == [None] and values(whole, "n") == [None]
    assert whole["message"].tolist() == [SUPPRESSED_MESSAGE]
    rate = trend[trend["series"] == metrics.RESPONSE_RATE_SERIES]
    assert values(rate, "value") == [60.0, 75.0]


def test_trend_figure_shows_gaps_and_says_why_for_suppressed_rounds():
    trend = metrics.trend_frame([shown(R1), hidden(R2, path="Acme/EMEA"), shown(R3, n=16)])
    figure = figures.trend_figure(trend)
    lines = {t.name: t for t in figure.data}
    index = lines["Engagement index (0–100)"]
    assert list(index.y) == [62.5, None, 62.5]
    assert list(index.text) == ["n=12", "", "n=16"]
    assert lines["feedback.action"].visible == "legendonly"
    assert index.visible is True
    assert [a.text for a in figure.layout.annotations] == [SUPPRESSED_MESSAGE]
    assert figure.layout.annotations[0].x == "#2 2026-07-01"


def test_trend_of_a_group_suppressed_in_every_round_is_a_blank_with_the_message():
    figure = figures.trend_figure(metrics.trend_frame([hidden(R1), hidden(R2)]))
    assert len(figure.data) == 0
    assert [a.text for a in figure.layout.annotations] == ["Not enough responses to show"]


def test_heatmap_blanks_suppressed_units_and_items_and_never_writes_a_number_there():
    groups = [
        shown(path="Acme/EMEA/North", n=12, items=[item("engagement.energy", 75.0, 12),
                                                    item("feedback.action", None, None)]),
        hidden(path="Acme/EMEA/Tiny"),
        shown(path="Acme/EMEA/South", n=9, unit_id=3,
              items=[item("engagement.energy", 40.0, 9), item("feedback.action", 60.0, 8)]),
    ]
    grid = metrics.heatmap_frame(groups)
    assert grid["item_key"].unique().tolist() == ["engagement.energy", "feedback.action"]
    tiny = grid[grid["unit"] == "Acme/EMEA/Tiny"]
    assert len(tiny) == 2 and tiny["suppressed"].all()
    assert values(tiny, "favourable_pct") == [None, None]
    assert values(tiny, "n") == [None, None] and values(tiny, "item_n") == [None, None]
    north = grid[grid["unit"] == "Acme/EMEA/North"]
    assert values(north, "favourable_pct") == [75.0, None]
    assert values(north, "message") == [None, SUPPRESSED_MESSAGE]

    figure = figures.heatmap_figure(grid)
    heat = figure.data[0]
    assert list(heat.y) == [
        "Acme/EMEA/North (n = 12)",
        f"Acme/EMEA/Tiny — {SUPPRESSED_MESSAGE}",
        "Acme/EMEA/South (n = 9)",
    ]
    assert heat.z[1] == [None, None] and heat.text[1] == ["", ""]
    assert heat.customdata[1] == [SUPPRESSED_MESSAGE, SUPPRESSED_MESSAGE]
    assert heat.z[0] == [75.0, None] and heat.text[0] == ["75%", ""]
    assert heat.customdata[0][1] == SUPPRESSED_MESSAGE
    assert heat.customdata[2] == ["40% favourable, n = 9 answers",
                                  "60% favourable, n = 8 answers"]


def test_heatmap_with_every_unit_suppressed_lists_them_with_the_message_only():
    grid = metrics.heatmap_frame([hidden(path="Acme/A"), hidden(path="Acme/B", unit_id=3)])
    assert grid["unit"].tolist() == ["Acme/A", "Acme/B"]
    assert grid["message"].tolist() == [SUPPRESSED_MESSAGE] * 2
    assert values(grid, "favourable_pct") == [None, None]
    figure = figures.heatmap_figure(grid)
    assert len(figure.data) == 0
    assert [a.text for a in figure.layout.annotations] == ["Not enough responses to show"]


def test_barriers_count_each_respondent_at_their_first_barrier_with_shares_of_n():
    counts = {"awareness": 2, "desire": 3, "knowledge": 0, "ability": 1, "reinforcement": 0,
              "none": 4}
    frame = metrics.barrier_frame(shown(barriers=counts))
    assert frame["barrier"].tolist() == [*metrics.READINESS_ELEMENTS, "none"]
    assert frame["respondents"].tolist() == [2, 3, 0, 1, 0, 4]
    assert frame["share"].tolist() == [0.2, 0.3, 0.0, 0.1, 0.0, 0.4]
    assert frame["n"].unique().tolist() == [10]
    bars = figures.barrier_figure(frame).data[0]
    assert list(bars.text) == ["2 (20%)", "3 (30%)", "0 (0%)", "1 (10%)", "0 (0%)", "4 (40%)"]


def test_barriers_below_threshold_or_of_a_suppressed_group_are_one_message_row():
    readiness = [item("readiness.desire.personal", 80.0, 12, construct="readiness.desire")]
    for group in (hidden(), shown(items=readiness, barriers=None)):
        frame = metrics.barrier_frame(group)
        assert len(frame) == 1
        assert frame["message"].tolist() == [SUPPRESSED_MESSAGE]
        assert values(frame, "respondents") == [None] and values(frame, "n") == [None]
        assert len(figures.barrier_figure(frame).data) == 0
    # No readiness item asked: nothing to say, not a suppression.
    assert metrics.barrier_frame(shown(barriers=None)).empty


def test_drivers_sort_strongest_first_and_keep_hidden_items_without_figures():
    drivers = [
        Driver(1, "feedback.action", "feedback_trust", "W1", 30, 0.10, -0.27, 0.44, False),
        Driver(2, "enablement.tools", "enablement.tools", "W2", 30, 0.55, 0.24, 0.76, True),
        Driver(3, "enablement.time", "enablement.time", "W3", None, None, None, None, False),
    ]
    frame = metrics.driver_frame(drivers, group_suppressed=False)
    assert frame["item_key"].tolist() == ["enablement.tools", "feedback.action", "enablement.time"]
    assert values(frame, "significant") == [True, False, None]
    assert values(frame, "message") == [None, None, SUPPRESSED_MESSAGE]
    figure = figures.driver_figure(frame)
    traces = {t.name: t for t in figure.data if t.name}
    significant = traces["Significant (95% CI excludes 0)"]
    assert list(significant.x) == [0.55]
    assert list(significant.error_x.array) == [0.76 - 0.55]
    assert list(significant.error_x.arrayminus) == [0.55 - 0.24]
    quiet = traces["Not significant"]
    assert list(quiet.text) == ["r = 0.10 (not significant)"]
    assert quiet.marker.symbol == "circle-open"
    assert list(figure.layout.yaxis.categoryarray) == [
        "enablement.tools (n = 30)", "feedback.action (n = 30)",
        # A long label is wrapped, so that the half-page chart keeps room for its marks.
        "enablement.time — not enough<br>responses to show",
    ]


def test_drivers_of_a_suppressed_group_are_one_message_row_and_a_blank_figure():
    frame = metrics.driver_frame([], group_suppressed=True, message=SUPPRESSED_MESSAGE)
    assert frame["message"].tolist() == [SUPPRESSED_MESSAGE]
    assert values(frame, "r") == [None] and values(frame, "n") == [None]
    figure = figures.driver_figure(frame)
    assert len(figure.data) == 0
    assert "0." not in json.dumps(figure.to_plotly_json()["data"])


def test_conversations_frame_reports_the_median_wait_in_hours():
    stats = {"comments": 14, "threads": 5, "awaiting_reply": 2, "closed": 1,
             "median_first_reply": dt.timedelta(hours=26, minutes=30)}
    row = metrics.conversation_frame("Acme/EMEA", stats).iloc[0]
    assert (row["comments"], row["threads"], row["awaiting_reply"], row["closed"]) == (14, 5, 2, 1)
    assert row["median_hours_to_first_reply"] == 26.5
    none = metrics.conversation_frame("Acme", {"comments": 0, "threads": 0, "awaiting_reply": 0,
                                               "closed": 0, "median_first_reply": None})
    assert values(none, "median_hours_to_first_reply") == [None]


def test_plans_frame_lists_every_status_in_order_with_zeros():
    frame = metrics.plan_frame(["done", "planned", "done", "done"])
    assert frame["status"].tolist() == list(PLAN_STATUSES)
    assert frame["plans"].tolist() == [1, 0, 3, 0]
    figure = figures.plans_figure(frame)
    bars = figure.data[0]
    assert list(bars.text) == ["n = 1", "n = 0", "n = 3", "n = 0"]
    # Whole plans only on the axis: one tick per plan while the counts are small.
    assert (figure.layout.yaxis.dtick, figure.layout.yaxis.tickformat) == (1, ",d")
    many = figures.plans_figure(metrics.plan_frame(["done"] * 40))
    assert many.layout.yaxis.dtick is None
