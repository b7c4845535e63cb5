"""The job's ``sources`` folder: every version of every article the web ingest took, kept.

``<job>/sources/<article-id>/``:
- ``latest.json``: the article as the run reads it (the JSON article format, with ``url``,
  ``published`` and where it came from). Rewritten only when the article's text or metadata
  changed, so an unchanged article's file is untouched and the run does not read it again.
- ``versions/<time>-<sha>.json``: each version's extraction, with its URL, when it was fetched and
  the HTTP validators; ``versions/<time>-<sha>.<html|json|xml>.gz``: the bytes it came from, so
  every translation can be traced to what the site sent.
- ``retracted.json``: ``latest.json`` moved aside when the site withdrew the page (410, or 404 for
  ``input.retract_after_days``): the article leaves the input, and the run retracts it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.fsio import atomic_write_bytes, json_bytes
from pipeline.layout import LATEST_FILE, SOURCES_DIR
from pipeline.web.model import Entry, Extracted

log = logging.getLogger(__name__)

VERSIONS_DIR = "versions"
RETRACTED_FILE = "retracted.json"


@dataclass(frozen=True)
class Origin:
    """Where a version came from: the source that listed it and the bytes it was extracted from."""

    source: str  # the feed, sitemap, site or URL list
    key: str  # the article's identity (the source's guid, else its URL)
    fetched_url: str  # the URL whose answer held the text (the page, or the feed for full content)
    raw: bytes  # that answer's body
    raw_suffix: str  # html, xml or json
    etag: str | None = None
    last_modified: str | None = None


class SourcesFolder:
    """``<job>/sources``: one folder per article taken from the web (see the module's doc)."""

    def __init__(self, job_dir: Path):
        self.root = job_dir / SOURCES_DIR

    def latest_path(self, article_id: str) -> Path:
        return self.root / article_id / LATEST_FILE

    def ids(self) -> set[str]:
        """The ids of every article folder, retracted ones included (an id is never issued twice)."""
        if not self.root.is_dir():
            return set()
        return {entry.name for entry in os.scandir(self.root) if entry.is_dir()}

    def keys(self) -> dict[str, str]:
        """Article key → id, from the folders' files: how the ids issued come back into a new state."""
        found: dict[str, str] = {}
        for article_id in sorted(self.ids()):
            for name in (LATEST_FILE, RETRACTED_FILE):
                record = _read_json(self.root / article_id / name)
                key = (record or {}).get("origin", {}).get("key")
                if isinstance(key, str):
                    found.setdefault(key, article_id)
                    break
        return found

    def write(
        self, article_id: str, entry: Entry, extracted: Extracted, origin: Origin, now: dt.datetime
    ) -> bool:
        """Keep this version (its bytes and its extraction) and make it the article's latest, unless
        it is the latest already. Returns whether the article changed."""
        article = article_file(article_id, entry, extracted, origin, now)
        folder = self.root / article_id
        latest = folder / LATEST_FILE
        current = _read_json(latest)
        if current is not None and article["published"] is None and isinstance(current.get("date"), str):
            article["date"] = current["date"]  # undated: the day it was first taken, not today
        if current is not None and _content(current) == _content(article):
            return False
        sha = hashlib.sha256(origin.raw).hexdigest()
        stem = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{sha[:12]}"
        versions = folder / VERSIONS_DIR
        atomic_write_bytes(versions / f"{stem}.{origin.raw_suffix}.gz", gzip.compress(origin.raw, mtime=0))
        atomic_write_bytes(versions / f"{stem}.json", json_bytes({**article, "raw_sha256": sha}))
        article["origin"]["version"] = f"{VERSIONS_DIR}/{stem}.json"
        atomic_write_bytes(latest, json_bytes(article))
        (folder / RETRACTED_FILE).unlink(missing_ok=True)
        return True

    def retract(self, article_id: str) -> bool:
        """Move the article's ``latest.json`` aside (it leaves the input); False if it had none."""
        folder = self.root / article_id
        try:
            os.replace(folder / LATEST_FILE, folder / RETRACTED_FILE)
        except FileNotFoundError:
            return False
        return True


def article_file(
    article_id: str, entry: Entry, extracted: Extracted, origin: Origin, now: dt.datetime
) -> dict[str, Any]:
    """The ``latest.json`` of a version: a JSON article (``id``, ``date``, ``title``, ``body``) with the
    page's metadata and its origin."""
    published = extracted.published or entry.published
    updated = extracted.updated or entry.updated
    return {
        "id": article_id,
        "date": (published or now).date().isoformat(),
        "published": _iso(published),
        "updated": _iso(updated),
        "title": extracted.title or entry.title,
        "body": list(extracted.paragraphs),
        "url": extracted.canonical_url or entry.url,
        "author": extracted.author or entry.author,
        "image": extracted.image or entry.image,
        "language": extracted.language,
        "origin": {
            "source": origin.source,
            "key": origin.key,
            "url": origin.fetched_url,
            "fetched": _iso(now),
            "etag": origin.etag,
            "last_modified": origin.last_modified,
        },
    }


def _content(article: dict[str, Any]) -> dict[str, Any]:
    """What makes a version new: everything but when and how it was fetched."""
    return {key: value for key, value in article.items() if key != "origin"}


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot be read (%s); taken as absent", path, exc)
        return None
    return data if isinstance(data, dict) else None
