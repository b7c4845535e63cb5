"""What a feed already told its subscribers: read back from the feed file itself, and from the
job's ``feed-versions.json`` for the items that have left it.

The feed is its own record: each item's enclosure URL carries its audio's version (``?v=`` and the
first 12 hex digits of the MP3's sha256), its description the date of its last correction, and the
channel its ``podcast:guid`` and ``lastBuildDate``. An item leaves the feed while an edit of it is
narrated again (or while it is withdrawn), so ``<job>/feed-versions.json`` keeps each item's last
published version and correction date by language and guid, and an item that comes back with
other audio is a correction too. The feed wins over that file for the items it lists (it is written
first), so a run stopped between the two tells no correction twice. Neither is in the state: a
deleted state loses no correction date. (A deleted public folder and job folder start the record
afresh: the items are then published as first seen, with no "Corrected on" line.)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from pipeline.fsio import json_bytes, write_if_changed

log = logging.getLogger(__name__)

PODCAST = "https://podcastindex.org/namespace/1.0"
VERSION_PARAMETER = "v"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")  # fmt: skip
CORRECTED = "Corrected on"  # the description's last line after a correction: "Corrected on 2 December 2026"
_CORRECTED_LINE = re.compile(rf"^{CORRECTED} (\d{{1,2}}) ([A-Z][a-z]+) (\d{{4}})$")


@dataclass(frozen=True)
class PastItem:
    """One item of the feed as written: its audio's version (None: a URL without one, as feeds
    before versioned enclosures had) and the date of its last correction (None: never corrected)."""

    version: str | None
    corrected: dt.date | None


@dataclass(frozen=True)
class PastFeed:
    """A feed as written: its ``podcast:guid``, its ``lastBuildDate`` and its items by guid."""

    guid: str | None
    built: dt.datetime | None
    items: dict[str, PastItem]


def read_feed(path: Path) -> PastFeed | None:
    """The feed at ``path`` as written, or None when there is none or it cannot be parsed (a
    damaged feed is logged and then written afresh, as if new)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("%s could not be read (%s): its corrections are not known", path, exc.strerror or exc)
        return None
    try:
        channel = etree.fromstring(data).find("channel")
    except etree.XMLSyntaxError as exc:
        log.warning("%s is not well-formed XML (%s): written afresh", path, exc)
        return None
    if channel is None:
        return None
    items = {}
    for item in channel.iterfind("item"):
        guid = item.findtext("guid")
        if guid:
            enclosure = item.find("enclosure")
            url = enclosure.get("url", "") if enclosure is not None else ""
            items[guid] = PastItem(audio_version(url), corrected_on(item.findtext("description") or ""))
    return PastFeed(
        guid=channel.findtext(f"{{{PODCAST}}}guid") or None,
        built=_moment(channel.findtext("lastBuildDate")),
        items=items,
    )


Versions = dict[str, dict[str, PastItem]]  # language → item guid → as last published


def read_versions(path: Path) -> Versions:
    """``feed-versions.json``: each feed's items as last published, those that left it included;
    empty when there is none, and (logged) when it cannot be read."""
    try:
        data = json.loads(path.read_bytes())
        return {
            code: {
                guid: PastItem(entry.get("version"), _day(entry.get("corrected")))
                for guid, entry in items.items()
            }
            for code, items in data.items()
        }
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        log.warning(
            "%s could not be read (%s): the feeds' corrections are read from the feeds alone", path, exc
        )
        return {}


def write_versions(path: Path, versions: Versions) -> None:
    """Write ``feed-versions.json`` unless it already holds ``versions``.

    Raises:
        OSError: it cannot be written.
    """
    data: dict[str, Any] = {
        code: {
            guid: {
                "version": item.version,
                "corrected": item.corrected.isoformat() if item.corrected else None,
            }
            for guid, item in sorted(items.items())
        }
        for code, items in sorted(versions.items())
    }
    write_if_changed(path, json_bytes(data))


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def version_of(sha256: str | None) -> str | None:
    """The audio's version: the first 12 hex digits of its sha256 (None without one)."""
    return sha256[:12] if sha256 else None


def versioned(url: str, sha256: str | None) -> str:
    """``url`` with the audio's version (``version_of``) as ``?v=``."""
    version = version_of(sha256)
    return url if version is None else f"{url}?{VERSION_PARAMETER}={version}"


def audio_version(url: str) -> str | None:
    """The ``v`` an enclosure URL carries, or None."""
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(VERSION_PARAMETER)
    return values[0] if values else None


def corrected_line(day: dt.date) -> str:
    """The description's line for a correction on ``day``: "Corrected on 2 December 2026"."""
    return f"{CORRECTED} {day.day} {MONTHS[day.month - 1]} {day.year}"


def corrected_on(description: str) -> dt.date | None:
    """The date in a description's "Corrected on" line (its last: the first lines are the
    article's own lead, which may read like one), or None."""
    match = _CORRECTED_LINE.match(description.rstrip().rsplit("\n", 1)[-1])
    if match is None or match.group(2) not in MONTHS:
        return None
    try:
        return dt.date(int(match.group(3)), MONTHS.index(match.group(2)) + 1, int(match.group(1)))
    except ValueError:
        return None


def _moment(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
