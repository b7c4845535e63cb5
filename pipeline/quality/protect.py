"""Protected spans (terms, URLs, e-mail addresses) that must come through translation unchanged.

Each span is replaced by a number the sentence does not contain (models copy numbers faithfully),
and put back after translation. A number the model dropped still gets its span back, at the end
of the sentence, and is reported as moved, so a protected span is never lost or altered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

URL = r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]]"
EMAIL = r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"
FIRST_PLACEHOLDER = 70001


@dataclass(frozen=True)
class Masked:
    text: str
    spans: tuple[tuple[str, str], ...]  # (placeholder, original span), in order


def protection_pattern(terms: Iterable[str], urls_and_emails: bool = True) -> re.Pattern[str] | None:
    parts = [URL, EMAIL] if urls_and_emails else []
    parts += [
        rf"(?<!\w){re.escape(term)}(?!\w)" for term in sorted(set(terms), key=len, reverse=True) if term
    ]
    return re.compile("|".join(parts)) if parts else None


def mask(sentence: str, pattern: re.Pattern[str] | None) -> Masked:
    if pattern is None:
        return Masked(sentence, ())
    spans: list[tuple[str, str]] = []
    number = FIRST_PLACEHOLDER

    def replace(match: re.Match[str]) -> str:
        nonlocal number
        while str(number) in sentence:
            number += 1
        placeholder = str(number)
        number += 1
        spans.append((placeholder, match.group(0)))
        return placeholder

    return Masked(pattern.sub(replace, sentence), tuple(spans))


def unmask(translation: str, masked: Masked) -> tuple[str, list[str]]:
    """The translation with every span back in place, and the spans that had to be appended."""
    moved: list[str] = []
    for placeholder, span in masked.spans:
        found = re.search(rf"(?<!\d){placeholder}(?!\d)", translation)
        if found:
            translation = translation[: found.start()] + span + translation[found.end() :]
        else:
            moved.append(span)
    if moved:
        translation = " ".join([translation.rstrip(), *moved]).strip()
    return translation, moved
