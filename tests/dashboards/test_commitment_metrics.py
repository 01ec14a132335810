"""Commitment arithmetic (dashboards/metrics/commitment.py) on hand-made numbers with known answers."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards.metrics.commitment import (
    GAP_THRESHOLD,
    SEEN_LESS,
    SEEN_MORE,
    Score,
    communication_score,
    construct_mean,
    gap_flag,
    likert_to_100,
    median_days,
    monthly_outcome,
    objective_score,
    plan_pace,
    pooled_mean,
    prorated_plan,
    reply_speed_score,
    role_modelling_score,
    say_do_gap,
    visibility_score,
)

# --- normalization -----------------------------------------------------------------------------


@pytest.mark.parametrize(("mean", "expected"), [(1.0, 0.0), (3.0, 50.0), (4.2, 80.0), (5.0, 100.0)])
def test_a_likert_mean_maps_linearly_onto_0_to_100(mean, expected):
    assert likert_to_100(mean) == pytest.approx(expected)


def test_a_missing_likert_mean_stays_missing():
    assert likert_to_100(None) is None


def test_a_likert_mean_outside_the_scale_is_held_within_0_to_100():
    assert (likert_to_100(0.5), likert_to_100(5.5)) == (0.0, 100.0)


# --- visibility --------------------------------------------------------------------------------


def test_the_plan_is_prorated_to_the_days_of_the_quarter_the_period_covers():
    # 6 planned in a 92-day quarter, 46 days of it in the period: 3 expected.
    assert prorated_plan([(6, 46, 92)]) == pytest.approx(3.0)


def test_plans_of_two_quarters_add_up_pro_rata():
    assert prorated_plan([(4, 91, 91), (6, 46, 92)]) == pytest.approx(7.0)


def test_no_plan_expects_nothing():
    assert prorated_plan([(0, 46, 92)]) is None


def test_the_pace_is_done_over_expected_and_may_pass_one():
    assert (plan_pace(3, 6.0), plan_pace(9, 6.0)) == (0.5, 1.5)


def test_without_a_plan_there_is_no_pace():
    assert plan_pace(4, None) is None


def test_visibility_is_half_plan_and_half_reach():
    assert visibility_score(0.5, 0.8) == pytest.approx(65.0)


def test_visibility_counts_a_plan_overdone_as_done():
    assert visibility_score(1.5, 0.2) == pytest.approx(60.0)


def test_visibility_without_a_plan_is_the_reach_alone():
    assert visibility_score(None, 0.4) == pytest.approx(40.0)


def test_visibility_without_plan_or_people_has_no_score():
    assert visibility_score(None, None) is None


# --- communication -----------------------------------------------------------------------------


@pytest.mark.parametrize(("days", "score"), [(0.5, 100.0), (2.0, 100.0), (8.0, 50.0), (14.0, 0.0), (30.0, 0.0)])
def test_reply_speed_is_full_within_two_days_and_nothing_after_fourteen(days, score):
    assert reply_speed_score(days) == pytest.approx(score)


def test_communication_is_the_mean_of_replies_actions_on_time_and_reply_speed():
    # 100 × (0.5 + 1.0 + 0.5) / 3
    assert communication_score(0.5, 1.0, 8.0) == pytest.approx(200 / 3)


def test_communication_without_comments_rests_on_the_actions_alone():
    assert communication_score(None, 0.25, None) == pytest.approx(25.0)


def test_comments_none_of_which_got_a_reply_score_zero_for_speed_too():
    assert communication_score(0.0, None, None) == 0.0


def test_communication_with_no_comment_and_no_action_due_has_no_score():
    assert communication_score(None, None, None) is None


# --- role-modelling ----------------------------------------------------------------------------


def test_role_modelling_is_the_mean_of_active_key_behaviour_and_training_shares():
    assert role_modelling_score(0.5, 0.5, 1.0) == pytest.approx(200 / 3)


def test_role_modelling_with_nothing_assigned_leaves_training_out():
    assert role_modelling_score(0.8, 0.4, None) == pytest.approx(60.0)


def test_role_modelling_without_any_data_has_no_score():
    assert role_modelling_score(None, None, None) is None


# --- objective score and the gap ---------------------------------------------------------------


def test_the_objective_score_is_the_mean_of_the_parts_that_have_data_and_says_which_had_none():
    score = objective_score(60.0, None, 90.0)
    assert score == Score(75.0, {"visibility": 60.0, "communication": None, "role_modelling": 90.0})


def test_the_objective_score_of_three_parts_weighs_them_equally():
    assert objective_score(30.0, 60.0, 90.0).value == pytest.approx(60.0)


def test_the_objective_score_without_any_part_has_no_value():
    assert objective_score(None, None, None).value is None


def test_the_gap_is_objective_minus_perceived():
    assert say_do_gap(70.0, 45.5) == pytest.approx(24.5)


def test_the_gap_needs_both_sides():
    assert (say_do_gap(None, 50.0), say_do_gap(50.0, None)) == (None, None)


def test_a_gap_at_the_threshold_is_flagged_as_seen_less_than_done():
    assert gap_flag(GAP_THRESHOLD) == SEEN_LESS


def test_a_negative_gap_past_the_threshold_is_flagged_as_seen_more_than_done():
    assert gap_flag(-25.0) == SEEN_MORE


def test_a_gap_within_the_threshold_is_not_flagged():
    assert (gap_flag(19.9), gap_flag(-19.9), gap_flag(None)) == (None, None, None)


def test_the_gap_threshold_is_twenty_points_and_can_be_changed():
    assert (GAP_THRESHOLD, gap_flag(12.0, threshold=10.0)) == (20.0, SEEN_LESS)


# --- medians and pooled survey means -----------------------------------------------------------


def test_the_median_of_an_even_number_of_waits_is_the_mean_of_the_middle_two():
    assert (median_days([1.0, 3.0, 10.0]), median_days([4.0, 1.0, 3.0, 2.0])) == (3.0, 2.5)


def test_no_wait_has_no_median():
    assert median_days([]) is None


def test_a_construct_mean_is_the_mean_of_all_answers_with_the_most_answered_item_as_n():
    assert construct_mean([(4.0, 10), (3.0, 6)]) == (pytest.approx(3.625), 10)


def test_a_construct_without_answers_has_no_mean():
    assert construct_mean([]) == (None, 0)


def test_groups_are_pooled_by_respondents_leaving_out_those_without_a_mean():
    assert pooled_mean([(60.0, 10), (80.0, 30), (None, 0)]) == (pytest.approx(75.0), 40)


# --- customer outcomes by month ----------------------------------------------------------------

FEB, FEB_END = dt.date(2025, 2, 1), dt.date(2025, 2, 28)
Q1, Q1_END = dt.date(2025, 1, 1), dt.date(2025, 3, 31)
MAR = dt.date(2025, 3, 1)


def test_a_month_is_the_response_weighted_mean_of_its_units():
    rows = [("Acme/North", FEB, FEB_END, 80.0, 100), ("Acme/South", FEB, FEB_END, 60.0, 300)]
    assert monthly_outcome(rows) == [("2025-02", pytest.approx(65.0), 2, 400)]


def test_a_unit_whose_ancestor_reported_the_same_month_is_left_out():
    rows = [("Acme/North", FEB, FEB_END, 80.0, 100), ("Acme/North/East", FEB, FEB_END, 20.0, 900)]
    assert monthly_outcome(rows) == [("2025-02", 80.0, 1, 100)]


def test_a_quarter_counts_in_its_last_month_and_a_month_of_the_same_unit_beats_it():
    rows = [("Acme/South", Q1, Q1_END, 90.0, 50), ("Acme/South", MAR, Q1_END, 70.0, 50),
            ("Acme/North", Q1, Q1_END, 40.0, 50)]
    assert monthly_outcome(rows) == [("2025-03", pytest.approx(55.0), 2, 100)]


def test_a_value_without_responses_weighs_one():
    rows = [("Acme/North", FEB, FEB_END, 80.0, None), ("Acme/South", FEB, FEB_END, 50.0, 2)]
    assert monthly_outcome(rows) == [("2025-02", pytest.approx(60.0), 2, 2)]


def test_months_come_oldest_first():
    rows = [("Acme", MAR, Q1_END, 1.0, 1), ("Acme", FEB, FEB_END, 2.0, 1)]
    assert [month for month, *_rest in monthly_outcome(rows)] == ["2025-02", "2025-03"]


def test_the_score_of_the_data_layer_is_the_metrics_score():
    from dashboards import commitment

    assert commitment.Score is Score
