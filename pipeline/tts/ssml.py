"""SSML for the engines that speak it: escaped text, lexicon entries marked up, requests cut small.

Azure takes at most 64 KB of SSML and 10 minutes of audio per request. Our segments are
paragraphs, nearly always far below that, but nothing stops a source from having a 20,000-character
paragraph, so ``pieces`` cuts text longer than a conservative character limit at sentence ends
(or, for a sentence longer than the limit, at spaces); the caller joins the pieces' MP3s in order.
A lexicon entry becomes ``<sub alias>`` or ``<phoneme alphabet="ipa" ph>`` around the written word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from pipeline.config.schema import LexiconEntry
from pipeline.tts.lexicon import terms_pattern

SSML_NAMESPACE = "http://www.w3.org/2001/10/synthesis"
_ENTITIES = {'"': "&quot;", "'": "&apos;"}  # with escape()'s own & < >
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+")


def text(value: str) -> str:
    """``value`` escaped for SSML character data: ``& < > " '``."""
    return escape(value, _ENTITIES)


def marked_up(value: str, lexicon: Mapping[str, LexiconEntry]) -> str:
    """``value`` escaped, each lexicon term (a whole word, longest first) wrapped in its markup."""
    entries = {term: entry for term, entry in lexicon.items() if term}
    if not entries:
        return text(value)
    out: list[str] = []
    last = 0
    for match in terms_pattern(tuple(entries)).finditer(value):
        out.append(text(value[last : match.start()]))
        out.append(_element(match.group(0), entries[match.group(0)]))
        last = match.end()
    out.append(text(value[last:]))
    return "".join(out)


def _element(word: str, entry: LexiconEntry) -> str:
    if isinstance(entry, str):
        return f"<sub alias={quoteattr(entry)}>{text(word)}</sub>"
    if entry.ipa:
        return f'<phoneme alphabet="ipa" ph={quoteattr(entry.ipa)}>{text(word)}</phoneme>'
    return f"<sub alias={quoteattr(entry.alias or word)}>{text(word)}</sub>"


def document(value: str, voice: str, lexicon: Mapping[str, LexiconEntry]) -> str:
    """A whole SSML request: ``value`` spoken by ``voice`` (``sq-AL-AnilaNeural``), in its locale."""
    locale = "-".join(voice.split("-")[:2])
    return (
        f'<speak version="1.0" xmlns="{SSML_NAMESPACE}" xml:lang={quoteattr(locale)}>'
        f"<voice name={quoteattr(voice)}>{marked_up(value, lexicon)}</voice></speak>"
    )


def pieces(value: str, limit: int) -> list[str]:
    """``value`` in pieces of at most ``limit`` characters, cut after sentence ends where it can be
    and at spaces where a sentence is longer (at ``limit`` itself for a longer run without one)."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return [value] if value else []
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(value):
        for part in _cut(sentence, limit):
            if current and len(current) + 1 + len(part) > limit:
                out.append(current)
                current = part
            else:
                current = f"{current} {part}" if current else part
    if current:
        out.append(current)
    return out


def _cut(sentence: str, limit: int) -> list[str]:
    """``sentence`` cut at spaces into parts of at most ``limit`` characters."""
    parts: list[str] = []
    while len(sentence) > limit:
        cut = sentence.rfind(" ", 0, limit + 1)
        cut = cut if cut > 0 else limit
        parts.append(sentence[:cut].rstrip())
        sentence = sentence[cut:].lstrip()
    return [*parts, sentence] if sentence else parts
