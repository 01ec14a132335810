"""Confidentiality by construction: responses cannot be tied to a person through the schema."""
from __future__ import annotations

import datetime as dt

import flask_migrate
from sqlalchemy import create_engine, inspect, select

from adoption import create_app
from adoption.extensions import db as sqla
from surveys.authorship import is_author
from surveys.models import Comment, Participation, Response
from surveys.services import submit_response
from tests.factories import make_employee
from tests.surveys.conftest import BUDGET, OPENS

ANONYMOUS_TABLES = ("responses", "answers", "comments")
PERSONAL_TABLES = {"employees", "users", "participations", "response_drafts", "unit_memberships"}


def _columns(db, table):
    return {c["name"]: c for c in inspect(db.engine).get_columns(table)}


def _references(db, table):
    return {fk["referred_table"] for fk in inspect(db.engine).get_foreign_keys(table)}


def test_no_anonymous_table_has_a_column_naming_a_person(db):
    for table in ANONYMOUS_TABLES:
        names = set(_columns(db, table))
        assert not {n for n in names if "employee" in n or "user" in n or "email" in n}, table


def test_no_anonymous_table_references_a_personal_table(db):
    for table in ANONYMOUS_TABLES:
        assert not _references(db, table) & PERSONAL_TABLES, table


def test_anonymous_tables_reference_only_rounds_questions_units_and_each_other(db):
    assert _references(db, "responses") == {"survey_rounds", "org_units"}
    assert _references(db, "answers") == {"responses", "round_questions"}
    # A comment does not point at the response it came with, so it never travels with the scores.
    assert _references(db, "comments") == {"survey_rounds", "round_questions", "org_units"}


def test_responses_keep_no_time(db):
    for table in ANONYMOUS_TABLES:
        kinds = {str(c["type"]).upper() for c in _columns(db, table).values()}
        assert not any("DATE" in k or "TIME" in k for k in kinds), (table, kinds)


def test_participation_has_no_link_to_responses(db):
    assert set(_columns(db, "participations")) == {"employee_id", "round_id", "submitted_on"}
    assert _references(db, "participations") == {"employees", "survey_rounds"}


def test_participation_keeps_the_day_only(db):
    kind = str(_columns(db, "participations")["submitted_on"]["type"]).upper()
    assert kind == "DATE"


def test_no_table_references_responses_except_answers(db):
    referring = {t for t in inspect(db.engine).get_table_names() if "responses" in _references(db, t)}
    assert referring == {"answers"}


def test_response_ids_are_random_not_a_sequence(db, build_survey):
    survey_round = build_survey().rounds[0]
    ids = []
    for _ in range(8):
        person = make_employee()
        q = [rq.id for rq in survey_round.questions]
        answers = {q[0]: {"value": 3}, q[1]: {"value": 7}}
        ids.append(submit_response(person, survey_round, answers, OPENS, BUDGET).id)
    assert all(i.version == 4 for i in ids)
    assert ids != sorted(ids)  # 1 chance in 8! that eight random ids come out sorted


def test_primary_keys_of_anonymous_tables_are_not_sequences(db):
    assert inspect(db.engine).get_pk_constraint("answers")["constrained_columns"] == ["response_id", "round_question_id"]
    assert inspect(db.engine).get_pk_constraint("participations")["constrained_columns"] == ["employee_id", "round_id"]


def test_sqlite_stores_anonymous_tables_without_rowid(db, tmp_path):
    # On a SQLite file of its own, whatever database the suite runs on (PostgreSQL has no rowid;
    # its physical order is covered in docs/privacy.md).
    for model in (Response, Participation, Comment):
        assert model.__table__.dialect_options["sqlite"]["with_rowid"] is False
    engine = create_engine(f"sqlite:///{tmp_path / 'rowid.db'}")
    db.metadata.create_all(engine)
    with engine.connect() as conn:
        for table in ("responses", "answers", "participations", "comments"):
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar()
            assert "WITHOUT ROWID" in sql, table


def test_response_table_keeps_no_date_even_as_text(db, build_survey):
    survey_round = build_survey().rounds[0]
    person = make_employee(since=dt.date(2021, 6, 1))
    q = [rq.id for rq in survey_round.questions]
    response = submit_response(person, survey_round, {q[0]: {"value": 3}, q[1]: {"value": 7}}, OPENS, BUDGET)
    row = db.session.execute(Response.__table__.select().where(Response.id == response.id)).mappings().one()
    assert set(row) == {"id", "round_id", "unit_id", "tenure_band"}
    assert row["tenure_band"] == "3y+"


def test_migrations_keep_anonymous_tables_without_rowid_after_rebuilding_them(tmp_path):
    # A migration that alters a SQLite table rebuilds it; the rebuilt table must stay WITHOUT ROWID.
    instance = tmp_path / "instance"
    app = create_app({"ENV": "testing", "INSTANCE_PATH": str(instance),
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'migrated.db'}"})
    with app.app_context():
        flask_migrate.upgrade()
        with sqla.engine.connect() as conn:
            for table in ("responses", "answers", "participations", "comments"):
                sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar()
                assert "WITHOUT ROWID" in sql, table
        sqla.session.remove()
        sqla.engine.dispose()


def test_comments_carry_no_response_and_an_author_key_that_needs_the_secret(app, db, build_survey):
    survey_round = build_survey().rounds[0]
    person = make_employee(since=dt.date(2021, 6, 1))
    q = [rq.id for rq in survey_round.questions]
    submit_response(person, survey_round, {q[0]: {"value": 3, "comment": "Too many fields"}, q[1]: {"value": 7}},
                    OPENS, BUDGET)
    comment = db.session.scalars(select(Comment)).one()
    assert set(_columns(db, "comments")) == {
        "id", "round_id", "round_question_id", "unit_id", "kind", "body", "author_key", "group_unit_id"}
    assert is_author(person.id, survey_round.id, comment.id, comment.author_key)
    # The same person and round under another secret do not give the stored key.
    other = create_app({"ENV": "testing", "SECRET_KEY": "another secret",
                        "INSTANCE_PATH": str(app.instance_path), "DATABASE_URL": "sqlite://"})
    with other.app_context():
        assert not is_author(person.id, survey_round.id, comment.id, comment.author_key)
