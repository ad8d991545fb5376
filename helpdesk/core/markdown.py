"""Markdown to safe HTML for any app, once on save: pages print the stored HTML as it is.

markdown-it-py renders CommonMark with raw HTML turned off (a ``<script>`` typed in the source comes
out as text), then nh3 (the Rust ammonia sanitiser) keeps only the tags and attributes below and
links whose scheme is http, https or mailto: no script or style element, no event handler, no
``javascript:`` or ``data:`` URL can reach a page, whatever the renderer let through.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(source: str) -> str:
    """Sanitised HTML of ``source``."""
    html = _md.render(source or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
