"""Survey result formulas on hand-built answers with known results, and the driver interval on
simulated data with a planted correlation."""
from __future__ import annotations

import math

import numpy as np
import pytest

from surveys.metrics import (
    barrier,
    engagement_index,
    enps,
    favourable_pct,
    is_favourable,
    likert_score,
    mean,
    nps_category,
    pearson,
    rate,
    readiness_element,
)


def sums(x, y):
    """(n, Σx, Σy, Σx², Σy², Σxy) of paired values."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()


# ---------------------------------------------------------------- one respondent


def test_a_reverse_scored_likert_answer_scores_six_minus_the_answer():
    assert [likert_score(v, reverse_scored=True) for v in range(1, 6)] == [5, 4, 3, 2, 1]
    assert [likert_score(v) for v in range(1, 6)] == [1, 2, 3, 4, 5]


def test_engagement_index_rescales_the_mean_score_to_0_100():
    assert engagement_index([1, 1]) == 0.0
    assert engagement_index([5, 5, 5]) == 100.0
    assert engagement_index([4, 5]) == pytest.approx(87.5)  # mean 4.5 -> 3.5 / 4
    assert engagement_index([3]) == 50.0


def test_engagement_index_of_someone_who_answered_no_engagement_item_is_none():
    assert engagement_index([]) is None


def test_engagement_index_uses_reversed_scores_of_reverse_scored_items():
    # Answers 5 (normal) and 2 (reverse-scored -> 4): mean 4.5.
    assert engagement_index([likert_score(5), likert_score(2, reverse_scored=True)]) == pytest.approx(87.5)


def test_the_barrier_is_the_first_element_whose_mean_is_at_most_3():
    scores = {"awareness": [5, 4], "desire": [3, 4], "knowledge": [2, 2], "ability": [1]}
    assert barrier(scores) == "knowledge"  # desire's mean 3.5 is above 3; knowledge's 2 is not


def test_a_mean_of_exactly_3_is_a_barrier():
    assert barrier({"awareness": [4, 2]}) == "awareness"


def test_the_barrier_is_none_when_every_element_is_above_3():
    assert barrier({"awareness": [4], "desire": [5, 4], "reinforcement": [4]}) == "none"


def test_elements_not_asked_are_skipped():
    # Awareness was not asked in the round: desire is the first element to judge.
    assert barrier({"desire": [2, 3], "ability": [1]}) == "desire"
    assert barrier({"awareness": [], "reinforcement": [2]}) == "reinforcement"


def test_someone_who_answered_no_readiness_item_has_no_barrier_at_all():
    assert barrier({}) is None
    assert barrier({"awareness": []}) is None


def test_readiness_element_is_read_from_the_construct():
    assert readiness_element("readiness.ability") == "ability"
    assert readiness_element("readiness.unknown") is None
    assert readiness_element("engagement") is None
    assert readiness_element(None) is None


def test_favourable_means_a_score_of_4_or_5():
    assert [is_favourable(s) for s in range(1, 6)] == [False, False, False, True, True]


def test_nps_categories():
    assert [nps_category(v) for v in range(11)] == ["detractor"] * 7 + ["passive"] * 2 + ["promoter"] * 2


# ---------------------------------------------------------------- groups


def test_favourable_pct_is_the_share_of_4_and_5():
    assert favourable_pct(3, 4) == 75.0
    assert favourable_pct(0, 0) is None


def test_enps_is_promoters_minus_detractors_in_percent():
    # Answers 10, 9, 8, 6, 0: 2 promoters, 2 detractors of 5 -> 0; 10, 10, 7, 3 -> 50 - 25 = 25.
    assert enps(2, 2, 5) == 0.0
    assert enps(2, 1, 4) == 25.0
    assert enps(0, 3, 3) == -100.0
    assert enps(0, 0, 0) is None


def test_mean_and_rate_are_none_without_a_denominator():
    assert mean(10, 4) == 2.5
    assert mean(0, 0) is None
    assert rate(3, 4) == 0.75
    assert rate(3, 0) is None


# ---------------------------------------------------------------- correlation


def test_pearson_from_sums_matches_the_direct_computation():
    x = [1, 2, 3, 4, 5, 2, 4]
    y = [20.0, 35.0, 50.0, 50.0, 90.0, 25.0, 60.0]
    result = pearson(*sums(x, y))
    assert result.n == 7
    assert result.r == pytest.approx(np.corrcoef(x, y)[0, 1])


def test_pearson_interval_is_the_fisher_z_interval():
    x = [1, 2, 3, 4, 5, 2, 4, 3, 1, 5]
    y = [30.0, 25.0, 50.0, 75.0, 70.0, 40.0, 55.0, 45.0, 35.0, 95.0]
    result = pearson(*sums(x, y))
    z, half = math.atanh(result.r), 1.959963984540054 / math.sqrt(10 - 3)
    assert result.ci_low == pytest.approx(math.tanh(z - half))
    assert result.ci_high == pytest.approx(math.tanh(z + half))
    assert result.ci_low < result.r < result.ci_high


def test_a_correlation_whose_interval_excludes_zero_is_significant():
    x = list(range(1, 6)) * 4
    y = [v * 20.0 + (3 if i % 2 else -3) for i, v in enumerate(x)]
    result = pearson(*sums(x, y))
    assert result.r > 0.9 and result.ci_low > 0
    assert result.significant


def test_a_weak_correlation_in_a_small_group_is_not_significant():
    x = [1, 2, 3, 4, 5, 3]
    y = [50.0, 40.0, 60.0, 45.0, 55.0, 50.0]
    result = pearson(*sums(x, y))
    assert result.ci_low < 0 < result.ci_high
    assert not result.significant


def test_fewer_than_4_pairs_give_r_but_no_interval():
    result = pearson(*sums([1, 2, 4], [10.0, 30.0, 20.0]))
    assert result.r is not None
    assert (result.ci_low, result.ci_high, result.significant) == (None, None, False)


def test_no_variance_gives_no_correlation():
    assert pearson(*sums([3, 3, 3, 3, 3], [10.0, 20.0, 30.0, 40.0, 55.0])).r is None
    # Engagement indices like 83.33... repeat with round-off in their sums: still no variance.
    same = [250 / 3] * 7
    assert pearson(*sums([1, 2, 3, 4, 5, 1, 2], same)).r is None
    assert pearson(0, 0, 0, 0, 0, 0).r is None


def test_a_perfect_correlation_has_a_degenerate_interval():
    result = pearson(*sums([1, 2, 3, 4, 5], [0.0, 25.0, 50.0, 75.0, 100.0]))
    assert result.r == pytest.approx(1.0)
    assert result.significant


def test_the_interval_covers_a_planted_correlation():
    rng = np.random.default_rng(20260)
    rho, n = 0.45, 400
    x, y = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n).T
    result = pearson(*sums(x, y))
    assert result.ci_low < rho < result.ci_high
    assert result.significant


def test_the_interval_covers_the_true_correlation_about_95_percent_of_the_time():
    rng = np.random.default_rng(4)
    rho, n, runs = 0.3, 60, 1000
    covered = 0
    for _ in range(runs):
        x, y = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n).T
        result = pearson(*sums(x, y))
        covered += result.ci_low < rho < result.ci_high
    assert 0.93 <= covered / runs <= 0.97


def test_with_no_true_correlation_few_intervals_exclude_zero():
    rng = np.random.default_rng(11)
    runs = 1000
    false_alarms = sum(pearson(*sums(rng.normal(size=50), rng.normal(size=50))).significant for _ in range(runs))
    assert false_alarms / runs <= 0.07


def test_likert_answers_against_an_index_recover_a_planted_relationship():
    # Survey-shaped data: 1-5 answers and a 0-100 index that rises with them, plus noise.
    rng = np.random.default_rng(7)
    answers = rng.integers(1, 6, size=300)
    index = np.clip((answers - 1) * 15 + rng.normal(0, 15, size=300) + 20, 0, 100)
    expected = np.corrcoef(answers, index)[0, 1]
    result = pearson(*sums(answers, index))
    assert result.r == pytest.approx(expected)
    assert result.ci_low < expected < result.ci_high and result.significant
