"""The evidence service: questions checked as asked, answers on a simulated panel (no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboards import evidence
from dashboards import evidence_figures as figures
from dashboards.metrics import evidence as ev
from dashboards.metrics import evidence_charts as charts

TODAY = dt.date(2026, 12, 6)


def question(**changes) -> evidence.Question:
    """adoption_rate → csat at lag 1 over the default window, with ``changes``."""
    base = {"x": "adoption_rate", "y": "csat", "today": TODAY}
    return evidence.make_question(**{**base, **changes})


@pytest.fixture(scope="module")
def panel():
    """150 units × 8 months, true r = 0.5 at lag 1 and none at any other lag."""
    return ev.simulate_panel(np.random.default_rng(20261206), units=150, periods=8, r_lag1=0.5)


def test_default_window_is_24_calendar_months_ending_today():
    assert evidence.default_window(TODAY) == (dt.date(2025, 1, 1), TODAY)


@pytest.mark.parametrize(("lag", "lags", "expected"), [
    (None, None, (1,)), ("0", None, (0,)), (-2, None, (-2,)), (None, "-3..3", tuple(range(-3, 4))),
    (None, " 1 .. 2 ", (1, 2)),
])
def test_lags_are_one_integer_or_an_inclusive_range(lag, lags, expected):
    assert evidence.parse_lags(lag, lags) == expected


@pytest.mark.parametrize(("lag", "lags", "message"), [
    (1, "0..1", "not both"), (None, "3..-3", "backwards"), (None, "1-3", "range 'A..B'"),
    ("one", None, "whole number"), (13, None, "-12..12"), (None, "-13..0", "-12..12"),
])
def test_bad_lags_are_refused_with_a_reason(lag, lags, message):
    with pytest.raises(evidence.EvidenceError, match=message):
        evidence.parse_lags(lag, lags)


def test_levels_directions_and_smallest_effects_are_parsed_or_refused():
    assert evidence.parse_level(None) == "team" and evidence.parse_level("Region") == "region"
    assert evidence.parse_level("2") == 2
    assert evidence.parse_direction("negative") == -1 and evidence.parse_direction(None) == 1
    assert evidence.parse_smallest_effect("0.3") == 0.3 and evidence.parse_smallest_effect(None) == 0.1
    for bad in (lambda: evidence.parse_level("division"), lambda: evidence.parse_direction("up-ish"),
                lambda: evidence.parse_smallest_effect("1"), lambda: evidence.parse_smallest_effect("x")):
        with pytest.raises(evidence.EvidenceError):
            bad()


def test_a_question_needs_two_different_metrics_and_ordered_dates():
    with pytest.raises(evidence.EvidenceError, match="same metric"):
        question(y="adoption_rate")
    with pytest.raises(evidence.EvidenceError, match="which metric is x"):
        question(x=" ")
    with pytest.raises(evidence.EvidenceError, match="before it starts"):
        question(start=dt.date(2026, 6, 1), end=dt.date(2026, 5, 1))


def test_metric_labels_read_as_words():
    assert evidence.label("adoption_rate") == "adoption rate"
    assert evidence.label("csat") == "CSAT"
    assert evidence.label("key_behaviour:activity_logged") == "share doing activity logged"
    assert evidence.label("first_contact_resolution") == "first contact resolution"


def test_one_lag_answers_the_planted_relation_as_supported(panel):
    [answer] = evidence.assess_panel(question(), panel)
    assert answer.verdict == ev.SUPPORTED and answer.decider is None
    low, high = answer.linkage.r_ci
    assert low < 0.5 < high
    body = answer.as_dict()
    assert body["x"] == "adoption_rate" and body["lag"] == 1 and body["n_units"] == 150
    assert body["verdict"] == "supported" and body["reading"] == answer.reading


def test_the_reading_cites_the_reverse_lag(panel):
    [answer] = evidence.assess_panel(question(), panel)
    assert "The reverse direction shows no clear relation (CSAT with adoption rate 1 month earlier" \
        in answer.reading


def test_a_range_is_adjusted_across_its_lags_and_keeps_their_order(panel):
    answers = evidence.assess_panel(question(lags="-1..1"), panel)
    assert [a.linkage.lag for a in answers] == [-1, 0, 1]
    assert all(a.linkage.tests == 3 and a.linkage.p_adjusted >= a.linkage.p for a in answers)
    assert answers[-1].verdict == ev.SUPPORTED
    assert ev.SUPPORTED not in {a.verdict for a in answers[:2]}  # no relation at lags -1 and 0
    single = evidence.as_json(answers[-1:], single=True)
    assert isinstance(single, dict) and isinstance(evidence.as_json(answers, single=False), list)


def test_expecting_the_other_direction_is_contradicted(panel):
    [answer] = evidence.assess_panel(question(direction="negative"), panel)
    assert answer.verdict == ev.CONTRADICTED


def test_lag_profile_has_r_and_intervals_without_the_models(panel):
    profile = ev.lag_profile(panel, range(-3, 4))
    assert [lk.lag for lk in profile] == list(range(-3, 4))
    assert all(lk.slope is None and lk.within_unit is None and lk.tests == 7 for lk in profile)
    full = ev.linkage(panel, 1)
    assert profile[4].r == pytest.approx(full.r) and profile[4].r_ci == pytest.approx(full.r_ci)


def test_scatter_points_are_the_pairs_behind_r_centred_by_month(panel):
    frame = charts.scatter_frame(panel, 1)
    assert len(frame) == ev.linkage(panel, 1).n_observations
    by_month = frame.groupby("period")[["x_centred", "y_centred"]].mean()
    assert np.allclose(by_month.to_numpy(), 0)
    r = np.corrcoef(frame["x_centred"], frame["y_centred"])[0, 1]
    assert r == pytest.approx(ev.linkage(panel, 1).r)


def test_fitted_band_contains_its_line_and_widens_away_from_the_middle(panel):
    frame = charts.scatter_frame(panel, 1)
    band = charts.fitted_band(frame["x_centred"], frame["y_centred"], frame["unit"])
    assert list(band.columns) == charts.BAND_COLUMNS and len(band) == charts.BAND_POINTS
    assert (band["low"] <= band["fit"]).all() and (band["fit"] <= band["high"]).all()
    width = band["high"] - band["low"]
    assert width.iloc[0] > width.min() and width.iloc[-1] > width.min()


def test_band_is_empty_with_a_single_unit():
    one = pd.Series(["U1"] * 5)
    assert charts.fitted_band(pd.Series(range(5)), pd.Series(range(5)), one).empty


def test_change_frame_pairs_consecutive_changes(panel):
    frame = charts.change_frame(panel, 1)
    assert len(frame) == ev.within_unit_change(panel, 1).n_observations
    assert list(frame.columns) == charts.CHANGE_COLUMNS


def test_large_scatters_draw_a_fixed_sample_and_say_so():
    frame = pd.DataFrame({"a": range(figures.MAX_DRAWN_POINTS + 500)})
    shown, title = figures.drawn(frame, "n = 1 unit.")
    again, _ = figures.drawn(frame, "n = 1 unit.")
    assert len(shown) == figures.MAX_DRAWN_POINTS and shown.index.equals(again.index)
    assert title.endswith(f"a random 4,000 of {len(frame):,} points; the line, band and figures use them all.")
    small, same = figures.drawn(frame.head(10), "n = 1 unit.")
    assert len(small) == 10 and same == "n = 1 unit."
