"""The web ingest end to end: ``pipeline run`` on feeds served by a real local site (sockets), with
the tiny models: every entry delivered, the page furniture left out, nothing fetched twice that
has not changed, and each fault one line for its article while the rest are delivered."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .newsroom_site import Newsroom, sample_stories
from .requirements import needs_espeak
from .websites import Request, Site

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
WEB = {"host_interval_s": 0, "timeout_s": 2, "max_bytes": 2_000_000}


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def newsroom() -> Iterator[Newsroom]:
    with Site() as site:
        room = Newsroom(site, sample_stories(SAMPLE_ARTICLES, NOW - dt.timedelta(hours=5)))
        room.publish()
        yield room


def job_dir(config: Path) -> Path:
    return config.parent / "out" / "test"


def manifest(config: Path) -> dict:
    return json.loads((job_dir(config) / "manifest.json").read_text("utf-8"))


def latest(config: Path) -> dict[str, dict]:
    """Each taken article's ``latest.json``, by id."""
    folder = job_dir(config) / "sources"
    return {path.parent.name: json.loads(path.read_text("utf-8")) for path in folder.glob("*/latest.json")}


@needs_espeak
def test_a_feed_is_delivered_then_costs_one_conditional_request(
    newsroom: Newsroom, write_config: WriteConfig
) -> None:
    config = write_config(
        input={"feeds": [newsroom.site.url("/feed.xml")], "web": WEB},
        tts={"engine": "espeak-ng"},
        feeds={"base_url": "https://cdn.example/news", "image": "https://cdn.example/show.jpg"},
    )

    first = invoke("run", str(config))

    assert first.exit_code == 0, first.stderr
    taken = latest(config)
    assert len(taken) == len(newsroom.stories)
    for story in newsroom.stories:
        (article,) = [a for a in taken.values() if a["url"] == newsroom.site.url(story.path)]
        assert article["body"] == story.paragraphs  # the article's text, paragraph for paragraph
        assert article["title"] == story.title
        assert article["published"] == story.published.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        text = json.dumps(article, ensure_ascii=False)
        assert not [bit for bit in newsroom.furniture if bit in text]
        for code in ("sq", "uk"):
            assert (job_dir(config) / article["id"] / code / "article.txt").is_file()
            assert (job_dir(config) / article["id"] / code / "narration.mp3").stat().st_size > 1000
        assert list((job_dir(config) / "sources" / article["id"] / "versions").glob("*.html.gz"))
    assert manifest(config)["counts"]["ok"] == 2 * len(newsroom.stories)
    for code in ("sq", "uk"):  # the podcast feeds: an episode per story, dated by the story's own time
        feed = feedparser.parse((job_dir(config) / "public" / "feeds" / f"{code}.xml").read_bytes())
        dates = sorted(dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC) for entry in feed.entries)
        assert dates == sorted(story.published for story in newsroom.stories)
    assert newsroom.page_requests() == len(newsroom.stories)

    newsroom.site.requests.clear()
    files = {path: path.stat().st_mtime_ns for path in job_dir(config).glob("sources/**/*")}
    second = invoke("run", str(config))

    assert second.exit_code == 0, second.stderr
    assert files == {path: path.stat().st_mtime_ns for path in job_dir(config).glob("sources/**/*")}
    feed_requests = [r for r in newsroom.site.requests if r.path == "/feed.xml"]
    assert len(feed_requests) == 1 and "if-none-match" in feed_requests[0].headers
    assert newsroom.page_requests() == 0
    assert "0 to do" in second.stderr


def test_a_changed_entry_is_taken_again_as_a_new_version_of_the_same_article(
    newsroom: Newsroom, write_config: WriteConfig
) -> None:
    config = write_config(input={"feeds": [newsroom.site.url("/feed.xml")], "web": WEB})
    assert invoke("run", str(config)).exit_code == 0
    before = latest(config)
    story = newsroom.stories[1]
    story.paragraphs[-1] = "The ministry corrected the figures on Thursday evening."
    story.updated = NOW
    newsroom.publish()
    newsroom.site.requests.clear()

    result = invoke("run", str(config))

    assert result.exit_code == 0, result.stderr
    assert newsroom.page_requests() == 1  # the changed entry's page only
    after = latest(config)
    assert after.keys() == before.keys()  # the same ids
    (changed,) = [i for i in after if after[i]["body"] != before[i]["body"]]
    assert after[changed]["body"][-1] == story.paragraphs[-1]
    assert len(list((job_dir(config) / "sources" / changed / "versions").glob("*.json"))) == 2
    assert "2 done" in result.stderr  # its two languages only


def test_full_content_feeds_need_no_page(newsroom: Newsroom, write_config: WriteConfig) -> None:
    config = write_config(input={"feeds": [newsroom.site.url("/full.xml")], "web": WEB})

    result = invoke("run", str(config))

    assert result.exit_code == 0, result.stderr
    assert newsroom.page_requests() == 0
    assert sorted(a["body"][0] for a in latest(config).values()) == sorted(
        s.paragraphs[0] for s in newsroom.stories
    )


def trickle(request: Request) -> tuple[int, dict[str, str], Iterator[bytes]]:
    def body() -> Iterator[bytes]:
        yield b"<html><body><p>"
        for _ in range(100):
            time.sleep(0.2)
            yield b"x"

    return 200, {"Content-Type": "text/html"}, body()


def huge(request: Request) -> tuple[int, dict[str, str], Iterator[bytes]]:
    return 200, {"Content-Type": "text/html"}, (b"<p>" + b"word " * 20_000 for _ in range(500))  # 50 MB


FAULTS = {  # path → how it is served, and what the one line about it says
    "/news/gone-500.html": ({"status": 500, "body": "oops"}, "500"),
    "/news/missing.html": ({"status": 404, "body": "no"}, "404"),
    "/news/slow.html": ({"handler": trickle}, "within"),
    "/news/huge.html": ({"handler": huge}, "bytes"),
    "/news/loop-a.html": ({"status": 302, "headers": {"Location": "/news/loop-b.html"}}, "redirect"),
    "/news/loop-b.html": ({"status": 302, "headers": {"Location": "/news/loop-a.html"}}, None),
    "/news/report.pdf": ({"body": b"%PDF-1.4", "headers": {"Content-Type": "application/pdf"}}, "not HTML"),
    "/private/secret.html": ({"body": "<p>x</p>", "headers": {"Content-Type": "text/html"}}, "robots"),
}


def test_each_fault_fails_its_article_with_one_line_and_the_rest_are_delivered(
    newsroom: Newsroom, write_config: WriteConfig
) -> None:
    site = newsroom.site
    for path, (route, _) in FAULTS.items():
        site.route(path, **route)
    site.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
    good = newsroom.stories[0]
    latin = newsroom.stories[1]  # served as UTF-8 while the header says ISO-8859-1
    latin.paragraphs[0] += " Officials in Kyiv (Київ) and Tirana (Shqipëri) agreed."
    newsroom.publish()
    site.route(
        latin.path, _page_of(newsroom, latin), headers={"Content-Type": "text/html; charset=iso-8859-1"}
    )
    urls = [site.url(good.path), site.url(latin.path)] + [
        site.url(p) for p, (_, said) in FAULTS.items() if said
    ]
    url_file = write_config().parent / "urls.txt"
    url_file.write_text("# tonight's pages\n" + "\n".join(urls) + "\n", "utf-8")
    config = write_config(input={"url_file": "urls.txt", "feeds": [site.url("/not-a-feed.xml")], "web": WEB})
    site.route(
        "/not-a-feed.xml", "<html><body>Sorry, we moved</body></html>", headers={"Content-Type": "text/html"}
    )

    started = time.monotonic()
    result = invoke("run", str(config))

    assert time.monotonic() - started < 60
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    for path, (_, said) in FAULTS.items():
        if said is None:
            continue
        about = [line for line in lines if site.url(path) in line and "ERROR" in line]
        assert len(about) == 1 and said in about[0], (path, about)
    assert len([line for line in lines if "/not-a-feed.xml" in line]) == 1
    taken = latest(config)
    assert {a["url"] for a in taken.values()} == {site.url(good.path), site.url(latin.path)}
    (latin_article,) = [a for a in taken.values() if a["url"] == site.url(latin.path)]
    assert "Київ" in latin_article["body"][0] and "Shqipëri" in latin_article["body"][0]
    assert site.count("/private/secret.html") == 0
    assert site.sent("/news/huge.html") < 10_000_000
    counts = manifest(config)["counts"]
    assert counts["ok"] == 4 and counts["failed"] == 2 * 7


def _page_of(newsroom: Newsroom, story: object) -> bytes:
    from .newsroom_site import page

    return page(story, newsroom.site).encode("utf-8")  # type: ignore[arg-type]


def test_a_page_gone_retracts_its_article(newsroom: Newsroom, write_config: WriteConfig) -> None:
    story = newsroom.stories[0]
    config = write_config(input={"urls": [newsroom.site.url(story.path)], "web": WEB})
    assert invoke("run", str(config)).exit_code == 0
    (article_id,) = latest(config)

    newsroom.site.route(story.path, status=410, body="gone")
    result = invoke("run", str(config))

    assert result.exit_code == 0, result.stderr
    assert "retracted" in result.stderr
    statuses = {item["status"] for item in manifest(config)["items"] if item["article_id"] == article_id}
    assert statuses == {"retracted"}
    assert (job_dir(config) / "sources" / article_id / "retracted.json").is_file()


def test_a_known_page_that_fails_keeps_its_article(newsroom: Newsroom, write_config: WriteConfig) -> None:
    story = newsroom.stories[0]
    config = write_config(input={"urls": [newsroom.site.url(story.path)], "web": WEB})
    assert invoke("run", str(config)).exit_code == 0

    newsroom.site.route(story.path, status=503, body="down")
    result = invoke("run", str(config))

    assert "keeps its last version" in result.stderr
    assert {item["status"] for item in manifest(config)["items"]} == {"ok"}


def test_a_listed_page_unchanged_is_not_taken_again(newsroom: Newsroom, write_config: WriteConfig) -> None:
    story = newsroom.stories[0]
    newsroom.site.route(
        story.path, _page_of(newsroom, story), headers={"Content-Type": "text/html"}
    )  # no ETag
    config = write_config(input={"urls": [newsroom.site.url(story.path)], "web": WEB})
    assert invoke("run", str(config)).exit_code == 0
    files = {path: path.stat().st_mtime_ns for path in job_dir(config).glob("sources/**/*")}

    result = invoke("run", str(config))

    assert result.exit_code == 0, result.stderr
    assert newsroom.site.count(story.path) == 2  # asked again: a bare URL says nothing of changes
    assert files == {path: path.stat().st_mtime_ns for path in job_dir(config).glob("sources/**/*")}
    assert "0 to do" in result.stderr


def test_validate_shows_what_each_source_would_bring(newsroom: Newsroom, write_config: WriteConfig) -> None:
    site = newsroom.site
    site.route("/down.xml", status=404, body="no")
    config = write_config(input={"feeds": [site.url("/feed.xml"), site.url("/down.xml")], "web": WEB})

    before = invoke("validate", str(config))
    assert not job_dir(config).exists()  # validate fetched, and wrote nothing
    assert invoke("run", str(config)).exit_code == 1  # the second feed cannot be read
    newsroom.stories[0].updated = NOW
    newsroom.publish()
    after = invoke("validate", str(config))

    window = "in the window (the last 7 days, at most 100)"
    assert (
        f"  {site.url('/feed.xml')}: 3 article(s) {window}: 3 new, 0 to check again, 0 taken" in before.stdout
    )
    assert (
        f"  {site.url('/feed.xml')}: 3 article(s) {window}: 0 new, 1 to check again, 2 taken" in after.stdout
    )
    assert (
        f"  {site.url('/down.xml')}: cannot be read: {site.url('/down.xml')}: 404 Not Found" in after.stdout
    )


def test_no_fetch_works_on_what_was_taken_and_asks_no_site(
    newsroom: Newsroom, write_config: WriteConfig
) -> None:
    config = write_config(input={"feeds": [newsroom.site.url("/feed.xml")], "web": WEB})
    assert invoke("run", str(config)).exit_code == 0
    newsroom.site.requests.clear()

    result = invoke("run", str(config), "--no-fetch")

    assert result.exit_code == 0, result.stderr
    assert newsroom.site.requests == []
    assert "0 to do" in result.stderr and len(latest(config)) == len(newsroom.stories)
