"""The Content-Security-Policy: on every response, no inline script but the ones declared by hash,
and no template that would need one (an inline ``<script>`` or an ``on…=`` attribute)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from adoption import PROJECT_ROOT

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.DOTALL)
EVENT_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)  # e.g. Dash's warning for Internet Explorer, never run


def inline_scripts(html: str) -> list[tuple[str, str]]:
    """(attributes, body) of each inline <script> of ``html`` outside comments."""
    return INLINE_SCRIPT.findall(COMMENT.sub("", html))


def directives(response) -> dict[str, list[str]]:
    """The response's policy as directive -> sources."""
    policy = response.headers["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("path", ["/login", "/static/css/app.css", "/dashboards/", "/api/v1/units", "/no-such-page"])
def test_every_response_carries_a_policy_without_inline_or_eval_scripts(client, path):
    policy = directives(client.get(path))
    assert "'self'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]


def test_the_dashboards_inline_scripts_are_exactly_the_ones_the_policy_allows(login_as, client):
    login_as("change_leader", unit="Acme")
    response = client.get("/dashboards/adoption")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    executable = [body for attributes, body in inline_scripts(html)
                  if "application/json" not in attributes]
    assert executable, "Dash's page starts its renderer with an inline script"
    allowed = [s for s in directives(response)["script-src"] if s.startswith("'sha256-")]
    assert sorted(sha256(body) for body in executable) == sorted(allowed)


def test_an_html_page_of_the_app_has_no_inline_script(login_as, client):
    login_as("employee")
    html = client.get("/surveys/").get_data(as_text=True)
    assert "<script" in html  # Bootstrap's bundle, from a file
    assert inline_scripts(html) == []


def test_no_template_holds_an_inline_script_or_event_handler():
    offenders = []
    for template in PROJECT_ROOT.glob("*/templates/**/*.html"):
        text = template.read_text()
        if inline_scripts(text) or EVENT_ATTRIBUTE.search(text):
            offenders.append(str(template.relative_to(PROJECT_ROOT)))
    assert offenders == []
