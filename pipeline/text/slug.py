"""Article ids: safe, stable slugs that can never name a path outside the output folder."""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_LENGTH = 80


def slugify(name: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens; '' when nothing usable is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_LENGTH].rstrip("-")


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def article_id(name: str) -> str:
    """The slug of ``name``, or ``article-<hash>`` for a name with no ASCII letters or digits."""
    return slugify(name) or f"article-{short_hash(name)}"
