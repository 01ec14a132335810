"""Customer outcomes: the judge (metrics, ranges, calendar periods), the store (duplicates,
conflicts, replacement, units at any level) and ``flask import-outcomes``."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adoption import outcomes
from adoption.models import OutcomeMeasure
from adoption.outcomes import (
    OutcomeRejection,
    ParsedOutcome,
    judge_outcome,
    judge_outcomes,
    store_outcomes,
)
from tests.adoption import outcomes_app
from tests.factories import make_unit

# One app per module, emptied before each test (see tests/adoption/outcomes_app.py).
app, module_app = outcomes_app.app, outcomes_app.module_app

NOW = dt.datetime(2024, 5, 1, 12, 0)
TEAM = "Acme/EMEA/Sales North"
HEADER = "unit,period_start,period_end,metric,value,responses\n"


def item(**fields) -> dict:
    """A valid outcome (CSAT of TEAM for January 2024); ``fields`` override or (with None) remove keys."""
    value = {"unit": TEAM, "metric": "csat", "period_start": "2024-01-01", "period_end": "2024-01-31",
             "value": 82.5, "responses": 140}
    value.update(fields)
    return {k: v for k, v in value.items() if v is not None}


def store(items, now=NOW):
    """Judge and store ``items`` as an API request would (without committing)."""
    valid, rejected = judge_outcomes(items)
    return store_outcomes(valid, source="api", token_id=None, now=now, rejected=rejected)


def stored(db) -> list[OutcomeMeasure]:
    """Every stored outcome, fresh from the database."""
    db.session.expire_all()
    return list(db.session.scalars(select(OutcomeMeasure).order_by(OutcomeMeasure.id)))


@pytest.fixture
def team(db):
    """The team TEAM, with its region and company."""
    unit = make_unit(TEAM)
    db.session.commit()
    return unit


# --- the judge ---------------------------------------------------------------------------------

def test_a_calendar_month_is_accepted():
    verdict = judge_outcome(0, item(period_start="2024-02-01", period_end="2024-02-29"))
    assert isinstance(verdict, ParsedOutcome)
    assert (verdict.period_start, verdict.period_end) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))


@pytest.mark.parametrize("start, end", [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31"),
                                        ("9999-10-01", "9999-12-31")])
def test_months_and_quarters_at_the_ends_of_the_calendar_are_accepted(start, end):
    assert isinstance(judge_outcome(0, item(period_start=start, period_end=end)), ParsedOutcome)


@pytest.mark.parametrize("start, end", [("2024-01-01", "2024-03-31"), ("2024-04-01", "2024-06-30"),
                                        ("2024-07-01", "2024-09-30"), ("2024-10-01", "2024-12-31")])
def test_each_calendar_quarter_is_accepted(start, end):
    assert isinstance(judge_outcome(0, item(period_start=start, period_end=end)), ParsedOutcome)


JUDGE_REJECTIONS = [
    ("not_an_object", ["csat"], "invalid_type", None),
    ("unknown_field", item(period="2024-01"), "unknown_field", "period"),
    ("missing_unit", item(unit=None), "missing_field", "unit"),
    ("missing_metric", item(metric=None), "missing_field", "metric"),
    ("missing_period_end", item(period_end=None), "missing_field", "period_end"),
    ("missing_value", item(value=None), "missing_field", "value"),
    ("numeric_unit", item(unit=7), "invalid_type", "unit"),
    ("empty_segment", item(unit="Acme//Sales North"), "invalid_unit", "unit"),
    ("control_in_unit", item(unit="Acme/EMEA\x00"), "invalid_unit", "unit"),
    ("upper_case_metric", item(metric="CSAT"), "invalid_metric", "metric"),
    ("metric_with_space", item(metric="net promoter"), "invalid_metric", "metric"),
    ("long_metric", item(metric="m" * 65), "invalid_metric", "metric"),
    ("date_with_time", item(period_start="2024-01-01T00:00:00Z"), "invalid_date", "period_start"),
    ("impossible_date", item(period_end="2023-02-29", period_start="2023-02-01"), "invalid_date", "period_end"),
    ("compact_date", item(period_start="20240101"), "invalid_date", "period_start"),
    ("mid_month_start", item(period_start="2024-01-15"), "invalid_period", "period_start"),
    ("mid_month_end", item(period_end="2024-01-30"), "invalid_period", "period_end"),
    ("end_before_start", item(period_start="2024-02-01", period_end="2024-01-31"), "invalid_period", "period_end"),
    ("rolling_quarter", item(period_start="2024-02-01", period_end="2024-04-30"), "invalid_period", "period_end"),
    ("half_year", item(period_start="2024-01-01", period_end="2024-06-30"), "invalid_period", "period_end"),
    ("week", item(period_start="2024-01-01", period_end="2024-01-07"), "invalid_period", "period_end"),
    ("string_value", item(value="82.5"), "invalid_type", "value"),
    ("boolean_value", item(value=True), "invalid_type", "value"),
    ("huge_value", item(metric="revenue", value=10**400), "invalid_value", "value"),
    ("csat_over_100", item(value=100.5), "invalid_value", "value"),
    ("negative_csat", item(value=-0.1), "invalid_value", "value"),
    ("nps_under_minus_100", item(metric="nps", value=-101), "invalid_value", "value"),
    ("retention_over_100", item(metric="retention", value=101), "invalid_value", "value"),
    ("float_responses", item(responses=12.0), "invalid_type", "responses"),
    ("zero_responses", item(responses=0), "invalid_value", "responses"),
    ("string_replace", item(replace="yes"), "invalid_type", "replace"),
]


@pytest.mark.parametrize("value, code, field", [r[1:] for r in JUDGE_REJECTIONS], ids=[r[0] for r in JUDGE_REJECTIONS])
def test_each_invalid_item_is_rejected_with_its_code_and_field(value, code, field):
    verdict = judge_outcome(3, value)
    assert isinstance(verdict, OutcomeRejection)
    assert (verdict.index, verdict.code, verdict.field) == (3, code, field)
    assert verdict.message


def test_a_rejected_period_names_the_ends_that_would_do():
    verdict = judge_outcome(0, item(period_start="2024-04-01", period_end="2024-05-31"))
    assert "2024-04-30 (the month)" in verdict.message and "2024-06-30 (the quarter)" in verdict.message


@pytest.mark.parametrize("metric, value", [("csat", 0), ("csat", 100), ("nps", -100), ("nps", 100),
                                           ("retention", 0), ("retention", 92.5)])
def test_known_metrics_accept_the_ends_of_their_range(metric, value):
    assert isinstance(judge_outcome(0, item(metric=metric, value=value)), ParsedOutcome)


@pytest.mark.parametrize("metric, value", [("revenue_per_account", 1.5e6), ("churned_accounts", -3),
                                           ("first_response_hours", 0.25)])
def test_other_metric_names_take_any_finite_number(metric, value):
    verdict = judge_outcome(0, item(metric=metric, value=value))
    assert isinstance(verdict, ParsedOutcome) and verdict.value == value


def test_unit_path_is_stored_in_its_canonical_spelling():
    assert judge_outcome(0, item(unit=" Acme / EMEA /Sales North ")).unit == TEAM


def test_responses_and_replace_are_optional():
    verdict = judge_outcome(0, item(responses=None))
    assert (verdict.responses, verdict.replace) == (None, False)


def test_the_hash_compares_values_as_numbers():
    hashes = {judge_outcome(0, item(value=v)).content_hash for v in (82, 82.0)}
    assert len(hashes) == 1
    assert judge_outcome(0, item(value=0)).content_hash == judge_outcome(0, item(value=-0.0)).content_hash
    assert judge_outcome(0, item(value=82)).content_hash != judge_outcome(0, item(value=82.01)).content_hash


def test_the_replace_flag_is_not_part_of_the_content():
    assert judge_outcome(0, item(replace=True)).content_hash == judge_outcome(0, item()).content_hash


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=10,
)
field_values = st.one_of(json_values, st.sampled_from(
    ["", " ", "2024-01-01", "2024-01-31", "2024-03-31", "0001-01-01", "9999-12-01", "9999-12-31", "csat",
     "nps", TEAM, "Acme//x", 10**400, -0.0, 100.0, 1e308]))
item_like = st.dictionaries(st.sampled_from([*outcomes.FIELDS, "extra"]), field_values, max_size=8)
dates = st.dates().map(dt.date.isoformat) | st.sampled_from(["2024-02-30", "9999-12-01", "9999-12-31"])
nearly_valid = st.fixed_dictionaries(
    {"unit": st.sampled_from([TEAM, "Acme", " x / y "]), "metric": st.sampled_from(["csat", "nps", "retention", "x1"]),
     "period_start": dates | st.dates().map(lambda d: d.replace(day=1).isoformat()), "period_end": dates,
     "value": st.floats() | st.integers()},
    optional={"responses": st.integers(), "replace": st.booleans()})


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(json_values, item_like, nearly_valid))
def test_no_json_value_makes_the_judge_raise(value):
    verdict = judge_outcome(0, value)
    assert isinstance(verdict, ParsedOutcome | OutcomeRejection)
    if isinstance(verdict, OutcomeRejection):
        assert verdict.code in outcomes.REJECTION_CODES


# --- the store ---------------------------------------------------------------------------------

def test_valid_outcomes_are_stored_as_sent(db, team):
    result = store([item(), item(metric="nps", value=-12, responses=None,
                                 period_start="2024-01-01", period_end="2024-03-31")])
    db.session.commit()
    assert result.as_dict() == {"accepted": 2, "duplicates": 0, "rejected": []}
    csat, nps = stored(db)
    assert (csat.unit_id, csat.metric, csat.value, csat.responses) == (team.id, "csat", 82.5, 140)
    assert (csat.period_start, csat.period_end) == (dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert (csat.source, csat.token_id, csat.created_at, csat.updated_at) == ("api", None, NOW, NOW)
    assert (nps.value, nps.responses, nps.period_end) == (-12.0, None, dt.date(2024, 3, 31))


def test_a_value_for_a_unit_that_is_not_a_leaf_is_stored_at_its_own_level(db, team):
    store([item(unit="Acme/EMEA")])
    db.session.commit()
    [row] = stored(db)
    assert row.unit_id == team.parent_id and row.unit.path == "Acme/EMEA"


def test_unknown_unit_is_rejected_and_the_rest_is_stored(db, team):
    result = store([item(unit="Acme/APAC"), item()])
    assert result.accepted == 1
    assert [(r.index, r.code, r.field) for r in result.rejected] == [(0, "unknown_unit", "unit")]


def test_the_same_outcome_sent_again_is_a_duplicate(db, team):
    store([item()])
    db.session.commit()
    assert store([item(value=82.5), item(unit=" Acme/EMEA/ Sales North")]).as_dict() == {
        "accepted": 0, "duplicates": 2, "rejected": []}
    assert len(stored(db)) == 1


def test_another_value_for_the_same_key_is_a_conflict_and_the_first_stays(db, team):
    store([item(value=82.5)])
    db.session.commit()
    result = store([item(value=79.0), item(responses=141)])
    assert result.accepted == 0
    assert [(r.index, r.code) for r in result.rejected] == [(0, "conflict"), (1, "conflict")]
    assert "replace" in result.rejected[0].message
    assert stored(db)[0].value == 82.5


def test_month_and_quarter_starting_the_same_day_are_different_keys(db, team):
    result = store([item(), item(period_end="2024-03-31", value=70)])
    assert result.accepted == 2


def test_replace_corrects_a_stored_value(db, team):
    store([item(value=82.5)])
    db.session.commit()
    later = NOW + dt.timedelta(days=3)
    result = store([item(value=79.0, responses=150, replace=True)], now=later)
    db.session.commit()
    assert result.as_dict() == {"accepted": 1, "duplicates": 0, "rejected": []}
    [row] = stored(db)
    assert (row.value, row.responses, row.created_at, row.updated_at) == (79.0, 150, NOW, later)
    # The corrected value is now the content of the key: re-sending it, with or without the
    # flag, is a duplicate; the old value is a conflict.
    assert store([item(value=79.0, responses=150)]).duplicates == 1
    assert [r.code for r in store([item(value=82.5)]).rejected] == ["conflict"]


def test_replace_with_the_same_content_is_a_duplicate_and_changes_nothing(db, team):
    store([item()])
    db.session.commit()
    assert store([item(replace=True)], now=NOW + dt.timedelta(days=1)).duplicates == 1
    assert stored(db)[0].updated_at == NOW


def test_repeats_inside_one_request_are_duplicates_conflicts_or_replacements(db, team):
    result = store([item(), item(), item(value=1.0), item(value=2.0, replace=True)])
    db.session.commit()
    assert (result.accepted, result.duplicates) == (2, 1)
    assert [(r.index, r.code) for r in result.rejected] == [(2, "conflict")]
    assert [row.value for row in stored(db)] == [2.0]


def test_the_store_never_commits(db, team):
    store([item()])
    db.session.rollback()
    assert stored(db) == []


def test_lost_race_is_judged_against_the_winner(db, team, monkeypatch):
    store([item(value=82.5), item(metric="nps", value=10)])
    db.session.commit()
    real = outcomes._stored_hashes
    calls = []

    def blind_first_lookup(table, keys):
        calls.append(keys)
        return {} if len(calls) == 1 else real(table, keys)

    # The first lookup misses, as if another request committed these keys just after it.
    monkeypatch.setattr(outcomes, "_stored_hashes", blind_first_lookup)
    result = store([item(value=82.5), item(metric="nps", value=11), item(metric="retention", value=90)])
    assert (result.accepted, result.duplicates) == (1, 1)
    assert [(r.index, r.code) for r in result.rejected] == [(1, "conflict")]
    assert len(stored(db)) == 3


# --- the CSV file and the command --------------------------------------------------------------

def run_import(app, tmp_path, text: str, *args: str, name: str = "outcomes.csv"):
    """Run ``flask import-outcomes`` on a file holding ``text``; returns the click result."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return app.test_cli_runner().invoke(args=["import-outcomes", str(path), *args])


def test_import_reads_every_row_and_ends_with_the_counts(app, db, team, tmp_path):
    text = (HEADER + f"{TEAM},2024-01-01,2024-01-31,csat,82.5,140\n"
            f"{TEAM},2024-01-01,2024-03-31,nps,-12,\n"
            "Acme/EMEA,2024-01-01,2024-01-31,retention,91.2,\n")
    result = run_import(app, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "accepted=3 duplicates=0 rejected=0"
    rows = stored(db)
    assert [(r.metric, r.value, r.responses, r.source) for r in rows] == [
        ("csat", 82.5, 140, "file"), ("nps", -12.0, None, "file"), ("retention", 91.2, None, "file")]


def test_the_same_file_imported_twice_is_all_duplicates(app, db, team, tmp_path):
    text = HEADER + f"{TEAM},2024-01-01,2024-01-31,csat,82.5,140\n{TEAM},2024-02-01,2024-02-29,csat,80,120\n"
    run_import(app, tmp_path, text)
    result = run_import(app, tmp_path, text)
    assert result.output.strip().splitlines()[-1] == "accepted=0 duplicates=2 rejected=0"
    assert len(stored(db)) == 2


def test_an_api_outcome_imported_again_from_a_file_is_a_duplicate(app, db, team, tmp_path):
    store([item(value=82)])
    db.session.commit()
    result = run_import(app, tmp_path, HEADER + f"{TEAM},2024-01-01,2024-01-31,csat,82.0,140\n")
    assert result.output.strip().splitlines()[-1] == "accepted=0 duplicates=1 rejected=0"


def test_every_rejected_row_is_written_with_its_line_and_reason(app, db, team, tmp_path):
    text = (HEADER
            + f"{TEAM},2024-01-01,2024-01-31,csat,82.5,140\n"      # line 2: accepted
            + f"{TEAM},2024-01-15,2024-01-31,csat,82.5,\n"         # 3: not a calendar period
            + "Acme/APAC,2024-01-01,2024-01-31,csat,70,\n"         # 4: unknown unit
            + "\n"                                                 # 5: blank, skipped
            + f"{TEAM},2024-02-01,2024-02-29,csat,\"81,5\",\n"     # 6: decimal comma
            + f"{TEAM},2024-02-01,2024-02-29,csat,81,many\n"       # 7: responses not a number
            + f"{TEAM},2024-02-01,2024-02-29\n"                    # 8: too few cells
            + f"{TEAM},2024-01-01,2024-01-31,csat,90,140\n"        # 9: conflict with line 2
            + f"{TEAM},2024-03-01,2024-03-31,CSAT,80,\n")          # 10: metric not lower case
    rejects = tmp_path / "rejects.csv"
    result = run_import(app, tmp_path, text, "--rejects", str(rejects))
    assert result.output.strip().splitlines()[-1] == "accepted=1 duplicates=0 rejected=7"
    with rejects.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["line"]), r["code"], r["field"]) for r in rows] == [
        (3, "invalid_period", "period_start"), (4, "unknown_unit", "unit"), (6, "invalid_value", "value"),
        (7, "invalid_value", "responses"), (8, "invalid_row", ""), (9, "conflict", "value"),
        (10, "invalid_metric", "metric")]
    assert all(r["message"] for r in rows)


def test_rejections_without_a_rejects_file_are_announced(app, db, team, tmp_path):
    result = run_import(app, tmp_path, HEADER + "Acme/APAC,2024-01-01,2024-01-31,csat,70,\n")
    assert "--rejects" in result.output
    assert result.output.strip().splitlines()[-1] == "accepted=0 duplicates=0 rejected=1"


def test_the_responses_column_may_be_left_out(app, db, team, tmp_path):
    text = "Unit,Period_Start,Period_End,Metric,Value\r\n" + f"{TEAM},2024-01-01,2024-01-31,csat,82.5\r\n"
    result = run_import(app, tmp_path, "\ufeff" + text)
    assert result.output.strip().splitlines()[-1] == "accepted=1 duplicates=0 rejected=0"
    assert stored(db)[0].responses is None


UNUSABLE_HEADERS = [
    ("unit,period_start,period_end,metric,value,region\n", "unknown columns: region"),
    ("unit,period_start,metric,value\n", "missing columns: period_end"),
    ("", "the file is empty"),
]


def test_a_file_with_an_unusable_header_imports_nothing(app, db, team, tmp_path):
    for header, message in UNUSABLE_HEADERS:
        text = header + f"{TEAM},2024-01-01,2024-01-31,csat,82.5,140\n" if header else ""
        result = run_import(app, tmp_path, text)
        assert result.exit_code != 0
        assert message in result.output and "Nothing was imported" in result.output
    assert stored(db) == []


def test_replace_flag_corrects_values_from_a_file(app, db, team, tmp_path):
    run_import(app, tmp_path, HEADER + f"{TEAM},2024-01-01,2024-01-31,csat,82.5,140\n")
    corrected = HEADER + f"{TEAM},2024-01-01,2024-01-31,csat,79,150\n"
    assert run_import(app, tmp_path, corrected).output.strip().splitlines()[-1] == \
        "accepted=0 duplicates=0 rejected=1"
    result = run_import(app, tmp_path, corrected, "--replace")
    assert result.output.strip().splitlines()[-1] == "accepted=1 duplicates=0 rejected=0"
    assert [(r.value, r.responses) for r in stored(db)] == [(79.0, 150)]


def _year_of_csat() -> bytes:
    """A file of twelve monthly CSAT rows for TEAM, with an unknown unit as its sixth row (line 7)."""
    lines = [f"{TEAM},2024-{m:02d}-01,{outcomes._month_end(dt.date(2024, m, 1))},csat,{70 + m},"
             for m in range(1, 13)]
    lines.insert(5, "Acme/APAC,2024-01-01,2024-01-31,csat,70,")
    return (HEADER + "\n".join(lines) + "\n").encode()


def test_the_file_is_imported_in_batches_with_rejects_in_line_order(db, team):
    rejects = io.StringIO()
    result = outcomes.import_outcomes(io.BytesIO(_year_of_csat()), rejects=rejects, batch_size=5)
    assert (result.rows, result.accepted, result.duplicates, result.rejected) == (13, 12, 0, 1)
    assert rejects.getvalue().splitlines()[1].startswith("7,unknown_unit,unit,")
    assert len(stored(db)) == 12


def test_a_crash_mid_file_keeps_the_committed_batches_and_the_rerun_converges(db, team, monkeypatch):
    real = outcomes.store_outcomes
    calls = []

    def crash_on_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("simulated crash in the third batch")
        return real(*args, **kwargs)

    monkeypatch.setattr(outcomes, "store_outcomes", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        outcomes.import_outcomes(io.BytesIO(_year_of_csat()), batch_size=5)
    db.session.rollback()
    with db.engine.connect() as conn:  # another connection: what is really committed
        assert conn.scalar(select(func.count()).select_from(OutcomeMeasure)) == 9  # two batches, one reject

    monkeypatch.setattr(outcomes, "store_outcomes", real)
    result = outcomes.import_outcomes(io.BytesIO(_year_of_csat()), batch_size=5)
    assert (result.accepted, result.duplicates, result.rejected) == (3, 9, 1)
