"""Each kind of web source through the harvest, against a real local site: Atom with summaries and
linked pages, a JSON Feed with full content, a sitemap index (one child gzipped), a paged WordPress
REST stand-in; a second harvest asks each with its validators and takes nothing again."""

from __future__ import annotations

import datetime as dt
import gzip
import html
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.config.schema import InputConfig
from pipeline.state.store import StateStore
from pipeline.web.harvest import Harvest, HarvestReport, web_client

from .conftest import SAMPLE_ARTICLES
from .newsroom_site import Newsroom, Story, sample_stories
from .websites import Request, Site

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
WEB = {"host_interval_s": 0, "timeout_s": 5}


@pytest.fixture
def newsroom() -> Iterator[Newsroom]:
    with Site() as site:
        stories = sample_stories(SAMPLE_ARTICLES * 3, NOW - dt.timedelta(hours=9))
        for number, story in enumerate(stories):
            story.slug = f"{story.slug}-{number}"
            story.title = f"{story.title} ({number})"
        room = Newsroom(site, stories)
        room.publish()
        yield room


def harvest(tmp_path: Path, **input_config: object) -> HarvestReport:
    config = InputConfig.model_validate({**input_config, "web": WEB})
    state = StateStore.open(tmp_path / "state.sqlite")
    try:
        return Harvest(config, tmp_path / "job", state, web_client(config.web))()
    finally:
        state.close()


def taken_urls(tmp_path: Path) -> set[str]:
    files = (tmp_path / "job" / "sources").glob("*/latest.json")
    return {json.loads(path.read_text("utf-8"))["url"] for path in files}


def atom(stories: list[Story], site: Site) -> str:
    entries = "".join(
        f"<entry><id>urn:story:{s.slug}</id><title>{html.escape(s.title)}</title>"
        f'<link rel="alternate" type="text/html" href="{s.path}"/>'
        f"<updated>{s.published.isoformat()}</updated><summary>{html.escape(s.summary)}</summary></entry>"
        for s in stories
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:base="{site.url("/")}"><title>Daily Courier</title><id>urn:courier</id>'
        f"<updated>{NOW.isoformat()}</updated>{entries}</feed>"
    )


def json_feed(stories: list[Story], site: Site) -> str:
    items = [
        {"id": f"jf-{s.slug}", "url": site.url(s.path), "title": s.title,
         "date_published": s.published.isoformat(),
         "content_html": "".join(f"<p>{html.escape(p)}</p>" for p in s.paragraphs)}
        for s in stories
    ]  # fmt: skip
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Courier", "items": items})


def sitemap(stories: list[Story], site: Site) -> str:
    urls = "".join(
        f"<url><loc>{site.url(s.path)}</loc><lastmod>{s.published.isoformat()}</lastmod></url>"
        for s in stories
    )
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


def test_atom_with_summaries_fetches_each_linked_page_once(newsroom: Newsroom, tmp_path: Path) -> None:
    site, stories = newsroom.site, newsroom.stories[:3]
    site.route("/atom.xml", atom(stories, site), etag="a1", headers={"Content-Type": "application/atom+xml"})

    report = harvest(tmp_path, feeds=[site.url("/atom.xml")])

    assert (report.taken, report.failures) == (3, [])
    assert taken_urls(tmp_path) == {site.url(s.path) for s in stories}
    site.requests.clear()
    again = harvest(tmp_path, feeds=[site.url("/atom.xml")])
    assert (again.taken, newsroom.page_requests(), site.count("/atom.xml")) == (0, 0, 1)


def test_a_json_feed_with_content_needs_no_page(newsroom: Newsroom, tmp_path: Path) -> None:
    site, stories = newsroom.site, newsroom.stories[:4]
    site.route("/feed.json", json_feed(stories, site), headers={"Content-Type": "application/feed+json"})

    report = harvest(tmp_path, feeds=[site.url("/feed.json")])

    assert report.taken == 4 and newsroom.page_requests() == 0
    assert taken_urls(tmp_path) == {site.url(s.path) for s in stories}


def test_a_sitemap_index_and_its_children_gzipped_or_not(newsroom: Newsroom, tmp_path: Path) -> None:
    site, stories = newsroom.site, newsroom.stories
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/sitemap-a.xml')}</loc></sitemap>"
        "<sitemap><loc>/sitemap-b.xml.gz</loc></sitemap></sitemapindex>"
    )
    site.route("/sitemap.xml", index, etag="i1", headers={"Content-Type": "application/xml"})
    site.route(
        "/sitemap-a.xml", sitemap(stories[:4], site), etag="s1", headers={"Content-Type": "application/xml"}
    )
    site.route("/sitemap-b.xml.gz", gzip.compress(sitemap(stories[4:6], site).encode()), etag="s2",
               headers={"Content-Type": "application/gzip"})  # fmt: skip

    report = harvest(tmp_path, sitemaps=[site.url("/sitemap.xml")], max_items=5)

    assert report.taken == 5  # max_items: the newest five of six
    newest = sorted(stories[:6], key=lambda s: s.published, reverse=True)[:5]
    assert taken_urls(tmp_path) == {site.url(s.path) for s in newest}
    site.requests.clear()
    again = harvest(tmp_path, sitemaps=[site.url("/sitemap.xml")], max_items=5)
    assert again.taken == 0 and newsroom.page_requests() == 0
    children = [request for request in site.requests if request.path.startswith("/sitemap-")]
    assert len(children) == 2 and all("if-none-match" in request.headers for request in children)


def wordpress_posts(stories: list[Story], site: Site, per_page: int) -> object:
    def answer(request: Request) -> tuple[int, dict[str, str], bytes]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        page = int(query["page"][0])
        chunk = stories[(page - 1) * per_page : page * per_page]
        posts = [
            {"id": 100 + n, "link": site.url(s.path), "date_gmt": s.published.strftime("%Y-%m-%dT%H:%M:%S"),
             "modified_gmt": s.published.strftime("%Y-%m-%dT%H:%M:%S"), "guid": {"rendered": f"?p={100 + n}"},
             "title": {"rendered": html.escape(s.title)},
             "content": {"rendered": "".join(f"<p>{html.escape(p)}</p>" for p in s.paragraphs)},
             "excerpt": {"rendered": ""}, "author": 1}
            for n, s in enumerate(chunk, start=(page - 1) * per_page)
        ]  # fmt: skip
        pages = -(-len(stories) // per_page)
        headers = {
            "Content-Type": "application/json",
            "X-WP-Total": str(len(stories)),
            "X-WP-TotalPages": str(pages),
        }
        return 200, headers, json.dumps(posts).encode()

    return answer


def test_wordpress_posts_are_read_page_by_page(newsroom: Newsroom, tmp_path: Path) -> None:
    site, stories = newsroom.site, newsroom.stories[:5]
    site.route("/wp-json/wp/v2/posts", handler=wordpress_posts(stories, site, per_page=2))  # type: ignore[arg-type]

    report = harvest(tmp_path, wordpress={"base_url": site.url("/"), "per_page": 2, "categories": [7]})

    assert report.taken == 5 and newsroom.page_requests() == 0
    asked = [r.path for r in site.requests if r.path.startswith("/wp-json/")]
    assert len(asked) == 3 and all("categories=7" in path and "after=" in path for path in asked)
    assert taken_urls(tmp_path) == {site.url(s.path) for s in stories}


def test_entries_older_than_the_window_are_not_imported(newsroom: Newsroom, tmp_path: Path) -> None:
    site, stories = newsroom.site, newsroom.stories[:3]
    stories[0].published = NOW - dt.timedelta(days=30)
    site.route("/atom.xml", atom(stories, site), headers={"Content-Type": "application/atom+xml"})

    report = harvest(tmp_path, feeds=[site.url("/atom.xml")], max_age_days=7)

    assert report.taken == 2 and site.url(stories[0].path) not in taken_urls(tmp_path)


def test_a_page_missing_for_retract_after_days_is_retracted(newsroom: Newsroom, tmp_path: Path) -> None:
    site, story = newsroom.site, newsroom.stories[0]
    config = InputConfig.model_validate({"urls": [site.url(story.path)], "retract_after_days": 3, "web": WEB})

    def night(days: int) -> HarvestReport:
        state = StateStore.open(tmp_path / "state.sqlite")
        try:
            now = NOW + dt.timedelta(days=days)
            return Harvest(config, tmp_path / "job", state, web_client(config.web), now=now)()
        finally:
            state.close()

    assert night(0).taken == 1
    site.route(story.path, status=404, body="not here")
    assert (night(1).kept, night(2).retracted) == (1, [])  # missing for a day, then two: kept
    (article_id,) = [path.name for path in (tmp_path / "job" / "sources").iterdir()]
    assert (tmp_path / "job" / "sources" / article_id / "latest.json").is_file()
    assert night(4).retracted == [article_id]  # three days after the first 404
    assert not (tmp_path / "job" / "sources" / article_id / "latest.json").exists()


def test_a_page_in_another_language_is_skipped(
    newsroom: Newsroom, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from .newsroom_site import page

    site, story = newsroom.site, newsroom.stories[0]
    site.route(story.path, page(story, site, lang="sq"), headers={"Content-Type": "text/html"})

    report = harvest(tmp_path, urls=[site.url(story.path)])

    assert (report.skipped, report.taken, report.failures) == (1, 0, [])
    assert [r.message for r in caplog.records if "skipped:" in r.message] == [
        f"{site.url(story.path)}: skipped: the page is in 'sq', not English"
    ]
    assert taken_urls(tmp_path) == set()


def test_a_lost_state_keeps_the_ids_issued(newsroom: Newsroom, tmp_path: Path) -> None:
    site, stories = newsroom.site, newsroom.stories[:3]
    site.route("/atom.xml", atom(stories, site), etag="a1", headers={"Content-Type": "application/atom+xml"})
    harvest(tmp_path, feeds=[site.url("/atom.xml")])
    ids = {
        path.parent.name: path.read_bytes() for path in (tmp_path / "job" / "sources").glob("*/latest.json")
    }
    (tmp_path / "state.sqlite").unlink()

    again = harvest(tmp_path, feeds=[site.url("/atom.xml")])

    assert again.taken == 0 and again.unchanged == 3  # the same articles, taken under the same ids
    assert ids == {
        path.parent.name: path.read_bytes() for path in (tmp_path / "job" / "sources").glob("*/latest.json")
    }


def test_ids_are_readable_slugs_of_the_headline_cut_at_a_word(newsroom: Newsroom, tmp_path: Path) -> None:
    site, story = newsroom.site, newsroom.stories[0]
    story.title = (
        "Зеленський у Тирані: the treaty on friendship and cooperation between Ukraine and Albania is signed"
    )
    newsroom.publish()
    site.route("/atom.xml", atom([story], site), headers={"Content-Type": "application/atom+xml"})

    harvest(tmp_path, feeds=[site.url("/atom.xml")])

    (folder,) = (tmp_path / "job" / "sources").iterdir()
    assert folder.name == "zelenskii-u-tirani-the-treaty-on-friendship-and-cooperation"
