"""The web harvest on a hard night: a crash after a page was fetched, a source whose parser raises,
an article whose extraction raises, the same article listed twice (by two feeds, with tracking
parameters, under a guid and a URL), and a web article whose title is a file article's id."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.state.store import StateStore
from pipeline.text.slug import article_id as slug_id
from pipeline.web import harvest as harvest_module
from pipeline.web import listing as listing_module
from pipeline.web.sources_folder import SourcesFolder

from .newsroom_site import Newsroom, page
from .test_web_sources import atom, harvest, newsroom, sitemap, taken_urls

__all__ = ["newsroom"]  # the fixture, shared


def latest_files(tmp_path: Path) -> dict[str, dict]:
    files = (tmp_path / "job" / "sources").glob("*/latest.json")
    return {path.parent.name: json.loads(path.read_text("utf-8")) for path in files}


def test_a_night_cut_short_after_a_page_was_fetched_takes_its_new_version_next_night(
    newsroom: Newsroom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, story = newsroom.site, newsroom.stories[0]
    assert harvest(tmp_path, urls=[site.url(story.path)]).taken == 1
    story.paragraphs.append("A correction was added after the first edition went out.")
    site.route(story.path, page(story, site), etag="v2", headers={"Content-Type": "text/html"})

    def full_disk(*args: object) -> bool:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:  # the night ends after the page came, before it was kept
        patch.setattr(SourcesFolder, "write", full_disk)
        with pytest.raises(OSError):
            harvest(tmp_path, urls=[site.url(story.path)])

    again = harvest(tmp_path, urls=[site.url(story.path)])

    assert again.taken == 1  # not a 304 taken for the version never kept
    (article,) = latest_files(tmp_path).values()
    assert article["body"][-1] == "A correction was added after the first edition went out."


def test_a_source_whose_parser_raises_anything_fails_alone(
    newsroom: Newsroom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    site, stories = newsroom.site, newsroom.stories[:2]
    site.route("/atom.xml", atom(stories[:1], site), headers={"Content-Type": "application/atom+xml"})

    def broken(*args: object) -> object:
        raise KeyError("entries")

    monkeypatch.setattr(listing_module, "parse_feed", broken)
    report = harvest(tmp_path, feeds=[site.url("/atom.xml")], urls=[site.url(stories[1].path)])

    assert (report.sources_failed, report.taken) == (1, 1)
    assert taken_urls(tmp_path) == {site.url(stories[1].path)}
    lines = [r for r in caplog.records if r.levelno >= logging.INFO and "cannot be read" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None


def test_an_article_whose_extraction_raises_fails_with_one_line_and_no_traceback(
    newsroom: Newsroom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    site, stories = newsroom.site, newsroom.stories[:2]
    real = harvest_module.extract_article
    bad = site.url(stories[0].path)

    def surprising(text: str, url: str) -> object:
        if url == bad:
            raise IndexError("list index out of range")
        return real(text, url)

    monkeypatch.setattr(harvest_module, "extract_article", surprising)
    report = harvest(tmp_path, urls=[site.url(s.path) for s in stories])

    assert report.taken == 1 and [f.article_id for f in report.failures] != []
    assert (
        report.failures[0].message
        == f"{bad}: unexpected error while extracting its article: IndexError: list index out of range"
    )
    shown = [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info]
    assert shown == []  # the traceback is the run log's (debug), never the console's


def test_two_feeds_listing_the_same_article_take_it_once_and_agree_night_after_night(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    site, stories = newsroom.site, newsroom.stories[:2]
    site.route("/atom.xml", atom(stories, site), headers={"Content-Type": "application/atom+xml"})
    other = atom(stories, site).replace("<summary>", "<summary>Updated: ")  # the same guids, other words
    site.route("/atom-world.xml", other, headers={"Content-Type": "application/atom+xml"})
    feeds = [site.url("/atom.xml"), site.url("/atom-world.xml")]

    first = harvest(tmp_path, feeds=feeds)
    assert (first.taken, len(latest_files(tmp_path))) == (2, 2)
    site.requests.clear()
    second = harvest(tmp_path, feeds=feeds)

    assert (second.taken, second.unchanged, newsroom.page_requests()) == (0, 2, 0)


def test_a_url_with_tracking_parameters_is_the_same_article(newsroom: Newsroom, tmp_path: Path) -> None:
    site, story = newsroom.site, newsroom.stories[0]
    urls = [site.url(story.path), site.url(story.path) + "?utm_source=newsletter&utm_medium=email"]

    report = harvest(tmp_path, urls=urls)

    assert report.taken == 1 and len(latest_files(tmp_path)) == 1
    assert newsroom.page_requests() == 1  # known by its URL alone: not even fetched twice


def test_a_page_listed_under_a_guid_and_by_its_url_is_one_article(newsroom: Newsroom, tmp_path: Path) -> None:
    site, story = newsroom.site, newsroom.stories[0]
    site.route("/atom.xml", atom([story], site), headers={"Content-Type": "application/atom+xml"})

    report = harvest(tmp_path, feeds=[site.url("/atom.xml")], urls=[site.url(story.path) + "?ref=home"])

    assert report.taken == 1 and len(latest_files(tmp_path)) == 1


def test_a_web_article_never_takes_the_id_of_a_file_article(newsroom: Newsroom, tmp_path: Path) -> None:
    site, story = newsroom.site, newsroom.stories[0]
    state = StateStore.open(tmp_path / "state.sqlite")
    try:  # a file article of the job, translated last night, whose id is the story's title's slug
        state.record_done(
            harvest_module._shortened(slug_id(story.title)), "sq", "text", "k", {}, state.begin_run(1)
        )
    finally:
        state.close()

    harvest(tmp_path, urls=[site.url(story.path)])

    assert list(latest_files(tmp_path)) == [f"{harvest_module._shortened(slug_id(story.title))}-2"]


def test_a_sitemap_index_left_as_it_is_still_brings_its_changed_child(
    newsroom: Newsroom, tmp_path: Path
) -> None:
    site, stories = newsroom.site, newsroom.stories
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/sitemap-news.xml')}</loc></sitemap></sitemapindex>"
    )
    xml = {"Content-Type": "application/xml"}
    site.route("/sitemap.xml", index, etag="index", headers=xml)  # a static file: the same every night
    site.route("/sitemap-news.xml", sitemap(stories[:2], site), etag="news-1", headers=xml)
    assert harvest(tmp_path, sitemaps=[site.url("/sitemap.xml")]).taken == 2

    site.route("/sitemap-news.xml", sitemap(stories[:3], site), etag="news-2", headers=xml)  # tonight's
    again = harvest(tmp_path, sitemaps=[site.url("/sitemap.xml")])

    assert again.taken == 1 and site.url(stories[2].path) in taken_urls(tmp_path)
