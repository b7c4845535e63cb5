"""Keep every sentence inside the model's input window without truncating it.

A sentence over the limit is cut at the clause boundary nearest its middle (``;``, ``:``, ``,``,
dashes), recursively; a stretch with no such boundary is cut at the space nearest the middle, and
a single enormous "word" by characters. Each part is translated on its own and the translations are
joined with spaces, so nothing is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

CLAUSE_BREAK = re.compile(r"(?<=[;:,])\s+|\s+(?=[\u2013\u2014-]\s)")
SPACE = re.compile(r"\s+")


def split_to_fit(sentence: str, count: Callable[[str], int], limit: int) -> list[str]:
    """Parts of ``sentence``, in order, each of which ``count`` measures at ``limit`` or less."""
    if count(sentence) <= limit:
        return [sentence]
    left, right = _halve(sentence)
    if not left or not right:  # cannot be cut any smaller
        return [sentence]
    return split_to_fit(left, count, limit) + split_to_fit(right, count, limit)


def _halve(text: str) -> tuple[str, str]:
    middle = len(text) / 2
    for pattern in (CLAUSE_BREAK, SPACE):
        cuts = [m for m in pattern.finditer(text) if m.start() > 0 and m.end() < len(text)]
        if cuts:
            best = min(cuts, key=lambda m: abs(m.start() - middle))
            return text[: best.start()].strip(), text[best.end() :].strip()
    cut = len(text) // 2
    return text[:cut], text[cut:]
