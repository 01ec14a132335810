"""Training metrics on tiny hand-made frames with known answers (no database)."""

import datetime as dt
import math

import pandas as pd
import pytest

from dashboards.metrics import training as metrics

TODAY = dt.date(2026, 6, 10)
DUE = dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    "completed_on, due_on, expected",
    [
        (dt.date(2026, 5, 30), DUE, metrics.ON_TIME),
        (DUE, DUE, metrics.ON_TIME),
        (dt.date(2026, 6, 2), DUE, metrics.LATE),
        (None, DUE, metrics.OVERDUE),
        (None, TODAY, metrics.NOT_YET_DUE),
        (None, dt.date(2026, 7, 1), metrics.NOT_YET_DUE),
    ],
)
def test_completion_status_against_the_due_date(completed_on, due_on, expected):
    assert metrics.completion_status(completed_on, due_on, TODAY) == expected


def test_units_roll_up_to_the_children_of_the_focus_unit():
    assert metrics.unit_group("Acme/EMEA/North/Team 1", "Acme/EMEA") == "Acme/EMEA/North"
    assert metrics.unit_group("Acme/EMEA", "Acme/EMEA") == "Acme/EMEA"
    # A sibling sharing the prefix is not below the focus.
    assert metrics.unit_group("Acme/EMEA2/X", "Acme/EMEA") == "Acme/EMEA"


def completion_counts():
    """North: 2 on time, 1 late, 1 overdue; South: 1 not yet due; 1 person in EMEA itself."""
    return pd.DataFrame(
        [
            ("Acme/EMEA/North", True, True, True, 1),
            ("Acme/EMEA/North/Team", True, True, False, 1),
            ("Acme/EMEA/North", True, False, True, 1),
            ("Acme/EMEA/North", False, False, True, 1),
            ("Acme/EMEA/South", False, False, False, 1),
            ("Acme/EMEA", False, False, True, 1),
        ],
        columns=["path", "completed", "on_time", "past_due", "assignees"],
    )


def test_completion_by_unit_counts_each_status_with_shares_and_n():
    frame = metrics.completion_by_unit(completion_counts(), "Acme/EMEA")
    north = frame[frame["unit"] == "Acme/EMEA/North"].set_index("status")
    assert north["assignees"].to_dict() == {"on_time": 2, "late": 1, "overdue": 1, "not_yet_due": 0}
    assert north.loc["on_time", "share"] == pytest.approx(0.5)
    assert set(north["n"]) == {4}
    south = frame[frame["unit"] == "Acme/EMEA/South"].set_index("status")
    assert south.loc["not_yet_due", "assignees"] == 1
    assert frame[frame["unit"] == "Acme/EMEA"].set_index("status").loc["overdue", "assignees"] == 1


def test_small_units_are_hidden_below_the_minimum_group():
    frame = metrics.completion_by_unit(completion_counts(), "Acme/EMEA", min_group=4)
    south = frame[frame["unit"] == "Acme/EMEA/South"]
    assert south["hidden"].all() and south["assignees"].isna().all() and set(south["n"]) == {1}
    assert not frame.loc[frame["unit"] == "Acme/EMEA/North", "hidden"].any()


def test_no_assignments_give_an_empty_frame_with_the_columns():
    empty = pd.DataFrame(columns=["path", "completed", "on_time", "past_due", "assignees"])
    assert list(metrics.completion_by_unit(empty, "Acme").columns) == metrics.COMPLETION_COLUMNS


def test_reaction_mean_and_t_interval():
    # Scores 3, 4, 5: mean 4, sd 1, half-width t(0.975, 2) / sqrt(3) = 4.3027 / 1.7321 = 2.4841.
    sums = pd.DataFrame([(1, "M", 3, 12, 50)],
                        columns=["module_id", "module", "n", "total", "total_squares"])
    row = metrics.reaction_by_module(sums).iloc[0]
    assert row["mean"] == pytest.approx(4.0) and row["sd"] == pytest.approx(1.0)
    assert row["ci_low"] == pytest.approx(4 - 2.4841, abs=1e-3)
    assert row["ci_high"] == pytest.approx(4 + 2.4841, abs=1e-3)
    assert row["n"] == 3


def test_a_single_reaction_has_a_mean_but_no_interval():
    mean, sd, low, high = metrics.mean_interval(1, 4.0, 16.0)
    assert mean == 4.0 and math.isnan(sd) and math.isnan(low) and math.isnan(high)


def test_reaction_is_hidden_for_small_groups_but_keeps_its_n():
    sums = pd.DataFrame([(1, "M", 3, 12, 50)],
                        columns=["module_id", "module", "n", "total", "total_squares"])
    row = metrics.reaction_by_module(sums, min_group=5).iloc[0]
    assert row["hidden"] and row["mean"] is None and row["n"] == 3


def test_learning_rates_from_first_attempts():
    sums = pd.DataFrame(
        [(1, "M", 4, 300.0, 2, 4, 3)],
        columns=["module_id", "module", "first_attempts", "first_score_total", "first_passed",
                 "checks_taken", "checks_passed"],
    )
    row = metrics.learning_by_module(sums).iloc[0]
    assert row["first_attempt_score"] == pytest.approx(75.0)
    assert row["first_attempt_pass_rate"] == pytest.approx(0.5)
    assert row["pass_rate"] == pytest.approx(0.75)


def test_most_missed_questions_worst_first_then_by_n():
    answers = pd.DataFrame(
        [(1, "M", "Easy?", 10, 1), (2, "M", "Hard?", 10, 8), (3, "M", "Also hard?", 20, 16),
         (4, "M", "Rare?", 2, 2)],
        columns=["question_id", "module", "prompt", "n", "wrong"],
    )
    frame = metrics.most_missed(answers, limit=3, min_group=5)
    assert frame["question_id"].tolist() == [3, 2, 1]  # question 4 has too few answers
    assert frame["share_wrong"].tolist() == pytest.approx([0.8, 0.8, 0.1])


@pytest.mark.parametrize(
    "status, due_on, expected",
    [("done", DUE, "done"), ("partly", DUE, "partly"), (None, TODAY, metrics.UNANSWERED),
     (None, TODAY + dt.timedelta(days=1), metrics.NOT_DUE)],
)
def test_follow_up_state(status, due_on, expected):
    assert metrics.follow_up_state(status, due_on, TODAY) == expected


def test_follow_ups_by_offset_with_unanswered_and_not_yet_asked():
    counts = pd.DataFrame(
        [(30, "done", True, 3), (30, "not_yet", True, 1), (30, None, True, 2),
         (60, None, False, 5), (60, "partly", True, 1)],
        columns=["day_offset", "status", "asked", "follow_ups"],
    )
    frame = metrics.follow_ups_by_offset(counts)
    thirty = frame[frame["day_offset"] == 30].set_index("state")
    assert thirty["follow_ups"].to_dict() == {
        "done": 3, "partly": 0, "not_yet": 1, "unanswered": 2, "not_due": 0}
    assert thirty.loc["done", "share"] == pytest.approx(0.5) and set(thirty["n"]) == {6}
    sixty = frame[frame["day_offset"] == 60].set_index("state")
    assert sixty.loc["not_due", "follow_ups"] == 5 and sixty.loc["partly", "follow_ups"] == 1


# --- learning recorded by other systems -----------------------------------------------------------


def test_external_learning_counts_each_outcome_and_hides_small_groups():
    counts = pd.DataFrame.from_records([
        ("iri:a", "Course A", "*", 12), ("iri:a", "Course A", "completed", 11),
        ("iri:b", None, "*", 8), ("iri:b", None, "passed", 8), ("iri:b", None, "failed", 2),
        ("iri:c", "Workshop", "*", 3), ("iri:c", "Workshop", "completed", 3),
    ], columns=["activity", "name", "verb", "learners"])

    frame = metrics.external_learning(counts, "*", min_group=5)

    assert list(frame["activity"]) == ["iri:a", "iri:b", "iri:c"]  # most learners first
    a, b, c = (row._asdict() for row in frame.itertuples(index=False))
    assert (a["learners"], a["completed"], a["passed"], a["failed"], a["hidden"]) == (12, 11, 0, 0, False)
    assert (b["name"], b["passed"], b["failed"]) == ("iri:b", 8, 2)  # no name: its IRI
    assert (c["learners"], c["hidden"]) == (3, True)
    assert pd.isna(c["completed"]) and pd.isna(c["passed"])


def test_external_learning_of_nothing_is_an_empty_frame_with_its_columns():
    empty = pd.DataFrame(columns=["activity", "name", "verb", "learners"])
    assert list(metrics.external_learning(empty, "*").columns) == metrics.EXTERNAL_COLUMNS
