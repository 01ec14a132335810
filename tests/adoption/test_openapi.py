"""The OpenAPI description: valid, public, and covering every API route."""
from __future__ import annotations

import re

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from adoption import openapi
from dashboards import evidence, evidence_panel
from dashboards.metrics import evidence as ev


def test_openapi_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)  # raises on any schema violation
    assert document["openapi"] == "3.1.0"


def test_every_api_route_and_method_is_described(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routes |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes, "the API has routes"
    assert routes == described


def test_openapi_states_the_limits_the_events_endpoint_enforces(client, app):
    document = client.get("/api/v1/openapi.json").get_json()
    limits = document["components"]["schemas"]["Limits"]["properties"]
    # The 413 body carries the same limits (see test_events_api), so a client can rely on either.
    assert limits["max_events"]["const"] == 1000
    assert limits["max_body_bytes"]["const"] == 5 * 1024 * 1024
    assert limits["max_event_bytes"]["const"] == 32 * 1024


def test_the_evidence_endpoint_is_a_described_read_path(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/evidence"]["get"]
    assert operation["operationId"] == "getEvidence"
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"x", "y", "lag", "lags", "level", "start", "end", "direction", "smallest_effect"}
    assert {name for name, p in parameters.items() if p["required"]} == {"x", "y"}
    assert set(operation["responses"]) == {"200", "400", "401", "403"}
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/EvidenceAnswer"}
    one_of = document["components"]["schemas"]["EvidenceAnswer"]["oneOf"]
    assert one_of == [{"$ref": "#/components/schemas/Evidence"},
                      {"type": "array", "items": {"$ref": "#/components/schemas/Evidence"}}]


def test_evidence_schema_requires_exactly_the_keys_the_endpoint_answers():
    schema = openapi.openapi_document()["components"]["schemas"]["Evidence"]
    answer = ev.as_dict(ev.Linkage(lag=1, n_units=0, n_observations=0, message="x"), "a", "b",
                        "inconclusive", "text")
    assert set(schema["required"]) == set(answer) == set(schema["properties"])
    within_unit = schema["properties"]["within_unit"]
    assert set(within_unit["required"]) == set(within_unit["properties"])
    # A refusal (no estimates) is what the schema's nulls are for; its within_unit is null.
    assert answer["within_unit"] is None and "null" in within_unit["type"]


def test_evidence_within_unit_schema_requires_exactly_the_keys_of_a_within_unit_answer():
    schema = openapi.openapi_document()["components"]["schemas"]["Evidence"]["properties"]["within_unit"]
    linkage = ev.Linkage(lag=1, n_units=0, n_observations=0,
                         within_unit=ev.WithinUnit(n_units=0, n_observations=0, message="x"))
    answer = ev.as_dict(linkage, "a", "b", "inconclusive", "text")
    assert set(schema["required"]) == set(answer["within_unit"])


def test_evidence_answers_with_and_without_estimates_match_the_schema():
    schema = openapi.openapi_document()["components"]["schemas"]["Evidence"]
    estimated = ev.Linkage(
        lag=1, n_units=40, n_observations=240, r=0.61, r_ci=(0.37, 0.77), p=1.8e-05, slope=13.9,
        slope_ci=(10.9, 16.9), p_adjusted=1.8e-05,
        within_unit=ev.WithinUnit(n_units=40, n_observations=200, r=0.26, r_ci=(-0.06, 0.53),
                                  slope=12.3, slope_ci=(3.3, 21.4), p=0.009),
    )
    refused = ev.Linkage(lag=-2, n_units=3, n_observations=9, message="Not enough data")
    validator = Draft202012Validator(schema)
    for linkage, verdict in ((estimated, "supported"), (refused, "inconclusive")):
        validator.validate(ev.as_dict(linkage, "adoption_rate", "csat", verdict, "text"))


def test_evidence_constants_restated_in_the_description_match_the_endpoint():
    # adoption may not import dashboards, so openapi.py restates these; this keeps them in step.
    assert openapi.EVIDENCE_METRICS == evidence_panel.BUILT_IN
    assert openapi.EVIDENCE_KEY_BEHAVIOUR == evidence_panel.KEY_BEHAVIOUR
    assert openapi.EVIDENCE_MAX_LAG == evidence.MAX_LAG
    assert openapi.EVIDENCE_LAG_RANGE == evidence.LAG_RANGE.pattern
    assert set(openapi.EVIDENCE_LEVELS) == {*evidence_panel.LEAF_LEVELS, *evidence_panel.LEVEL_DEPTHS}
    assert openapi.EVIDENCE_DEFAULT_MONTHS == evidence.DEFAULT_MONTHS
    assert openapi.EVIDENCE_DEFAULT_SMALLEST_EFFECT == evidence.DEFAULT_SMALLEST_EFFECT
    assert openapi.EVIDENCE_MIN_UNITS == ev.MIN_UNITS
    assert openapi.EVIDENCE_VERDICTS == ev.VERDICTS
    parameters = {p["name"]: p["schema"] for p in openapi.openapi_document()["paths"]["/evidence"]["get"]["parameters"]}
    assert evidence.parse_lags() == (parameters["lag"]["default"],)
    assert evidence.parse_level(None) == parameters["level"]["default"]
    assert evidence.parse_direction(None) == evidence.parse_direction(parameters["direction"]["default"])
