"""The large demo's pulse answers: a year of monthly rounds for ~20,000 people, written in bulk.

The small demo answers through ``submit_response`` (about 2.5 ms each: fine for 2,400 responses,
nine minutes for the large demo's ~140,000). Here the same people-and-teams model
(``surveys.demo._answer``, ``_team_traits``) produces the same rows ``submit_response`` would
write — the response with the unit held on the answer day and the tenure band, its scored
answers, comments apart with their author key, the participation with the day only — and they go
in with one multi-row INSERT per table and round. The answers are valid by construction (the
generator only produces values of the questions' scales), which is what the service would check.
"""
from __future__ import annotations

import bisect
import datetime as dt
import random
import uuid
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import insert, select

from adoption.demo_telemetry import TeamProfile
from adoption.extensions import db
from adoption.models import Employee, OrgUnit, UnitMembership, User
from surveys.authorship import author_key
from surveys.models import Answer, Comment, CommentKind, Participation, Response, SurveyRound
from surveys.services import tenure_band

Answerer = Callable[..., dict]


class _Roster:
    """Everyone's unit history and start date, loaded once for all rounds."""

    def __init__(self) -> None:
        self.paths = dict(db.session.execute(select(OrgUnit.id, OrgUnit.path)).all())
        self.people = {
            row.id: row for row in db.session.execute(select(Employee.id, Employee.hr_id, Employee.start_date))
        }
        history: dict[int, list[tuple[dt.date, dt.date | None, int]]] = defaultdict(list)
        for employee_id, start, end, unit_id in db.session.execute(
            select(UnitMembership.employee_id, UnitMembership.valid_from, UnitMembership.valid_to,
                   UnitMembership.unit_id).order_by(UnitMembership.employee_id, UnitMembership.valid_from)
        ):
            history[employee_id].append((start, end, unit_id))
        self.history = dict(history)
        self.with_login = set(db.session.scalars(select(User.employee_id).where(User.employee_id.isnot(None))))

    def unit_on(self, employee_id: int, day: dt.date) -> int | None:
        """The unit the employee was in on ``day`` (None outside the organization)."""
        spans = self.history.get(employee_id, [])
        i = bisect.bisect_right([s[0] for s in spans], day) - 1
        if i < 0:
            return None
        _start, end, unit_id = spans[i]
        return unit_id if end is None or day < end else None


def answer_rounds_in_bulk(rounds: list[SurveyRound], profiles: dict[str, TeamProfile], seed: int,
                          reference_date: dt.date, progress_of: Callable[[SurveyRound], float],
                          traits_of: Callable, answer: Answerer, last_round_day: int) -> int:
    """Write the answers of every round not answered yet; returns the number of responses."""
    roster = _Roster()
    written = 0
    for survey_round in rounds:
        if db.session.scalar(select(Participation.round_id).where(Participation.round_id == survey_round.id).limit(1)):
            continue
        written += _answer_round(survey_round, roster, profiles, seed, reference_date,
                                 progress_of(survey_round), traits_of, answer, last_round_day)
    db.session.flush()
    return written


def _answer_round(survey_round: SurveyRound, roster: _Roster, profiles: dict[str, TeamProfile], seed: int,
                  reference_date: dt.date, progress: float, traits_of: Callable, answer: Answerer,
                  last_round_day: int) -> int:
    """One round's responses, answers, comments and participations, in four bulk inserts."""
    from surveys.services import eligible_employees

    last_day = min(survey_round.closes_on, reference_date - dt.timedelta(days=1))
    if survey_round.opens_on > last_day:
        return 0
    still_open = survey_round.closes_on >= reference_date
    questions = [(rq.id, rq.question.item_version.item.construct, rq.question.scale, rq.question.allow_comment)
                 for rq in survey_round.questions]
    responses, answers, comments, participations = [], [], [], []
    for employee in eligible_employees(survey_round):
        if still_open and employee.id in roster.with_login:
            continue  # people with a demo login answer the open round themselves
        person = roster.people[employee.id]
        opening_unit = roster.unit_on(employee.id, survey_round.opens_on)
        if opening_unit is None:
            continue
        path = roster.paths[opening_unit]
        team = traits_of(path, profiles.get(path), progress, seed)
        traits = random.Random(f"{seed}:{person.hr_id}")
        propensity, offset = traits.uniform(-0.15, 0.15), traits.gauss(0, 0.45)
        rng = random.Random(f"{seed}:{person.hr_id}:{survey_round.number}")
        if rng.random() >= team.response_rate + propensity:
            continue
        day = survey_round.opens_on + dt.timedelta(days=min(int(rng.expovariate(1 / 4)), last_round_day))
        unit_id = roster.unit_on(employee.id, day) if day <= last_day else None
        if unit_id is None:
            continue  # not answered yet on the demo's "today", or gone by the answer day
        mood = team.engagement + offset
        response_id = uuid.uuid4()
        responses.append({"id": response_id, "round_id": survey_round.id, "unit_id": unit_id,
                          "tenure_band": tenure_band(person.start_date, day)})
        for rq_id, construct, scale, allow_comment in questions:
            given = answer(rng, construct, scale, allow_comment, mood, team.resistant, survey_round.number,
                           team.perceived)
            answers.append({"response_id": response_id, "round_question_id": rq_id,
                            "value": given.get("value"), "choices": None})
            if "comment" in given:
                comment_id = uuid.uuid4()
                comments.append({
                    "id": comment_id, "round_id": survey_round.id, "round_question_id": rq_id,
                    "unit_id": unit_id, "kind": CommentKind.COMMENT.value, "body": given["comment"],
                    "author_key": author_key(employee.id, survey_round.id, comment_id),
                })
        participations.append({"employee_id": employee.id, "round_id": survey_round.id, "submitted_on": day})
    for model, rows in ((Response, responses), (Answer, answers), (Comment, comments),
                        (Participation, participations)):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model.__table__), rows[start:start + 5000])
    return len(responses)
