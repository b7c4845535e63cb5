"""Podcast feeds: ``<public>/feeds/<lang>.xml``, one RSS 2.0 podcast per language.

Built with lxml, every namespace declared on ``<rss>``: Apple's ``itunes:`` tags (image, category,
explicit, author, owner, type), ``atom:link rel=self`` and the Podcasting 2.0
``podcast:transcript``. One item per narrated article, the newest ``feeds.limit``: its MP3 as
enclosure (absolute URL under ``feeds.base_url``, exact byte length, ``audio/mpeg``), its duration,
its WebVTT transcript (when it has one), the article's publish time as pubDate (``source.published``
in ``article.json``; 06:00 UTC of its date when the input gives a date only) and the AI-assistance
note in the description.
The guid ``<job>:<article_id>:<lang>`` never changes, so subscribers never see an episode twice.

The feeds are regenerated on every run and hold nothing that changes from run to run by itself
(``lastBuildDate`` is the newest item's date, not the clock): an unchanged job rewrites none of them.
A language with no narrated article gets no feed (and loses the one it had).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from pipeline.config import JobConfig, TargetConfig
from pipeline.config.artwork import PNG_MAGIC
from pipeline.fsio import write_if_changed
from pipeline.integrity import read_record
from pipeline.layout import AUDIO_FILE, FEEDS_DIR, TEXT_FILE, TRANSCRIPT_FILE
from pipeline.report.public import servable
from pipeline.report.transcripts import transcript

log = logging.getLogger(__name__)

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ATOM = "http://www.w3.org/2005/Atom"
PODCAST = "https://podcastindex.org/namespace/1.0"
NAMESPACES = {"itunes": ITUNES, "atom": ATOM, "podcast": PODCAST}
AUDIO_TYPE = "audio/mpeg"
TRANSCRIPT_TYPE = "text/vtt"
RSS_TYPE = "application/rss+xml"
PUBLISHED_AT = dt.time(6, tzinfo=dt.UTC)  # the time given to an article that has only a date


@dataclass(frozen=True)
class Episode:
    """One narrated article in one language, as its feed item shows it."""

    article_id: str
    title: str
    published: dt.datetime
    description: str
    size: int  # bytes of the MP3
    duration: float  # seconds
    transcript: bool  # a transcript.vtt goes with the narration


def write_feeds(
    config: JobConfig, manifest: dict[str, Any], languages: Collection[str] | None = None
) -> None:
    """Write ``<public>/feeds/<lang>.xml`` for each language with a narrated article, newest first
    (``languages``: for those alone, the others being unchanged).

    The items are the manifest's ``ok`` items with audio; each one's ``article.json`` gives its
    title, date, lead, narration and disclosure, and an item whose ``article.json`` is missing or
    damaged is left out. A language with no such item has no feed: one left from before is removed.

    Raises:
        OSError: a feed cannot be written or removed.
    """
    artwork = artwork_file(config)
    if artwork is not None:
        assert config.tts.artwork is not None
        write_if_changed(config.public_dir / FEEDS_DIR / artwork, Path(config.tts.artwork).read_bytes())
    for target in config.targets:
        if languages is not None and target.code not in languages:
            continue
        episodes = _episodes(config, manifest, target.code)
        path = config.public_dir / FEEDS_DIR / f"{target.code}.xml"
        if not episodes:
            if path.exists():
                path.unlink()
                log.info("%s: no narrated article, feed %s removed", target.code, path)
            continue
        if write_if_changed(path, feed_xml(config, target, episodes)):
            log.debug("wrote %s (%d items)", path, len(episodes))


def artwork_file(config: JobConfig) -> str | None:
    """The name of the show's cover art (``tts.artwork``) beside the feeds: artwork.png or .jpg."""
    if config.tts.artwork is None:
        return None
    with open(config.tts.artwork, "rb") as file:
        return "artwork.png" if file.read(len(PNG_MAGIC)) == PNG_MAGIC else "artwork.jpg"


def _episodes(config: JobConfig, manifest: dict[str, Any], code: str) -> list[Episode]:
    """The language's narrated articles, newest first (then by id), at most ``feeds.limit``."""
    episodes = []
    for item in manifest["items"]:
        if item["language"] != code or not servable(config, item) or "audio" not in item["files"]:
            continue
        record = read_record(config.job_dir / item["files"]["json"])
        if record is None or not isinstance(record.get("narration"), dict):
            continue
        episodes.append(_episode(item["article_id"], record))
    episodes.sort(key=lambda e: (e.published, e.article_id), reverse=True)
    return episodes[: config.feeds.limit]


def _episode(article_id: str, record: dict[str, Any]) -> Episode:
    narration = record["narration"]
    paragraphs = record.get("paragraphs") or []
    lead = " ".join(s["target"] for s in paragraphs[0]["sentences"]) if paragraphs else ""
    return Episode(
        article_id=article_id,
        title=narration.get("title") or record["source"].get("title") or article_id,
        published=published(record["source"].get("published") or record["source"]["date"]),
        description=f"{lead}\n\n{record['disclosure']}".strip(),
        size=int(narration["size"]),
        duration=float(narration["duration"]),
        transcript=transcript(record) is not None,
    )


def published(date: str) -> dt.datetime:
    """An article's publication time: its date and time where the input has one (an ISO timestamp;
    UTC when it names no zone), else 06:00 UTC on its date."""
    if len(date) <= len("2024-02-28"):
        return dt.datetime.combine(dt.date.fromisoformat(date), PUBLISHED_AT)
    moment = dt.datetime.fromisoformat(date)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def feed_xml(config: JobConfig, target: TargetConfig, episodes: list[Episode]) -> bytes:
    """The feed of ``episodes`` (newest first, at least one) as UTF-8 bytes."""
    feeds, code = config.feeds, target.code
    base = (feeds.base_url or "").rstrip("/") + "/"
    author = feeds.author or config.tts.artist or config.job
    rss = etree.Element("rss", {"version": "2.0"}, nsmap=NAMESPACES)
    channel = etree.SubElement(rss, "channel")
    _text(channel, "title", f"{feeds.title or config.job} ({target.language.name})")
    _text(channel, "link", base)
    _text(channel, "description", feeds.description or target.disclosure)
    _text(channel, "language", code)
    _text(channel, "copyright", feeds.copyright or f"© {author}")
    _text(channel, "lastBuildDate", _rfc822(episodes[0].published))
    _text(channel, "generator", "newsroom-pipeline")
    etree.SubElement(
        channel,
        f"{{{ATOM}}}link",
        {"href": base + f"{FEEDS_DIR}/{code}.xml", "rel": "self", "type": RSS_TYPE},
    )
    _text(channel, f"{{{ITUNES}}}author", author)
    if feeds.owner_email:
        owner = etree.SubElement(channel, f"{{{ITUNES}}}owner")
        _text(owner, f"{{{ITUNES}}}name", feeds.owner_name or author)
        _text(owner, f"{{{ITUNES}}}email", feeds.owner_email)
    artwork = artwork_file(config)
    image = feeds.image or (base + f"{FEEDS_DIR}/{artwork}" if artwork else "")
    etree.SubElement(channel, f"{{{ITUNES}}}image", {"href": image})
    category = etree.SubElement(channel, f"{{{ITUNES}}}category", {"text": feeds.category})
    if feeds.subcategory:
        etree.SubElement(category, f"{{{ITUNES}}}category", {"text": feeds.subcategory})
    _text(channel, f"{{{ITUNES}}}explicit", "true" if feeds.explicit else "false")
    _text(channel, f"{{{ITUNES}}}type", "episodic")
    for episode in episodes:
        _item(channel, config, code, base, episode)
    return etree.tostring(rss, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def _item(channel: Any, config: JobConfig, code: str, base: str, episode: Episode) -> None:
    folder = f"{urllib.parse.quote(episode.article_id)}/{urllib.parse.quote(code)}/"
    pattern = config.feeds.item_link
    link = (
        pattern.format(article_id=episode.article_id, language=code) if pattern else base + folder + TEXT_FILE
    )
    item = etree.SubElement(channel, "item")
    _text(item, "title", episode.title)
    _text(item, "link", link)
    _text(item, "guid", f"{config.job}:{episode.article_id}:{code}", isPermaLink="false")
    _text(item, "pubDate", _rfc822(episode.published))
    _text(item, "description", episode.description)
    etree.SubElement(
        item,
        "enclosure",
        {"url": base + folder + AUDIO_FILE, "length": str(episode.size), "type": AUDIO_TYPE},
    )
    _text(item, f"{{{ITUNES}}}duration", _duration(episode.duration))
    _text(item, f"{{{ITUNES}}}episodeType", "full")
    if episode.transcript:
        etree.SubElement(
            item,
            f"{{{PODCAST}}}transcript",
            {"url": base + folder + TRANSCRIPT_FILE, "type": TRANSCRIPT_TYPE, "language": code},
        )


def _text(parent: Any, tag: str, text: str, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _rfc822(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(dt.UTC))


def _duration(seconds: float) -> str:
    total = round(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
