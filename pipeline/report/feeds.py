"""Podcast feeds: ``<public>/feeds/<lang>.xml``, one RSS 2.0 podcast per language.

Built with lxml, every namespace declared on ``<rss>``: Apple's ``itunes:`` tags (image, category,
explicit, author, owner, type), ``atom:link rel=self`` and the Podcasting 2.0 ``podcast:guid``,
``podcast:locked`` and ``podcast:transcript``. One item per narrated article, the newest
``feeds.limit``: its MP3 as enclosure (absolute URL under ``feeds.base_url``, exact byte length,
``audio/mpeg``), its duration, its WebVTT transcript (when it has one), the article's publish time
as pubDate (``source.published`` in ``article.json``; 06:00 UTC of its date when the input gives a
date only) and the AI-assistance note in the description.
The guid ``<job>:<article_id>:<lang>`` never changes, so subscribers never see an episode twice.

Corrections reach listeners. The enclosure URL carries the audio's version,
``narration.mp3?v=<first 12 hex digits of its sha256>``, so when the audio changes (an editor's
edit, a new version of the source) the URL changes with it, with the new length, and apps that
key a download on the URL fetch the new file; the guid stays, so it is the same episode. A query
rather than a versioned file name: the file keeps its one name in the public folder, so an app
that still holds the old feed gets the current audio and not a 404, and nothing else (links,
pruning, the review app) changes; a CDN in front must then key its cache on the whole URL (most
do by default). The item's pubDate stays the article's own publish time (Apple advises against
moving it for a correction: apps would show the episode as new); its description gains a last
line "Corrected on 2 December 2026" and the channel's ``lastBuildDate`` moves to the time of the
run that published the correction. The first publication is no correction, nor is audio narrated
again to the same bytes. What was published before is read back from the feed itself
(``feed_record``).

The feeds are regenerated on every run and hold nothing that changes from run to run by itself:
``lastBuildDate`` is the newest item's date, or the time the feed last changed otherwise (a
correction, an item gone), kept from the feed as written; an unchanged job rewrites none of them.
Feeds are never deleted: every language narrated by the job has one from its first run, and a feed
whose items have all gone (retracted, rejected, withdrawn) stays, a valid channel with no items.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import heapq
import logging
import re
import urllib.parse
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from pipeline.config import JobConfig, TargetConfig
from pipeline.config.artwork import PNG_MAGIC
from pipeline.fsio import write_if_changed
from pipeline.integrity import read_record
from pipeline.layout import AUDIO_FILE, FEED_VERSIONS_FILE, FEEDS_DIR, TEXT_FILE, TRANSCRIPT_FILE
from pipeline.registry import NO_NARRATION
from pipeline.report.feed_record import (
    PastFeed,
    PastItem,
    corrected_line,
    read_feed,
    read_versions,
    version_of,
    versioned,
    write_versions,
)
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
# podcast:guid is the UUIDv5 of the feed's URL (no scheme, no trailing slash) in this namespace
# (podcastindex.org/namespace/1.0, tags/guid.md)
FEED_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


@dataclass(frozen=True)
class Episode:
    """One narrated article in one language, as its feed item shows it."""

    article_id: str
    guid: str  # <job>:<article_id>:<lang>
    title: str
    published: dt.datetime
    description: str
    size: int  # bytes of the MP3
    duration: float  # seconds
    transcript: bool  # a transcript.vtt goes with the narration
    sha256: str | None  # of the MP3: its version in the enclosure URL
    corrected: dt.date | None = None  # the day its audio last changed after it was first published


def write_feeds(
    config: JobConfig,
    manifest: dict[str, Any],
    languages: Collection[str] | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Write ``<public>/feeds/<lang>.xml`` for each narrated language, newest first
    (``languages``: for those alone, the others being unchanged); ``now``: the time of this run
    (default: the clock), given to a correction and to ``lastBuildDate`` when a feed changes.

    The items are the manifest's servable items with audio; each one's ``article.json`` gives its
    title, date, lead, narration and disclosure, and an item whose ``article.json`` is missing or
    damaged is left out. A feed with no such item is written with no items; a language that is not
    narrated (``tts.engine: none``) gets none, but keeps the one it had.

    Raises:
        OSError: a feed cannot be written.
    """
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    artwork = artwork_file(config)
    if artwork is not None:
        assert config.tts.artwork is not None
        write_if_changed(config.public_dir / FEEDS_DIR / artwork, Path(config.tts.artwork).read_bytes())
    versions = read_versions(config.job_dir / FEED_VERSIONS_FILE)
    for target in config.targets:
        if languages is not None and target.code not in languages:
            continue
        path = config.public_dir / FEEDS_DIR / f"{target.code}.xml"
        past = read_feed(path)
        if target.tts_engine == NO_NARRATION and past is None:
            continue
        known = {**versions.get(target.code, {}), **(past.items if past is not None else {})}
        episodes, built = against_past(_episodes(config, manifest, target.code), past, known, moment)
        guid = past.guid if past is not None and past.guid else feed_guid(_self_url(config, target.code))
        if write_if_changed(path, feed_xml(config, target, episodes, built=built, guid=guid)):
            log.debug("wrote %s (%d items)", path, len(episodes))
        published = {e.guid: PastItem(version_of(e.sha256), e.corrected) for e in episodes if e.sha256}
        versions[target.code] = {**known, **published}
    write_versions(config.job_dir / FEED_VERSIONS_FILE, versions)


def against_past(
    episodes: list[Episode], past: PastFeed | None, known: dict[str, PastItem], now: dt.datetime
) -> tuple[list[Episode], dt.datetime | None]:
    """``episodes`` with the day of each one's last correction, and the feed's ``lastBuildDate``.

    An episode is corrected ``now`` when it was published before (``known``: by guid, from the
    feed as written, ``past``, and ``feed-versions.json``) with other audio, and keeps the
    correction day it had while its audio stays. ``lastBuildDate`` is the newest episode's pubDate
    on a feed's first writing; afterwards the latest of that, the feed's own ``lastBuildDate`` and,
    when its items changed (one corrected, added or gone), ``now``. None for a new feed with no
    items.
    """
    changed = past is not None and {e.guid for e in episodes} != set(past.items)
    dated = []
    for episode in episodes:
        before = known.get(episode.guid)
        version = version_of(episode.sha256)
        corrected = None
        if before is not None and before.version is not None and version is not None:
            if before.version != version:
                corrected, changed = now.date(), True
            else:
                corrected = before.corrected
        dated.append(dataclasses.replace(episode, corrected=corrected))
    moments = [episodes[0].published] if episodes else []
    if past is not None and past.built is not None:
        moments.append(past.built)
    if changed:
        moments.append(now)
    return dated, max(moments, default=None)


def feed_guid(feed_url: str) -> str:
    """The feed's ``podcast:guid``: the UUIDv5 of its URL without the scheme and trailing slashes,
    in the Podcasting 2.0 namespace. Once written it is kept (read back from the feed), as the
    namespace asks, even when ``feeds.base_url`` moves."""
    name = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", feed_url).rstrip("/")
    return str(uuid.uuid5(FEED_GUID_NAMESPACE, name))


def _self_url(config: JobConfig, code: str) -> str:
    return _base(config) + f"{FEEDS_DIR}/{code}.xml"


def _base(config: JobConfig) -> str:
    return (config.feeds.base_url or "").rstrip("/") + "/"


def artwork_file(config: JobConfig) -> str | None:
    """The name of the show's cover art (``tts.artwork``) beside the feeds: artwork.png or .jpg."""
    if config.tts.artwork is None:
        return None
    with open(config.tts.artwork, "rb") as file:
        return "artwork.png" if file.read(len(PNG_MAGIC)) == PNG_MAGIC else "artwork.jpg"


def _episodes(config: JobConfig, manifest: dict[str, Any], code: str) -> list[Episode]:
    """The language's narrated articles, newest first (then by id), at most ``feeds.limit``.

    Only the ``article.json`` of the newest items are read: the manifest's dates (the article's
    own, which its publish time in UTC is within a day of) order the candidates, and reading stops
    at a date that can no longer beat the ``limit``-th newest episode found. So a review, which
    rewrites its language's feed, costs what the feed holds, not what the job holds.
    """
    candidates = [
        item for item in manifest["items"]
        if item["language"] == code and servable(config, item) and "audio" in item["files"]
    ]  # fmt: skip
    candidates.sort(key=lambda item: item.get("date") or "9999", reverse=True)  # no date: read first
    episodes: list[Episode] = []
    newest: list[dt.datetime] = []  # a min-heap of the ``limit`` newest publish times found
    for item in candidates:
        if len(newest) == config.feeds.limit and _cannot_beat(item, newest[0]):
            break
        record = read_record(config.job_dir / item["files"]["json"])
        if record is None or not isinstance(record.get("narration"), dict):
            continue
        sha256 = (item.get("narration") or {}).get("sha256")
        guid = f"{config.job}:{item['article_id']}:{code}"
        episode = _episode(item["article_id"], guid, record, sha256)
        episodes.append(episode)
        if len(newest) < config.feeds.limit:
            heapq.heappush(newest, episode.published)
        else:
            heapq.heappushpop(newest, episode.published)
    episodes.sort(key=lambda e: (e.published, e.article_id), reverse=True)
    return episodes[: config.feeds.limit]


def _cannot_beat(item: dict[str, Any], oldest_kept: dt.datetime) -> bool:
    """True if the manifest item's date (the article's own, within a day of its publish time in
    UTC) is too old for it to be published after ``oldest_kept``; False when it has no date."""
    date = item.get("date") or ""
    return bool(date) and dt.date.fromisoformat(date[:10]) < oldest_kept.date() - dt.timedelta(days=1)


def _episode(article_id: str, guid: str, record: dict[str, Any], sha256: str | None) -> Episode:
    narration = record["narration"]
    paragraphs = record.get("paragraphs") or []
    lead = " ".join(s["target"] for s in paragraphs[0]["sentences"]) if paragraphs else ""
    return Episode(
        article_id=article_id,
        guid=guid,
        title=narration.get("title") or record["source"].get("title") or article_id,
        published=published(record["source"].get("published") or record["source"]["date"]),
        description=f"{lead}\n\n{record['disclosure']}".strip(),
        size=int(narration["size"]),
        duration=float(narration["duration"]),
        transcript=transcript(record) is not None,
        sha256=sha256,
    )


def published(date: str) -> dt.datetime:
    """An article's publication time: its date and time where the input has one (an ISO timestamp;
    UTC when it names no zone), else 06:00 UTC on its date."""
    if len(date) <= len("2024-02-28"):
        return dt.datetime.combine(dt.date.fromisoformat(date), PUBLISHED_AT)
    moment = dt.datetime.fromisoformat(date)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def feed_xml(
    config: JobConfig, target: TargetConfig, episodes: list[Episode], *, built: dt.datetime | None, guid: str
) -> bytes:
    """The feed of ``episodes`` (newest first; none: a channel with no items) as UTF-8 bytes, with
    ``built`` as ``lastBuildDate`` (None: left out) and ``guid`` as ``podcast:guid``."""
    feeds, code = config.feeds, target.code
    base = _base(config)
    author = feeds.author or config.tts.artist or config.job
    rss = etree.Element("rss", {"version": "2.0"}, nsmap=NAMESPACES)
    channel = etree.SubElement(rss, "channel")
    _text(channel, "title", f"{feeds.title or config.job} ({target.language.name})")
    _text(channel, "link", base)
    _text(channel, "description", feeds.description or target.disclosure)
    _text(channel, "language", code)
    _text(channel, "copyright", feeds.copyright or f"© {author}")
    if built is not None:
        _text(channel, "lastBuildDate", _rfc822(built))
    _text(channel, "generator", "newsroom-pipeline")
    etree.SubElement(
        channel,
        f"{{{ATOM}}}link",
        {"href": _self_url(config, code), "rel": "self", "type": RSS_TYPE},
    )
    _text(channel, f"{{{PODCAST}}}guid", guid)
    if feeds.owner_email:  # locked with no owner to prove it could never move: left out
        _text(channel, f"{{{PODCAST}}}locked", "yes" if feeds.locked else "no", owner=feeds.owner_email)
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
    _text(item, "guid", episode.guid, isPermaLink="false")
    _text(item, "pubDate", _rfc822(episode.published))
    correction = f"\n\n{corrected_line(episode.corrected)}" if episode.corrected else ""
    _text(item, "description", episode.description + correction)
    url = versioned(base + folder + AUDIO_FILE, episode.sha256)
    etree.SubElement(item, "enclosure", {"url": url, "length": str(episode.size), "type": AUDIO_TYPE})
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
