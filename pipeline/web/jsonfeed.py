"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) as entries, read by hand: feedparser
does not know the format, and it is plain JSON with a handful of fields."""

from __future__ import annotations

import json
from typing import Any

from pipeline.errors import FormatError
from pipeline.web.blocks import body_or_summary, fold, text_as_html
from pipeline.web.dates import parse_time
from pipeline.web.model import Entry, Feed
from pipeline.web.urls import absolute

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(data: bytes, content_type: str | None) -> bool:
    """Whether ``data`` is meant as JSON: a JSON content type, or a body starting with ``{``."""
    if content_type and "json" in content_type.lower():
        return True
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_json_feed(data: bytes, url: str) -> Feed:
    """The JSON Feed in ``data``, fetched from ``url`` (relative URLs resolve against it).

    Raises:
        FormatError: invalid JSON, or JSON that is not a JSON Feed (no ``version`` of jsonfeed.org,
            no ``items`` list).
    """
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"not an RSS, Atom or JSON feed: invalid JSON ({exc})") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(VERSION_PREFIX):
        raise FormatError(f"not an RSS, Atom or JSON feed: JSON without a {VERSION_PREFIX}… version")
    items = document.get("items")
    if not isinstance(items, list):
        raise FormatError("not an RSS, Atom or JSON feed: a JSON Feed without an items list")
    entries = tuple(entry for item in items if isinstance(item, dict) and (entry := _entry(item, url)))
    title = fold(str(document.get("title") or "")) or None
    return Feed(title=title, entries=entries, kind="json")


def _entry(item: dict[str, Any], feed_url: str) -> Entry | None:
    guid = str(item["id"]) if item.get("id") not in (None, "") else None
    link = _text(item.get("url")) or _text(item.get("external_url"))
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid
    url = absolute(feed_url, link)
    if url is None:
        return None
    content = _text(item.get("content_html"))
    if not content and (plain := _text(item.get("content_text"))):
        content = text_as_html(plain)
    summary = _text(item.get("summary"))
    body, summary_text = body_or_summary(content, text_as_html(summary) if summary else None)
    image = _text(item.get("image")) or _text(item.get("banner_image"))
    return Entry(
        url=url,
        guid=guid,
        title=fold(_text(item.get("title")) or "") or None,
        published=parse_time(item.get("date_published")),
        updated=parse_time(item.get("date_modified")),
        author=_author(item),
        content_html=body,
        summary=summary_text,
        image=absolute(feed_url, image),
    )


def _author(item: dict[str, Any]) -> str | None:
    """``authors`` (1.1) names joined by commas, else ``author`` (1.0)."""
    people = item.get("authors")
    if not isinstance(people, list):
        people = [item.get("author")]
    names = [
        fold(str(person["name"])) for person in people if isinstance(person, dict) and person.get("name")
    ]
    return ", ".join(name for name in names if name) or None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
