"""Statements from an external learning system (T6, external part): ``POST`` and ``PUT
/xapi/statements`` (training/api.py) store xAPI 1.0.3 statements that another LMS or LRS sends,
beside the statements Uptake records itself (training/xapi.py).

What the specification asks of a learning record store, and what this one does:

- **All or nothing per request** (Communication 2.1.2): a request whose statements are not all
  valid stores none of them and answers 400 with *every* problem found, each with the statement's
  index, its id and the property at fault, so the sender can fix them all at once.
- **Idempotent by statement id** (Data 2.4.1): a statement sent again with the same content is
  accepted and not stored twice; the same id with different content is a conflict (409), and
  nothing of the request is stored. Content is compared without ``stored``, ``authority`` and
  ``version``, which the record store sets.
- **Voiding** (Data 2.3.2): a statement with the verb ``voided`` and a ``StatementRef`` object
  marks its target voided, also when the target arrives later; voided statements leave the query
  results and answer only to ``voidedStatementId``. A voiding statement cannot itself be voided.
- ``id`` is given when missing; ``timestamp`` defaults to ``stored``; ``authority`` is set to the
  API token that sent the statement; ``version`` defaults to 1.0.0. Attachments are not accepted.

**Who the learner is** (training/xapi_learners.py): the actor's identifier is matched to an
employee of the roster (e-mail, or an account on a known home page), then to the identifiers an
admin mapped. Anything else (an ``openid``, another system's account, a Group) is kept
unattributed with its identifier, counted on the Training dashboard, and attributed as soon as a
roster import or an admin's mapping names the person.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from adoption.extensions import db
from adoption.models import ApiToken, Employee
from adoption.scope import Scope
from training.authoring import require_author
from training.models import XapiStatement
from training.xapi import (
    STATEMENT_VERSION,
    VOIDED_VERB,
    actor_key,
    home_page,
    parse_instant,
    parse_uuid,
    timestamp_text,
    utc_ms,
)
from training.xapi_learners import LearnerRoster

#: At most this many statements in one request.
MAX_STATEMENTS = 500
#: At most this many bytes in one request's body.
MAX_BODY_BYTES = 5 * 1024 * 1024
#: At most this many characters in an activity IRI, and in a verb IRI (longer ones are refused).
MAX_IRI_LENGTH = 500
MAX_VERB_LENGTH = 200
#: An actor identifier longer than this is refused (the column that keeps it for attribution).
MAX_ACTOR_KEY_LENGTH = 700

_TOP_LEVEL = frozenset({"id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
                        "authority", "version", "attachments", "objectType"})
# The properties the record store sets: not part of a statement's content when comparing.
_SET_BY_STORE = ("stored", "authority", "version")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class StatementProblem:
    """Why one statement of a request cannot be stored."""

    index: int
    statement_id: str | None
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        """The problem as the 400 answer lists it."""
        return {"index": self.index, "statement_id": self.statement_id, "field": self.field,
                "message": self.message}


class StatementsRejected(ValueError):
    """The request cannot be stored: every problem found, nothing stored."""

    def __init__(self, message: str, problems: list[StatementProblem] | None = None):
        super().__init__(message)
        self.problems = problems or []


class StatementConflict(ValueError):
    """A statement id already stored with different content (409), nothing stored."""

    def __init__(self, statement_id: uuid.UUID):
        super().__init__(f"Statement {statement_id} is already stored with different content; "
                         "a statement cannot be changed (void it and send a new one).")
        self.statement_id = statement_id


@dataclass(frozen=True)
class StoreResult:
    """What a request stored: the ids of its statements in order, and how many were new."""

    ids: list[uuid.UUID]
    stored: int
    already_stored: int
    attributed: int


# ------------------------------------------------------------------ validation


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_IRI_LENGTH and bool(_IRI.match(value))


def _language_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _agent_problems(agent: Any, field: str) -> list[tuple[str, str]]:
    """(field, message) for each way ``agent`` is not a valid Agent or Group."""
    if not isinstance(agent, dict):
        return [(field, "must be an Agent or Group object")]
    kind = agent.get("objectType", "Agent")
    if kind not in ("Agent", "Group"):
        return [(f"{field}.objectType", "must be Agent or Group")]
    identifiers = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in agent]
    if kind == "Agent" and len(identifiers) != 1:
        return [(field, "an Agent must carry exactly one of mbox, mbox_sha1sum, openid, account")]
    if kind == "Group" and len(identifiers) > 1:
        return [(field, "a Group carries at most one of mbox, mbox_sha1sum, openid, account")]
    if kind == "Group" and not identifiers and not isinstance(agent.get("member"), list):
        return [(f"{field}.member", "an anonymous Group must list its members")]
    problems = []
    if "mbox" in agent and not (isinstance(agent["mbox"], str) and agent["mbox"].startswith("mailto:")
                                and "@" in agent["mbox"]):
        problems.append((f"{field}.mbox", "must be a mailto: IRI such as mailto:ana@example.com"))
    if "mbox_sha1sum" in agent and not (isinstance(agent["mbox_sha1sum"], str) and _SHA1.match(agent["mbox_sha1sum"])):
        problems.append((f"{field}.mbox_sha1sum", "must be 40 hexadecimal characters"))
    if "openid" in agent and not _is_iri(agent["openid"]):
        problems.append((f"{field}.openid", "must be a URI"))
    if "account" in agent:
        account = agent["account"]
        if not (isinstance(account, dict) and _is_iri(account.get("homePage"))
                and isinstance(account.get("name"), str) and account["name"]):
            problems.append((f"{field}.account", "needs a homePage (an IRL) and a name (a string)"))
    if "name" in agent and not isinstance(agent["name"], str):
        problems.append((f"{field}.name", "must be a string"))
    members = agent.get("member", [])
    if kind == "Group" and not isinstance(members, list):
        problems.append((f"{field}.member", "must be a list of Agents"))
    elif kind == "Group":
        for i, member in enumerate(members):
            if isinstance(member, dict) and member.get("objectType") == "Group":
                problems.append((f"{field}.member[{i}]", "a Group's members are Agents"))
            else:
                problems += _agent_problems(member, f"{field}.member[{i}]")
    return problems


def _object_problems(obj: Any, field: str, *, sub_statement_allowed: bool = True) -> list[tuple[str, str]]:
    if not isinstance(obj, dict):
        return [(field, "must be an object")]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        problems = [] if _is_iri(obj.get("id")) else [(f"{field}.id", "an Activity needs an id that is an IRI")]
        definition = obj.get("definition")
        if definition is not None:
            if not isinstance(definition, dict):
                problems.append((f"{field}.definition", "must be an object"))
            else:
                for key in ("name", "description"):
                    if key in definition and not _language_map(definition[key]):
                        problems.append((f"{field}.definition.{key}", "must be a language map"))
        return problems
    if kind in ("Agent", "Group"):
        return _agent_problems(obj, field)
    if kind == "StatementRef":
        return [] if parse_uuid(obj.get("id")) else [(f"{field}.id", "a StatementRef needs a UUID id")]
    if kind == "SubStatement" and sub_statement_allowed:
        problems = []
        for key in ("id", "stored", "version", "authority"):
            if key in obj:
                problems.append((f"{field}.{key}", "a SubStatement cannot have this property"))
        problems += _agent_problems(obj.get("actor"), f"{field}.actor")
        problems += _verb_problems(obj.get("verb"), f"{field}.verb")
        problems += _object_problems(obj.get("object"), f"{field}.object", sub_statement_allowed=False)
        return problems
    return [(f"{field}.objectType", "must be Activity, Agent, Group, StatementRef or SubStatement")]


def _verb_problems(verb: Any, field: str) -> list[tuple[str, str]]:
    if not isinstance(verb, dict) or not _is_iri(verb.get("id")):
        return [(f"{field}.id", "a verb needs an id that is an IRI")]
    if len(verb["id"]) > MAX_VERB_LENGTH:
        return [(f"{field}.id", f"a verb IRI of at most {MAX_VERB_LENGTH} characters is accepted")]
    if "display" in verb and not _language_map(verb["display"]):
        return [(f"{field}.display", "must be a language map")]
    return []


def statement_problems(statement: Any, index: int) -> list[StatementProblem]:
    """Every way ``statement`` (the request's ``index``-th) breaks the xAPI 1.0.3 data rules
    that this record store checks; empty when it can be stored."""
    if not isinstance(statement, dict):
        return [StatementProblem(index, None, "", "a statement must be a JSON object")]
    raw_id = statement.get("id")
    statement_id = raw_id if isinstance(raw_id, str) else None
    found: list[tuple[str, str]] = []
    for key in sorted(set(statement) - _TOP_LEVEL):
        found.append((key, "is not a property of an xAPI statement"))
    if "objectType" in statement:
        found.append(("objectType", "a statement has no objectType"))
    if "id" in statement and parse_uuid(raw_id) is None:
        found.append(("id", "must be a UUID"))
    actor_found = _agent_problems(statement.get("actor"), "actor")
    found += actor_found
    if not actor_found and len(actor_key(statement["actor"]) or "") > MAX_ACTOR_KEY_LENGTH:
        found.append(("actor", f"an actor identifier of at most {MAX_ACTOR_KEY_LENGTH} characters is accepted"))
    found += _verb_problems(statement.get("verb"), "verb")
    found += _object_problems(statement.get("object"), "object")
    verb_id = (statement.get("verb") or {}).get("id") if isinstance(statement.get("verb"), dict) else None
    if verb_id == VOIDED_VERB and not (isinstance(statement.get("object"), dict)
                                       and statement["object"].get("objectType") == "StatementRef"):
        found.append(("object", "a voiding statement's object must be a StatementRef"))
    if "timestamp" in statement and parse_instant(statement["timestamp"]) is None:
        found.append(("timestamp", "must be an ISO 8601 timestamp such as 2026-11-02T09:30:00Z"))
    if "version" in statement and not (isinstance(statement["version"], str)
                                       and re.match(r"^1\.0(\.\d+)?$", statement["version"])):
        found.append(("version", "must be 1.0.x"))
    if "attachments" in statement:
        found.append(("attachments", "attachments are not accepted by this record store"))
    result = statement.get("result")
    if result is not None:
        if not isinstance(result, dict):
            found.append(("result", "must be an object"))
        else:
            for key in ("success", "completion"):
                if key in result and not isinstance(result[key], bool):
                    found.append((f"result.{key}", "must be true or false"))
            score = result.get("score")
            if score is not None:
                scaled = score.get("scaled") if isinstance(score, dict) else None
                if not isinstance(score, dict) or (scaled is not None and not (
                        isinstance(scaled, int | float) and not isinstance(scaled, bool) and -1 <= scaled <= 1)):
                    found.append(("result.score", "must be an object whose scaled is between -1 and 1"))
    context = statement.get("context")
    if context is not None:
        if not isinstance(context, dict):
            found.append(("context", "must be an object"))
        elif "registration" in context and parse_uuid(context["registration"]) is None:
            found.append(("context.registration", "must be a UUID"))
    return [StatementProblem(index, statement_id, f, m) for f, m in found]


def statements_from_body(payload: Any) -> list[dict[str, Any]]:
    """The statements of a POST body: one statement object or an array of them."""
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list):
        if not payload:
            raise StatementsRejected("The request holds no statement.")
        if len(payload) > MAX_STATEMENTS:
            raise StatementsRejected(f"At most {MAX_STATEMENTS} statements per request; send the rest in "
                                     "further requests.")
        return payload
    raise StatementsRejected("The body must be a statement object or an array of statements.")


# ------------------------------------------------------------------ storing


def _content(statement: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k not in _SET_BY_STORE}


def content_hash(statement: dict[str, Any]) -> str:
    """SHA-256 of a statement's content: what the sender wrote, without what the store sets."""
    canonical = json.dumps(_content(statement), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def token_authority(token: ApiToken) -> dict[str, Any]:
    """The agent asserting statements sent with ``token``: the token, as an account of this app."""
    return {"objectType": "Agent", "name": token.name,
            "account": {"homePage": home_page(), "name": f"token/{token.prefix}"}}


def _activity_name(activity: dict[str, Any]) -> str | None:
    """An Activity's name in English when its definition has one, else in its first language."""
    names = (activity.get("definition") or {}).get("name") or {}
    english = [v for k, v in names.items() if k.lower().startswith("en")]
    name = english[0] if english else next(iter(names.values()), None)
    return name[:300] if name else None


def store_external_statements(statements: list[Any], token: ApiToken, now: dt.datetime,
                              statement_id: uuid.UUID | None = None) -> StoreResult:
    """Validate and store statements sent by an external system with ``token``; flushes, never
    commits. Raises ``StatementsRejected`` (400) or ``StatementConflict`` (409), storing nothing.

    ``statement_id`` is the id a PUT names: the one statement must carry it or no id."""
    problems = [p for i, s in enumerate(statements) for p in statement_problems(s, i)]
    if statement_id is not None and isinstance(statements[0], dict) and "id" in statements[0] \
            and parse_uuid(statements[0]["id"]) not in (None, statement_id):
        problems.append(StatementProblem(0, statements[0]["id"], "id",
                                         "differs from the statementId parameter"))
    if problems:
        raise StatementsRejected(f"{len(problems)} problem(s) in the statements; none was stored.", problems)

    stored = utc_ms(now)
    complete: list[dict[str, Any]] = []
    seen: dict[uuid.UUID, int] = {}
    for index, raw in enumerate(statements):
        statement = dict(raw)
        given = parse_uuid(statement.get("id")) or statement_id or uuid.uuid4()
        statement["id"] = str(given)
        if given in seen:
            problems.append(StatementProblem(index, str(given), "id",
                                             f"the same id as statement {seen[given]} of this request"))
        seen[given] = index
        complete.append(statement)
    if problems:
        raise StatementsRejected("Two statements of the request share an id; none was stored.", problems)

    ids = [uuid.UUID(s["id"]) for s in complete]
    hashes = [content_hash(s) for s in complete]
    existing = dict(db.session.execute(select(XapiStatement.id, XapiStatement.content_hash)
                                       .where(XapiStatement.id.in_(ids))).all())
    for statement_uuid, digest in zip(ids, hashes, strict=True):
        if statement_uuid in existing and existing[statement_uuid] != digest:
            raise StatementConflict(statement_uuid)

    new = [(u, s, h) for u, s, h in zip(ids, complete, hashes, strict=True) if u not in existing]
    keys = {s["id"]: actor_key(s["actor"]) for _, s, _ in new}
    matched = LearnerRoster().resolve(k for k in keys.values() if k)
    authority = token_authority(token)
    voided_targets = []
    attributed = 0
    for statement_uuid, statement, digest in new:
        sent = parse_instant(statement.get("timestamp"))
        timestamp = utc_ms(sent) if sent is not None else stored
        statement.setdefault("timestamp", timestamp_text(timestamp))
        statement["stored"] = timestamp_text(stored)
        statement["authority"] = authority
        statement.setdefault("version", STATEMENT_VERSION)
        obj = statement["object"]
        key = keys[statement["id"]]
        employee_id = matched.get(key) if key else None
        attributed += employee_id is not None
        if statement["verb"]["id"] == VOIDED_VERB:
            voided_targets.append(uuid.UUID(obj["id"]))
        is_activity = obj.get("objectType", "Activity") == "Activity"
        db.session.add(XapiStatement(
            id=statement_uuid, employee_id=employee_id, verb=statement["verb"]["id"],
            activity=obj["id"] if is_activity else None,
            activity_name=_activity_name(obj) if is_activity else None, module_id=None,
            timestamp=timestamp, stored=stored, statement=statement, token_id=token.id,
            actor_key=key, content_hash=digest))
    db.session.flush()
    if new:
        # A voiding statement may come before its target (a system that sends out of order).
        new_ids = [str(u) for u, _, _ in new]
        voided_targets += [uuid.UUID(target) for target in db.session.scalars(
            select(_voided_target()).where(XapiStatement.verb == VOIDED_VERB, _voided_target().in_(new_ids)))]
    if voided_targets:
        # A voiding statement is never voided itself (Data 2.3.2).
        db.session.execute(update(XapiStatement)
                           .where(XapiStatement.id.in_(voided_targets), XapiStatement.verb != VOIDED_VERB)
                           .values(voided=True))
    return StoreResult(ids, len(new), len(ids) - len(new), attributed)


def _voided_target():
    """The id a voiding statement's StatementRef names, as the stored JSON holds it."""
    return func.lower(XapiStatement.statement[("object", "id")].as_string())


# ------------------------------------------------------------------ reading them back

#: The ADL verbs that say how an external activity went, by their short names.
OUTCOME_VERBS = {
    "http://adlnet.gov/expapi/verbs/completed": "completed",
    "http://adlnet.gov/expapi/verbs/passed": "passed",
    "http://adlnet.gov/expapi/verbs/failed": "failed",
}
_OUTCOME_LABELS = {"completed": "Completed", "passed": "Passed", "failed": "Not passed"}


@dataclass(frozen=True)
class ExternalRecord:
    """How one activity of another learning system went for a learner: its latest outcome."""

    activity: str
    name: str
    outcome: str
    on: dt.date
    score_pct: int | None


def learning_elsewhere(employee: Employee) -> list[ExternalRecord]:
    """The activities external systems recorded for ``employee`` (voided records aside), each
    with its latest outcome, newest first."""
    rows = db.session.execute(
        select(XapiStatement.activity, XapiStatement.activity_name, XapiStatement.verb, XapiStatement.timestamp,
               XapiStatement.statement)
        .where(XapiStatement.employee_id == employee.id, XapiStatement.token_id.is_not(None),
               XapiStatement.voided.is_(False), XapiStatement.verb.in_(OUTCOME_VERBS))
        .order_by(XapiStatement.timestamp))
    latest: dict[str, ExternalRecord] = {}
    for activity, name, verb, timestamp, statement in rows:
        scaled = ((statement.get("result") or {}).get("score") or {}).get("scaled")
        latest[activity] = ExternalRecord(activity, name or activity, _OUTCOME_LABELS[OUTCOME_VERBS[verb]],
                                          timestamp.date(),
                                          round(scaled * 100) if isinstance(scaled, int | float) else None)
    return sorted(latest.values(), key=lambda r: r.on, reverse=True)


# ------------------------------------------------------------------ the sending systems (for authors)


@dataclass(frozen=True)
class SendingSystem:
    """A token that sent statements: how many, how many attributed or voided, and when last."""

    name: str
    prefix: str
    revoked: bool
    statements: int
    attributed: int
    voided: int
    last_stored: dt.datetime


def sending_systems(scope: Scope) -> list[SendingSystem]:
    """Every token that sent statements, most recent first."""
    require_author(scope)  # change leaders and admins: the identifiers belong to no unit
    rows = db.session.execute(
        select(ApiToken.name, ApiToken.prefix, ApiToken.revoked_at.is_not(None), func.count(),
               func.count(XapiStatement.employee_id), func.count().filter(XapiStatement.voided.is_(True)),
               func.max(XapiStatement.stored))
        .join(XapiStatement, XapiStatement.token_id == ApiToken.id)
        .group_by(ApiToken.id, ApiToken.name, ApiToken.prefix, ApiToken.revoked_at)
        .order_by(func.max(XapiStatement.stored).desc()))
    return [SendingSystem(*row) for row in rows]
