"""Sitemaps (https://www.sitemaps.org/protocol.html) as entries: a ``urlset``'s pages, with the
Google News extension's title and publication date, or a ``sitemapindex``'s child sitemaps.

Parsed with lxml and a parser that resolves no entities, reads no DTD and fetches nothing (a
sitemap comes from the network: no billion laughs, no external entities); gzipped bytes
(``sitemap.xml.gz`` served as a file) are unpacked first, up to ``MAX_UNPACKED`` bytes.
"""

from __future__ import annotations

import gzip
import io

from lxml import etree

from pipeline.errors import FormatError
from pipeline.web.blocks import fold
from pipeline.web.dates import parse_time
from pipeline.web.model import Entry, Sitemap
from pipeline.web.urls import absolute

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"
MAX_UNPACKED = 50 * 1024 * 1024  # the protocol's own limit for one sitemap, uncompressed
_GZIP_MAGIC = b"\x1f\x8b"


def parse_sitemap(data: bytes, url: str) -> Sitemap:
    """The sitemap in ``data``, fetched from ``url`` (relative ``<loc>`` resolve against it).

    Raises:
        FormatError: ``data`` is not a sitemap (not XML, another root element, bad gzip, or more
            than ``MAX_UNPACKED`` bytes unpacked).
    """
    root = _root(_unpacked(data))
    name = etree.QName(root).localname
    if name == "sitemapindex":
        children = (_loc(node, url) for node in root.iterfind(f"{{{SITEMAP_NS}}}sitemap"))
        return Sitemap(sitemaps=tuple(child for child in children if child))
    if name != "urlset":
        raise FormatError(f"not a sitemap: the root element is <{name}>, not <urlset> or <sitemapindex>")
    pages = (_page(node, url) for node in root.iterfind(f"{{{SITEMAP_NS}}}url"))
    return Sitemap(pages=tuple(page for page in pages if page is not None))


def _unpacked(data: bytes) -> bytes:
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as packed:
            unpacked = packed.read(MAX_UNPACKED + 1)
    except (OSError, EOFError) as exc:
        raise FormatError(f"not a sitemap: bad gzip data ({exc})") from None
    if len(unpacked) > MAX_UNPACKED:
        raise FormatError(f"not a sitemap: more than {MAX_UNPACKED // 1024 // 1024} MB unpacked")
    return unpacked


def _root(data: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"not a sitemap: not well-formed XML ({exc})") from None
    if root is None:
        raise FormatError("not a sitemap: empty document")
    return root


def _loc(node: etree._Element, base: str) -> str | None:
    return absolute(base, fold(node.findtext(f"{{{SITEMAP_NS}}}loc") or ""))


def _page(node: etree._Element, base: str) -> Entry | None:
    url = _loc(node, base)
    if url is None:
        return None
    news = node.find(f"{{{NEWS_NS}}}news")
    title = fold(news.findtext(f"{{{NEWS_NS}}}title") or "") if news is not None else ""
    published = news.findtext(f"{{{NEWS_NS}}}publication_date") if news is not None else None
    image = fold(node.findtext(f"{{{IMAGE_NS}}}image/{{{IMAGE_NS}}}loc") or "")
    return Entry(
        url=url,
        title=title or None,
        image=absolute(base, image),
        published=parse_time(published),
        updated=parse_time(node.findtext(f"{{{SITEMAP_NS}}}lastmod")),
    )
