"""The article as the pipeline sees it once read, whatever its file format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

BlockKind = Literal["title", "paragraph"]


@dataclass(frozen=True)
class Block:
    """A unit of text that keeps its place in every output: the title or one paragraph."""

    kind: BlockKind
    text: str


@dataclass(frozen=True)
class ArticleParts:
    """What a format reader extracts from the text of one file.

    ``date`` is the day the source names, in the source's own zone; ``published`` and ``updated``
    are moments in UTC, None when the source gives no time of day (or no update).
    """

    date: dt.date
    paragraphs: tuple[str, ...]
    title: str | None = None
    audio_note: str | None = None
    id_hint: str | None = None  # an id the file declares (JSON "id", front matter "id")
    published: dt.datetime | None = None
    updated: dt.datetime | None = None


@dataclass(frozen=True)
class Article:
    """One article file as read: its id, its file (format, sha256, encoding) and its parts.

    ``warnings`` are for the operator (a file read as Windows-1252, say).
    """

    id: str
    source: Path
    format: str
    sha256: str
    encoding: str
    parts: ArticleParts
    warnings: tuple[str, ...] = field(default=())

    @property
    def date(self) -> dt.date:
        """The article's date, as its file gives it."""
        return self.parts.date

    @property
    def title(self) -> str | None:
        """The title, or None when the file has none."""
        return self.parts.title

    @property
    def blocks(self) -> list[Block]:
        """Title first (when there is one), then the paragraphs, in reading order."""
        title = [Block("title", self.parts.title)] if self.parts.title else []
        return title + [Block("paragraph", text) for text in self.parts.paragraphs]


def headline(title: str | None, sentences: Iterable[str]) -> str:
    """An article's headline: its title, else its first sentence that is not blank, else ""."""
    if title:
        return title
    return next((sentence.strip() for sentence in sentences if sentence.strip()), "")


def article_record(article: Article) -> dict[str, Any]:
    """``article`` as JSON-ready data (``article_from_record`` reads it back)."""
    parts = article.parts
    return {
        "id": article.id,
        "source": str(article.source),
        "format": article.format,
        "sha256": article.sha256,
        "encoding": article.encoding,
        "warnings": list(article.warnings),
        "date": parts.date.isoformat(),
        "paragraphs": list(parts.paragraphs),
        "title": parts.title,
        "audio_note": parts.audio_note,
        "id_hint": parts.id_hint,
        "published": iso_utc(parts.published),
        "updated": iso_utc(parts.updated),
    }


def article_from_record(record: dict[str, Any]) -> Article:
    """The ``Article`` that ``article_record`` wrote. Raises ``KeyError``, ``TypeError`` or
    ``ValueError`` when ``record`` is not such data."""
    parts = ArticleParts(
        date=dt.date.fromisoformat(record["date"]),
        paragraphs=tuple(str(p) for p in record["paragraphs"]),
        title=record["title"],
        audio_note=record["audio_note"],
        id_hint=record["id_hint"],
        published=_moment(record.get("published")),  # absent in records older than READ_VERSION 2
        updated=_moment(record.get("updated")),
    )
    return Article(
        id=str(record["id"]),
        source=Path(record["source"]),
        format=str(record["format"]),
        sha256=str(record["sha256"]),
        encoding=str(record["encoding"]),
        parts=parts,
        warnings=tuple(str(w) for w in record["warnings"]),
    )


def shown_time(date: str, published: str | None) -> dict[str, str]:
    """How a page shows an article's time: ``iso`` for ``<time datetime>`` and ``text`` to read.

    With a known ``published`` moment: ``2026-11-30T07:15:00Z`` and ``2026-11-30 07:15 UTC`` (the
    date in UTC, so date and time agree); else the date alone, as the source gives it.
    """
    if not published:
        return {"iso": date, "text": date}
    try:
        moment = dt.datetime.fromisoformat(published).astimezone(dt.UTC)
    except ValueError:
        return {"iso": date, "text": date}
    return {"iso": iso_utc(moment) or date, "text": moment.strftime("%Y-%m-%d %H:%M UTC")}


def iso_utc(moment: dt.datetime | None) -> str | None:
    """``moment`` as ISO 8601 in UTC with a ``Z`` (``2026-11-30T07:15:00Z``), or None."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _moment(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None
