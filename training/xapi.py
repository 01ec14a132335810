"""The xAPI record (T6): every learning action is also kept as an xAPI 1.0.3 statement, and read
back through ``GET /xapi/statements`` (training/api.py) by an external learning record store.

Identifiers, stable for the life of the installation:

- actor: an ``account`` whose ``homePage`` is the app's ``BASE_URL`` and whose ``name`` is the
  employee id from the HR roster (never an e-mail address, which changes and is personal);
- activities: ``<BASE_URL>/xapi/activities/module/<slug>``, ``.../step/<key>`` below it and
  ``.../question/<position>`` below a check step. Context activities are always ancestors in
  that hierarchy, which is what lets ``related_activities`` be a prefix match.

Verbs come from the ADL vocabulary: launched (a module is started), experienced (a lesson is
read), answered (a case study, or one question of a check attempt), passed / failed (a check
attempt, with its score), completed (the module, once the reaction is given). The ADL vocabulary
has no verb for taking on a commitment, so the commitment uses Activity Streams' ``accept`` from
the xAPI registry ("the actor has accepted the object, for instance an assignment"): the learner
takes on the action they wrote themselves. ``answered`` would make it indistinguishable from
case-study answers, and the registry's "planned" verb lives on a single vendor's page anchor.

A statement's ``version`` property is ``1.0.0``, as the specification requires of every 1.0.x
statement (Data 2.4.10); the API answers with the ``X-Experience-API-Version: 1.0.3`` header.
"""
from __future__ import annotations

import base64
import binascii
import copy
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import current_app
from sqlalchemy import and_, false, func, or_, select

from adoption.extensions import db
from adoption.models import Employee
from training.models import (
    CheckAttempt,
    CheckQuestion,
    Commitment,
    Enrollment,
    Module,
    ModuleStep,
    StepKind,
    XapiStatement,
)

#: The specification version the API speaks (response header).
XAPI_VERSION = "1.0.3"
#: The ``version`` property of statements: 1.0.0 for every 1.0.x version (Data 2.4.10).
STATEMENT_VERSION = "1.0.0"
#: The ADL verb that voids an earlier statement (Data 2.3.2).
VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
LANGUAGE = "en"


@dataclass(frozen=True)
class Verb:
    """An xAPI verb: its IRI and how it reads."""

    iri: str
    display: str

    def as_json(self) -> dict[str, Any]:
        """The verb as it appears in a statement."""
        return {"id": self.iri, "display": {LANGUAGE: self.display}}


_ADL = "http://adlnet.gov/expapi/verbs/"
LAUNCHED = Verb(_ADL + "launched", "launched")
EXPERIENCED = Verb(_ADL + "experienced", "experienced")
ANSWERED = Verb(_ADL + "answered", "answered")
PASSED = Verb(_ADL + "passed", "passed")
FAILED = Verb(_ADL + "failed", "failed")
COMPLETED = Verb(_ADL + "completed", "completed")
COMMITTED = Verb("http://activitystrea.ms/schema/1.0/accept", "accepted")

_ACTIVITIES = "http://adlnet.gov/expapi/activities/"
MODULE_TYPE = _ACTIVITIES + "module"
LESSON_TYPE = _ACTIVITIES + "lesson"
ASSESSMENT_TYPE = _ACTIVITIES + "assessment"
# The specification's type for interaction activities (those with an interactionType).
INTERACTION_TYPE = _ACTIVITIES + "cmi.interaction"


# ------------------------------------------------------------------ identifiers


def home_page() -> str:
    """The app's home page: the ``homePage`` of learners' accounts and the root of activity IRIs."""
    return str(current_app.config["BASE_URL"]).rstrip("/")


def actor(employee: Employee) -> dict[str, Any]:
    """The xAPI Agent of ``employee``: an account on this app named by their HR employee id."""
    return {"objectType": "Agent", "account": {"homePage": home_page(), "name": employee.hr_id}}


def actor_key(agent: dict[str, Any]) -> str | None:
    """The actor's identifier as one string (``mbox:...``, ``account:<homePage>|<name>``, ...),
    or None for an anonymous Group."""
    if "mbox" in agent:
        return f"mbox:{agent['mbox'].lower()}"
    if "mbox_sha1sum" in agent:
        return f"mbox_sha1sum:{agent['mbox_sha1sum'].lower()}"
    if "openid" in agent:
        return f"openid:{agent['openid']}"
    if "account" in agent:
        return f"account:{agent['account']['homePage'].rstrip('/')}|{agent['account']['name']}"
    return None


def _authority() -> dict[str, Any]:
    """The agent asserting every statement: this app itself."""
    return {"objectType": "Agent", "account": {"homePage": home_page(), "name": "uptake"}}


def module_iri(module: Module) -> str:
    """The activity IRI of ``module``, built from its slug (which never changes)."""
    return f"{home_page()}/xapi/activities/module/{quote(module.slug, safe='')}"


def step_iri(module: Module, step: ModuleStep) -> str:
    """The activity IRI of ``step``, below its module's."""
    return f"{module_iri(module)}/step/{quote(step.key, safe='')}"


def question_iri(module: Module, step: ModuleStep, question: CheckQuestion) -> str:
    """The activity IRI of a check question, below its step's."""
    return f"{step_iri(module, step)}/question/{question.position}"


def _name(text: str) -> dict[str, str]:
    return {LANGUAGE: text}


def module_activity(module: Module) -> dict[str, Any]:
    """``module`` as an xAPI Activity with its definition."""
    definition: dict[str, Any] = {"name": _name(module.title), "type": MODULE_TYPE}
    if module.summary:
        definition["description"] = _name(module.summary)
    return {"objectType": "Activity", "id": module_iri(module), "definition": definition}


def step_activity(module: Module, step: ModuleStep) -> dict[str, Any]:
    """``step`` as an xAPI Activity: a lesson, an assessment, or a free-text interaction."""
    definition: dict[str, Any] = {"name": _name(step.title)}
    if step.kind == StepKind.LESSON.value:
        definition["type"] = LESSON_TYPE
    elif step.kind == StepKind.CHECK.value:
        definition["type"] = ASSESSMENT_TYPE
    else:  # a case study or a commitment: the learner writes an answer
        definition["type"] = INTERACTION_TYPE
        definition["interactionType"] = "long-fill-in"
    return {"objectType": "Activity", "id": step_iri(module, step), "definition": definition}


def _choice_pattern(indexes: Iterable[int]) -> str:
    """A choice response in xAPI's pattern syntax: option ids joined by ``[,]``."""
    return "[,]".join(str(i) for i in sorted(indexes))


def question_activity(module: Module, step: ModuleStep, question: CheckQuestion) -> dict[str, Any]:
    """A check question as a ``choice`` interaction with its options and right answer."""
    return {
        "objectType": "Activity",
        "id": question_iri(module, step, question),
        "definition": {
            "name": _name(f"{step.title}, question {question.position}"),
            "description": _name(question.prompt),
            "type": INTERACTION_TYPE,
            "interactionType": "choice",
            "choices": [{"id": str(i), "description": _name(option)} for i, option in enumerate(question.options)],
            "correctResponsesPattern": [_choice_pattern(question.correct)],
        },
    }


# ------------------------------------------------------------------ writing statements


def utc_ms(moment: dt.datetime) -> dt.datetime:
    """``moment`` as naive UTC cut to the millisecond, the precision statements show, so that a
    ``since``/``until`` copied from a statement selects exactly that statement's instant."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def timestamp_text(moment: dt.datetime) -> str:
    """A naive UTC instant as an xAPI timestamp (ISO 8601, milliseconds, ``Z``)."""
    return utc_ms(moment).isoformat(timespec="milliseconds") + "Z"


def _extension(name: str) -> str:
    return f"{home_page()}/xapi/extensions/{name}"


def record(enrollment: Enrollment, verb: Verb, obj: dict[str, Any], now: dt.datetime, *,
           result: dict[str, Any] | None = None, parents: list[dict[str, Any]] | None = None,
           grouping: list[dict[str, Any]] | None = None) -> XapiStatement:
    """Add the statement "the enrollment's learner <verb> <obj>" at ``now`` (also its ``stored``)."""
    employee = db.session.get(Employee, enrollment.employee_id)
    moment = utc_ms(now)
    statement_id = uuid.uuid4()
    context: dict[str, Any] = {
        "platform": "Uptake",
        "language": LANGUAGE,
        "extensions": {_extension("module-version"): enrollment.module_version},
    }
    activities = {}
    if parents:
        activities["parent"] = parents
    if grouping:
        activities["grouping"] = grouping
    if activities:
        context["contextActivities"] = activities
    statement: dict[str, Any] = {
        "id": str(statement_id),
        "actor": actor(employee),
        "verb": verb.as_json(),
        "object": obj,
    }
    if result is not None:
        statement["result"] = result
    statement.update({
        "context": context,
        "timestamp": timestamp_text(moment),
        "stored": timestamp_text(moment),
        "authority": _authority(),
        "version": STATEMENT_VERSION,
    })
    row = XapiStatement(id=statement_id, employee_id=employee.id, verb=verb.iri, activity=obj["id"],
                        module_id=enrollment.module_id, timestamp=moment, stored=moment, statement=statement,
                        voided=False)
    db.session.add(row)
    return row


def record_launched(enrollment: Enrollment, module: Module, now: dt.datetime) -> XapiStatement:
    """The learner started ``module``."""
    return record(enrollment, LAUNCHED, module_activity(module), now)


def record_experienced(enrollment: Enrollment, step: ModuleStep, now: dt.datetime) -> XapiStatement:
    """The learner read a lesson to its end."""
    module = step.module
    return record(enrollment, EXPERIENCED, step_activity(module, step), now,
                  result={"completion": True}, parents=[module_activity(module)])


def record_case_answer(enrollment: Enrollment, step: ModuleStep, text: str, now: dt.datetime) -> XapiStatement:
    """The learner answered a case study (before seeing the expert commentary)."""
    module = step.module
    return record(enrollment, ANSWERED, step_activity(module, step), now,
                  result={"response": text, "completion": True}, parents=[module_activity(module)])


def record_check_attempt(enrollment: Enrollment, step: ModuleStep, attempt: CheckAttempt,
                         now: dt.datetime) -> list[XapiStatement]:
    """One ``answered`` per question of the attempt, then ``passed`` or ``failed`` for the check."""
    module = step.module
    module_json, step_json = module_activity(module), step_activity(module, step)
    questions = {q.id: q for q in step.questions}
    rows = []
    for answer in sorted(attempt.answers, key=lambda a: questions[a.question_id].position):
        question = questions[answer.question_id]
        rows.append(record(
            enrollment, ANSWERED, question_activity(module, step, question), now,
            result={"response": _choice_pattern(answer.chosen), "success": answer.correct},
            parents=[step_json], grouping=[module_json],
        ))
    n = len(questions)
    right = sum(1 for a in attempt.answers if a.correct)
    result = {
        "score": {"scaled": round(right / n, 4) if n else 1.0, "raw": right, "min": 0, "max": n},
        "success": attempt.passed,
        "completion": attempt.passed,
        "extensions": {_extension("attempt"): attempt.number},
    }
    rows.append(record(enrollment, PASSED if attempt.passed else FAILED, step_json, now,
                       result=result, parents=[module_json]))
    return rows


def record_commitment(enrollment: Enrollment, step: ModuleStep, commitment: Commitment,
                      now: dt.datetime) -> XapiStatement:
    """The learner took on their commitment (and, if chosen, the key behaviour it concerns)."""
    module = step.module
    result: dict[str, Any] = {"response": commitment.text, "completion": True}
    if commitment.key_behaviour:
        result["extensions"] = {_extension("key-behaviour"): commitment.key_behaviour}
    return record(enrollment, COMMITTED, step_activity(module, step), now,
                  result=result, parents=[module_activity(module)])


def record_completed(enrollment: Enrollment, module: Module, now: dt.datetime) -> XapiStatement:
    """The learner completed ``module``: every step done, every check passed, reaction given."""
    seconds = max(0, int((utc_ms(now) - utc_ms(enrollment.started_at)).total_seconds()))
    result: dict[str, Any] = {"completion": True, "success": True, "duration": f"PT{seconds}S"}
    if enrollment.reaction_score is not None:
        result["extensions"] = {_extension("usefulness"): enrollment.reaction_score}
    return record(enrollment, COMPLETED, module_activity(module), now, result=result)


# ------------------------------------------------------------------ reading statements


class XapiQueryError(ValueError):
    """A statement query the API must refuse with 400; the message says why."""


#: Every parameter GET /xapi/statements recognizes (xAPI 1.0.3, Communication 2.1.3, plus the
#: paging ``cursor`` of our own ``more`` links); anything else is refused (3.2.s3.b7).
PARAMETERS = frozenset({
    "statementId", "voidedStatementId", "agent", "verb", "activity", "registration",
    "related_activities", "related_agents", "since", "until", "limit", "format", "attachments",
    "ascending", "cursor",
})
_SINGLE_ALLOWED = frozenset({"statementId", "voidedStatementId", "format", "attachments"})
FORMATS = ("exact", "ids", "canonical")


@dataclass(frozen=True)
class StatementQuery:
    """A parsed GET /xapi/statements request."""

    statement_id: uuid.UUID | None = None
    voided_statement_id: uuid.UUID | None = None
    agent: dict[str, Any] | None = None
    verb: str | None = None
    activity: str | None = None
    registration: uuid.UUID | None = None
    related_activities: bool = False
    related_agents: bool = False
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = DEFAULT_LIMIT
    format: str = "exact"
    ascending: bool = False
    cursor: tuple[dt.datetime, uuid.UUID] | None = None
    # The request's own filter parameters, repeated in the ``more`` link.
    params: dict[str, str] = field(default_factory=dict)


def _boolean(name: str, raw: str) -> bool:
    if raw == "true":
        return True
    if raw == "false":
        return False
    raise XapiQueryError(f"'{name}' must be true or false, not '{raw}'.")


def parse_uuid(raw: Any) -> uuid.UUID | None:
    """``raw`` as a UUID, or None when it is not a string holding one."""
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def parse_instant(raw: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp as naive UTC (one without an offset is taken as UTC), or None."""
    if not isinstance(raw, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _uuid(name: str, raw: str) -> uuid.UUID:
    value = parse_uuid(raw)
    if value is None:
        raise XapiQueryError(f"'{name}' must be a UUID, not '{raw}'.")
    return value


def _instant(name: str, raw: str) -> dt.datetime:
    """The parameter ``name`` as an instant (``parse_instant``); ``XapiQueryError`` otherwise."""
    moment = parse_instant(raw)
    if moment is None:
        raise XapiQueryError(f"'{name}' must be an ISO 8601 timestamp such as 2024-05-01T09:30:00Z, "
                             f"not '{raw}'.")
    return moment


def _agent(raw: str) -> dict[str, Any]:
    """The ``agent`` parameter: a JSON Agent (or Group) with exactly one identifier."""
    try:
        agent = json.loads(raw)
    except ValueError:
        raise XapiQueryError("'agent' must be a JSON Agent object.") from None
    if not isinstance(agent, dict):
        raise XapiQueryError("'agent' must be a JSON Agent object.")
    if agent.get("objectType", "Agent") not in ("Agent", "Group"):
        raise XapiQueryError("'agent' must have objectType Agent or Group.")
    identifiers = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in agent]
    if len(identifiers) != 1:
        raise XapiQueryError("'agent' must carry exactly one of mbox, mbox_sha1sum, openid, account.")
    if "account" in agent:
        account = agent["account"]
        if (not isinstance(account, dict) or not isinstance(account.get("homePage"), str)
                or not isinstance(account.get("name"), str)):
            raise XapiQueryError("An agent's account needs a homePage and a name (strings).")
    return agent


def encode_cursor(stored: dt.datetime, statement_id: uuid.UUID) -> str:
    """The opaque paging position after a statement (its ``stored`` time and id)."""
    raw = f"{stored.isoformat()}|{statement_id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(raw: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        stored, _, hex_id = text.partition("|")
        return dt.datetime.fromisoformat(stored), uuid.UUID(hex_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise XapiQueryError("'cursor' is not one this server gave out; follow the 'more' link as is.") from None


def parse_query(args: Mapping[str, list[str]]) -> StatementQuery:
    """Check the parameters of a GET /xapi/statements request (name -> every value sent)."""
    unknown = sorted(set(args) - PARAMETERS)
    if unknown:
        raise XapiQueryError(f"Unknown parameter {', '.join(repr(u) for u in unknown)} (names are case-sensitive).")
    repeated = sorted(name for name, values in args.items() if len(values) != 1)
    if repeated:
        raise XapiQueryError(f"Parameter {', '.join(repr(r) for r in repeated)} may be given only once.")
    values = {name: v[0] for name, v in args.items()}
    if "statementId" in values and "voidedStatementId" in values:
        raise XapiQueryError("Send either statementId or voidedStatementId, not both.")
    if ("statementId" in values or "voidedStatementId" in values) and set(values) - _SINGLE_ALLOWED:
        raise XapiQueryError("statementId and voidedStatementId allow no other parameter than format and attachments.")
    fields: dict[str, Any] = {}
    if "statementId" in values:
        fields["statement_id"] = _uuid("statementId", values["statementId"])
    if "voidedStatementId" in values:
        fields["voided_statement_id"] = _uuid("voidedStatementId", values["voidedStatementId"])
    if "agent" in values:
        fields["agent"] = _agent(values["agent"])
    for name in ("verb", "activity"):
        if name in values:
            if not values[name].strip():
                raise XapiQueryError(f"'{name}' must be an IRI.")
            fields[name] = values[name]
    if "registration" in values:
        fields["registration"] = _uuid("registration", values["registration"])
    for name in ("related_activities", "related_agents", "ascending", "attachments"):
        if name in values:
            flag = _boolean(name, values[name])
            if name != "attachments":
                fields[name] = flag
    for name in ("since", "until"):
        if name in values:
            fields[name] = _instant(name, values[name])
    if "limit" in values:
        raw = values["limit"]
        if not raw.isdigit():
            raise XapiQueryError(f"'limit' must be a non-negative integer, not '{raw}'.")
        # 0 asks for the most the server allows.
        fields["limit"] = min(int(raw), MAX_LIMIT) or MAX_LIMIT
    if "format" in values:
        if values["format"] not in FORMATS:
            raise XapiQueryError(f"'format' must be one of {', '.join(FORMATS)}.")
        fields["format"] = values["format"]
    if "cursor" in values:
        fields["cursor"] = _cursor(values["cursor"])
    fields["params"] = {k: v for k, v in values.items() if k != "cursor"}
    return StatementQuery(**fields)


def _agent_filter(agent: dict[str, Any]):
    """A WHERE clause for statements whose actor is ``agent``: a statement Uptake recorded for the
    employee this app's account names, or an external statement sent with this very identifier."""
    sent_as = XapiStatement.actor_key == actor_key(agent) if agent.get("objectType") != "Group" else false()
    account = agent.get("account")
    if agent.get("objectType") == "Group" or account is None or account["homePage"].rstrip("/") != home_page():
        return sent_as
    employee_id = db.session.scalar(select(Employee.id).where(Employee.hr_id == account["name"]))
    if employee_id is None:
        return sent_as
    return or_(sent_as, and_(XapiStatement.actor_key.is_(None), XapiStatement.employee_id == employee_id))


def _ids_only(statement: dict[str, Any]) -> dict[str, Any]:
    """``statement`` in the ``ids`` format: verbs and activities reduced to their ids."""
    slim = copy.deepcopy(statement)
    slim["verb"].pop("display", None)
    slim["object"].pop("definition", None)
    for activities in slim.get("context", {}).get("contextActivities", {}).values():
        for activity in activities:
            activity.pop("definition", None)
    return slim


def _formatted(statement: dict[str, Any], fmt: str) -> dict[str, Any]:
    return _ids_only(statement) if fmt == "ids" else statement


def find_statement(statement_id: uuid.UUID, fmt: str = "exact", voided: bool = False) -> dict[str, Any] | None:
    """One statement by its id, or None; a voided one only when ``voided`` (``voidedStatementId``),
    and then only that."""
    row = db.session.get(XapiStatement, statement_id)
    return None if row is None or row.voided != voided else _formatted(row.statement, fmt)


@dataclass(frozen=True)
class StatementPage:
    """One page of a statement query: the statements, and the cursor of the next page if any."""

    statements: list[dict[str, Any]]
    next_cursor: str | None


def find_statements(query: StatementQuery) -> StatementPage:
    """The statements matching ``query``, newest stored first unless ``ascending``, one page;
    voided statements are left out (Data 2.3.2)."""
    stmt = select(XapiStatement).where(XapiStatement.voided.is_(False))
    if query.agent is not None:
        stmt = stmt.where(_agent_filter(query.agent))
    if query.verb is not None:
        stmt = stmt.where(XapiStatement.verb == query.verb)
    if query.activity is not None:
        if query.related_activities:
            # Context activities are ancestors of the object in our IRI hierarchy.
            stmt = stmt.where(or_(XapiStatement.activity == query.activity,
                                  XapiStatement.activity.startswith(query.activity + "/", autoescape=True)))
        else:
            stmt = stmt.where(XapiStatement.activity == query.activity)
    if query.registration is not None:
        # Only external statements can carry one; ours never do.
        stmt = stmt.where(XapiStatement.token_id.is_not(None),
                          func.lower(XapiStatement.statement[("context", "registration")].as_string())
                          == str(query.registration))
    if query.since is not None:
        stmt = stmt.where(XapiStatement.stored > query.since)  # exclusive
    if query.until is not None:
        stmt = stmt.where(XapiStatement.stored <= query.until)  # inclusive
    if query.cursor is not None:
        stored, last_id = query.cursor
        if query.ascending:
            after = or_(XapiStatement.stored > stored, and_(XapiStatement.stored == stored, XapiStatement.id > last_id))
        else:
            after = or_(XapiStatement.stored < stored, and_(XapiStatement.stored == stored, XapiStatement.id < last_id))
        stmt = stmt.where(after)
    if query.ascending:
        stmt = stmt.order_by(XapiStatement.stored.asc(), XapiStatement.id.asc())
    else:
        stmt = stmt.order_by(XapiStatement.stored.desc(), XapiStatement.id.desc())
    rows = list(db.session.scalars(stmt.limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    next_cursor = encode_cursor(rows[-1].stored, rows[-1].id) if more else None
    return StatementPage([_formatted(r.statement, query.format) for r in rows], next_cursor)
