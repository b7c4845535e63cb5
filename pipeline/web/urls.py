"""Links as sources write them, made absolute."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

TRACKING = ("utm_", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga")


def absolute(base: str, link: str | None) -> str | None:
    """``link`` resolved against ``base`` (the document's URL), surrounding whitespace removed;
    None when there is no link or it cannot be a URL (``http://[bad``: urllib raises)."""
    link = (link or "").strip()
    if not link:
        return None
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def identity(url: str) -> str:
    """``url`` as an article's identity: without its fragment and its tracking query parameters
    (``utm_source``, ``fbclid``...), so a page listed as ``/a?utm_source=rss`` and as ``/a`` is one
    article. Other parameters are kept, in their order (``?p=123`` may be the page itself)."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(name, value) for name, value in pairs if not name.lower().startswith(TRACKING)]
    kept = parts.query if len(query) == len(pairs) else urlencode(query)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, kept, ""))
