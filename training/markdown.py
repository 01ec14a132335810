"""Markdown of lessons and case studies, rendered to HTML that is safe to put in a page.

Two layers, because module folders are imported from outside: markdown-it-py renders CommonMark
with raw HTML switched off (a ``<script>`` in a lesson is shown as text) and refuses
``javascript:``-style links; nh3 then keeps only an allow-list of tags and attributes, so even a
renderer bug cannot put markup we did not expect into a page.
"""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol",
    "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}}


def render(text: str) -> Markup:
    """``text`` (Markdown) as sanitized HTML, ready for a template."""
    html = _renderer.render(text or "")
    return Markup(nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                            link_rel="noopener noreferrer"))
