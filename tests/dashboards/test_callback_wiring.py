"""Every Dash callback is wired to components a page renders: each id that its outputs, inputs
and states name is in the shell's layout or a page's, once, and the property is one that
component has.

Dash makes this check in the browser, against a copy of every page's layout that it puts into
each page's HTML (~190 KB, and HTML is never compressed here). Only Dash's debugger shows what
that check finds, and the app never runs it, so the app ships no such copy
(``dashboards/__init__.py``). The check is made here instead, once, on the server."""

from __future__ import annotations

import datetime as dt

import pytest
from dash.development.base_component import Component

from dashboards import shell
from dashboards.pages import PAGES

# Only the component ids matter here, so any fixed day will do (and no clock is read).
ANY_DAY = dt.date(2000, 1, 1)


def _ids(layout: Component) -> list[tuple[str, Component]]:
    """(id, component) of every component of ``layout`` that has an id, the root included."""
    return [(c.id, c) for c in [layout, *layout._traverse()]
            if isinstance(c, Component) and getattr(c, "id", None) is not None]


def _layouts() -> list[tuple[str, Component]]:
    """(name, layout) of the shell and of every page."""
    return [("shell", shell.layout()), *((page.slug, page.layout(ANY_DAY)) for page in PAGES)]


@pytest.fixture
def components(app) -> dict[str, Component]:
    """id -> component, over the shell and every page."""
    return {cid: c for _name, layout in _layouts() for cid, c in _ids(layout)}


def _dependencies(app) -> list[tuple[str, str, str]]:
    """(callback's first output, component id, property) of every output, input and state."""
    found = []
    for key, callback in app.extensions["uptake_dashboards"].callback_map.items():
        outputs = callback["output"] if isinstance(callback["output"], list) else [callback["output"]]
        found += [(key, o.component_id, o.component_property) for o in outputs]
        found += [(key, d["id"], d["property"]) for d in [*callback["inputs"], *callback["state"]]]
    return found


def test_every_callback_names_components_and_properties_that_a_page_renders(app, components):
    dependencies = _dependencies(app)
    assert len(dependencies) > 150  # every page registered its callbacks
    missing = [(key, cid) for key, cid, _prop in dependencies if cid not in components]
    assert missing == []
    unknown = [(cid, prop) for _key, cid, prop in dependencies
               if prop not in components[cid].available_properties]
    assert unknown == []


def test_no_two_components_of_the_shell_and_a_page_share_an_id(app):
    (_shell, shell_layout), *pages = _layouts()
    shell_ids = [cid for cid, _ in _ids(shell_layout)]
    for name, layout in pages:
        ids = shell_ids + [cid for cid, _ in _ids(layout)]
        assert len(ids) == len(set(ids)), (name, sorted({i for i in ids if ids.count(i) > 1}))

