"""The web ingest's parsers and extractor: feeds, sitemaps, WordPress posts and article pages,
from fixtures in tests/fixtures/web/ (bytes in, entries or articles out; nothing is fetched)."""

from __future__ import annotations

import datetime as dt
import gzip
import random
import time
from pathlib import Path

import pytest

from pipeline.errors import FormatError
from pipeline.web.blocks import body_or_summary, paragraphs_from_html
from pipeline.web.dates import parse_time
from pipeline.web.extract import extract_article, extract_content
from pipeline.web.feeds import parse_feed
from pipeline.web.sitemaps import parse_sitemap
from pipeline.web.wordpress import parse_posts, parse_terms, posts_url, term_ids, terms_url, total_pages

FIXTURES = Path(__file__).parent / "fixtures" / "web"
COURIER = "https://www.valleycourier.example"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


# --- feeds -----------------------------------------------------------------------------------


def test_rss_with_content_encoded_gives_full_articles_with_absolute_links():
    feed = parse_feed(fixture("rss_full.xml"), f"{COURIER}/feeds/news.xml", "application/rss+xml")
    assert (feed.kind, feed.title) == ("rss", "The Valley Courier – News")
    assert [entry.url for entry in feed.entries] == [
        f"{COURIER}/news/2026/11/30/harbour-bridge-reopens",
        f"{COURIER}/news/2026/11/29/school-budget",  # <link>/news/...</link>, resolved
        f"{COURIER}/news/2026/11/28/christmas-market",
    ]
    first, second, third = feed.entries
    assert first.guid == "courier-48213" and first.author == "Maria Keller"
    assert first.published == utc(2026, 11, 30, 7, 15) and first.updated is None
    assert first.image == f"{COURIER}/media/2026/11/bridge-1200.jpg"
    assert first.content_html is not None and "<script" not in first.content_html  # sanitized
    assert paragraphs_from_html(first.content_html)[2] == "Buses return to the old route"
    assert first.summary == "The harbour bridge reopened on Monday after six months of repairs."
    assert second.title == "Council’s new school budget approved"
    assert third.image == f"{COURIER}/media/2026/11/market.jpg"  # an image enclosure, resolved
    assert all(entry.content_html for entry in feed.entries)


def test_rss_with_summaries_only_leaves_the_page_to_fetch():
    feed = parse_feed(fixture("rss_summaries.xml"), "https://sport.valleycourier.example/rss")
    assert [entry.content_html for entry in feed.entries] == [None, None]
    rowing = "The rowing club won the regional cup for the first time since 1998. Read more"
    assert feed.entries[0].summary == rowing
    assert feed.entries[1].title == "Café league: a draw in the derby"  # ISO-8859-1 document
    assert feed.entries[1].key == "https://sport.valleycourier.example/2026/11/29/derby-draw"
    assert feed.entries[1].published == utc(2026, 11, 29, 15, 0)


def test_atom_with_summaries_and_alternate_links():
    feed = parse_feed(fixture("atom_summaries.xml"), "https://eastside.example/feed.atom")
    assert (feed.kind, feed.title) == ("atom", "Eastside Weekly")
    library, trains = feed.entries
    assert library.url == "https://eastside.example/2026/11/library-wing"  # rel=alternate, not replies
    assert library.title == "Library’s new wing opens"  # type="html" with &#8217;
    assert library.guid == "tag:eastside.example,2026:post-311"
    assert (library.published, library.updated) == (utc(2026, 11, 30, 8, 30), utc(2026, 11, 30, 10, 45))
    assert library.author == "Lena Ortiz"
    assert library.content_html is None
    assert library.summary == "The library’s new reading wing opened on Monday."
    assert trains.url == "https://eastside.example/2026/11/night-trains"  # relative href
    assert trains.changed_at == utc(2026, 11, 29, 20, 10)


def test_json_feed():
    feed = parse_feed(fixture("feed.json"), "https://riverside.example/feed.json", "application/feed+json")
    assert (feed.kind, feed.title) == ("json", "Riverside Notes")
    ferry, cleanup, elsewhere = feed.entries
    assert ferry.author == "Pia Laine, Omar Haddad"
    assert ferry.image == "https://riverside.example/images/ferry.jpg"
    assert (ferry.published, ferry.updated) == (utc(2026, 11, 30, 6, 0), utc(2026, 11, 30, 8, 20))
    assert ferry.summary == "The ferry's winter timetable starts on Monday."
    assert cleanup.url == "https://riverside.example/posts/river-cleanup" and cleanup.guid == "1042"
    assert cleanup.author == "Pia Laine"  # JSON Feed 1.0's author
    assert cleanup.content_html is not None and cleanup.content_html.count("<p>") == 2  # content_text
    assert paragraphs_from_html(cleanup.content_html)[1].startswith("The city will repeat")
    assert elsewhere.url == "https://elsewhere.example/story" and elsewhere.content_html is None
    assert elsewhere.published == utc(2026, 11, 27, 10, 0)  # no zone given: UTC


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (fixture("news_article.html"), "an HTML page"),
        (random.Random(22).randbytes(600), "not well-formed"),
        (b'{"items": [}', "invalid JSON"),
        (b'{"version": "1.0", "items": []}', "JSON without"),
        (b"", "no <rss>"),
        (
            b'<?xml version="1.0" encoding="UTF\xc28"?><rss version="2.0"><channel/></rss>',
            "unreadable (UnicodeDecodeError)",
        ),
    ],
)
def test_what_is_not_a_feed_fails_in_one_line(data: bytes, why: str):
    with pytest.raises(FormatError) as caught:
        parse_feed(data, "https://example.org/feed")
    message = str(caught.value)
    assert message.startswith("not an RSS, Atom or JSON feed: ") and why in message
    assert "\n" not in message and not caught.value.transient


def test_feed_bytes_that_are_a_url_are_not_fetched(monkeypatch: pytest.MonkeyPatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("feedparser tried to fetch")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    monkeypatch.setattr("urllib.request.OpenerDirector.open", refuse)
    with pytest.raises(FormatError):
        parse_feed(b"http://127.0.0.1:9/feed.xml", "https://example.org/feed")


def test_a_teaser_as_content_is_no_article_body():
    teaser = "<p>Short teaser.</p>"
    body = "<p>" + "A real paragraph of the article, long enough to read. " * 5 + "</p>"
    assert body_or_summary(teaser, "<p>The summary says a little more than the teaser.</p>")[0] is None
    assert body_or_summary(body, teaser) == (body, "Short teaser.")
    assert body_or_summary(body, body)[0] == body  # the feed repeats the body as its summary
    longer_teaser = "<p>Tickets for Saturday's concert go on sale on Monday.</p>"
    assert body_or_summary(longer_teaser, teaser) == (None, "Short teaser.")  # under 200 characters


def test_times_without_a_zone_are_utc_whatever_the_machine_zone(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_time("2026-11-27T10:00:00") == utc(2026, 11, 27, 10, 0)
        zoned = parse_time("2026-11-30T08:15:00+01:00")
        assert zoned == utc(2026, 11, 30, 7, 15) and zoned is not None and zoned.tzinfo == dt.UTC
        assert [parse_time(value) for value in ("30 Nov 2026", "", None, 20261130)] == [None] * 4
    finally:
        monkeypatch.undo()
        time.tzset()


# --- sitemaps --------------------------------------------------------------------------------


def test_sitemap_index_lists_its_sitemaps():
    sitemap = parse_sitemap(fixture("sitemap_index.xml"), f"{COURIER}/sitemap.xml")
    assert sitemap.pages == ()
    assert sitemap.sitemaps == (f"{COURIER}/sitemap-news.xml", f"{COURIER}/sitemaps/2026-11.xml.gz")


def test_news_sitemap_gives_titles_and_publication_dates():
    pages = parse_sitemap(fixture("sitemap_news.xml"), f"{COURIER}/sitemap-news.xml").pages
    assert [page.title for page in pages] == [
        "Harbour bridge reopens after six months of repairs",
        "Council’s new school budget approved",
    ]
    assert pages[0].published == utc(2026, 11, 30, 7, 15) and pages[0].updated == utc(2026, 11, 30, 9, 2)
    assert pages[0].image == f"{COURIER}/media/2026/11/bridge-1200.jpg"
    assert pages[1].published == utc(2026, 11, 29) and pages[1].updated is None


def test_gzipped_sitemap():
    data = fixture("sitemap_2026-11.xml.gz")
    pages = parse_sitemap(data, f"{COURIER}/sitemaps/2026-11.xml.gz").pages
    assert [page.url.rsplit("/", 1)[1] for page in pages] == ["christmas-market", "tram-strike", "about"]
    assert [page.updated for page in pages] == [utc(2026, 11, 28, 9), utc(2026, 11, 27), None]
    assert parse_sitemap(gzip.decompress(data), f"{COURIER}/s.xml") == parse_sitemap(data, f"{COURIER}/s.xml")


@pytest.mark.parametrize("name", ["rss_full.xml", "news_article.html", "feed.json"])
def test_what_is_not_a_sitemap_fails(name: str):
    with pytest.raises(FormatError, match=r"^not a sitemap: "):
        parse_sitemap(fixture(name), f"{COURIER}/sitemap.xml")


def test_sitemap_entities_are_not_resolved():
    data = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY secret SYSTEM "file:///etc/hostname">'
        b'<!ENTITY a "xxxxxxxxxx">]><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://example.org/p&secret;&a;</loc></url></urlset>"
    )
    (page,) = parse_sitemap(data, "https://example.org/sitemap.xml").pages
    assert page.url == "https://example.org/p"


# --- WordPress -------------------------------------------------------------------------------

BLOG = "https://blog.valleycourier.example/"


def test_posts_url_asks_for_one_page_of_what_is_read():
    url = posts_url(
        "https://blog.valleycourier.example/news/",
        page=2,
        per_page=500,
        categories=[3, 7],
        tags=[12],
        after=dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    path, _, query = url.partition("?")
    assert path == "https://blog.valleycourier.example/news/wp-json/wp/v2/posts"
    params = dict(part.split("=", 1) for part in query.split("&"))
    assert params["page"] == "2" and params["per_page"] == "100"  # the API's maximum
    assert (params["categories"], params["tags"]) == ("3,7", "12")
    assert params["after"] == "2026-11-23T07%3A00%3A00Z"
    assert (params["orderby"], params["order"]) == ("date", "desc")
    fields = set(params["_fields"].split(","))
    assert {"link", "date_gmt", "modified_gmt", "title", "content", "guid"} <= fields
    assert "categories" not in posts_url(BLOG)


def test_wordpress_posts():
    mayor, concert = parse_posts(fixture("wp_posts.json"), BLOG)
    assert mayor.title == "The mayor’s walk across the “new” bridge"
    assert concert.title == "Rock & roll night at the old cinema – tickets"
    assert mayor.url == f"{BLOG}2026/11/30/mayor-bridge-walk/" and mayor.guid == f"{BLOG}?p=5121"
    assert (mayor.published, mayor.updated) == (utc(2026, 11, 30, 7, 15), utc(2026, 11, 30, 9, 2))
    assert mayor.author == "Elena Brandt" and concert.author is None
    assert mayor.content_html is not None
    assert paragraphs_from_html(mayor.content_html)[0].startswith("The mayor walked")
    assert concert.content_html is None  # "Short note.": the excerpt says more; fetch the page
    assert concert.summary == (
        "Tickets for Saturday’s concert go on sale on Monday at the cinema’s box office."
    )


def test_wordpress_error_answer_is_a_format_error():
    with pytest.raises(FormatError, match="rest_post_invalid_page_number"):
        parse_posts(b'{"code": "rest_post_invalid_page_number", "data": {"status": 400}}', BLOG)
    with pytest.raises(FormatError, match="invalid JSON"):
        parse_posts(fixture("news_article.html"), BLOG)


def test_total_pages():
    assert total_pages({"X-WP-Total": "37", "X-WP-TotalPages": "4"}) == 4
    assert total_pages({"x-wp-totalpages": " 2 "}) == 2
    assert total_pages({"Content-Type": "application/json"}) is None
    assert total_pages({"X-WP-TotalPages": "many"}) is None


# --- article pages ---------------------------------------------------------------------------

BRIDGE_PARAGRAPHS = (
    "The harbour bridge reopened to traffic on Monday morning after six months of repairs that cost "
    "the city more than four million euros.",
    "Engineers replaced the corroded steel cables and resurfaced the deck, which had been closed to "
    "cars since a routine inspection in May found cracks in two of its supports.",
    '"We are relieved that the work finished before the winter storms," said the mayor, Elena '
    "Brandt, who crossed the bridge on foot with the first commuters shortly after seven o'clock.",
    "Buses return to the old route",
    "The city's bus company said its number 4 and number 9 lines would return to their usual route "
    "across the bridge from Tuesday, cutting twenty minutes from the journey to the eastern districts.",
    "Cyclists will have a separate lane for the first time, protected from traffic by a low concrete "
    "barrier along the whole length of the crossing.",
)
FURNITURE = (
    "cookies", "Accept all", "Subscribe", "Business", "Opinion", "Share on", "Email this", "Related",
    "Advertisement", "winter tyres", "comment", "Finally!", "Jonas", "All rights reserved",
    "newsletter", "Photo:",
    "Harbour bridge closed", "Most read", "I agree", "Reject", "Cheap flights", "Tweet", "Recent Posts",
    "Leave a Reply", "Lovely piece", "Posted in", "Previous post", "Skip to content", "Log in",
)  # fmt: skip


def assert_no_furniture(paragraphs: tuple[str, ...]) -> None:
    text = "\n".join(paragraphs)
    assert [word for word in FURNITURE if word.lower() in text.lower()] == []


def test_news_article_page_gives_its_paragraphs_and_nothing_else():
    url = f"{COURIER}/news/2026/11/30/harbour-bridge-reopens?utm_source=feed"
    article = extract_article(fixture("news_article.html").decode(), url)
    assert article.paragraphs == BRIDGE_PARAGRAPHS  # the h1 is the title, not a paragraph
    assert_no_furniture(article.paragraphs)
    assert article.title == "Harbour bridge reopens after six months of repairs"
    assert article.published == utc(2026, 11, 30, 7, 15)  # JSON-LD's 08:15+01:00
    assert article.updated == utc(2026, 11, 30, 9, 2)
    assert article.canonical_url == f"{COURIER}/news/2026/11/30/harbour-bridge-reopens"
    assert article.image == f"{COURIER}/media/2026/11/bridge-1200.jpg"
    assert (article.author, article.language) == ("Maria Keller", "en")


def test_wordpress_page_with_graph_json_ld_and_the_headline_outside_the_article():
    url = f"{BLOG}2026/11/30/mayor-bridge-walk/"
    article = extract_article(fixture("wordpress_page.html").decode(), url)
    assert article.paragraphs == (
        "The mayor walked across the harbour bridge on Monday morning with the first commuters, more "
        "than an hour before the official ceremony was due to begin.",
        "She stopped halfway to talk to the engineers who had worked through the autumn, and thanked "
        "them for finishing before the winter storms arrived on the coast.",
        "It is the best Monday morning this city has had in a long time.",  # a quote, once
        "The ceremony itself was short: a ribbon, a brass band from the harbour school, and a speech "
        "that the wind carried away before anyone at the back could hear it.",
    )
    assert_no_furniture(article.paragraphs)
    assert article.title == "The mayor’s walk across the new bridge"
    # the Article node's dates, not the WebPage's; author and image given by @id in the @graph
    assert (article.published, article.updated) == (utc(2026, 11, 30, 7, 15), utc(2026, 11, 30, 9, 2, 11))
    assert article.author == "Elena Brandt"
    assert article.image == f"{BLOG}wp-content/uploads/2026/11/walk.jpg"
    assert (article.canonical_url, article.language) == (url, "en")


def test_div_soup_page_without_declared_language_or_zone():
    article = extract_article(fixture("cms_divsoup.html").decode(), "https://metro.example/local/tram-strike")
    assert [paragraph.split(",")[0] for paragraph in article.paragraphs] == [
        "Tram drivers will strike for twenty-four hours from four o'clock on Thursday morning",
        "The city transport company said it would run replacement buses on the two busiest lines",
        "Union leaders said the drivers had not had a pay rise for three years while the cost of living "
        "had climbed steadily",
        "A spokesman for the company said its offer of a four per cent rise remained on the table and "
        "that it hoped the union would return to talks before the weekend.",
    ]
    assert_no_furniture(article.paragraphs)
    assert article.title == "Tram drivers strike on Thursday"  # <title> without " - Metro Daily Online"
    assert article.published == utc(2026, 11, 26, 6, 30)  # <time datetime> without a zone: UTC
    assert article.language == "en"  # detected: the page declares none
    assert (article.canonical_url, article.author, article.image) == (None, None, None)


def test_declared_language_wins(monkeypatch: pytest.MonkeyPatch):
    def refuse(text: str) -> str:
        raise AssertionError("language detected although the page declares one")

    monkeypatch.setattr("pipeline.web.extract.detect_language", refuse)
    article = extract_article(fixture("albanian_page.html").decode(), "https://kurieri.example/lajme/ura")
    assert article.language == "sq"
    assert article.paragraphs[0].startswith("Ura e portit u rihap")
    assert article.published == utc(2026, 11, 30, 8, 0)


@pytest.mark.parametrize(
    "html",
    [
        fixture("gallery_page.html").decode(),
        "<html><body><nav><a href='/'>Home</a></nav></body></html>",
        "",
    ],
)
def test_page_without_article_text_fails(html: str):
    with pytest.raises(FormatError, match=r"^no article text found$"):
        extract_article(html, "https://example.org/page")


def test_feed_content_as_article():
    feed = parse_feed(fixture("rss_full.xml"), f"{COURIER}/feeds/news.xml")
    entry = feed.entries[0]
    assert entry.content_html is not None
    article = extract_content(entry.content_html, entry)
    assert article.paragraphs == (
        *BRIDGE_PARAGRAPHS[:2],
        BRIDGE_PARAGRAPHS[3],
        BRIDGE_PARAGRAPHS[4].split(",")[0] + ".",
    )
    assert (article.title, article.published, article.author) == (
        entry.title,
        entry.published,
        "Maria Keller",
    )
    assert (article.canonical_url, article.image, article.language) == (entry.url, entry.image, "en")
    with pytest.raises(FormatError, match="no article text found"):
        extract_content("<p>Too short.</p>", entry)


def test_wordpress_content_drops_the_caption_and_a_repeated_headline():
    (mayor, _) = parse_posts(fixture("wp_posts.json"), BLOG)
    assert mayor.content_html is not None and mayor.title is not None
    article = extract_content(f"<h1>{mayor.title}</h1>{mayor.content_html}", mayor)
    assert len(article.paragraphs) == 2 and article.paragraphs[0].startswith("The mayor walked")
    assert "The mayor on the bridge" not in " ".join(article.paragraphs)


def test_paragraphs_from_html_keeps_blocks_and_folds_whitespace():
    fragment = (
        "<p>The <a href='/x'>bridge</a>, which\n  reopened,&nbsp;is open.<br>Really.</p>"
        "<script>track()</script><figure><img src='a.jpg'><figcaption><p>Caption</p></figcaption></figure>"
        "<blockquote><p>One.</p><p>Two.</p></blockquote><ul><li>First</li><li>Second</li></ul><h3>Head</h3>"
    )
    assert paragraphs_from_html(fragment) == (
        "The bridge, which reopened, is open. Really.",
        "One.",
        "Two.",
        "First",
        "Second",
        "Head",
    )
    assert paragraphs_from_html("Loose text<br><br>in two parts") == ("Loose text", "in two parts")


def test_a_link_that_cannot_be_a_url_drops_its_entry_only():
    rss = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>Bad</title><link>http://[broken/a</link></item>"
        b"<item><title>Good</title><link>/good</link></item></channel></rss>"
    )
    assert [entry.url for entry in parse_feed(rss, "https://example.org/feed").entries] == [
        "https://example.org/good"
    ]
    urlset = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>http://[broken/a</loc></url><url><loc>/good</loc></url></urlset>"
    )
    pages = parse_sitemap(urlset, "https://example.org/sitemap.xml").pages
    assert [page.url for page in pages] == ["https://example.org/good"]


def test_wordpress_category_names_to_ids():
    url = terms_url(BLOG, "categories", ["City", "culture-and-arts"])
    assert (
        url == f"{BLOG}wp-json/wp/v2/categories?slug=city,culture-and-arts&per_page=100&_fields=id,slug,name"
    )
    known = parse_terms(
        b'[{"id": 3, "slug": "city", "name": "City"},'
        b' {"id": 7, "slug": "culture-and-arts", "name": "Culture &amp; Arts"}]'
    )
    assert term_ids([12, "7", "City", "culture & arts", "Sport"], known) == ((12, 7, 3, 7), ("Sport",))
    with pytest.raises(FormatError, match="terms"):
        parse_terms(b'{"code": "rest_no_route"}')


def test_a_page_wrapped_in_a_furniture_like_class_still_gives_its_text():
    html = fixture("news_article.html").decode()
    wrapped = html.replace("<body>", '<body><div id="social-layout">').replace("</body>", "</div></body>")
    article = extract_article(wrapped, f"{COURIER}/news/2026/11/30/harbour-bridge-reopens")
    assert article.paragraphs == BRIDGE_PARAGRAPHS
