"""The OpenAPI 3.1 description of the public API, served at ``GET /api/v1/openapi.json``.

Built from the same constants the endpoints enforce (limits, rejection codes, clients, token
scopes), so the description cannot drift from the behaviour on those points; the tests validate
it against the OpenAPI schema and check that every API route is described.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

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
            "description": "CRM usage telemetry in, adoption metrics out. Guide: docs/api.md.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token; each holds one scope: " + ", ".join(TOKEN_SCOPES) + "."},
            },
            "schemas": _schemas(),
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
