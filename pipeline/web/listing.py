"""What each web source lists tonight: a feed's entries, a sitemap's pages, a WordPress site's posts,
the configured URLs; each list cut to the window (``input.max_age_days``, ``input.max_items``).

Feeds and sitemaps are asked for with the validators they last answered with, so an unchanged one
costs a 304 and lists nothing (``Listing.unchanged``); its validators are remembered only once its
entries are taken (``Conditional.remember``), so a night cut short asks for it again in full. A
sitemap index's are never remembered: a site may leave its index as it is while a child it lists
changes every day, and the index is small.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.clock import utc_now_iso
from pipeline.config.schema import InputConfig
from pipeline.state.web_records import WebRecords, WebResource
from pipeline.web.client import Fetched, Validators, WebClient
from pipeline.web.feeds import parse_feed
from pipeline.web.model import Entry
from pipeline.web.sitemaps import parse_sitemap
from pipeline.web.wordpress import parse_posts, posts_url, total_pages

log = logging.getLogger(__name__)

URL_LIST = "input.urls"  # the source name of the configured URLs
MAX_SITEMAPS = 50  # sitemaps read from one configured sitemap (its index's children, theirs...)
FEED_TYPES = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"
)


@dataclass
class Listing:
    """One source's entries tonight, newest first, within the window."""

    source: str
    entries: list[Entry] = field(default_factory=list)
    unchanged: bool = False  # it answered 304: nothing new
    fetched: list[tuple[str, Fetched]] = field(default_factory=list)  # (URL asked, answer): remembered
    # once its entries are taken


class Conditional:
    """Fetches with the validators a URL last answered with (the state's ``web_resources``)."""

    def __init__(self, client: WebClient, records: WebRecords):
        self.client = client
        self.records = records

    def get(self, url: str, accept: str = "*/*") -> Fetched:
        known = self.records.web_resource(url)
        validators = Validators(known.etag, known.last_modified) if known else None
        return self.client.fetch(url, validators, accept=accept)

    def remember(self, requested: str, fetched: Fetched) -> None:
        """Keep ``fetched``'s validators for the next request of ``requested``."""
        self.records.save_web_resource(
            WebResource(requested, fetched.validators.etag, fetched.validators.last_modified, utc_now_iso())
        )


class Lister:
    """Lists the configured sources (see the module's doc)."""

    def __init__(self, config: InputConfig, fetch: Conditional, now: dt.datetime):
        self.config = config
        self.fetch = fetch
        self.now = now
        self.oldest = now - dt.timedelta(days=config.max_age_days)

    def sources(self) -> list[tuple[str, Callable[[], Listing]]]:
        """Each source's name and how to list it, in the config's order."""
        made: list[tuple[str, Callable[[], Listing]]] = []
        made += [(url, lambda url=url: self.feed(url)) for url in self.config.feeds]  # type: ignore[misc]
        made += [(url, lambda url=url: self.sitemap(url)) for url in self.config.sitemaps]  # type: ignore[misc]
        if self.config.wordpress is not None:
            made.append((self.config.wordpress.base_url, self.wordpress))
        if self.config.urls or self.config.url_file:
            made.append((URL_LIST, self.urls))
        return made

    def feed(self, url: str) -> Listing:
        fetched = self.fetch.get(url, accept=FEED_TYPES)
        if fetched.not_modified:
            return Listing(url, unchanged=True)
        feed = parse_feed(fetched.body, fetched.url, fetched.content_type)
        return Listing(url, self.window(feed.entries), fetched=[(url, fetched)])

    def sitemap(self, url: str) -> Listing:
        listing = Listing(url)
        queue, seen, pages = [url], set[str](), list[Entry]()
        while queue and len(seen) < MAX_SITEMAPS:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            fetched = self.fetch.get(current, accept="application/xml, text/xml, */*;q=0.8")
            if fetched.not_modified:
                continue
            sitemap = parse_sitemap(fetched.body, fetched.url)
            if not sitemap.sitemaps:  # an index is asked in full: a 304 would hide a changed child
                listing.fetched.append((current, fetched))
            queue += [child for child in sitemap.sitemaps if child not in seen]
            pages += sitemap.pages
        listing.unchanged = not listing.fetched
        listing.entries = self.window(pages)
        return listing

    def wordpress(self) -> Listing:
        site = self.config.wordpress
        assert site is not None
        listing = Listing(site.base_url)
        entries: list[Entry] = []
        page, pages = 1, 1
        while page <= pages and len(entries) < self.config.max_items:
            url = posts_url(site.base_url, page=page, per_page=site.per_page, categories=site.categories,
                            tags=site.tags, after=self.oldest)  # fmt: skip
            fetched = self.fetch.client.fetch(url, accept="application/json")
            entries += parse_posts(fetched.body, site.base_url)
            pages = total_pages(fetched.headers) or 1
            page += 1
        listing.entries = self.window(entries)
        return listing

    def urls(self) -> Listing:
        urls = list(self.config.urls)
        if self.config.url_file:
            urls += read_url_file(Path(self.config.url_file))
        unique = list(dict.fromkeys(urls))
        return Listing(URL_LIST, [Entry(url=url) for url in unique])

    def window(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries no older than ``max_age_days`` (undated ones kept), newest first, at most
        ``max_items``."""
        recent = [entry for entry in entries if entry.changed_at is None or entry.changed_at >= self.oldest]
        recent.sort(key=lambda entry: entry.changed_at or self.now, reverse=True)
        return recent[: self.config.max_items]


def read_url_file(path: Path) -> list[str]:
    """The URLs in ``path``: one a line; blank lines and ``#`` comments skipped."""
    lines = path.read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
