"""RSS 2.0, Atom and JSON Feed documents as entries: bytes in, a ``Feed`` out, no network.

RSS and Atom go through feedparser, always given the bytes (never a URL, so it fetches nothing)
and with its HTML sanitizer on; the feed's URL is passed as the document's location so relative
links resolve against it. JSON Feed (1.0 and 1.1) is read by ``pipeline.web.jsonfeed``.
"""

from __future__ import annotations

import io
import re
from typing import Any

import feedparser

from pipeline.errors import FormatError
from pipeline.web.blocks import body_or_summary, fold, html_text, text_as_html
from pipeline.web.dates import from_struct
from pipeline.web.jsonfeed import looks_like_json, parse_json_feed
from pipeline.web.model import Entry, Feed
from pipeline.web.urls import absolute

_IMAGE_TYPES = ("image/",)
_HTML_START = re.compile(rb"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)


def parse_feed(data: bytes, url: str, content_type: str | None = None) -> Feed:
    """The feed in ``data``, fetched from ``url`` (which relative links resolve against).

    Args:
        data: the response body, as received (feedparser reads the XML's own encoding).
        url: where the feed was fetched from, absolute.
        content_type: the response's ``Content-Type``, if any (tells JSON from XML, and the charset).

    Raises:
        FormatError: ``data`` is not an RSS, Atom or JSON feed (an HTML page, garbage, invalid JSON);
            the one-line message says why.
    """
    if looks_like_json(data, content_type):
        return parse_json_feed(data, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=True)
    # feedparser's own failures on garbage: a garbled encoding declaration, a NUL byte, a bad prefix
    except (ValueError, LookupError) as exc:
        raise FormatError(f"not an RSS, Atom or JSON feed: unreadable ({type(exc).__name__})") from None
    version = parsed.get("version") or ""
    if not version.startswith(("rss", "atom")):
        raise FormatError(f"not an RSS, Atom or JSON feed: {_why(data, parsed)}")
    entries = tuple(entry for item in parsed.entries if (entry := _entry(item, url)) is not None)
    title = fold(parsed.feed.get("title") or "") or None
    return Feed(title=title, entries=entries, kind="atom" if version.startswith("atom") else "rss")


def _why(data: bytes, parsed: Any) -> str:
    if _HTML_START.match(data[:2048]):
        return "an HTML page"
    if parsed.get("bozo") and parsed.get("bozo_exception") is not None:
        detail = str(parsed["bozo_exception"]).strip().splitlines()
        return f"{type(parsed['bozo_exception']).__name__}: {detail[0] if detail else ''}"[:200]
    return "no <rss>, <feed> or RDF root element"


def _entry(item: Any, feed_url: str) -> Entry | None:
    url = absolute(feed_url, item.get("link"))
    if url is None:
        return None
    content, summary = body_or_summary(_content(item), _summary(item))
    return Entry(
        url=url,
        guid=item.get("id") or None,
        title=_title(item),
        # dict.get: FeedParserDict.get would answer an RSS item's missing updated with its pubDate
        published=from_struct(dict.get(item, "published_parsed")),
        updated=from_struct(dict.get(item, "updated_parsed")),
        author=fold(item.get("author") or "") or None,
        content_html=content,
        summary=summary,
        image=_image(item, feed_url),
    )


def _title(item: Any) -> str | None:
    """The entry's title as text: an HTML title (Atom ``type="html"``) has its markup and
    character references (``&#8217;``) turned into text."""
    detail = item.get("title_detail") or {}
    value = item.get("title") or ""
    return fold(html_text(value) if "html" in (detail.get("type") or "") else value) or None


def _content(item: Any) -> str | None:
    """The longest of the entry's ``content:encoded`` / Atom ``content`` values, as HTML."""
    values = [
        part["value"] if "html" in (part.get("type") or "") else text_as_html(part["value"])
        for part in item.get("content") or ()
        if part.get("value")
    ]
    return max(values, key=len) if values else None


def _summary(item: Any) -> str | None:
    detail = item.get("summary_detail") or {}
    value = item.get("summary") or ""
    if value and "html" not in (detail.get("type") or "text/html"):
        return text_as_html(value)
    return value or None


def _image(item: Any, feed_url: str) -> str | None:
    """The entry's picture: ``media:content``/``media:thumbnail``, else an image enclosure."""
    for media in (*(item.get("media_content") or ()), *(item.get("media_thumbnail") or ())):
        if media.get("url") and media.get("medium", "image") == "image":
            return absolute(feed_url, media["url"])
    for link in item.get("links") or ():
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith(_IMAGE_TYPES):
            return absolute(feed_url, link.get("href"))
    return None
