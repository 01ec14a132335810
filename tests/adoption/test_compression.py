"""Compressed responses (adoption/extensions.py): scripts, style sheets and the dashboards' JSON
go compressed to a browser that accepts it; HTML pages never do (BREACH)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli

STYLE_SHEET = "/static/vendor/bootstrap-5.3.9/bootstrap.min.css"
STATIC = Path(__file__).resolve().parents[2] / "static"


def test_a_style_sheet_goes_compressed_and_unpacks_to_the_file(client):
    response = client.get(STYLE_SHEET, headers={"Accept-Encoding": "br"})

    assert response.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = brotli.decompress(response.get_data())
    assert body == (STATIC / "vendor/bootstrap-5.3.9/bootstrap.min.css").read_bytes()
    assert len(response.get_data()) < len(body) / 4


def test_the_dashboards_json_goes_compressed(client, login_as):
    login_as("change_leader")

    response = client.get("/dashboards/_dash-dependencies", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert isinstance(json.loads(gzip.decompress(response.get_data())), list)


def test_a_page_is_never_compressed_since_it_holds_a_csrf_token(client, login_as):
    login_as("admin")

    response = client.get("/admin/users/new", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert "Content-Encoding" not in response.headers


def test_nothing_is_compressed_for_a_client_that_does_not_ask(client):
    response = client.get(STYLE_SHEET)

    assert "Content-Encoding" not in response.headers
    assert response.get_data() == (STATIC / "vendor/bootstrap-5.3.9/bootstrap.min.css").read_bytes()
