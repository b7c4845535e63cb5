"""Quality flags for one translated sentence.

Each check looks for a known failure of sentence-level NMT: repetition loops, a translation much
shorter or longer than its source, a source copied through untranslated, the wrong script, the
wrong language (a neighbour's: see ``language_id``), numbers lost on the way, empty output, a
glossary term not used, a protected span that the model moved. A flag is a small dict
(``{"type": ..., "detail": ...}``) recorded in ``article.json``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.quality.language_id import wrong_language

NUMBER = re.compile(r"\d(?:[\d.,\u00a0\u202f ]*\d)?")
WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class QualityRules:
    max_repeats: int = 3  # an n-gram repeated this many times in a row is a loop
    min_length_ratio: float = 0.4  # characters of translation per character of source
    max_length_ratio: float = 2.5
    min_script_share: float = 0.6  # share of letters in the target language's script
    script: str | None = None  # "Latin", "Cyrillic", ... (Unicode script name prefix)
    language: str | None = None  # ISO 639-1 code of the target; None: no wrong_language check
    min_language_confidence: float = 0.6  # the detector's confidence in another language that flags


def flags_for(
    source: str,
    target: str,
    rules: QualityRules,
    glossary: Mapping[str, str] | None = None,
    moved: Iterable[str] = (),
) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if not target.strip():
        return [{"type": "empty", "detail": "the translation is empty"}]
    if (loop := repetition(target, rules.max_repeats)) is not None:
        found.append({"type": "repetition", "detail": f"{loop!r} repeated"})
    if len(source) >= 20:
        ratio = len(target) / len(source)
        if not rules.min_length_ratio <= ratio <= rules.max_length_ratio:
            found.append({"type": "length_ratio", "detail": f"{ratio:.2f} x the source length"})
    if len(source.split()) >= 4 and _folded(source) == _folded(target):
        found.append({"type": "untranslated", "detail": "identical to the source"})
    share = script_share(target, rules.script) if rules.script else None
    if share is not None and share < rules.min_script_share:
        found.append({"type": "wrong_script", "detail": f"{share:.0%} {rules.script} letters"})
    if (other := _other_language(target, rules)) is not None:
        found.append({"type": "wrong_language", "detail": other})
    if missing := missing_numbers(source, target):
        found.append({"type": "missing_number", "detail": ", ".join(missing)})
    for term, required in (glossary or {}).items():
        if _contains(source, term) and not _contains(target, required):
            found.append({"type": "glossary_miss", "detail": f"{term!r} should be {required!r}"})
    for span in moved:
        found.append({"type": "protected_moved", "detail": f"{span!r} was placed at the end"})
    return found


def repetition(text: str, max_repeats: int) -> str | None:
    """The first word n-gram (n = 1..4) that occurs ``max_repeats`` times in a row, if any."""
    words = text.split()
    for n in range(1, 5):
        needed = max_repeats + (1 if n == 1 else 0)  # "very very" is English; four of a word is a loop
        for start in range(len(words) - n * needed + 1):
            gram = words[start : start + n]
            if all(words[start + k * n : start + (k + 1) * n] == gram for k in range(1, needed)):
                return " ".join(gram)
    return None


def script_share(text: str, script: str) -> float | None:
    letters = [char for char in text if char.isalpha()]
    if len(letters) < 4:
        return None
    matching = sum(1 for char in letters if unicodedata.name(char, "").startswith(script.upper()))
    return matching / len(letters)


def missing_numbers(source: str, target: str) -> list[str]:
    """Numbers of the source that the target lacks, whatever the separators (85,000 = 85 000)."""
    target_digits = {_digits(match) for match in NUMBER.findall(target)}
    target_joined = re.sub(r"\D", "", target)
    missing = []
    for match in NUMBER.findall(source):
        digits = _digits(match)
        if digits not in target_digits and digits not in target_joined:
            missing.append(match.strip())
    return missing


def _other_language(target: str, rules: QualityRules) -> str | None:
    """The ``wrong_language`` detail for ``target``, or None (always, when ``rules`` name no language)."""
    if rules.language is None:
        return None
    return wrong_language(target, rules.language, rules.script, rules.min_language_confidence)


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def _folded(text: str) -> str:
    return " ".join(WORD.findall(text.casefold()))


def _contains(text: str, term: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term.casefold())}(?!\w)", text.casefold()) is not None
