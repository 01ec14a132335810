"""Fixtures shared by the core package's test modules."""
from __future__ import annotations

import json

import pytest

from adoption.tokens import issue_token


@pytest.fixture
def send(client, db):
    """POST events to the API with a fresh events:write token; returns the response body."""
    _, plaintext = issue_token("connector", "events:write", created_by_id=None)
    db.session.commit()

    def _send(*events: dict) -> dict:
        response = client.post("/api/v1/events", data=json.dumps({"events": list(events)}),
                               headers={"Authorization": f"Bearer {plaintext}", "Content-Type": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        db.session.expire_all()
        return response.get_json()

    return _send
