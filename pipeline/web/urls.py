"""Links as sources write them, made absolute."""

from __future__ import annotations

from urllib.parse import urljoin


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
