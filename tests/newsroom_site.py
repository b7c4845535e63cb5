"""A newsroom's web site for the web-ingest tests and benchmark, served by ``websites.Site``: article
pages with the furniture real pages have, and RSS, Atom and JSON feeds, a sitemap index and a
WordPress REST stand-in listing them."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from .websites import Site

# Page furniture: none of it may reach an extracted article.
FURNITURE = (
    "We use cookies",
    "Accept all cookies",
    "Share on Facebook",
    "Related articles",
    "Markets rally as inflation cools",
    "Great article, thanks",
    "Advertisement",
    "All rights reserved",
    "Subscribe to our newsletter",
)


@dataclass
class Story:
    """One article of the site: ``slug`` names its page, ``/news/<slug>.html``."""

    slug: str
    title: str
    paragraphs: list[str]
    published: dt.datetime
    updated: dt.datetime | None = None

    @property
    def path(self) -> str:
        return f"/news/{self.slug}.html"

    @property
    def summary(self) -> str:
        return self.paragraphs[0][:120]


def sample_stories(articles: list[Path], start: dt.datetime) -> list[Story]:
    """A story for each sample article file (``date ...`` line, blank-line paragraphs), an hour apart."""
    stories = []
    for number, path in enumerate(articles):
        blocks = [b.strip() for b in path.read_text("utf-8").split("\n\n") if b.strip()]
        paragraphs = [" ".join(b.split()) for b in blocks if not b.startswith("date ")]
        title = paragraphs[0].split(",")[0][:70]
        stories.append(Story(path.stem[11:], title, paragraphs, start + dt.timedelta(hours=number)))
    return stories


def page(story: Story, site: Site, lang: str = "en") -> str:
    """The story's page as a CMS renders it: banners, navigation, share buttons, related links,
    comments and ads around the article, with its metadata in meta tags and JSON-LD."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": story.title,
          "datePublished": story.published.isoformat(),
          "author": {"@type": "Person", "name": "Jane Doe"}}  # fmt: skip
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | Daily Courier</title>
<link rel="canonical" href="{site.url(story.path)}">
<meta property="og:image" content="{site.url("/img/" + story.slug + ".jpg")}">
<meta property="article:published_time" content="{story.published.isoformat()}">
<script type="application/ld+json">{json.dumps(ld)}</script>
</head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<header><nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/business">Business</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article class="story">
<h1>{html.escape(story.title)}</h1>
<p class="byline">By Jane Doe</p>
{body}
</article>
<div class="share-buttons social"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>
<aside class="related-articles"><h2>Related articles</h2><ul>
<li><a href="/news/markets.html">Markets rally as inflation cools</a></li></ul></aside>
<section id="comments" class="comments"><h2>Comments</h2>
<div class="comment"><p>Great article, thanks for sharing this with us all!</p></div></section>
<div class="advertisement ad-slot">Advertisement</div>
</main>
<footer><p>Subscribe to our newsletter</p><p>© 2026 Daily Courier. All rights reserved.</p></footer>
</body></html>"""


def rss(stories: list[Story], site: Site, full: bool) -> str:
    """An RSS 2.0 feed of ``stories``: their full text in ``content:encoded`` when ``full``, else
    a summary only (the page must be fetched)."""
    items = []
    for story in stories:
        content = ""
        if full:
            text = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
            content = f"<content:encoded><![CDATA[{text}]]></content:encoded>"
        items.append(
            f"<item><title>{html.escape(story.title)}</title><link>{site.url(story.path)}</link>"
            f'<guid isPermaLink="false">story-{story.slug}</guid>'
            f"<pubDate>{email.utils.format_datetime(story.updated or story.published)}</pubDate>"
            f"<description>{html.escape(story.summary)}</description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Daily Courier</title><link>{site.url('/')}</link><description>News</description>"
        + "".join(items)
        + "</channel></rss>"
    )


@dataclass
class Newsroom:
    """The site and its stories, served at ``site``: pages under ``/news/``, ``/feed.xml`` (RSS,
    summaries only, with an ETag that changes with it) and ``/full.xml`` (RSS with full text)."""

    site: Site
    stories: list[Story]
    version: int = 0
    furniture: tuple[str, ...] = field(default=FURNITURE)

    def publish(self) -> None:
        """(Re)serve every page and the feeds, as the stories are now."""
        self.version += 1
        for story in self.stories:
            tag = f"{story.slug}-{story.updated or story.published}"
            self.site.route(story.path, page(story, self.site), etag=tag,
                            headers={"Content-Type": "text/html; charset=utf-8"})  # fmt: skip
        for path, full in (("/feed.xml", False), ("/full.xml", True)):
            self.site.route(path, rss(self.stories, self.site, full), etag=f"feed-{self.version}",
                            headers={"Content-Type": "application/rss+xml; charset=utf-8"})  # fmt: skip

    def page_requests(self) -> int:
        return sum(1 for request in self.site.requests if request.path.startswith("/news/"))
