"""The WordPress REST API's posts (``/wp-json/wp/v2/posts``): the URL of a page of them, the
entries in one, and how many pages there are. No network here: the harvest fetches."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urljoin

from pipeline.errors import FormatError
from pipeline.web.blocks import body_or_summary, fold, html_text
from pipeline.web.dates import parse_time
from pipeline.web.model import Entry
from pipeline.web.urls import absolute

POSTS_PATH = "wp-json/wp/v2/posts"
# What parse_posts reads, and nothing else: a page of 100 posts without _fields carries every
# post's meta, links and block attributes, several times the size.
FIELDS = (
    "id",
    "link",
    "date_gmt",
    "modified_gmt",
    "title",
    "content",
    "excerpt",
    "guid",
    "_links",
    "_embedded",
)
MAX_PER_PAGE = 100  # the API's own limit


def posts_url(
    base_url: str,
    *,
    page: int = 1,
    per_page: int = 20,
    categories: Iterable[int] = (),
    tags: Iterable[int] = (),
    after: dt.datetime | None = None,
) -> str:
    """The URL of page ``page`` of the site's published posts, newest first.

    ``categories``/``tags`` are term ids (a post in any of them is listed); ``after`` keeps posts
    published after that time (aware, sent as UTC). ``_embed=author`` brings the author's name
    along in the same request.
    """
    query: dict[str, str | int] = {
        "page": page,
        "per_page": max(1, min(per_page, MAX_PER_PAGE)),
        "orderby": "date",
        "order": "desc",
        "_embed": "author",
        "_fields": ",".join(FIELDS),
    }
    if ids := ",".join(str(int(term)) for term in categories):
        query["categories"] = ids
    if ids := ",".join(str(int(term)) for term in tags):
        query["tags"] = ids
    if after is not None:
        # with its zone: WordPress reads a time without one in the site's own timezone
        query["after"] = after.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return urljoin(base_url.rstrip("/") + "/", POSTS_PATH) + "?" + urlencode(query, safe=",")


def parse_posts(data: bytes, base_url: str) -> tuple[Entry, ...]:
    """The posts in one page of the API's answer, as entries with their rendered content.

    Raises:
        FormatError: ``data`` is not a JSON list of posts (an HTML error page, a JSON error object).
    """
    try:
        posts = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"not a WordPress posts list: invalid JSON ({exc})") from None
    if not isinstance(posts, list):
        code = posts.get("code") if isinstance(posts, dict) else None
        raise FormatError(f"not a WordPress posts list: {code or type(posts).__name__}")
    entries = (_entry(post, base_url) for post in posts if isinstance(post, dict))
    return tuple(entry for entry in entries if entry is not None)


def terms_url(base_url: str, taxonomy: str, names: Iterable[str]) -> str:
    """The URL that looks up ``taxonomy``'s terms (``categories`` or ``tags``) by slug, for a config
    that names them instead of giving ids: ``parse_terms`` reads the answer."""
    slugs = ",".join(str(name).strip().lower() for name in names)
    query = {"slug": slugs, "per_page": MAX_PER_PAGE, "_fields": "id,slug,name"}
    return urljoin(base_url.rstrip("/") + "/", f"wp-json/wp/v2/{taxonomy}") + "?" + urlencode(query, safe=",")


def parse_terms(data: bytes) -> dict[str, int]:
    """A terms answer as ``{slug: id}`` plus ``{name, casefolded: id}``.

    Raises:
        FormatError: not a JSON list of terms.
    """
    try:
        terms = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"not a WordPress terms list: invalid JSON ({exc})") from None
    if not isinstance(terms, list):
        raise FormatError("not a WordPress terms list")
    found: dict[str, int] = {}
    for term in terms:
        if isinstance(term, dict) and isinstance(term.get("id"), int):
            for key in (term.get("slug"), html_text(str(term.get("name") or ""))):
                if isinstance(key, str) and key:
                    found.setdefault(key.casefold(), term["id"])
    return found


def term_ids(
    wanted: Iterable[int | str], known: Mapping[str, int]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``wanted`` (ids, or slugs/names looked up in ``known``) as ``(ids, names not found)``."""
    ids: list[int] = []
    missing: list[str] = []
    for term in wanted:
        if isinstance(term, int) or str(term).strip().isdigit():
            ids.append(int(term))
        elif (found := known.get(str(term).strip().casefold())) is not None:
            ids.append(found)
        else:
            missing.append(str(term))
    return tuple(ids), tuple(missing)


def total_pages(headers: Mapping[str, str]) -> int | None:
    """``X-WP-TotalPages`` (any case) as a number; None when absent or not a number."""
    for name, value in headers.items():
        if name.lower() == "x-wp-totalpages":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _entry(post: dict[str, Any], base_url: str) -> Entry | None:
    link = post.get("link")
    url = absolute(base_url, link) if isinstance(link, str) else None
    if url is None:
        return None
    content, summary = body_or_summary(_rendered(post, "content"), _rendered(post, "excerpt"))
    guid = _rendered(post, "guid") or (str(post["id"]) if post.get("id") is not None else None)
    return Entry(
        url=url,
        guid=guid,
        title=html_text(_rendered(post, "title") or "") or None,
        published=parse_time(post.get("date_gmt")),  # UTC, written without a zone
        updated=parse_time(post.get("modified_gmt")),
        author=_author(post),
        content_html=content,
        summary=summary,
    )


def _rendered(post: dict[str, Any], name: str) -> str | None:
    value = post.get(name)
    text = value.get("rendered") if isinstance(value, dict) else value
    return text if isinstance(text, str) and text.strip() else None


def _author(post: dict[str, Any]) -> str | None:
    embedded = post.get("_embedded")
    people = embedded.get("author") if isinstance(embedded, dict) else None
    if not isinstance(people, list):
        return None
    names = [fold(str(person.get("name") or "")) for person in people if isinstance(person, dict)]
    return ", ".join(name for name in names if name) or None
