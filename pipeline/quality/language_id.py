"""Which language a translation is in: the ``wrong_language`` check.

Opus-MT models sometimes answer in a neighbouring language: English→Ukrainian models with some
sentences in Russian (opus-mt-tc-big-en-zle translates into Russian and Belarusian too), English→
Albanian with Italian or English. Two kinds of evidence, either enough to flag a sentence:

- lingua's language identifier (bundled n-gram models), restricted to the target and the few
  languages a model is likely to answer in instead (``CANDIDATES``): flagged when another of them
  is the best guess with at least ``min_confidence``;
- letters the target never uses (for Ukrainian: ы э ё ъ, Russian) with none of its own (і ї є ґ).

Only the words written in the target's script are judged (a Latin name, URL or e-mail address in a
Ukrainian sentence is not English; letters in the wrong script are ``wrong_script``'s business),
and a sentence with fewer than ``MIN_WORDS`` such words or ``MIN_LETTERS`` letters (a name, a
number, a dateline) is never judged. One detector per target is built on first use and shared by
every thread (lingua's detectors are thread-safe; building is guarded by a lock).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.languages import LANGUAGES
from pipeline.quality.protect import EMAIL, URL

if TYPE_CHECKING:
    from lingua import LanguageDetector

MIN_WORDS = 4
MIN_LETTERS = 20

# The target first, then what its models answer in instead. Ukrainian needs no English: only
# Cyrillic words are judged. Other targets: themselves and English (copied through, in part).
CANDIDATES: dict[str, tuple[str, ...]] = {
    "uk": ("uk", "ru", "be", "bg"),
    "sq": ("sq", "it", "en", "de", "fr", "hr"),
}

WORD = re.compile(r"[^\W\d_]+(?:['’ʼ-][^\W\d_]+)*")  # letters, with inner apostrophes and hyphens
SPANS = re.compile(f"{URL}|{EMAIL}")


@dataclass(frozen=True)
class Alphabet:
    """Letters that tell a language from its closest neighbour."""

    own: str  # letters the language has and the neighbour lacks
    foreign: str  # letters the neighbour has and the language never uses
    neighbour: str  # the neighbour's code


ALPHABETS = {"uk": Alphabet(own="іїєґ", foreign="ыэёъ", neighbour="ru")}

_lock = threading.Lock()
_detectors: dict[tuple[str, ...], LanguageDetector | None] = {}


def wrong_language(text: str, language: str, script: str | None, min_confidence: float) -> str | None:
    """Why ``text`` looks like another language than ``language``, or None when it does not.

    Args:
        text: one translated sentence.
        language: the target's ISO 639-1 code (``uk``, ``sq``...).
        script: the target's script (``Cyrillic``, ``Latin``); only words in it are judged (all
            words when None).
        min_confidence: the detector's confidence (0-1) in another language needed to flag.

    Returns:
        The detail for the flag (``"Russian (0.98)"``, ``"Russian letters ы, э"``), or None: the
        text is in ``language``, too short to judge, or in a language lingua does not know.
    """
    sample = judged_text(text, script)
    if sample is None:
        return None
    guess = best_guess(sample, language)
    if guess is not None and guess[0] != language and guess[1] >= min_confidence:
        return f"{language_name(guess[0])} ({guess[1]:.2f})"
    return letter_evidence(sample, language)


def judged_text(text: str, script: str | None) -> str | None:
    """The words of ``text`` in ``script`` (URLs and e-mail addresses left out), joined by spaces;
    None when there are fewer than ``MIN_WORDS`` of them or ``MIN_LETTERS`` letters."""
    words = [w for w in WORD.findall(SPANS.sub(" ", text)) if script is None or _in_script(w, script)]
    letters = sum(len(_letters(word)) for word in words)
    if len(words) < MIN_WORDS or letters < MIN_LETTERS:
        return None
    return " ".join(words)


def best_guess(text: str, language: str) -> tuple[str, float] | None:
    """The detector's most likely language for ``text`` (ISO 639-1) and its confidence (0-1);
    None when lingua does not know ``language``."""
    found = detector(language)
    if found is None:
        return None
    best = found.compute_language_confidence_values(text)[0]
    return best.language.iso_code_639_1.name.lower(), best.value


def letter_evidence(text: str, language: str) -> str | None:
    """``"Russian letters ы, э"`` when ``text`` has letters ``language`` never uses and none of
    its own; None otherwise, or when there is no letter rule for ``language``."""
    alphabet = ALPHABETS.get(language)
    if alphabet is None:
        return None
    lower = text.lower()
    foreign = [letter for letter in alphabet.foreign if letter in lower]
    if not foreign or any(letter in lower for letter in alphabet.own):
        return None
    return f"{language_name(alphabet.neighbour)} letters {', '.join(foreign)}"


def detector(language: str) -> LanguageDetector | None:
    """The shared detector for ``language``'s ``CANDIDATES`` (the language and English when it has
    none), built on first use; None when lingua does not know ``language``."""
    codes = CANDIDATES.get(language, (language, "en"))
    with _lock:
        if codes not in _detectors:
            _detectors[codes] = _build(codes)
        return _detectors[codes]


def _build(codes: tuple[str, ...]) -> LanguageDetector | None:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = [getattr(IsoCode639_1, code.upper(), None) for code in codes]
    known = [iso for iso in isos if iso is not None]
    if isos[0] is None or len(known) < 2:
        return None
    return LanguageDetectorBuilder.from_iso_codes_639_1(*known).build()


def language_name(code: str) -> str:
    """``ru`` → ``Russian``, ``en`` → ``English``; the code itself when neither the pipeline nor
    lingua knows it."""
    if code in LANGUAGES:
        return LANGUAGES[code].name
    from lingua import IsoCode639_1, Language

    iso = getattr(IsoCode639_1, code.upper(), None)
    return Language.from_iso_code_639_1(iso).name.title() if iso is not None else code


def _letters(word: str) -> list[str]:
    """The letters of ``word``, modifier letters (the Ukrainian apostrophe ʼ) left out."""
    return [char for char in word if char.isalpha() and unicodedata.category(char) != "Lm"]


def _in_script(word: str, script: str) -> bool:
    prefix = script.upper()
    return all(unicodedata.name(char, "").startswith(prefix) for char in _letters(word))
