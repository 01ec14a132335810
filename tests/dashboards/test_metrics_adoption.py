"""Adoption metrics on tiny hand-made frames with known answers."""

import datetime as dt
import math

import pandas as pd

from adoption.models.org import UNIT_PATH_SEPARATOR
from dashboards.metrics import adoption as metrics

W1, W2, W3, W4, W5 = (dt.date(2024, 6, 3) + dt.timedelta(weeks=i) for i in range(5))


def unit_weeks(*rows):
    """A unit × week frame from (unit_id, path, week, licensed, active) tuples."""
    return pd.DataFrame(rows, columns=["unit_id", "path", "week_start", "licensed", "active"])


def falling(unit_id, path, *rates, licensed=10):
    """Rows of one unit with ``licensed`` people and the given weekly rates from W1 on."""
    weeks = (W1, W2, W3, W4, W5)
    return [(unit_id, path, w, licensed, round(r * licensed)) for w, r in zip(weeks, rates)]


def test_path_separator_matches_the_models():
    assert metrics.UNIT_PATH_SEPARATOR == UNIT_PATH_SEPARATOR


def test_week_of_starts_weeks_on_the_configured_day():
    wednesday = dt.date(2024, 6, 5)
    assert metrics.week_of(wednesday, 0) == dt.date(2024, 6, 3)
    assert metrics.week_of(wednesday, 6) == dt.date(2024, 6, 2)
    assert metrics.week_of(dt.date(2024, 6, 3), 0) == dt.date(2024, 6, 3)


def test_weeks_in_period_lists_every_overlapping_week():
    assert metrics.weeks_in_period(dt.date(2024, 6, 5), dt.date(2024, 6, 18), 0) == [
        dt.date(2024, 6, 3),
        dt.date(2024, 6, 10),
        dt.date(2024, 6, 17),
    ]
    assert metrics.weeks_in_period(dt.date(2024, 6, 18), dt.date(2024, 6, 5), 0) == []


def test_complete_weeks_leave_out_the_running_week():
    weeks = [W1, W2, W3]
    assert metrics.complete_weeks(weeks, W3 + dt.timedelta(days=5)) == [W1, W2]
    assert metrics.complete_weeks(weeks, W3 + dt.timedelta(days=6)) == [W1, W2, W3]


def test_rate_is_missing_not_zero_when_nobody_is_licensed():
    rates = metrics.rate(pd.Series([3, 0, 0]), pd.Series([4, 0, 5]))
    assert rates.iloc[0] == 0.75
    assert math.isnan(rates.iloc[1])
    assert rates.iloc[2] == 0.0


def test_last_whole_week_is_the_latest_week_ending_by_the_day():
    sunday, monday = dt.date(2025, 4, 13), dt.date(2025, 4, 14)  # weeks start on Monday (0)
    assert metrics.last_whole_week(sunday, 0) == dt.date(2025, 4, 7)  # its own week has just ended
    assert metrics.last_whole_week(monday, 0) == dt.date(2025, 4, 7)  # its own week is running
    assert metrics.last_whole_week(sunday, 6) == dt.date(2025, 4, 6)  # weeks from Sunday: 6-12 April


def test_weekly_adoption_sums_units_and_fills_missing_weeks_with_no_rate():
    usage = pd.DataFrame({"week_start": [W1, W1, W3], "licensed": [4, 6, 5], "active": [1, 4, 5]})
    weekly = metrics.weekly_adoption(usage, [W1, W2, W3])
    assert weekly["week_start"].tolist() == [W1, W2, W3]
    assert weekly["licensed"].tolist() == [10, 0, 5]
    assert weekly["active"].tolist() == [5, 0, 5]
    assert weekly["adoption_rate"].iloc[0] == 0.5
    assert math.isnan(weekly["adoption_rate"].iloc[1])
    assert weekly["adoption_rate"].iloc[2] == 1.0


def test_behaviour_shares_divide_people_by_licensed_for_every_key_behaviour_and_week():
    weekly = metrics.weekly_adoption(
        pd.DataFrame({"week_start": [W1, W2], "licensed": [10, 0], "active": [6, 0]}), [W1, W2]
    )
    behaviours = pd.DataFrame(
        {
            "week_start": [W1, W1],
            "event_type": ["activity_logged", "report_viewed"],
            "people": [4, 9],
        }
    )
    shares = metrics.behaviour_shares(
        behaviours, weekly, ["activity_logged", "opportunity_updated"]
    )
    by_key = {(r.week_start, r.event_type): (r.people, r.share) for r in shares.itertuples()}
    assert by_key[(W1, "activity_logged")] == (4, 0.4)
    assert by_key[(W1, "opportunity_updated")] == (0, 0.0)
    assert by_key[(W2, "activity_logged")][0] == 0
    assert math.isnan(by_key[(W2, "activity_logged")][1])
    assert "report_viewed" not in set(shares["event_type"])


def test_behaviour_shares_without_key_behaviours_are_empty():
    weekly = metrics.weekly_adoption(pd.DataFrame(), [W1])
    assert metrics.behaviour_shares(pd.DataFrame(), weekly, []).empty


def test_adoption_grid_gives_every_unit_every_week_and_marks_small_cells():
    units = unit_weeks((1, "Acme/EMEA", W1, 10, 7), (2, "Acme/Americas", W2, 3, 3))
    grid = metrics.adoption_grid(units, [W1, W2], min_n=5)
    cells = {(r.path, r.week_start): (r.licensed, r.small_n) for r in grid.itertuples()}
    assert cells == {
        ("Acme/Americas", W1): (0, False),
        ("Acme/Americas", W2): (3, True),
        ("Acme/EMEA", W1): (10, False),
        ("Acme/EMEA", W2): (0, False),
    }
    emea_w1 = grid[(grid["path"] == "Acme/EMEA") & (grid["week_start"] == W1)].iloc[0]
    assert emea_w1["adoption_rate"] == 0.7
    assert grid["adoption_rate"].isna().sum() == 2


def test_subtree_totals_add_each_unit_into_its_ancestors_from_the_root_down():
    units = unit_weeks(
        (1, "Acme", W1, 1, 1),
        (3, "Acme/EMEA/North", W1, 5, 3),
        (4, "Acme/EMEA/South", W1, 2, 0),
        (5, "Acme/EMEAX", W1, 7, 7),
    )
    totals = metrics.subtree_totals(units, "Acme").set_index("path")
    assert totals.loc["Acme", "licensed"] == 15
    # EMEA has no rows of its own but holds its teams.
    assert (totals.loc["Acme/EMEA", "licensed"], totals.loc["Acme/EMEA", "active"]) == (7, 3)
    # A sibling whose name merely starts like EMEA is not below it.
    assert totals.loc["Acme/EMEAX", "licensed"] == 7


def test_subtree_totals_never_make_up_units_above_the_root():
    units = unit_weeks((3, "Acme/EMEA/North", W1, 5, 3), (4, "Acme/EMEA/North/Inside", W1, 1, 1))
    totals = metrics.subtree_totals(units, "Acme/EMEA/North")
    assert totals["path"].tolist() == ["Acme/EMEA/North", "Acme/EMEA/North/Inside"]
    assert totals["licensed"].tolist() == [6, 1]


def test_unit_below_target_and_falling_three_weeks_is_at_risk():
    units = unit_weeks(*falling(1, "Acme/North", 0.9, 0.7, 0.6, 0.5))
    at_risk = metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4])
    assert at_risk["path"].tolist() == ["Acme/North"]
    row = at_risk.iloc[0]
    assert [row[w.isoformat()] for w in (W1, W2, W3, W4)] == [0.9, 0.7, 0.6, 0.5]
    assert (row["licensed"], row["target"]) == (10, 0.8)


def test_unit_falling_only_two_weeks_is_not_at_risk():
    units = unit_weeks(*falling(1, "Acme/North", 0.5, 0.6, 0.4, 0.3))
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4]).empty


def test_unit_flat_for_a_week_is_not_falling():
    units = unit_weeks(*falling(1, "Acme/North", 0.7, 0.6, 0.6, 0.5))
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4]).empty


def test_unit_falling_but_still_above_target_is_not_at_risk():
    units = unit_weeks(*falling(1, "Acme/North", 1.0, 0.95, 0.9, 0.85))
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4]).empty


def test_at_risk_rule_judges_only_the_last_weeks_given():
    # Rising at first, then three drops: the last four weeks decide.
    units = unit_weeks(*falling(1, "Acme/North", 0.2, 0.7, 0.6, 0.5, 0.4))
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4, W5])["path"].tolist() == [
        "Acme/North"
    ]
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4]).empty


def test_at_risk_rule_needs_a_rate_in_every_judged_week():
    rows = falling(1, "Acme/North", 0.9, 0.7, 0.6, 0.5)
    rows[1] = (1, "Acme/North", W2, 0, 0)
    assert metrics.units_at_risk(unit_weeks(*rows), 0.8, [W1, W2, W3, W4]).empty
    assert metrics.units_at_risk(unit_weeks(*rows[:3] + rows[4:]), 0.8, [W1, W2, W3, W4]).empty


def test_at_risk_rule_skips_units_smaller_than_its_minimum():
    units = unit_weeks(*falling(1, "Acme/North", 1.0, 0.75, 0.5, 0.25, licensed=4))
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4], min_licensed=5).empty
    assert len(metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4], min_licensed=4)) == 1


def test_at_risk_rule_parameters_change_the_window():
    units = unit_weeks(*falling(1, "Acme/North", 0.9, 0.9, 0.6, 0.5))
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4]).empty
    flagged = metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4], falling_weeks=2)
    assert flagged["path"].tolist() == ["Acme/North"]
    assert list(flagged.columns) == [
        "path",
        "licensed",
        *(w.isoformat() for w in (W2, W3, W4)),
        "target",
    ]


def test_at_risk_units_are_listed_largest_drop_first():
    units = unit_weeks(
        *falling(1, "Acme/A", 0.7, 0.6, 0.5, 0.4),
        *falling(2, "Acme/B", 0.9, 0.6, 0.3, 0.1),
        *falling(3, "Acme/C", 0.9, 0.95, 0.3, 0.1),
    )
    assert metrics.units_at_risk(units, 0.8, [W1, W2, W3, W4])["path"].tolist() == [
        "Acme/B",
        "Acme/A",
    ]


def test_at_risk_with_too_few_weeks_is_empty_with_its_columns():
    units = unit_weeks(*falling(1, "Acme/North", 0.9, 0.7, 0.6))
    at_risk = metrics.units_at_risk(units, 0.8, [W1, W2, W3])
    assert at_risk.empty
    assert list(at_risk.columns)[:2] == ["path", "licensed"]
