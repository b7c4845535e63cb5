"""What the web ingest passes between its parts: a source's entries and an extracted article."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pipeline.web.urls import identity


@dataclass(frozen=True)
class Entry:
    """One article a source lists: a feed's item, a sitemap's URL, a WordPress post, a listed URL.

    ``content_html`` is the article's full text when the source carries it (``content:encoded``,
    Atom ``content``, JSON Feed ``content_html``/``content_text`` as HTML, WordPress
    ``content.rendered``); None when only a summary (or nothing) is given, and the page must be
    fetched. Times are timezone-aware (UTC when the source gives none).
    """

    url: str  # the entry's link, absolute
    guid: str | None = None  # the feed's id for it (RSS guid, Atom id, JSON Feed id, WP id), if any
    title: str | None = None
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    author: str | None = None
    content_html: str | None = None
    summary: str | None = None
    image: str | None = None

    @property
    def key(self) -> str:
        """What identifies the article across runs: the guid when the source gives one, else the URL
        (without tracking parameters: ``urls.identity``)."""
        return self.guid or identity(self.url)

    @property
    def changed_at(self) -> dt.datetime | None:
        """The latest time the source gives for the entry (updated, else published)."""
        return self.updated or self.published


@dataclass(frozen=True)
class Extracted:
    """An article's main text and metadata, as extracted from its page (or an entry's content).

    ``paragraphs``: the article's text, one string per paragraph, without the page's furniture
    (navigation, banners, share widgets, related links, comments, ads). ``language``: an ISO 639-1
    code when the page or its text tells (``"en"``), else None.
    """

    title: str | None
    paragraphs: tuple[str, ...]
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    author: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    language: str | None = None
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Feed:
    """A parsed RSS, Atom or JSON feed: its title, its entries in the feed's order, and its kind."""

    title: str | None
    entries: tuple[Entry, ...]
    kind: str  # "rss", "atom" or "json"


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: the pages it lists (a urlset) or the sitemaps it points at (an index)."""

    pages: tuple[Entry, ...] = ()
    sitemaps: tuple[str, ...] = ()
