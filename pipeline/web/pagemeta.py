"""What a page says about its article, read with selectolax: dates, author, canonical URL, lead
image, language and title, from ``<meta>`` tags, JSON-LD and ``<link rel=canonical>``.

Order of trust, first found wins: for dates ``article:published_time``/``article:modified_time``,
then JSON-LD (``NewsArticle``, ``Article``, ``BlogPosting``..., also inside an ``@graph``), then a
``<time datetime>`` in the article; for the author ``<meta name=author>``, then JSON-LD; for the
image ``og:image``, then JSON-LD; for the language ``<html lang>``, ``og:locale``, then
``Content-Language``. Times without a zone are UTC.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from pipeline.web.blocks import fold
from pipeline.web.dates import parse_time
from pipeline.web.urls import absolute

ARTICLE_TYPES = frozenset(
    {"Article", "NewsArticle", "BlogPosting", "ReportageNewsArticle", "AnalysisNewsArticle", "Report"}
)
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.IGNORECASE)
_TITLE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]+$")


@dataclass(frozen=True)
class PageMeta:
    """The metadata a page declares; each None when it declares nothing usable."""

    title: str | None = None  # og:title, else <title> minus its " | Site" suffix
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    author: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    language: str | None = None  # ISO 639-1 (or -3) code, lower case


def page_meta(html: str, url: str) -> PageMeta:
    """The metadata ``html`` (fetched from ``url``) declares: see the module docstring."""
    tree = LexborHTMLParser(html)
    article = _json_ld_article(tree)
    image = _meta(tree, "og:image") or _ld_image(article.get("image"), article)
    canonical = tree.css_first('link[rel="canonical"]')
    href = fold(canonical.attributes.get("href") or "") if canonical is not None else ""
    return PageMeta(
        title=_meta(tree, "og:title") or _title_tag(tree),
        published=parse_time(_meta(tree, "article:published_time"))
        or parse_time(article.get("datePublished"))
        or _time_element(tree),
        updated=parse_time(_meta(tree, "article:modified_time")) or parse_time(article.get("dateModified")),
        author=_meta(tree, "author") or _ld_name(article.get("author"), article),
        canonical_url=absolute(url, href),
        image=absolute(url, image),
        language=_language(tree),
    )


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    for selector in (f'meta[property="{name}"]', f'meta[name="{name}"]'):
        node = tree.css_first(selector)
        if node is not None and (content := fold(node.attributes.get("content") or "")):
            return content
    return None


def _title_tag(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    title = fold(node.text()) if node is not None else ""
    return _TITLE_SUFFIX.sub("", title) or None


def _time_element(tree: LexborHTMLParser) -> dt.datetime | None:
    scope = tree.css_first("article") or tree.body
    node = scope.css_first("time[datetime]") if scope is not None else None
    return parse_time(node.attributes.get("datetime")) if node is not None else None


def _language(tree: LexborHTMLParser) -> str | None:
    html = tree.css_first("html")
    declared = [
        html.attributes.get("lang") if html is not None else None,
        _meta(tree, "og:locale"),
        _http_equiv(tree, "content-language"),
    ]
    for value in declared:
        if value and (match := _LANGUAGE.match(value.strip().split(",")[0])):
            return match.group(1).lower()
    return None


def _http_equiv(tree: LexborHTMLParser, name: str) -> str | None:
    for node in tree.css("meta[http-equiv]"):
        if (node.attributes.get("http-equiv") or "").lower() == name:
            return node.attributes.get("content")
    return None


def _json_ld_article(tree: LexborHTMLParser) -> dict[str, Any]:
    """The first article node in the page's JSON-LD, with an ``"@ids"`` map of every node that has
    an ``@id`` (a WordPress ``@graph`` names its author by reference); {} when there is none."""
    nodes: list[dict[str, Any]] = []
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            nodes.extend(_nodes(json.loads(script.text())))
        except (json.JSONDecodeError, RecursionError):
            continue
    ids = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
    for node in nodes:
        kinds = node.get("@type")
        if ARTICLE_TYPES.intersection(kinds if isinstance(kinds, list) else [kinds]):
            return {**node, "@ids": ids}
    return {}


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from _nodes(item)
    elif isinstance(value, dict):
        yield value
        yield from _nodes(value.get("@graph"))


def _resolved(value: Any, article: dict[str, Any]) -> Any:
    if isinstance(value, dict) and set(value) == {"@id"}:
        return article.get("@ids", {}).get(value["@id"], value)
    return value


def _ld_name(value: Any, article: dict[str, Any]) -> str | None:
    """A JSON-LD author: a name, a Person (by value or ``@id``), or a list of them."""
    people = value if isinstance(value, list) else [value]
    names = []
    for person in (_resolved(item, article) for item in people):
        name = person.get("name") if isinstance(person, dict) else person
        if isinstance(name, str) and fold(name):
            names.append(fold(name))
    return ", ".join(names) or None


def _ld_image(value: Any, article: dict[str, Any]) -> str | None:
    """A JSON-LD image: a URL, an ImageObject (by value or ``@id``), or a list (the first)."""
    first = _resolved(value[0] if isinstance(value, list) and value else value, article)
    if isinstance(first, dict):
        first = first.get("url") or first.get("contentUrl")
    return fold(first) if isinstance(first, str) and fold(first) else None
