"""Podcast feeds as apps read them: the real CLI narrates the tiny models' output with espeak-ng,
and each feed is parsed back with feedparser and with lxml and checked element by element."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner, Result
from lxml import etree

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.editor.service import EditorService
from pipeline.report.feeds import published

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .requirements import needs_espeak

BASE = "https://news.example/audio/"
IMAGE = "https://news.example/cover.jpg"
FEEDS = {"base_url": BASE.rstrip("/"), "image": IMAGE}  # what every feed needs
NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "atom": "http://www.w3.org/2005/Atom",
    "podcast": "https://podcastindex.org/namespace/1.0",
}
LANGUAGES = {
    "sq": ("Albanian", "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale."),
    "uk": ("Ukrainian", "Це аудіо створено за допомогою штучного інтелекту."),
}
ARTICLE_IDS = [path.stem for path in SAMPLE_ARTICLES]  # each file's date is in its name


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def run(config: Path, *args: str) -> None:
    result = invoke("run", str(config), *args)
    assert result.exit_code == 0, result.stderr


def narrated(write_config: WriteConfig, feeds: dict[str, Any], **overrides: Any) -> Path:
    """Run a job narrated by espeak-ng with these ``feeds`` settings; returns its config file."""
    config = write_config(
        tts={"engine": "espeak-ng", "pause": 0.2, "artist": "Test Newsroom"}, feeds=feeds, **overrides
    )
    run(config)
    return config


def job_dir(config: Path) -> Path:
    return config.parent / "out" / "test"


def feed_path(config: Path, code: str) -> Path:
    return job_dir(config) / "public" / "feeds" / f"{code}.xml"


def text(parent: Any, path: str) -> str:
    (element,) = parent.findall(path, NS)
    return element.text


def rfc822(date: str) -> str:
    return email.utils.format_datetime(dt.datetime.fromisoformat(f"{date}T06:00:00+00:00"))


@needs_espeak
def test_feeds_parse_back_element_by_element(write_config: WriteConfig, articles: Path) -> None:
    config = narrated(
        write_config,
        {**FEEDS, "title": "Night desk", "subcategory": "Politics", "owner_email": "desk@news.example",
         "copyright": "© 2024 News Example"},
    )  # fmt: skip
    job = job_dir(config)
    assert not (job / "feeds").exists()  # feeds are served from the public folder only
    manifest = json.loads((job / "manifest.json").read_text())
    newest_first = sorted(ARTICLE_IDS, reverse=True)
    for code, (name, disclosure) in LANGUAGES.items():
        data = feed_path(config, code).read_bytes()

        # feedparser: what most podcast apps' parsers make of it
        parsed = feedparser.parse(data)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.version == "rss20"
        channel = parsed.feed
        assert channel.title == f"Night desk ({name})"
        assert channel.link == BASE
        assert channel.subtitle == disclosure  # the description defaults to the disclosure
        assert channel.language == code
        assert channel.rights == "© 2024 News Example"
        assert channel.image.href == IMAGE
        assert [tag.term for tag in channel.tags] == ["News", "Politics"]
        assert channel.itunes_type == "episodic"
        assert channel.author_detail == {"name": "Test Newsroom", "email": "desk@news.example"}
        assert {
            "rel": "self",
            "href": f"{BASE}feeds/{code}.xml",
            "type": "application/rss+xml",
        } in channel.links
        assert [entry.id for entry in parsed.entries] == [f"test:{a}:{code}" for a in newest_first]
        for entry in parsed.entries:
            assert entry.guidislink is False
            assert disclosure in entry.summary
            assert entry.enclosures[0].type == "audio/mpeg"
            assert entry.podcast_transcript["type"] == "text/vtt"

        # lxml: every element and attribute as written
        rss = etree.fromstring(data)
        assert rss.tag == "rss" and rss.get("version") == "2.0"
        assert rss.nsmap == NS  # every namespace declared on the root
        (channel,) = rss.findall("channel")
        assert text(channel, "title") == f"Night desk ({name})"
        assert text(channel, "link") == BASE
        assert text(channel, "description") == disclosure
        assert text(channel, "language") == code
        assert text(channel, "copyright") == "© 2024 News Example"
        assert text(channel, "itunes:author") == "Test Newsroom"  # tts.artist
        assert text(channel, "itunes:owner/itunes:name") == "Test Newsroom"
        assert text(channel, "itunes:owner/itunes:email") == "desk@news.example"
        assert [i.get("href") for i in channel.findall("itunes:image", NS)] == [IMAGE]
        (category,) = channel.findall("itunes:category", NS)
        assert category.get("text") == "News"
        assert [c.get("text") for c in category.findall("itunes:category", NS)] == ["Politics"]
        assert text(channel, "itunes:explicit") == "false"
        assert text(channel, "itunes:type") == "episodic"
        (self_link,) = channel.findall("atom:link", NS)
        assert dict(self_link.attrib) == {
            "href": f"{BASE}feeds/{code}.xml", "rel": "self", "type": "application/rss+xml"
        }  # fmt: skip
        items = channel.findall("item")
        assert len(items) == len(ARTICLE_IDS)
        # the newest item's date, not the time of the run: an unchanged feed keeps its bytes
        assert text(channel, "lastBuildDate") == text(items[0], "pubDate")
        for item, article_id in zip(items, newest_first, strict=True):
            (entry,) = [
                i for i in manifest["items"] if i["article_id"] == article_id and i["language"] == code
            ]
            record = json.loads((job / entry["files"]["json"]).read_text())
            folder = f"{BASE}{article_id}/{code}/"
            assert text(item, "title") == record["narration"]["title"]
            assert text(item, "link") == folder + "article.txt"
            (guid,) = item.findall("guid")
            assert (guid.text, guid.get("isPermaLink")) == (f"test:{article_id}:{code}", "false")
            assert text(item, "pubDate") == rfc822(record["source"]["date"])
            assert record["source"]["date"] == article_id[:10]
            lead = " ".join(s["target"] for s in record["paragraphs"][0]["sentences"])
            assert text(item, "description") == f"{lead}\n\n{disclosure}"
            (enclosure,) = item.findall("enclosure")
            audio = job / entry["files"]["audio"]
            version = hashlib.sha256(audio.read_bytes()).hexdigest()[:12]  # a new URL for new audio
            assert entry["narration"]["sha256"][:12] == version
            assert dict(enclosure.attrib) == {
                "url": f"{folder}narration.mp3?v={version}",
                "length": str(audio.stat().st_size),
                "type": "audio/mpeg",
            }
            public_audio = job / "public" / article_id / code / "narration.mp3"
            if public_audio.exists():  # the served copy, where the public folder is written
                assert public_audio.stat().st_size == audio.stat().st_size
            seconds = round(record["narration"]["duration"])
            assert seconds > 1
            assert text(item, "itunes:duration") == f"00:{seconds // 60:02d}:{seconds % 60:02d}"
            (transcript,) = item.findall("podcast:transcript", NS)
            assert transcript.get("url") == folder + "transcript.vtt"
            assert transcript.get("type") == "text/vtt"


@needs_espeak
def test_feeds_limit_and_item_link(write_config: WriteConfig, articles: Path) -> None:
    config = narrated(
        write_config, {**FEEDS, "limit": 2, "item_link": "https://news.example/{language}/{article_id}"}
    )
    for code in LANGUAGES:
        channel = etree.fromstring(feed_path(config, code).read_bytes()).find("channel")
        newest = sorted(ARTICLE_IDS, reverse=True)[:2]
        assert [text(item, "guid") for item in channel.findall("item")] == [
            f"test:{a}:{code}" for a in newest
        ]
        assert [text(item, "link") for item in channel.findall("item")] == [
            f"https://news.example/{code}/{a}" for a in newest
        ]


@needs_espeak
def test_a_feed_reads_only_the_articles_it_can_hold(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review rewrites its language's feed: it opens the ``article.json`` of the ``limit`` newest
    items (by the manifest's dates), not of every article in the job."""
    from pipeline.report import feeds

    config = narrated(write_config, {**FEEDS, "limit": 2})
    job = load_config(config)
    manifest = json.loads((job_dir(config) / "manifest.json").read_text())
    before = feed_path(config, "sq").read_bytes()
    opened: list[str] = []
    real = feeds.read_record
    monkeypatch.setattr(
        feeds, "read_record", lambda path: opened.append(path.parent.parent.name) or real(path)
    )
    feeds.write_feeds(job, manifest, {"sq"})
    assert opened == sorted(ARTICLE_IDS, reverse=True)[:2]  # the oldest, a week older, is not opened
    assert feed_path(config, "sq").read_bytes() == before


def test_an_article_a_day_older_may_still_be_published_later() -> None:
    """Its date is the source's, its publish time is in UTC: they may be a day apart either way."""
    from pipeline.report.feeds import _cannot_beat

    kept = dt.datetime(2024, 3, 5, 2, 0, tzinfo=dt.UTC)
    assert not _cannot_beat({"date": "2024-03-04"}, kept)
    assert _cannot_beat({"date": "2024-03-03"}, kept)
    assert not _cannot_beat({"date": ""}, kept)


@needs_espeak
def test_a_language_without_narration_gets_no_feed(
    write_config: WriteConfig, articles: Path, tiny_models: dict
) -> None:
    languages = {
        "sq": {"model": str(tiny_models["sq"])},
        "uk": {"model": str(tiny_models["uk"]), "tts": {"engine": "none"}},
    }
    config = narrated(write_config, FEEDS, languages=languages)
    assert feed_path(config, "sq").is_file()
    assert not feed_path(config, "uk").exists()
    assert (job_dir(config) / "2024-03-05-grain-corridor" / "uk" / "article.txt").is_file()  # text only


@needs_espeak
def test_feeds_are_rewritten_only_when_their_content_changes(
    write_config: WriteConfig, articles: Path
) -> None:
    config = narrated(write_config, FEEDS)
    paths = [feed_path(config, code) for code in LANGUAGES]
    before = [path.stat().st_mtime_ns for path in paths]
    run(config)  # nothing changed: not a byte, not the mtime
    assert [path.stat().st_mtime_ns for path in paths] == before

    everything = output_files(config.parent / "out")
    run(config, "--set", "feeds.base_url=https://cdn.example/news")  # an up-to-date job, a new URL
    changed = {path for path, stat in output_files(config.parent / "out").items() if everything[path] != stat}
    assert changed == set(paths)  # the feeds, and nothing else
    after = [path.stat().st_mtime_ns for path in paths]
    assert all(a != b for a, b in zip(after, before, strict=True))
    for path in paths:
        data = path.read_bytes()
        assert b"https://news.example/audio" not in data
        assert b'url="https://cdn.example/news/2024-03-05-grain-corridor/' in data
    run(config, "--set", "feeds.base_url=https://cdn.example/news")
    assert [path.stat().st_mtime_ns for path in paths] == after


def output_files(root: Path) -> dict[Path, int]:
    """Every output a run leaves with its mtime (not its logs, lock or state, which every run updates)."""
    return {
        path: path.stat().st_mtime_ns
        for path in root.rglob("*")
        if path.is_file() and "logs" not in path.parts and not path.name.startswith((".lock", "state.sqlite"))
    }


def one_error_line(config: Path) -> str:
    result = invoke("validate", str(config))
    assert result.exit_code == 2, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_feeds_need_an_image(write_config: WriteConfig, articles: Path) -> None:
    config = write_config(feeds={"base_url": BASE})
    line = one_error_line(config)
    assert line.startswith(f"error: {config}:")
    assert "feeds.image: podcast feeds (feeds.base_url is set) need the show's artwork" in line
    assert invoke("validate", str(write_config(feeds={"image": IMAGE}))).exit_code == 0  # feeds off


@pytest.mark.parametrize(
    ("feeds", "expected"),
    [
        ({"category": "Newz"}, "feeds.category: 'Newz' is not an Apple Podcasts category (did you mean 'Ne"),
        ({"category": "News & Politics"}, "Apple renamed 'News & Politics' to 'News' in 2019"),
        ({"category": "Sport"}, "'Sport' is not an Apple Podcasts category (did you mean 'Sports'?"),
        ({"subcategory": "Politcs"}, "'Politcs' is not a subcategory of 'News' (did you mean 'Politics'?"),
        ({"subcategory": "Baseball"}, "feeds.subcategory: 'Baseball' is a subcategory of 'Sports', not of"),
        ({"category": "True Crime", "subcategory": "Drama"}, "'True Crime' has no subcategories"),
        ({"item_link": "https://news.example/{id}"}, "feeds.item_link: unknown placeholder {id} (known: {a"),
        ({"item_link": "https://news.example/{language}"}, "put {article_id} in it"),
        ({"item_link": "https://news.example/{article_id"}, "feeds.item_link: not a valid pattern"),
        ({"owner_email": "desk"}, "feeds.owner_email: string should match pattern"),
        ({"limit": 0}, "feeds.limit: input should be greater than or equal to 1"),
    ],
)  # fmt: skip
def test_feed_settings_are_checked(
    write_config: WriteConfig, articles: Path, feeds: dict[str, Any], expected: str
) -> None:
    line = one_error_line(write_config(feeds={**FEEDS, **feeds}))
    assert expected in line


def test_apples_categories_are_accepted(write_config: WriteConfig, articles: Path) -> None:
    for category, subcategory in [
        ("News", "Daily News"),
        ("Society & Culture", None),
        ("TV & Film", "After Shows"),
    ]:
        feeds = {**FEEDS, "category": category, "subcategory": subcategory}
        result = invoke("validate", str(write_config(feeds=feeds)))
        assert result.exit_code == 0, result.stderr


def test_publication_time() -> None:
    """The article's date at 06:00 UTC, or its own time where the input gives one."""
    assert published("2024-02-28") == dt.datetime(2024, 2, 28, 6, tzinfo=dt.UTC)
    assert published("2024-02-28T19:30:00+01:00") == dt.datetime(2024, 2, 28, 18, 30, tzinfo=dt.UTC)
    assert published("2024-02-28T19:30:00") == dt.datetime(2024, 2, 28, 19, 30, tzinfo=dt.UTC)


TIMED_HTML = """<html><head><meta property="article:published_time" content="2026-11-30T08:15:00+01:00">
<title>Ukraine and Albania sign a treaty</title></head><body><article>
<p>Ukraine and Albania signed a treaty on friendship and cooperation.</p></article></body></html>
"""
ONE_TITLE_MD = """---
date: 2024-03-20
title: Grain corridor
---
# Grain corridor

Ukraine and Albania signed a treaty on friendship and cooperation.
"""


@needs_espeak
def test_the_articles_own_publish_time_dates_its_episode(write_config: WriteConfig, tmp_path: Path) -> None:
    """An HTML page's time is the episode's pubDate and shows on its page; a date alone is 06:00 UTC;
    a Markdown title written twice (front matter and heading) is translated and narrated once."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "timed.html").write_text(TIMED_HTML, "utf-8")
    (folder / "one-title.md").write_text(ONE_TITLE_MD, "utf-8")
    shutil.copy(SAMPLE_ARTICLES[0], folder / SAMPLE_ARTICLES[0].name)
    config = narrated(write_config, FEEDS)
    job = job_dir(config)
    timed = "timed"
    for code in LANGUAGES:
        channel = etree.fromstring(feed_path(config, code).read_bytes()).find("channel")
        dates = {text(i, "guid").split(":")[1]: text(i, "pubDate") for i in channel.findall("item")}
        assert dates[timed] == "Mon, 30 Nov 2026 07:15:00 +0000"
        assert dates[SAMPLE_ARTICLES[0].stem] == rfc822("2024-02-28")  # a date alone: 06:00 UTC
        assert text(channel, "lastBuildDate") == "Mon, 30 Nov 2026 07:15:00 +0000"

        source = json.loads((job / timed / code / "article.json").read_text())["source"]
        assert (source["date"], source["published"], source["updated"]) == (
            "2026-11-30", "2026-11-30T07:15:00Z", None
        )  # fmt: skip

        record = json.loads((job / "one-title" / code / "article.json").read_text())
        sources = [s["source"] for p in record["paragraphs"] for s in p["sentences"]]
        assert sources.count("Grain corridor") == 1
        assert len(record["paragraphs"]) == 2  # title and one paragraph: narrated as two chapters
        assert [c["block"] for c in record["narration"]["chapters"] if c["block"] is not None] == [0, 1]
    page = (job / timed / "index.html").read_text()
    assert '<time datetime="2026-11-30T07:15:00Z">2026-11-30 07:15 UTC</time>' in page
    service = EditorService(load_config(config))  # the review app's article view
    try:
        assert service.article(timed, "sq")["time"] == {
            "iso": "2026-11-30T07:15:00Z",
            "text": "2026-11-30 07:15 UTC",
        }
    finally:
        service.close()
