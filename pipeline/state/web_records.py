"""The web ingest's memory: each fetched URL's validators (for conditional requests) and each
article taken from the web (its id, fixed once issued, and how it last went). Mixed into
``StateStore``; the harvest writes them under the job's lock.

Losing them costs requests, not articles: the ids live on in the job's ``sources`` folder
(``web.sources_folder``), from which the harvest takes them back into an empty state.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import astuple, dataclass
from pathlib import Path

WEB_TABLES = """
CREATE TABLE web_resources (         -- each URL the web ingest fetched: its validators
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    checked TEXT NOT NULL            -- when it was last asked for (UTC, ISO 8601)
);
CREATE TABLE web_articles (          -- each article taken from the web
    key TEXT PRIMARY KEY,            -- the source's guid for it, else its URL (tracking parameters dropped)
    article_id TEXT NOT NULL UNIQUE, -- issued once, never changed
    url TEXT NOT NULL,               -- its page
    source TEXT NOT NULL,            -- the feed, sitemap, site or URL list it was listed in
    signature TEXT,                  -- what the source said of it when last taken (a change: take it again)
    status TEXT NOT NULL,            -- ok, failed, skipped (not English), retracted
    error TEXT,                      -- why it failed or was skipped
    missing_since TEXT,              -- the first of the 404 answers in a row (UTC, ISO 8601)
    updated TEXT NOT NULL
);
"""

OK, FAILED, SKIPPED, RETRACTED = "ok", "failed", "skipped", "retracted"


@dataclass(frozen=True)
class WebResource:
    """What a URL answered last time: the validators to send back with the next request."""

    url: str
    etag: str | None
    last_modified: str | None
    checked: str


@dataclass(frozen=True)
class WebArticle:
    """One article taken from the web (see ``WEB_TABLES``)."""

    key: str
    article_id: str
    url: str
    source: str
    signature: str | None
    status: str
    error: str | None
    missing_since: str | None
    updated: str


class WebRecords:
    """Web-ingest storage; expects ``self.db`` and ``self.transaction()`` (``StateStore``)."""

    db: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # StateStore's

    def web_resource(self, url: str) -> WebResource | None:
        row = self.db.execute("SELECT url, etag, last_modified, checked FROM web_resources WHERE url=?",
                              (url,)).fetchone()  # fmt: skip
        return WebResource(*row) if row else None

    def save_web_resource(self, resource: WebResource) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO web_resources VALUES (?, ?, ?, ?)", astuple(resource))

    def web_articles(self) -> dict[str, WebArticle]:
        """Every article taken from the web, by key."""
        rows = self.db.execute("SELECT * FROM web_articles").fetchall()
        return {row[0]: WebArticle(*row) for row in rows}

    def web_article_ids(self) -> AbstractSet[str]:
        return {row[0] for row in self.db.execute("SELECT article_id FROM web_articles")}

    def article_ids_in_use(self) -> AbstractSet[str]:
        """The ids of every article the job has worked on (files' and the web's): a new web
        article's id must be none of them, or a file's article would be renamed to make room."""
        rows = self.db.execute("SELECT article_id FROM items UNION SELECT article_id FROM web_articles")
        return {row[0] for row in rows}

    def save_web_article(self, article: WebArticle) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO web_articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", astuple(article)
            )


def read_web_articles(state_path: Path) -> dict[str, WebArticle]:
    """The articles taken from the web, by key, read without writing to the state at ``state_path``
    (``pipeline validate``); empty when there is no state or it cannot be read."""
    if not state_path.is_file():
        return {}
    uri = f"{state_path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            rows = db.execute("SELECT * FROM web_articles").fetchall()
    except sqlite3.Error:  # no such table (an older schema), locked, not a database...
        return {}
    return {row[0]: WebArticle(*row) for row in rows}
