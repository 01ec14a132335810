"""The OpenAPI 3.1 description of the public API, served at ``GET /api/v1/openapi.json``.

Built from the same constants the endpoints enforce (limits, rejection codes, clients, token
scopes), so the description cannot drift from the behaviour on those points; the tests validate
it against the OpenAPI schema and check that every API route is described. The evidence
endpoint's constants live in ``dashboards``, which ``adoption`` may not import (dependencies point
one way), so they are restated below and the tests check them against the originals.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from adoption import outcomes
from adoption.models import TOKEN_SCOPES
from adoption.telemetry.ingest import (
    CLIENTS,
    MAX_BODY_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENT_ID_LENGTH,
    MAX_EVENTS,
    MAX_LENGTHS,
    REJECTION_CODES,
)

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

API_VERSION = "1.0.0"

# GET /evidence, restated from dashboards.evidence, dashboards.evidence_panel and
# dashboards.metrics.evidence (tests/adoption/test_openapi.py checks they are equal).
EVIDENCE_METRICS = ("adoption_rate", "active_share", "engagement_index", "enps", "readiness",
                    "training_completion", "commitment_kept")
EVIDENCE_KEY_BEHAVIOUR = "key_behaviour:"
EVIDENCE_MAX_LAG = 12
EVIDENCE_LAG_RANGE = r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$"
EVIDENCE_LEVELS = ("team", "leaf", "region", "company")
EVIDENCE_DEFAULT_MONTHS = 24
EVIDENCE_DEFAULT_SMALLEST_EFFECT = 0.1
EVIDENCE_MIN_UNITS = 10
EVIDENCE_VERDICTS = ("supported", "contradicted", "inconclusive")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str, *, headers: dict | None = None, schema: str = "Error") -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


def _string(max_length: int, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "description": description, **extra}


def _schemas() -> dict[str, Any]:
    """The component schemas: events, batches, verdicts, errors, adoption metrics."""
    event = {
        "type": "object",
        "additionalProperties": False,
        "required": ["event_id", "occurred_at", "event_type"],
        "description": "One CRM usage event. At least one of user_email, crm_user_id, crm_username "
                       "is required (an empty string counts as absent).",
        "properties": {
            "event_id": _string(MAX_EVENT_ID_LENGTH, "The sender's id, permanently unique: the same id "
                                "with the same content is a duplicate, with other content a conflict."),
            "occurred_at": {"type": "string", "format": "date-time",
                            "description": "RFC 3339 with an offset (Z or ±hh:mm)."},
            "event_type": _string(MAX_LENGTHS["event_type"], "e.g. login, record_created, record_updated, "
                                  "activity_logged, opportunity_updated, report_viewed; other names allowed."),
            "object_type": _string(MAX_LENGTHS["object_type"], "e.g. Opportunity."),
            "client": {"type": "string", "enum": list(CLIENTS),
                       "description": "api and integration traffic is stored but never counts as adoption."},
            "properties": {"type": "object", "description": "Free-form data, nested at most 16 levels."},
            "user_email": _string(MAX_LENGTHS["user_email"], "The actor's e-mail address."),
            "crm_user_id": _string(MAX_LENGTHS["crm_user_id"], "The actor's CRM user id (Salesforce 15- and "
                                   "18-character ids match each other)."),
            "crm_username": _string(MAX_LENGTHS["crm_username"], "The actor's CRM username."),
        },
    }
    return {
        "Event": event,
        "EventBatch": {
            "type": "object",
            "additionalProperties": False,
            "required": ["events"],
            "properties": {
                "sent_at": {"type": "string", "format": "date-time",
                            "description": "The sender's clock when sending; used to correct clock skew."},
                "events": {"type": "array", "maxItems": MAX_EVENTS, "items": {}},
            },
            "description": f"At most {MAX_EVENTS} events and {MAX_BODY_BYTES} bytes uncompressed. "
                           "Items are judged one by one (see Event), so the array accepts any JSON value.",
        },
        "Rejection": {
            "type": "object",
            "required": ["index", "event_id", "code", "field", "message"],
            "properties": {
                "index": {"type": "integer", "minimum": 0,
                          "description": "Position of the event in the batch (0-based)."},
                "event_id": {"type": ["string", "null"]},
                "code": {"type": "string", "enum": list(REJECTION_CODES),
                         "description": "; ".join(f"{code}: {text}" for code, text in REJECTION_CODES.items())},
                "field": {"type": ["string", "null"]},
                "message": {"type": "string"},
            },
        },
        "IngestResult": {
            "type": "object",
            "required": ["accepted", "duplicates", "rejected"],
            "properties": {
                "accepted": {"type": "integer", "minimum": 0},
                "duplicates": {"type": "integer", "minimum": 0},
                "rejected": {"type": "array", "items": _ref("Rejection")},
            },
            "description": "accepted + duplicates + len(rejected) equals the number of events sent.",
        },
        "Limits": {
            "type": "object",
            "properties": {
                "max_events": {"type": "integer", "const": MAX_EVENTS},
                "max_body_bytes": {"type": "integer", "const": MAX_BODY_BYTES},
                "max_event_bytes": {"type": "integer", "const": MAX_EVENT_BYTES},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                           "limits": _ref("Limits")},
        },
        "AdoptionSummary": {
            "type": "object",
            "required": ["unit", "start", "end", "licensed", "active_users", "adoption_rate",
                         "key_behaviours", "stickiness", "breadth", "depth", "dormant",
                         "definitions_version"],
            "properties": {
                "unit": {"type": "string", "description": "Path of the unit whose subtree is measured."},
                "start": {"type": "string", "format": "date"},
                "end": {"type": "string", "format": "date"},
                "licensed": {"type": "integer", "minimum": 0},
                "active_users": {"type": "integer", "minimum": 0},
                "adoption_rate": {"type": ["number", "null"],
                                  "description": "null when nobody is licensed (never a fake 0)."},
                "key_behaviours": {"type": "object",
                                   "additionalProperties": {"type": ["number", "null"]}},
                "stickiness": {"type": ["number", "null"]},
                "breadth": {"type": ["number", "null"]},
                "depth": {"type": ["number", "null"]},
                "dormant": {"type": "integer", "minimum": 0},
                "definitions_version": {"type": "string"},
            },
            "description": "Metric definitions: docs/metrics.md.",
        },
    }


def _outcome_schemas() -> dict[str, Any]:
    """The component schemas of the customer-outcomes endpoint."""
    known = "; ".join(f"{name}: {scale.meaning}" for name, scale in outcomes.KNOWN_METRICS.items())
    return {
        "Outcome": {
            "type": "object",
            "additionalProperties": False,
            "required": list(outcomes.REQUIRED),
            "description": "A unit's value of one customer-outcome metric over one calendar month or quarter. "
                           "The key is (unit, metric, period_start, period_end): the same key with the same "
                           "value and responses is a duplicate, with others a conflict unless replace is true.",
            "properties": {
                "unit": _string(outcomes.MAX_UNIT_PATH_LENGTH, "Path of the unit, e.g. Acme/EMEA/Sales North; "
                                "any level of the tree (a region's value is kept at the region's level)."),
                "metric": {"type": "string", "pattern": "^" + outcomes.METRIC_PATTERN.pattern + "$",
                           "description": f"A lower-case name. Ranges of the known ones: {known}. "
                                          "Other names take any finite number."},
                "period_start": {"type": "string", "format": "date",
                                 "description": "First day of a calendar month or quarter (YYYY-MM-DD)."},
                "period_end": {"type": "string", "format": "date",
                               "description": "Last day of that month, or of the quarter it begins."},
                "value": {"type": "number"},
                "responses": {"type": "integer", "minimum": 1, "maximum": outcomes.MAX_RESPONSES,
                              "description": "Answers or customers the value rests on, when known."},
                "replace": {"type": "boolean", "default": False,
                            "description": "true: a stored value of this key that differs is replaced "
                                           "(the way to correct a value) instead of being a conflict."},
            },
        },
        "OutcomeBatch": {
            "type": "object",
            "additionalProperties": False,
            "required": ["outcomes"],
            "properties": {"outcomes": {"type": "array", "maxItems": outcomes.MAX_OUTCOMES, "items": {}}},
            "description": f"At most {outcomes.MAX_OUTCOMES} outcomes and {MAX_BODY_BYTES} bytes uncompressed. "
                           "Items are judged one by one (see Outcome), so the array accepts any JSON value.",
        },
        "OutcomeRejection": {
            "type": "object",
            "required": ["index", "code", "field", "message"],
            "properties": {
                "index": {"type": "integer", "minimum": 0,
                          "description": "Position of the outcome in the request (0-based)."},
                "code": {"type": "string", "enum": list(outcomes.REJECTION_CODES),
                         "description": "; ".join(f"{code}: {text}"
                                                  for code, text in outcomes.REJECTION_CODES.items())},
                "field": {"type": ["string", "null"]},
                "message": {"type": "string"},
            },
        },
        "OutcomeResult": {
            "type": "object",
            "required": ["accepted", "duplicates", "rejected"],
            "properties": {
                "accepted": {"type": "integer", "minimum": 0,
                             "description": "Outcomes stored, replacements included."},
                "duplicates": {"type": "integer", "minimum": 0},
                "rejected": {"type": "array", "items": _ref("OutcomeRejection")},
            },
            "description": "accepted + duplicates + len(rejected) equals the number of outcomes sent.",
        },
        "OutcomeLimits": {
            "type": "object",
            "properties": {
                "max_outcomes": {"type": "integer", "const": outcomes.MAX_OUTCOMES},
                "max_body_bytes": {"type": "integer", "const": MAX_BODY_BYTES},
            },
        },
        "OutcomeError": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                           "limits": _ref("OutcomeLimits")},
        },
    }


def _outcome_paths(unauthorized: dict[str, Any], retry_after: dict[str, Any]) -> dict[str, Any]:
    """``POST /outcomes`` (scope outcomes:write)."""
    return {
        "/outcomes": {
            "post": {
                "operationId": "postOutcomes",
                "summary": "Send customer outcomes per unit and calendar month or quarter "
                           "(scope outcomes:write).",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "Content-Encoding", "in": "header", "required": False,
                     "schema": {"type": "string", "enum": ["gzip", "identity"]}},
                ],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("OutcomeBatch")}}},
                "responses": {
                    "200": {"description": "Each outcome judged on its own.",
                            "content": {"application/json": {"schema": _ref("OutcomeResult")}}},
                    "400": _error("The body as a whole cannot be read (invalid JSON or gzip, not "
                                  "{\"outcomes\": [...]})."),
                    "401": unauthorized,
                    "403": _error("The token's scope is not outcomes:write."),
                    "413": _error("Over the limits, which the body states; nothing stored.",
                                  schema="OutcomeError"),
                    "415": _error("Unsupported Content-Type or Content-Encoding."),
                    "429": _error("Rate limit of the token reached.", headers=retry_after),
                    "500": _error("Unexpected failure; nothing from the request was stored, retry it."),
                },
            },
        },
    }


def _read_schemas() -> dict[str, Any]:
    """The component schemas of the units and survey results endpoints."""
    nullable_number = {"type": ["number", "null"]}
    return {
        "Unit": {
            "type": "object",
            "required": ["path", "name", "depth", "parent"],
            "properties": {
                "path": {"type": "string", "description": "Unique path from the root, e.g. Acme/EMEA/Sales North."},
                "name": {"type": "string"},
                "depth": {"type": "integer", "minimum": 0, "description": "0 for the root."},
                "parent": {"type": ["string", "null"], "description": "The parent's path; null for the root."},
            },
        },
        "UnitList": {
            "type": "object",
            "required": ["units"],
            "properties": {"units": {"type": "array", "items": _ref("Unit")}},
            "description": "The units whose figures the caller may read, by path.",
        },
        "SurveyRound": {
            "type": "object",
            "required": ["id", "survey", "number", "opens_on", "closes_on", "results_available"],
            "properties": {
                "id": {"type": "integer"},
                "survey": {"type": "object", "required": ["id", "title"],
                           "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}},
                "number": {"type": "integer", "minimum": 1},
                "opens_on": {"type": "string", "format": "date"},
                "closes_on": {"type": "string", "format": "date",
                              "description": "Last day answers are accepted; results appear after it."},
                "results_available": {"type": "boolean"},
            },
        },
        "SurveyRoundList": {
            "type": "object",
            "required": ["rounds"],
            "properties": {"rounds": {"type": "array", "items": _ref("SurveyRound")}},
        },
        "ItemResult": {
            "type": "object",
            "required": ["wording", "construct", "scale", "n", "mean", "favourable_pct", "enps", "choice_counts"],
            "properties": {
                "wording": {"type": "string"},
                "construct": {"type": ["string", "null"], "description": "null for a custom question."},
                "scale": {"type": "string", "enum": ["likert5", "nps11", "single", "multi"]},
                "n": {"type": ["integer", "null"],
                      "description": "Answers; null (with every figure) when fewer than the threshold answered."},
                "mean": {**nullable_number, "description": "On the scale as answered (likert5, nps11)."},
                "favourable_pct": {**nullable_number,
                                   "description": "likert5: % scoring 4-5, reverse-scored items reversed first."},
                "enps": {**nullable_number, "description": "nps11: % 9-10 minus % 0-6."},
                "choice_counts": {"type": ["object", "null"], "additionalProperties": {"type": "integer"},
                                  "description": "single, multi: people per option."},
            },
        },
        "SurveyResults": {
            "type": "object",
            "required": ["round", "unit", "tenure", "invited", "n", "suppressed", "message", "response_rate",
                         "engagement_index", "enps", "items", "barriers"],
            "properties": {
                "round": _ref("SurveyRound"),
                "unit": {"type": "string", "description": "Path of the unit whose subtree is reported."},
                "tenure": {"type": ["string", "null"], "enum": ["<1y", "1-3y", "3y+", None]},
                "invited": {"type": "integer", "minimum": 0,
                            "description": "People in the round's audience on its opening day (roster "
                                           "information, shown for suppressed groups too)."},
                "n": {"type": ["integer", "null"], "description": "Respondents; null when suppressed."},
                "suppressed": {"type": "boolean"},
                "message": {"type": ["string", "null"],
                            "description": "'not enough responses to show' when suppressed, else null."},
                "response_rate": {**nullable_number, "description": "Respondents / invited, a fraction."},
                "engagement_index": {**nullable_number, "description": "0-100."},
                "enps": {**nullable_number, "description": "-100..100."},
                "items": {"type": "object", "additionalProperties": _ref("ItemResult"),
                          "description": "By bank item key, or q<question id> for a custom question; "
                                         "empty when suppressed."},
                "barriers": {"type": ["object", "null"], "additionalProperties": {"type": "integer"},
                             "description": "Respondents per first change-readiness barrier (awareness, "
                                            "desire, knowledge, ability, reinforcement, none)."},
            },
            "description": "Formulas and suppression: docs/metrics.md, docs/privacy.md.",
        },
    }


def _evidence_schemas() -> dict[str, Any]:
    """The component schemas of the evidence endpoint (docs/evidence.md, "JSON")."""
    number = {"type": ["number", "null"]}
    correlation = {"type": ["number", "null"], "minimum": -1, "maximum": 1}
    probability = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    interval = {"type": ["array", "null"], "items": {"type": ["number", "null"]}, "minItems": 2,
                "maxItems": 2, "description": "95% interval [low, high]; null when there is no estimate."}
    within_unit = {
        "type": ["object", "null"],
        "required": ["n_units", "n_observations", "r", "r_ci", "slope", "slope_ci", "p", "message"],
        "properties": {
            "n_units": {"type": "integer", "minimum": 0, "description": "Units with at least one change pair."},
            "n_observations": {"type": "integer", "minimum": 0,
                               "description": "Change pairs (x from month t-1 to t, y from t+lag-1 to t+lag)."},
            "r": {**correlation, "description": "Correlation of the month-centred changes."},
            "r_ci": {**interval, "description": "Fisher z interval on the number of units."},
            "slope": {**number, "description": "Change in y per unit change in x (OLS)."},
            "slope_ci": {**interval, "description": "t interval, standard errors clustered by unit."},
            "p": {**probability, "description": "p of the slope."},
            "message": {"type": ["string", "null"],
                        "description": f"Why there are no estimates (fewer than {EVIDENCE_MIN_UNITS} units "
                                       "with a change pair); null when there are."},
        },
        "description": "Does a unit's change in x go with its change in y? null when the linkage "
                       "itself was refused.",
    }
    return {
        "Evidence": {
            "type": "object",
            "required": ["x", "y", "lag", "n_units", "n_observations", "r", "r_ci", "slope", "slope_ci",
                         "p", "p_adjusted", "within_unit", "verdict", "reading"],
            "properties": {
                "x": {"type": "string", "description": "The metric at month t."},
                "y": {"type": "string", "description": "The metric at month t+lag."},
                "lag": {"type": "integer", "minimum": -EVIDENCE_MAX_LAG, "maximum": EVIDENCE_MAX_LAG},
                "n_units": {"type": "integer", "minimum": 0,
                            "description": "Units with at least one pair (x at t and y at t+lag)."},
                "n_observations": {"type": "integer", "minimum": 0, "description": "Pairs (unit-months)."},
                "r": {**correlation, "description": "Month-centred correlation across units; null when "
                                                    "refused (too few units, or a metric that does not vary)."},
                "r_ci": {**interval, "description": "Fisher z 95% interval on the number of units."},
                "slope": {**number, "description": "Multilevel model y ~ x + month + (1 | unit): change in y "
                                                   "per unit of x (months weighted by the outcome's responses "
                                                   "when known)."},
                "slope_ci": {**interval, "description": "Normal 95% interval of the slope."},
                "p": {**probability, "description": "Two-sided p of r (< 0.05 exactly when r_ci excludes 0)."},
                "p_adjusted": {**probability, "description": "Holm-adjusted over the lags asked at once "
                                                            "(equal to p for a single lag); null when refused."},
                "within_unit": within_unit,
                "verdict": {"type": "string", "enum": list(EVIDENCE_VERDICTS),
                            "description": "Read on r for the expected direction and smallest effect; a "
                                           "refusal is inconclusive."},
                "reading": {"type": "string",
                            "description": "The answer in words: estimates, verdict or what would decide it, "
                                           "limits, or why there are no estimates."},
            },
            "description": "x at month t against y at month t+lag across units. Method and verdict rules: "
                           "docs/evidence.md.",
        },
        "EvidenceAnswer": {
            "oneOf": [_ref("Evidence"), {"type": "array", "items": _ref("Evidence")}],
            "description": "One Evidence when lag is given (or neither); with lags, a list of them, one "
                           "per lag in order.",
        },
    }


def _evidence_path(unauthorized: dict[str, Any]) -> dict[str, Any]:
    """``GET /evidence`` (scope read, or a signed-in user within their scope)."""
    metrics = ", ".join(EVIDENCE_METRICS)

    def metric(name: str, when: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": True,
                "description": f"The metric at month {when}: {metrics}, {EVIDENCE_KEY_BEHAVIOUR}<event_type> "
                               "or an imported outcome metric (e.g. csat, nps, retention).",
                "schema": {"type": "string", "minLength": 1}}

    return {
        "/evidence": {
            "get": {
                "operationId": "getEvidence",
                "summary": "Does x go with y some months later across units? Estimates, intervals, verdict "
                           "and reading (scope read, or a signed-in user within their scope).",
                "security": [{"bearer": []}],
                "parameters": [
                    metric("x", "t"),
                    metric("y", "t+lag"),
                    {"name": "lag", "in": "query", "required": False,
                     "description": "Months from x to y (negative: y first). Not with lags.",
                     "schema": {"type": "integer", "minimum": -EVIDENCE_MAX_LAG, "maximum": EVIDENCE_MAX_LAG,
                                "default": 1}},
                    {"name": "lags", "in": "query", "required": False,
                     "description": f"A range 'A..B' (A <= B, within ±{EVIDENCE_MAX_LAG}) scanned at once, "
                                    "Holm-adjusted; the answer is then a list. Not with lag.",
                     "schema": {"type": "string", "pattern": EVIDENCE_LAG_RANGE}},
                    {"name": "level", "in": "query", "required": False,
                     "description": "Units compared: team (or leaf: units without children), region, "
                                    "company, or a depth (0 is the root).",
                     "schema": {"type": "string", "default": "team",
                                "pattern": "^(" + "|".join(EVIDENCE_LEVELS) + "|[0-9]+)$"}},
                    {"name": "start", "in": "query", "required": False,
                     "description": "A day of the first month (whole months count); default: the first of "
                                    f"the {EVIDENCE_DEFAULT_MONTHS} calendar months ending with today's month.",
                     "schema": {"type": "string", "format": "date"}},
                    {"name": "end", "in": "query", "required": False,
                     "description": "A day of the last month, not before start; default: today.",
                     "schema": {"type": "string", "format": "date"}},
                    {"name": "direction", "in": "query", "required": False,
                     "description": "The expected direction the verdict is read in.",
                     "schema": {"type": "string", "enum": ["positive", "negative"], "default": "positive"}},
                    {"name": "smallest_effect", "in": "query", "required": False,
                     "description": "The smallest correlation that would matter.",
                     "schema": {"type": "number", "minimum": 0, "exclusiveMaximum": 1,
                                "default": EVIDENCE_DEFAULT_SMALLEST_EFFECT}},
                ],
                "responses": {
                    "200": {"description": "The answer: one object for lag, a list for lags. Too little data "
                                           f"(fewer than {EVIDENCE_MIN_UNITS} units in the caller's scope) is "
                                           "still a 200: r null, verdict inconclusive, the reason in reading.",
                            "content": {"application/json": {"schema": _ref("EvidenceAnswer")}}},
                    "400": _error("invalid_question: an unknown metric (the message lists the known ones), x "
                                  "equal to y, or a bad lag, lags, level, date, direction or smallest_effect."),
                    "401": unauthorized,
                    "403": _error("The token's scope is not read, or the signed-in user sees no "
                                  "unit figures."),
                },
            },
        },
    }


def _read_paths(unauthorized: dict[str, Any]) -> dict[str, Any]:
    """The units, survey results and evidence endpoints (scope read, or a signed-in user within
    their scope)."""
    out_of_scope = _error("The token's scope is not read, or the signed-in user sees no unit figures.")
    return {
        "/units": {
            "get": {
                "operationId": "getUnits",
                "summary": "The units the caller may read figures of (scope read, or a signed-in user "
                           "within their scope).",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {"description": "The units, by path.",
                            "content": {"application/json": {"schema": _ref("UnitList")}}},
                    "401": unauthorized,
                    "403": out_of_scope,
                },
            },
        },
        "/surveys/rounds": {
            "get": {
                "operationId": "getSurveyRounds",
                "summary": "Survey rounds, newest first, and whether their results are available (scope "
                           "read, or a signed-in user within their scope).",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {"description": "The rounds.",
                            "content": {"application/json": {"schema": _ref("SurveyRoundList")}}},
                    "401": unauthorized,
                    "403": out_of_scope,
                },
            },
        },
        "/surveys/rounds/{round_id}/results": {
            "get": {
                "operationId": "getSurveyRoundResults",
                "summary": "A unit's results in a closed round, suppressed below the anonymity threshold "
                           "(scope read, or a signed-in user within their scope).",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "round_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "unit", "in": "query", "required": False,
                     "description": "Unit path, e.g. Acme/EMEA (default: the top unit the caller may see).",
                     "schema": {"type": "string"}},
                    {"name": "tenure", "in": "query", "required": False,
                     "description": "Only respondents of this tenure band (URL-encode < and +).",
                     "schema": {"type": "string", "enum": ["<1y", "1-3y", "3y+"]}},
                ],
                "responses": {
                    "200": {"description": "The results; a suppressed group has n null and no figures.",
                            "content": {"application/json": {"schema": _ref("SurveyResults")}}},
                    "400": _error("An invalid unit path or tenure band."),
                    "401": unauthorized,
                    "403": _error("The token's scope is not read, the signed-in user sees no unit "
                                  "figures, or the unit lies outside the caller's scope."),
                    "404": _error("No round with this id, or no unit with this path."),
                    "409": _error("The round is still open: results appear after it closes."),
                },
            },
        },
        **_evidence_path(unauthorized),
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI description of ``/api/v1`` as a JSON-ready dict."""
    retry_after = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
    unauthorized = _error("Missing, malformed, unknown or revoked token.",
                          headers={"WWW-Authenticate": {"schema": {"type": "string"}}})
    forbidden = _error("The token's scope does not allow this endpoint.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Uptake API",
            "version": API_VERSION,
            "description": "CRM usage telemetry and customer outcomes in; adoption metrics, survey "
                           "results and the evidence linking them to outcomes out. Guide: docs/api.md.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token; each holds one scope: " + ", ".join(TOKEN_SCOPES) + "."},
            },
            "schemas": {**_schemas(), **_outcome_schemas(), **_read_schemas(), **_evidence_schemas()},
        },
        "paths": {
            "/events": {
                "post": {
                    "operationId": "postEvents",
                    "summary": "Send a batch of CRM usage events (scope events:write).",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": "Content-Encoding", "in": "header", "required": False,
                         "schema": {"type": "string", "enum": ["gzip", "identity"]}},
                        {"name": "X-Sent-At", "in": "header", "required": False,
                         "description": "sent_at for NDJSON bodies.",
                         "schema": {"type": "string", "format": "date-time"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref("EventBatch")},
                            "application/x-ndjson": {"schema": {"type": "string",
                                                                "description": "One Event per line."}},
                        },
                    },
                    "responses": {
                        "200": {"description": "Each event judged on its own.",
                                "content": {"application/json": {"schema": _ref("IngestResult")}}},
                        "400": _error("The body as a whole cannot be read (invalid JSON, gzip or sent_at)."),
                        "401": unauthorized,
                        "403": forbidden,
                        "413": _error("Over the limits, which the body states; nothing stored."),
                        "415": _error("Unsupported Content-Type or Content-Encoding."),
                        "429": _error("Rate limit of the token reached.", headers=retry_after),
                        "500": _error("Unexpected failure; nothing from the request was stored, retry it."),
                    },
                },
            },
            "/adoption": {
                "get": {
                    "operationId": "getAdoption",
                    "summary": "Adoption metrics of a unit's subtree over a period (scope read, "
                               "or a signed-in user within their scope).",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": "unit", "in": "query", "required": False,
                         "description": "Unit path, e.g. Acme/EMEA.", "schema": {"type": "string"}},
                        {"name": "start", "in": "query", "required": True,
                         "schema": {"type": "string", "format": "date"}},
                        {"name": "end", "in": "query", "required": True,
                         "schema": {"type": "string", "format": "date"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "The metrics.",
                            "headers": {"X-Data-Consistent-Through": {
                                "description": "Receipt time of the latest ingested event (UTC).",
                                "schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": _ref("AdoptionSummary")}},
                        },
                        "400": _error("Invalid or missing dates, or a period that is too long."),
                        "401": unauthorized,
                        "403": _error("The token's scope is not read, the signed-in user sees no "
                                      "aggregates, or the unit lies outside the caller's scope."),
                        "404": _error("No unit has this path."),
                    },
                },
            },
            **_outcome_paths(unauthorized, retry_after),
            **_read_paths(unauthorized),
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This description.",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}},
                },
            },
        },
    }


@bp.route("/openapi.json")
def openapi_json():
    """The API description, public: it holds no data, only the contract."""
    return jsonify(openapi_document())
