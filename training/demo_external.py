"""Demo: the company's own learning system ("Acme Learning") sends its records to Uptake as xAPI
statements, through the same service as ``POST /xapi/statements`` (training/xapi_intake.py).

Two of its courses, on the demo's calendar:

- *CRM data quality* (e-learning, from June): completed by about 40% of the CRM licence holders
  and by three contractors who are not on the roster (their statements stay unattributed);
- *Data protection refresher 2026* (an assessment, from September): taken by about two thirds of
  everyone, with a score; about one in eight fails first and most of them pass on a retake.

Most statements name the learner by ``mbox``; the LMS sends a fifth of them hashed
(``mbox_sha1sum``), as privacy-minded systems do, and they are attributed all the same. One
employee signed up to the LMS with a personal address, which matches no one on the roster until
the admin maps it to them (``map_learner``), as the records page lets them. One completion was
recorded by mistake and is voided by a later statement. Everyone with a demo login
who holds a CRM licence has completed the e-learning, so "My training" shows it.

The statements get deterministic ids and times, and the LMS's token is created once: loading
the demo again sends nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from adoption.demo_calendar import DemoCalendar
from adoption.extensions import db
from adoption.models import ApiToken, Employee, Role, User
from adoption.scope import scope_for
from adoption.tokens import issue_token
from training.models import LearnerAlias, XapiStatement
from training.xapi import timestamp_text
from training.xapi_intake import VOIDED_VERB, store_external_statements
from training.xapi_learners import map_learner

LMS_HOME = "https://learning.acme.example"
TOKEN_NAME = "Acme Learning (LMS)"
_ADL = "http://adlnet.gov/expapi/verbs/"
_NAMESPACE = uuid.UUID("6d1b7a52-3f43-4c1e-9d55-2b9f0c6c1a10")
CONTRACTORS = ("mailto:j.okafor@northwind-partners.example", "mailto:l.meyer@northwind-partners.example",
               "mailto:s.ito@northwind-partners.example")
#: The domain of the personal address one employee is known by in the LMS.
PERSONAL_DOMAIN = "mail.example"


def personal_address(email: str) -> str:
    """The personal address the LMS knows the employee with work address ``email`` by."""
    return f"{email.split('@')[0]}@{PERSONAL_DOMAIN}"


@dataclass(frozen=True)
class ExternalCourse:
    """One course of the demo LMS, as its reference dates."""

    slug: str
    name: str
    opens_on: dt.date  # reference date
    assessment: bool

    @property
    def iri(self) -> str:
        """The course's activity IRI on the LMS."""
        return f"{LMS_HOME}/courses/{self.slug}"

    def activity(self) -> dict:
        """The course as an xAPI Activity with its name."""
        kind = "assessment" if self.assessment else "course"
        return {"objectType": "Activity", "id": self.iri,
                "definition": {"name": {"en-US": self.name}, "type": f"http://adlnet.gov/expapi/activities/{kind}"}}


COURSES = (
    ExternalCourse("crm-data-quality", "CRM data quality (e-learning)", dt.date(2026, 6, 15), assessment=False),
    ExternalCourse("data-protection-2026", "Data protection refresher 2026", dt.date(2026, 9, 1), assessment=True),
)


def _moment(rng: random.Random, first: dt.date, last: dt.date) -> dt.datetime:
    """A working-day instant between ``first`` and ``last``."""
    while True:
        day = first + dt.timedelta(days=rng.randrange((last - first).days + 1))
        if day.weekday() < 5:
            return dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=rng.randrange(9 * 60))


def _statement(seed: int, n: int, actor: dict, verb: str, obj: dict, when: dt.datetime,
               result: dict | None = None) -> dict:
    statement = {"id": str(uuid.uuid5(_NAMESPACE, f"{seed}:{n}")), "actor": actor,
                 "verb": {"id": _ADL + verb, "display": {"en-US": verb}}, "object": obj,
                 "timestamp": timestamp_text(when), "context": {"platform": "Acme Learning"}}
    if result is not None:
        statement["result"] = result
    return statement


def _actor(email: str, hashed: bool) -> dict:
    mbox = f"mailto:{email.lower()}"
    if hashed:
        return {"objectType": "Agent", "mbox_sha1sum": hashlib.sha1(mbox.encode()).hexdigest()}
    return {"objectType": "Agent", "mbox": mbox}


def demo_statements(seed: int, calendar: DemoCalendar, people: list[tuple[str, bool, bool]]) -> list[dict]:
    """The LMS's statements for ``people`` (e-mail, holds a CRM licence, has a demo login),
    oldest first; deterministic for one seed, calendar and roster. The first licence holder
    without a demo login whose records name them unhashed is named by a ``personal_address``."""
    rng = random.Random(seed * 7919 + 61)
    last = calendar.usage_end
    out: list[tuple[dt.datetime, dict]] = []
    n = 0

    def add(actor: dict, verb: str, course: ExternalCourse, when: dt.datetime, result: dict | None = None) -> dict:
        nonlocal n
        n += 1
        statement = _statement(seed, n, actor, verb, course.activity(), when, result)
        out.append((when, statement))
        return statement

    quality, privacy = COURSES
    for email, licensed, has_login in people:
        hashed = rng.random() < 0.2
        actor = _actor(email, hashed)
        if licensed and (has_login or rng.random() < 0.4):
            add(actor, "completed", quality, _moment(rng, calendar.day(quality.opens_on), last),
                {"completion": True})
        if rng.random() < 0.65:
            when = _moment(rng, calendar.day(privacy.opens_on), last)
            if rng.random() < 0.125:
                score = round(rng.uniform(0.3, 0.7), 2)
                add(actor, "failed", privacy, when, {"success": False, "score": {"scaled": score}})
                if rng.random() < 0.75 and when.date() + dt.timedelta(days=10) < last:
                    when = _moment(rng, when.date() + dt.timedelta(days=3), last)
                else:
                    continue
            add(actor, "passed", privacy, when, {"success": True, "score": {"scaled": round(rng.uniform(0.8, 1.0), 2)}})
    for address in CONTRACTORS:
        add({"objectType": "Agent", "mbox": address}, "completed", quality,
            _moment(rng, calendar.day(quality.opens_on), last), {"completion": True})
    # A completion recorded for the wrong person, voided by the LMS the next day.
    mistaken = next(s for _, s in out if s["verb"]["id"] == _ADL + "completed")
    mistaken_at = dt.datetime.fromisoformat(mistaken["timestamp"].removesuffix("Z"))
    voiding_at = mistaken_at + dt.timedelta(days=1)
    if voiding_at.date() <= last:
        n += 1
        out.append((voiding_at, {
            "id": str(uuid.uuid5(_NAMESPACE, f"{seed}:{n}")),
            "actor": {"objectType": "Agent", "mbox": "mailto:lms-admin@learning.acme.example"},
            "verb": {"id": VOIDED_VERB, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": mistaken["id"]},
            "timestamp": timestamp_text(voiding_at)}))
    out.sort(key=lambda pair: pair[0])
    statements = [statement for _, statement in out]
    work = f"mailto:{personal_learner(statements, people)}"
    for statement in statements:
        if statement["actor"].get("mbox") == work:
            statement["actor"] = _actor(personal_address(work.removeprefix("mailto:")), False)
    return statements


def personal_learner(statements: list[dict], people: list[tuple[str, bool, bool]]) -> str:
    """The work e-mail of the person the LMS knows by a personal address: the first licence holder
    without a demo login whose records name them by their address, unhashed."""
    named = {statement["actor"].get("mbox") for statement in statements}
    return next(email for email, licensed, has_login in people
                if licensed and not has_login and (f"mailto:{email}" in named
                                                   or f"mailto:{personal_address(email)}" in named))


def load_external_learning_demo(size: str, seed: int, calendar: DemoCalendar) -> str | None:
    """Send the demo LMS's statements once (small demo only); flushes. Returns the summary line."""
    if size != "small":
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == TOKEN_NAME))
    if token is None:
        admin = db.session.scalar(select(User.id).where(User.role == Role.ADMIN.value).order_by(User.id).limit(1))
        created = dt.datetime.combine(calendar.day(COURSES[0].opens_on), dt.time(7))
        token, _secret = issue_token(TOKEN_NAME, "xapi:write", admin, created)  # the secret went to the LMS
        logins = set(db.session.scalars(select(User.employee_id).where(User.employee_id.is_not(None))))
        people = [(email, crm is not None, employee_id in logins) for employee_id, email, crm in db.session.execute(
            select(Employee.id, Employee.email, Employee.crm_user_id)
            .where(Employee.active.is_(True)).order_by(Employee.hr_id))]
        statements = demo_statements(seed, calendar, people)
        work = personal_learner(statements, people)
        by_day: dict[dt.date, list[dict]] = defaultdict(list)
        for statement in statements:
            by_day[dt.date.fromisoformat(statement["timestamp"][:10])].append(statement)
        for day, sent in sorted(by_day.items()):
            # The LMS sends each day's records that evening.
            store_external_statements(sent, token, dt.datetime.combine(day, dt.time(19)))
        # The admin saw the personal address among the learners who match no one, and mapped it.
        employee_id = db.session.scalar(select(Employee.id).where(Employee.email == work))
        map_learner(scope_for(db.session.get(User, admin)), f"mbox:mailto:{personal_address(work)}", employee_id,
                    admin)
    return describe_external_learning(token)


def describe_external_learning(token: ApiToken) -> str:
    """The demo summary's line on what the LMS sent."""
    sent = XapiStatement.token_id == token.id
    total, learners, unmatched, voided = db.session.execute(select(
        func.count(), func.count(XapiStatement.employee_id.distinct()),
        func.count(XapiStatement.actor_key.distinct()).filter(XapiStatement.employee_id.is_(None),
                                                              XapiStatement.verb != VOIDED_VERB),
        func.count().filter(XapiStatement.voided.is_(True))).where(sent)).one()
    mapped = db.session.scalar(select(func.count()).select_from(LearnerAlias))
    return (f"External learning: {total} xAPI statements from {TOKEN_NAME} on {len(COURSES)} courses, "
            f"{learners} employees attributed ({mapped} by an address the admin mapped), "
            f"{unmatched} learners not on the roster, {voided} voided.")
