"""Feeds keep their word to listeners: a feed whose items all leave stays a valid channel, an
editor's correction reaches apps as a new enclosure URL under the same guid, an unchanged run
rewrites nothing, and the channel carries podcast:guid and podcast:locked. Real runs of the CLI
(tiny models, a tone engine whose audio follows the text) and the review app's own save path."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner
from lxml import etree

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.editor.service import EditorService
from pipeline.report.feed_record import PastFeed, PastItem, corrected_on
from pipeline.report.feeds import Episode, against_past, feed_guid
from pipeline.tts import ENGINES

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import tone_engine

BASE = "https://news.example/audio"
FEEDS = {"base_url": BASE, "image": "https://news.example/cover.jpg"}
NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
}
FIRST = SAMPLE_ARTICLES[0].stem
EDIT = "Teksti i redaktorit, i korrigjuar me kujdes pas botimit të parë të lajmit."


@pytest.fixture(autouse=True)
def tones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``tones`` engine: a tone as long as the text, so an edit changes the MP3's bytes."""
    monkeypatch.setitem(ENGINES, "tones", tone_engine("tones", None, lambda text: 0.1 + len(text) / 200))


def job(write_config: WriteConfig, tiny_models: dict[str, Path], **feeds: Any) -> Path:
    """A config whose sq is narrated by the tone engine and uk is text only."""
    return write_config(
        languages={
            "sq": {"model": str(tiny_models["sq"])},
            "uk": {"model": str(tiny_models["uk"]), "tts": {"engine": "none"}},
        },
        tts={"engine": "tones", "pause": 0.2},
        feeds={**FEEDS, **feeds},
    )


def run(config: Path, *args: str) -> None:
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr


def feed(config: Path, code: str = "sq") -> Path:
    return config.parent / "out" / "test" / "public" / "feeds" / f"{code}.xml"


def channel_of(data: bytes) -> Any:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "rss20"
    return etree.fromstring(data).find("channel")


def item_of(channel: Any, article_id: str) -> Any:
    (item,) = [i for i in channel.findall("item") if i.findtext("guid") == f"test:{article_id}:sq"]
    return item


def rfc822(text: str) -> dt.datetime:
    return email.utils.parsedate_to_datetime(text)


def test_a_feed_whose_items_all_leave_stays_a_valid_channel(
    write_config: WriteConfig, tiny_models: dict[str, Path], articles: Path
) -> None:
    config = job(write_config, tiny_models)
    run(config, "--set", "review.require_approval=true")  # nothing approved: a narrated language, no items
    channel = channel_of(feed(config).read_bytes())
    assert channel.findall("item") == []
    assert channel.find("lastBuildDate") is None  # nothing was ever built into it
    assert not feed(config, "uk").exists()  # a text-only language has no feed

    run(config)  # now everything is published (items came: built now)...
    published = channel_of(feed(config).read_bytes())
    assert len(published.findall("item")) == len(SAMPLE_ARTICLES)
    built = rfc822(published.findtext("lastBuildDate"))
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    run(config, "--set", "review.require_approval=true")  # ...and withdrawn again
    after = dt.datetime.now(dt.UTC)
    data = feed(config).read_bytes()
    channel = channel_of(data)
    assert channel.findall("item") == []
    for tag in ("title", "link", "description", "language", "copyright", "itunes:author", "itunes:explicit",
                "itunes:type", "podcast:guid"):  # fmt: skip
        assert channel.findtext(tag, namespaces=NS), tag
    assert channel.find("itunes:image", NS).get("href") == FEEDS["image"]
    assert channel.find("itunes:category", NS).get("text") == "News"
    assert channel.findtext("podcast:guid", namespaces=NS) == published.findtext(
        "podcast:guid", namespaces=NS
    )
    emptied = rfc822(channel.findtext("lastBuildDate"))
    assert built <= before <= emptied <= after  # the time its items left, not the newest pubDate
    mtime = feed(config).stat().st_mtime_ns
    run(config, "--set", "review.require_approval=true")
    assert feed(config).read_bytes() == data and feed(config).stat().st_mtime_ns == mtime


def test_a_correction_reaches_listeners_under_the_same_guid(
    write_config: WriteConfig, tiny_models: dict[str, Path], articles: Path
) -> None:
    config = job(write_config, tiny_models, owner_email="desk@news.example")
    run(config)
    path = feed(config)
    first = path.read_bytes()
    old = channel_of(first)
    old_item, old_other = item_of(old, FIRST), item_of(old, SAMPLE_ARTICLES[1].stem)
    assert "Corrected on" not in old_item.findtext("description")  # a first publication is no correction
    mtime = path.stat().st_mtime_ns
    run(config)
    run(config, "--force")  # narrated again to the same bytes: no correction either
    assert path.read_bytes() == first and path.stat().st_mtime_ns == mtime

    service = EditorService(load_config(config), background=False)
    try:
        view = service.article(FIRST, "sq")
        target = [s for paragraph in view["paragraphs"] for s in paragraph][2]
        service.save_edit(FIRST, "sq", target["index"], EDIT, "Ana", target["key"])
    finally:
        service.close()
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    run(config)  # narrates the edited paragraph and publishes it
    after = dt.datetime.now(dt.UTC)

    corrected = path.read_bytes()
    new = channel_of(corrected)
    item = item_of(new, FIRST)
    audio = path.parents[2] / FIRST / "sq" / "narration.mp3"
    mp3 = audio.read_bytes()
    enclosure, old_enclosure = item.find("enclosure"), old_item.find("enclosure")
    assert enclosure.get("url") == f"{BASE}/{FIRST}/sq/narration.mp3?v={hashlib.sha256(mp3).hexdigest()[:12]}"
    assert enclosure.get("url") != old_enclosure.get("url")
    assert enclosure.get("length") == str(len(mp3)) != old_enclosure.get("length")
    assert item.findtext("guid") == old_item.findtext("guid")
    assert item.findtext("pubDate") == old_item.findtext("pubDate")  # the article's own publish time
    built = rfc822(new.findtext("lastBuildDate"))
    assert before <= built <= after
    assert rfc822(old.findtext("lastBuildDate")) < before
    day = built.date()
    line = f"Corrected on {day.day} {day.strftime('%B')} {day.year}"
    assert item.findtext("description") == old_item.findtext("description") + "\n\n" + line
    other = item_of(new, SAMPLE_ARTICLES[1].stem)  # the other episodes as they were
    assert etree.tostring(other) == etree.tostring(old_other)

    mtime = path.stat().st_mtime_ns
    run(config)  # the correction is told once: the next run changes nothing
    assert path.read_bytes() == corrected and path.stat().st_mtime_ns == mtime
    manifest = json.loads((path.parents[2] / "manifest.json").read_text())
    (entry,) = [i for i in manifest["items"] if (i["article_id"], i["language"]) == (FIRST, "sq")]
    assert entry["narration"]["sha256"] == hashlib.sha256(mp3).hexdigest()


def test_podcast_guid_and_locked(
    write_config: WriteConfig, tiny_models: dict[str, Path], articles: Path
) -> None:
    config = job(write_config, tiny_models, owner_email="desk@news.example")
    run(config)
    channel = channel_of(feed(config).read_bytes())
    guid = channel.findtext("podcast:guid", namespaces=NS)
    assert guid == feed_guid(f"{BASE}/feeds/sq.xml") == feed_guid("http://news.example/audio/feeds/sq.xml/")
    (locked,) = channel.findall("podcast:locked", NS)
    assert (locked.text, dict(locked.attrib)) == ("yes", {"owner": "desk@news.example"})

    run(config, "--set", "feeds.base_url=https://cdn.example/news", "--set", "feeds.locked=false")
    channel = channel_of(feed(config).read_bytes())
    assert channel.findtext("podcast:guid", namespaces=NS) == guid  # kept for the podcast's life
    assert channel.find("podcast:locked", NS).text == "no"

    unlocked = job(write_config, tiny_models)
    feed(unlocked).unlink()  # a feed written afresh derives its guid from its URL
    run(unlocked, "--set", "feeds.base_url=https://cdn.example/news")
    channel = channel_of(feed(unlocked).read_bytes())
    assert channel.find("podcast:locked", NS) is None  # no owner to prove it: not locked
    assert channel.findtext("podcast:guid", namespaces=NS) == feed_guid(
        "https://cdn.example/news/feeds/sq.xml"
    )


def test_the_podcast_guid_is_the_namespaces_uuid5() -> None:
    """The examples of the Podcasting 2.0 namespace (docs/tags/guid.md)."""
    assert feed_guid("https://mp3s.nashownotes.com/pc20rss.xml") == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert feed_guid("http://podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"


def episode(sha256: str | None) -> Episode:
    moment = dt.datetime(2026, 11, 30, 7, 15, tzinfo=dt.UTC)
    return Episode("a", "test:a:sq", "A", moment, "Lead.", 1000, 1.0, False, sha256)


@pytest.mark.parametrize(
    ("before", "sha256", "corrected", "built"),
    [
        (None, "abc123def4567890", None, "2026-11-30 07:15"),  # a new feed: its newest item
        (PastItem("abc123def456", None), "abc123def4567890", None, "2026-12-01 09:00"),  # unchanged
        (PastItem("000000000000", None), "abc123def4567890", dt.date(2026, 12, 2), "2026-12-02 10:00"),
        (PastItem("abc123def456", dt.date(2026, 12, 1)), "abc123def4567890", dt.date(2026, 12, 1),
         "2026-12-01 09:00"),  # corrected before, unchanged since
        (PastItem(None, None), "abc123def4567890", None, "2026-12-01 09:00"),  # a feed from before versions
    ],
)  # fmt: skip
def test_what_counts_as_a_correction(
    before: PastItem | None, sha256: str, corrected: dt.date | None, built: str
) -> None:
    now = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)
    past, known = None, {}
    if before is not None:
        known = {"test:a:sq": before}
        past = PastFeed("guid", dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), known)
    (dated,), moment = against_past([episode(sha256)], past, known, now)
    assert dated.corrected == corrected
    assert moment is not None and moment.strftime("%Y-%m-%d %H:%M") == built
    assert corrected_on(f"Lead.\n\nCorrected on {dt.date(2026, 12, 2).day} December 2026") == dt.date(
        2026, 12, 2
    )


def test_a_lead_that_reads_like_a_correction_is_not_one() -> None:
    """Only the description's last line can be the correction line; the lead is the article's."""
    lead = "Corrected on 1 March 2024 the council said.\nCorrected on 1 March 2024"
    assert corrected_on(f"{lead}\n\nAI note.") is None
    assert corrected_on("Lead.\n\nAI note.\n\nCorrected on 2 December 2026") == dt.date(2026, 12, 2)
