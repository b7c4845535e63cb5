"""Split English paragraphs into sentences.

Rule-based (pysbd, an implementation of the "Golden Rules" of sentence boundaries): it knows
abbreviations ("Feb. 28", "U.S.", "Dr."), decimal numbers ("3.5%"), times ("7:30 a.m.") and
quotations. Each sentence is an exact, stripped substring of its paragraph, so joining the
sentences with single spaces gives the paragraph back (whitespace aside).
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of an English paragraph in order, whitespace runs folded; [] for a blank one."""
    text = " ".join(paragraph.split())
    if not text:
        return []
    return [sentence.strip() for sentence in _segmenter().segment(text) if sentence.strip()]
