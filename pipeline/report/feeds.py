"""Podcast feeds: ``outputs/<job>/feeds/<lang>.xml``, RSS 2.0 with the iTunes extension.

One item per narrated article: the MP3 as enclosure (absolute URL under ``feeds.base_url``, byte
length, ``audio/mpeg``), its duration, the article date as pubDate, and the AI-assistance note in
the description. Written only when ``feeds.base_url`` is set, since enclosures need real URLs.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

from pipeline import __version__
from pipeline.config import JobConfig
from pipeline.fsio import atomic_write_bytes
from pipeline.integrity import read_record
from pipeline.layout import FEEDS_DIR

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"


def write_feeds(config: JobConfig, manifest: dict[str, Any]) -> None:
    """Write ``feeds/<lang>.xml`` for each language: its narrated articles, newest date first.

    The items are the manifest's ``ok`` items with audio; each one's ``article.json`` gives its
    date, lead and narration, and an item whose ``article.json`` is missing or damaged is left out.

    Raises:
        OSError: a feed cannot be written.
    """
    ET.register_namespace("itunes", ITUNES)
    for target in config.targets:
        items = [i for i in manifest["items"] if i["language"] == target.code and i["status"] == "ok"]
        records = [
            (item, record)
            for item in items
            if "audio" in item["files"]
            and (record := read_record(config.job_dir / item["files"]["json"])) is not None
        ]
        records.sort(key=lambda pair: pair[1]["source"]["date"], reverse=True)
        xml = _feed(config, target.code, target.language.name, target.disclosure, records)
        atomic_write_bytes(config.job_dir / FEEDS_DIR / f"{target.code}.xml", xml)


def _feed(
    config: JobConfig,
    code: str,
    name: str,
    disclosure: str,
    records: list[tuple[dict[str, Any], dict[str, Any]]],
) -> bytes:
    base = (config.feeds.base_url or "").rstrip("/") + "/"
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    title = f"{config.feeds.title} ({name})" if config.feeds.title else f"{config.job} ({name})"
    _text(channel, "title", title)
    _text(channel, "link", base)
    _text(channel, "description", config.feeds.description or disclosure)
    _text(channel, "language", code)
    _text(channel, "generator", f"newsroom-pipeline {__version__}")
    _text(channel, "lastBuildDate", email.utils.format_datetime(dt.datetime.now(dt.UTC)))
    _text(channel, f"{{{ITUNES}}}explicit", "false")
    _text(channel, f"{{{ITUNES}}}author", config.tts.artist or config.job)
    for item, record in records:
        narration = record["narration"]
        entry = ET.SubElement(channel, "item")
        _text(entry, "title", narration.get("title") or item["article_id"])
        lead = (
            " ".join(s["target"] for s in record["paragraphs"][0]["sentences"])
            if record["paragraphs"]
            else ""
        )
        _text(entry, "description", f"{lead}\n\n{record['disclosure']}".strip())
        url = base + urllib.parse.quote(item["files"]["audio"])
        ET.SubElement(
            entry, "enclosure", {"url": url, "length": str(narration["size"]), "type": "audio/mpeg"}
        )
        _text(entry, "guid", f"{config.job}:{item['article_id']}:{code}", isPermaLink="false")
        published = dt.datetime.combine(dt.date.fromisoformat(record["source"]["date"]), dt.time(6), dt.UTC)
        _text(entry, "pubDate", email.utils.format_datetime(published))
        _text(entry, f"{{{ITUNES}}}duration", _duration(narration["duration"]))
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _duration(seconds: float) -> str:
    total = round(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
