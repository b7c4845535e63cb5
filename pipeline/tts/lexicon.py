"""A pronunciation lexicon: replace written forms with what the voice should say, in one pass.

Terms match whole words only (``NATO`` not inside ``NATOs``); longer terms win over shorter ones
that overlap them; a replacement is never itself replaced again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache


@lru_cache(maxsize=64)
def terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern matching any of ``terms`` as a whole word, longest first (shared with the SSML
    markup, so both find the same words)."""

    def bounded(term: str) -> str:
        start = r"(?<!\w)" if term[:1].isalnum() else ""
        end = r"(?!\w)" if term[-1:].isalnum() else ""
        return start + re.escape(term) + end

    ordered = sorted(terms, key=len, reverse=True)
    return re.compile("|".join(bounded(term) for term in ordered))


def apply_lexicon(text: str, lexicon: Sequence[tuple[str, str]]) -> str:
    entries = {term: spoken for term, spoken in lexicon if term}
    if not entries:
        return text
    return terms_pattern(tuple(entries)).sub(lambda match: entries[match.group(0)], text)
