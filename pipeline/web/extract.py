"""An article page's main text and metadata: trafilatura for the text, ``pagemeta`` for the rest.

trafilatura finds the main content and drops the page's furniture (navigation, cookie banners,
share widgets, related links, comments, ads); its ``bare_extraction`` hands back the content as an
XML tree whose ``<p>``, ``<head>``, ``<item>`` and ``<quote>`` elements are the paragraphs, so
their boundaries survive (its text output joins list items and loses headings' separation).
Options: ``favor_precision`` (leave out a doubtful block rather than narrate a teaser or a
caption), no comments, no tables (a table read aloud is noise), no links or formatting.
"""

from __future__ import annotations

from typing import Any

import trafilatura

from pipeline.errors import FormatError
from pipeline.web.blocks import fold, paragraphs_from_html
from pipeline.web.language import detect_language
from pipeline.web.model import Entry, Extracted
from pipeline.web.pagemeta import page_meta

MIN_WORDS = 40  # fewer words in the main text: a gallery, a video page, a paywall teaser
# Furniture trafilatura's own rules miss on pages without semantic markup (a CMS's div soup, where
# it falls back to a generic extractor): pruned by class or id before it looks. A page that loses
# its text to this (a wrapper named "has-social-bar") is extracted again without it.
FURNITURE = (
    "cookie", "consent", "gdpr", "advert", "banner-ad", "ad-slot", "sponsor", "share", "social",
    "related", "more-news", "newsletter", "subscribe", "paywall", "promo",
)  # fmt: skip
_PRUNE = "//*[not(self::html or self::body or self::main or self::article)][{}]".format(
    " or ".join(f"contains(@class,'{word}') or contains(@id,'{word}')" for word in FURNITURE)
)
_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": False,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "favor_precision": True,
    "deduplicate": False,
}
_BLOCK_TAGS = ("p", "head", "item", "quote", "code")


def extract_article(html: str, url: str) -> Extracted:
    """The article in the page ``html`` fetched from ``url``.

    Raises:
        FormatError: the page has no main text, or fewer than ``MIN_WORDS`` words of it
            ("no article text found").
    """
    meta = page_meta(html, url)
    document, title, paragraphs = _main_text(html, url, meta.title, prune=True)
    if _words(paragraphs) < MIN_WORDS:
        document, title, paragraphs = _main_text(html, url, meta.title, prune=False)
    _require_text(paragraphs)
    return Extracted(
        title=title,
        paragraphs=paragraphs,
        published=meta.published,
        updated=meta.updated,
        author=meta.author or fold(getattr(document, "author", None) or "") or None,
        canonical_url=meta.canonical_url or None,
        image=meta.image or getattr(document, "image", None) or None,
        language=meta.language or detect_language(" ".join(paragraphs)),
    )


def extract_content(html_fragment: str, entry: Entry) -> Extracted:
    """The article in a feed entry's (or WordPress post's) full content: its paragraphs, with the
    title, dates, author and image the entry gives, and the language detected from the text.

    Raises:
        FormatError: fewer than ``MIN_WORDS`` words of text ("no article text found").
    """
    paragraphs = _without_title(paragraphs_from_html(html_fragment), entry.title)
    _require_text(paragraphs)
    return Extracted(
        title=entry.title,
        paragraphs=paragraphs,
        published=entry.published,
        updated=entry.updated,
        author=entry.author,
        canonical_url=entry.url,
        image=entry.image,
        language=detect_language(" ".join(paragraphs)),
    )


def _main_text(
    html: str, url: str, page_title: str | None, *, prune: bool
) -> tuple[Any, str | None, tuple[str, ...]]:
    """trafilatura's document, the title (its, else the page's) and the paragraphs without it."""
    document = trafilatura.bare_extraction(html, url=url, prune_xpath=_PRUNE if prune else None, **_OPTIONS)
    body = getattr(document, "body", None) if document is not None else None
    title = fold(getattr(document, "title", None) or "") or page_title
    return document, title, _without_title(_paragraphs(body) if body is not None else (), title)


def _paragraphs(body: Any) -> tuple[str, ...]:
    """The text of each block element of trafilatura's body (a block holding blocks gives its
    inner ones), with ``<lb/>`` line breaks as spaces."""
    for lb in body.iter("lb"):
        lb.tail = " " + (lb.tail or "")
    paragraphs = []
    for node in body.iter(*_BLOCK_TAGS):
        if any(inner is not node for inner in node.iter(*_BLOCK_TAGS)):
            continue
        if words := fold("".join(node.itertext())):
            paragraphs.append(words)
    return tuple(paragraphs)


def _without_title(paragraphs: tuple[str, ...], title: str | None) -> tuple[str, ...]:
    """The headline is the title, not also the first paragraph."""
    if paragraphs and title and paragraphs[0].casefold() == fold(title).casefold():
        return paragraphs[1:]
    return paragraphs


def _words(paragraphs: tuple[str, ...]) -> int:
    return sum(len(paragraph.split()) for paragraph in paragraphs)


def _require_text(paragraphs: tuple[str, ...]) -> None:
    if _words(paragraphs) < MIN_WORDS:
        raise FormatError("no article text found")
