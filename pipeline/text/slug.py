"""Article ids: safe, stable slugs that can never name a path outside the output folder.

A name in Latin letters keeps the slug it always had (accents dropped: ``Zürich café`` →
``zurich-cafe``). A name with letters of another script is transliterated (``Зеленський у
Тирані`` → ``zelenskii-u-tirani``, by python-slugify with text-unidecode); earlier versions gave
such a name the slug of its ASCII part, or ``article-<hash>``: ``legacy_article_id``, which the
ingest stage keeps for a file that a job already has outputs under.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from pipeline.layout import JOB_FOLDER_NAMES

MAX_LENGTH = 80


def slugify(name: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens; '' when nothing usable is left."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _clean(ascii_name)


def transliterate(name: str) -> str:
    """``name`` spelt in ASCII (``Київ`` → ``kiiv``, ``中文`` → ``zhong-wen``) as a slug; '' when
    nothing usable is left."""
    from slugify import slugify as ascii_slug

    return _clean(ascii_slug(name))


def short_hash(text: str, length: int = 8) -> str:
    """The first ``length`` hex digits of ``text``'s SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def article_id(name: str) -> str:
    """The id of an article named ``name`` (a file name without suffix, or the id a file declares):
    its slug when its letters are all Latin, else its transliteration; ``article-<hash>`` when
    neither leaves anything (no letters or digits)."""
    slug = (transliterate(name) if has_other_scripts(name) else "") or legacy_article_id(name)
    return f"{slug}-article" if slug in JOB_FOLDER_NAMES else slug  # never a folder of the job's own


def legacy_article_id(name: str) -> str:
    """The id earlier versions gave ``name``: its slug, or ``article-<hash>`` when it has none."""
    return slugify(name) or f"article-{short_hash(name)}"


def has_other_scripts(name: str) -> bool:
    """Whether ``name`` has a letter of another script than Latin (Cyrillic, Greek, Han...)."""
    return any(_other_script(char) for char in name)


def _other_script(char: str) -> bool:
    """A letter whose Unicode name is not ``LATIN ...``; modifier letters (``ʻ``, the Ukrainian
    apostrophe ``ʼ``) do not count. (Letters such as ``ª`` or ``ℌ`` count, and are transliterated
    to what their slug was: ``a``, ``h``.)"""
    if not char.isalpha() or unicodedata.category(char) == "Lm":
        return False
    return not unicodedata.name(char, "").startswith("LATIN")


def _clean(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:MAX_LENGTH].rstrip("-")
