"""Metric definitions on tiny hand-built usage frames with known answers (no database)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from adoption.telemetry import metrics

START, END = dt.date(2024, 5, 1), dt.date(2024, 5, 10)
KEY_BEHAVIOURS = ["activity_logged", "opportunity_updated", "report_viewed"]
# 1: licensed, active only before the window (in the 30-day look-back)
# 2: licensed, active on 1 and 2 May with two event types
# 3: licensed, active on the window's last day
# 4: not licensed (left the scope's licence set), active on 5 May
# 5: licensed, never active in the window (one event the day after it)
USAGE = pd.DataFrame(
    [
        (dt.date(2024, 4, 20), 1, "login", 1),
        (dt.date(2024, 5, 1), 2, "login", 2),
        (dt.date(2024, 5, 1), 2, "activity_logged", 3),
        (dt.date(2024, 5, 2), 2, "login", 1),
        (dt.date(2024, 5, 10), 3, "opportunity_updated", 4),
        (dt.date(2024, 5, 5), 4, "login", 1),
        (dt.date(2024, 5, 11), 5, "login", 1),
    ],
    columns=metrics.USAGE_COLUMNS,
)
LICENSED = {1, 2, 3, 5}


def frame(*rows) -> pd.DataFrame:
    """A usage frame of (day, employee_id, event_type, events) rows."""
    return pd.DataFrame(list(rows), columns=metrics.USAGE_COLUMNS)


def test_active_users_are_people_with_an_event_in_the_window():
    assert metrics.active_users(USAGE, START, END) == 3  # 2, 3 and 4


def test_licensed_users_count_the_licensed_set():
    assert metrics.licensed_users(LICENSED) == 4


def test_adoption_rate_is_active_licensed_over_licensed():
    assert metrics.adoption_rate(USAGE, LICENSED, START, END) == 0.5  # 2 and 3 of 4; 4 is unlicensed


def test_key_behaviour_adoption_is_the_share_of_licensed_people_per_behaviour():
    assert metrics.key_behaviour_adoption(USAGE, LICENSED, KEY_BEHAVIOURS, START, END) == {
        "activity_logged": 0.25, "opportunity_updated": 0.25, "report_viewed": 0.0}


def test_key_behaviour_of_an_unlicensed_person_does_not_count():
    usage = frame((dt.date(2024, 5, 3), 4, "activity_logged", 1))
    assert metrics.key_behaviour_adoption(usage, LICENSED, ["activity_logged"], START, END) == {"activity_logged": 0.0}


def test_breadth_is_mean_distinct_event_types_per_active_user():
    assert metrics.breadth(USAGE, START, END) == pytest.approx(4 / 3)  # 2, 1 and 1 types


def test_depth_is_qualifying_events_per_active_user():
    assert metrics.depth(USAGE, START, END) == pytest.approx(11 / 3)  # 6 + 4 + 1 events


def test_dormant_users_are_licensed_without_an_event_in_the_30_days_ending_at_the_end():
    # 1 was active 20 days before the end; only 5 (active the day after) is dormant.
    assert metrics.dormant_users(USAGE, LICENSED, END) == 1


def test_an_event_30_days_before_the_end_no_longer_prevents_dormancy():
    usage = frame((END - dt.timedelta(days=30), 1, "login", 1), (END - dt.timedelta(days=29), 2, "login", 1))
    assert metrics.dormant_users(usage, {1, 2}, END) == 1


def test_stickiness_is_the_mean_daily_dau_over_mau():
    # DAU/MAU per day, 1-10 May: 1/2, 1/2, 0, 0, 1/3, 0, 0, 0, 0, 1/4 (person 1 stays in MAU).
    expected = (0.5 + 0.5 + 1 / 3 + 0.25) / 10
    assert metrics.stickiness(USAGE, START, END) == pytest.approx(expected)


def test_daily_active_and_monthly_active_per_day():
    daily = metrics.daily_active_and_monthly_active(USAGE, START, END)
    assert daily["dau"].tolist() == [1, 1, 0, 0, 1, 0, 0, 0, 0, 1]
    assert daily["mau"].tolist() == [2, 2, 2, 2, 3, 3, 3, 3, 3, 4]


def test_someone_used_every_day_is_perfectly_sticky():
    usage = frame(*[(START + dt.timedelta(days=i), 7, "login", 1) for i in range(10)])
    assert metrics.stickiness(usage, START, END) == 1.0


def test_mau_looks_back_29_days_before_each_day():
    one_day = dt.date(2024, 5, 1)
    inside = frame((one_day - dt.timedelta(days=29), 1, "login", 1))
    outside = frame((one_day - dt.timedelta(days=30), 1, "login", 1))
    assert metrics.stickiness(inside, one_day, one_day) == 0.0  # MAU 1, DAU 0
    assert metrics.stickiness(outside, one_day, one_day) is None  # MAU 0: nothing to average


@pytest.mark.parametrize("name", ["adoption_rate", "stickiness", "breadth", "depth"])
def test_ratios_with_a_zero_denominator_are_none(name):
    summary = metrics.summarize(metrics.empty_usage(), set(), START, END, KEY_BEHAVIOURS)
    assert summary[name] is None


def test_empty_scope_gives_zero_counts_and_unknown_behaviour_shares():
    summary = metrics.summarize(metrics.empty_usage(), set(), START, END, KEY_BEHAVIOURS)
    assert (summary["licensed"], summary["active_users"], summary["dormant"]) == (0, 0, 0)
    assert summary["key_behaviours"] == dict.fromkeys(KEY_BEHAVIOURS)


def test_licensed_people_without_usage_give_a_zero_rate_not_none():
    summary = metrics.summarize(metrics.empty_usage(), {1, 2}, START, END, KEY_BEHAVIOURS)
    assert summary["adoption_rate"] == 0.0
    assert summary["dormant"] == 2
    assert summary["breadth"] is None


def test_summarize_returns_every_metric_and_the_definitions_version():
    summary = metrics.summarize(USAGE, LICENSED, START, END, KEY_BEHAVIOURS)
    assert summary == {
        "licensed": 4, "active_users": 3, "adoption_rate": 0.5,
        "key_behaviours": {"activity_logged": 0.25, "opportunity_updated": 0.25, "report_viewed": 0.0},
        "stickiness": pytest.approx((0.5 + 0.5 + 1 / 3 + 0.25) / 10),
        "breadth": pytest.approx(4 / 3), "depth": pytest.approx(11 / 3), "dormant": 1,
        "definitions_version": metrics.DEFINITIONS_VERSION,
    }


def test_summary_values_are_plain_python_numbers():
    summary = metrics.summarize(USAGE, LICENSED, START, END, KEY_BEHAVIOURS)
    for name in ("licensed", "active_users", "dormant"):
        assert type(summary[name]) is int
    for name in ("adoption_rate", "stickiness", "breadth", "depth"):
        assert type(summary[name]) is float


def test_every_metric_is_defined_with_a_version_formula_and_window():
    names = {"active_users", "licensed_users", "adoption_rate", "key_behaviour_adoption", "stickiness",
             "breadth", "depth", "dormant_users"}
    assert set(metrics.DEFINITIONS) == names
    for definition in metrics.DEFINITIONS.values():
        assert definition.version >= 1 and definition.formula and definition.window and definition.when_empty
    assert isinstance(metrics.DEFINITIONS_VERSION, str) and metrics.DEFINITIONS_VERSION
