"""The OpenAPI description: valid, public, and covering every API route."""
from __future__ import annotations

import re

from openapi_spec_validator import validate


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
