"""``.html``: the main text of a page, with selectolax (a real HTML5 parser, no regexes).

The reader takes ``<article>``, else ``<main>``, else ``[role=main]``, else ``<body>``; drops
navigation, headers, footers, asides, forms, scripts and styles; and keeps headings, paragraphs
and list items in document order. Title: ``og:title``, else the first ``<h1>``, else ``<title>``.
Date: ``article:published_time``, ``datePublished``, ``<meta name=date>``, else ``<time datetime>``;
when that value is an ISO timestamp its time is kept too (UTC when it names no zone). Updated:
``article:modified_time``, else ``dateModified``.
"""

from __future__ import annotations

import datetime as dt

from selectolax.lexbor import LexborHTMLParser, LexborNode

from pipeline.errors import FormatError
from pipeline.text.article import ArticleParts
from pipeline.text.readers.common import parse_moment, require, update_moment

_DROP = "script, style, noscript, template, nav, header, footer, aside, form, iframe, svg, button, figure"
_TEXT_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, blockquote, pre"
_DATE_SOURCES = (
    ('meta[property="article:published_time"]', "content"),
    ('meta[itemprop="datePublished"]', "content"),
    ('meta[name="date"]', "content"),
    ("time[datetime]", "datetime"),
)
_UPDATE_SOURCES = (
    ('meta[property="article:modified_time"]', "content"),
    ('meta[itemprop="dateModified"]', "content"),
)


def read_html(text: str) -> ArticleParts:
    """The article in an HTML page (the module docstring says which parts are taken).

    Raises:
        FormatError: the page has no date or a date that is not ISO, no body, or no paragraphs of
            text in its main content.
    """
    tree = LexborHTMLParser(text)
    date, published = _date(tree)
    updated = _updated(tree)
    title = _title(tree)
    for node in tree.css(_DROP):
        node.decompose()
    container = next(
        (
            found
            for selector in ("article", "main", "[role=main]", "body")
            if (found := tree.css_first(selector))
        ),
        None,
    )
    if container is None:
        raise FormatError("no HTML body")
    paragraphs: list[str] = []
    for node in container.css(_TEXT_BLOCKS):
        if _holds_text_blocks(node):  # a list item or quote holding paragraphs: take those instead
            continue
        words = _words(node)
        if words and not (node.tag == "h1" and words == title):
            paragraphs.append(words)
    require(bool(paragraphs), "no paragraphs of text in the page's main content")
    return ArticleParts(
        date=date, paragraphs=tuple(paragraphs), title=title, published=published, updated=updated
    )


def _date(tree: LexborHTMLParser) -> tuple[dt.date, dt.datetime | None]:
    for selector, attribute in _DATE_SOURCES:
        node = tree.css_first(selector)
        if node is not None and node.attributes.get(attribute):
            return parse_moment(node.attributes[attribute], f"<{selector}>")
    raise FormatError('missing date: add <meta property="article:published_time" content="YYYY-MM-DD">')


def _updated(tree: LexborHTMLParser) -> dt.datetime | None:
    for selector, attribute in _UPDATE_SOURCES:
        node = tree.css_first(selector)
        if node is not None and node.attributes.get(attribute):
            return update_moment(node.attributes[attribute])
    return None


def _title(tree: LexborHTMLParser) -> str | None:
    og = tree.css_first('meta[property="og:title"]')
    content = (og.attributes.get("content") or "") if og is not None else ""
    if content.strip():
        return " ".join(content.split())
    for selector in ("h1", "title"):
        node = tree.css_first(selector)
        if node is not None and (words := _words(node)):
            return words
    return None


def _holds_text_blocks(node: LexborNode) -> bool:
    # lexbor's css() matches the node itself as well as its descendants
    return any(inner.mem_id != node.mem_id for inner in node.css(_TEXT_BLOCKS))


def _words(node: LexborNode) -> str:
    return " ".join(node.text(deep=True, separator=" ").split())
