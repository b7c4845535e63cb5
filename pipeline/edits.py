"""Editors' post-edits and the rule that decides which translation each sentence gets.

A post-edit replaces the machine translation of one English sentence in one article and language.
It is kept by the sentence's English text, so it follows the sentence wherever it moves in the
article and survives every nightly run while that sentence is unchanged. When the English sentence
changes, the edit no longer applies: the new machine translation is used and the sentence is
flagged ``source_changed_after_edit`` (the old edit is shown beside it, and kept in the history)
until an editor saves or drops an edit of it. With ``translation.prefer_edits``, a sentence that
has no edit of its own takes the newest edit of the same English sentence from another article,
flagged ``from_edit``.

Everything here is a pure function of the sentences and the edits, so the planner (which keys the
text by it), the recorder (which writes it) and the review app agree on every sentence.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SOURCE_CHANGED = "source_changed_after_edit"
FROM_EDIT = "from_edit"
INVISIBLE = "invisible_characters"
# Characters that change how text is shown without showing themselves: the bidi controls (embedding,
# override, isolate, marks) and the zero-width ones. In an editor's name they spoof another's; in an
# edit they can reorder or hide what a reader sees.
INVISIBLE_CHARACTERS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d\u2060\ufeff"
)
STALE_SIMILARITY = 0.5  # how alike a changed English sentence must be to the edited one to inherit its flag


def invisible_characters(text: str) -> list[str]:
    """The ``INVISIBLE_CHARACTERS`` in ``text``, each once in order of appearance, named as
    ``U+202E RIGHT-TO-LEFT OVERRIDE``."""
    found = dict.fromkeys(char for char in text if char in INVISIBLE_CHARACTERS)
    return [f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip() for char in found]


@dataclass(frozen=True)
class Edit:
    """An editor's translation of one English sentence of one article, in one language."""

    article_id: str
    language: str
    source: str  # the English sentence it translates
    text: str  # the editor's translation
    machine: str  # the machine translation it replaced, when it was made
    position: int  # the sentence's index through the article when it was made
    editor: str
    at: str  # ISO time, UTC


@dataclass(frozen=True)
class SentenceEdits:
    """What the edits do to one sentence: the edit it is published with (its own, or with
    ``borrowed`` another article's), and this article's edits of an English sentence that has
    changed since (``stale``), which it is flagged with."""

    edit: Edit | None = None
    borrowed: bool = False
    stale: tuple[Edit, ...] = ()

    def text(self, machine: str | None = None) -> str:
        """What the sentence is published as: the edit's text, else ``machine`` (its machine
        translation, needed then: a ``LookupError`` when None)."""
        if self.edit is not None:
            return self.edit.text
        if machine is None:
            raise LookupError("a sentence without an edit needs its machine translation")
        return machine

    def flags(self) -> tuple[dict[str, str], ...]:
        """The flags the edits give the sentence: ``from_edit``, ``invisible_characters`` (the edit
        it is published with holds some), ``source_changed_after_edit``."""
        flags = []
        if self.edit and self.borrowed:
            detail = f"the edit made in {self.edit.article_id} by {self.edit.editor} ({self.edit.at[:10]})"
            flags.append({"type": FROM_EDIT, "detail": detail})
        if self.edit and (hidden := invisible_characters(self.edit.text)):
            detail = f"the edit holds invisible characters: {', '.join(hidden)}"
            flags.append({"type": INVISIBLE, "detail": detail})
        for old in self.stale:
            flags.append(
                {
                    "type": SOURCE_CHANGED,
                    "detail": f"{old.editor} edited this sentence ({old.at[:10]}) when the English read "
                    f"\u201c{old.source}\u201d, as \u201c{old.text}\u201d; the English has changed, "
                    "so this is a new machine translation",
                }
            )
        return tuple(flags)

    def signature(self) -> list[object]:
        """What of the edits changes the published text and flags (part of the text's key)."""
        edit = [self.edit.text, self.edit.editor, self.edit.at, self.edit.article_id] if self.edit else None
        return [edit, self.borrowed, [[old.source, old.text, old.at] for old in self.stale]]


NO_EDITS = SentenceEdits()


def resolve_edits(
    sentences: Sequence[str], own: Iterable[Edit], shared: Mapping[str, Edit] | None = None
) -> tuple[SentenceEdits, ...]:
    """Each sentence's ``SentenceEdits``, parallel to ``sentences`` (an article's sentences in
    reading order).

    Args:
        sentences: the article's English sentences as they stand.
        own: the article's edits in this language.
        shared: with ``translation.prefer_edits``, the newest edit of each English sentence made in
            any article (English sentence → edit); None: edits are not shared.
    """
    own = list(own)
    by_source = {edit.source: edit for edit in own}
    shared = shared or {}
    result: list[SentenceEdits] = []
    for sentence in sentences:
        if sentence in by_source:
            result.append(SentenceEdits(by_source[sentence]))
        elif sentence in shared:
            result.append(SentenceEdits(shared[sentence], borrowed=True))
        else:
            result.append(NO_EDITS)
    present = set(sentences)
    for old in sorted((e for e in own if e.source not in present), key=lambda e: (e.position, e.at)):
        index = _heir(old, sentences, result)
        if index is not None:
            result[index] = SentenceEdits(
                result[index].edit, result[index].borrowed, (*result[index].stale, old)
            )
    return tuple(result)


@dataclass(frozen=True)
class EditsInForce:
    """The post-edits in force in one language, as the state holds them (oldest first): each
    article's own and, with ``translation.prefer_edits``, the newest edit of each English sentence
    made in any article. The one answer to "which edits apply to this article", for the planner
    (and so both executors) and the review app alike."""

    own: Mapping[str, Sequence[Edit]]  # article id → its edits
    shared: Mapping[str, Edit] | None  # English sentence → its newest edit; None: not shared

    @classmethod
    def of(cls, edits: Iterable[Edit], prefer_edits: bool) -> EditsInForce:
        """From the state's edits of one language (``StateStore.edits``), oldest first."""
        own: dict[str, list[Edit]] = {}
        shared: dict[str, Edit] = {}
        for edit in edits:  # oldest first: the newest of each English sentence wins
            own.setdefault(edit.article_id, []).append(edit)
            shared[edit.source] = edit
        return cls(own, shared if prefer_edits else None)

    def for_article(self, article_id: str, sentences: Sequence[str]) -> tuple[SentenceEdits, ...]:
        """Each of the article's sentences' ``SentenceEdits``, parallel to ``sentences``."""
        return resolve_edits(sentences, self.own.get(article_id, ()), self.shared)

    def concerning(self, article_id: str, sentences: Sequence[str]) -> tuple[SentenceEdits, ...]:
        """``for_article``, or () when no edit concerns the article (its text keeps the key it had
        before edits existed)."""
        if article_id not in self.own and not (self.shared and not self.shared.keys().isdisjoint(sentences)):
            return ()
        resolved = self.for_article(article_id, sentences)
        return resolved if any(r.edit or r.stale for r in resolved) else ()


def per_block(
    blocks: Sequence[Sequence[str]], edits: Sequence[SentenceEdits]
) -> tuple[tuple[SentenceEdits, ...], ...]:
    """``edits`` (per sentence in reading order, or () for none) cut into ``blocks`` (an article's
    sentences, block by block)."""
    flat = iter(edits or [NO_EDITS] * sum(len(block) for block in blocks))
    return tuple(tuple(next(flat) for _ in block) for block in blocks)


def overrides(sentences: Sequence[str], edits: Sequence[SentenceEdits]) -> dict[str, str]:
    """English sentence → the editor's text it is published with instead of the machine's
    (``edits``: parallel to ``sentences``, or () for none)."""
    if not edits:
        return {}
    return {s: e.text() for s, e in zip(sentences, edits, strict=True) if e.edit is not None}


def published(
    sentences: Sequence[str], machine: Mapping[str, str], edits: Sequence[SentenceEdits]
) -> list[str]:
    """Each sentence's published text (``SentenceEdits.text``): its edit's, else its machine
    translation in ``machine`` (English → translation; a ``LookupError`` when it is not there);
    ``edits`` parallel to ``sentences``, or () for none."""
    rules = edits or [NO_EDITS] * len(sentences)
    return [e.text(machine.get(s)) for s, e in zip(sentences, rules, strict=True)]


def _heir(old: Edit, sentences: Sequence[str], result: list[SentenceEdits]) -> int | None:
    """Which sentence an edit of a since-changed English sentence belongs to now: the unedited
    sentence most like its old English (at least ``STALE_SIMILARITY``; nearest its old place on a
    tie), else the unedited sentence at its old place; None when there is none."""
    candidates = [i for i, r in enumerate(result) if r.edit is None or r.borrowed]
    best, best_score = None, STALE_SIMILARITY
    for index in candidates:
        score = difflib.SequenceMatcher(None, old.source, sentences[index], autojunk=False).ratio()
        closer = best is not None and abs(index - old.position) < abs(best - old.position)
        if score > best_score or (score == best_score and closer):
            best, best_score = index, score
    if best is not None:
        return best
    return old.position if old.position in candidates else None
