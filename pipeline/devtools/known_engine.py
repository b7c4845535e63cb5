"""A stand-in for CTranslate2's engine whose translations are known in advance.

Random-weight models translate by near-ties ("A A A ..."), and which of two near-equal tokens wins
can change with the math library CTranslate2 picks (Intel MKL or oneDNN), the instruction set and
the batch shape. Tests of orchestration (batching, executors, what a run redoes, progress totals)
must not depend on that. With ``open_known_engine`` in place of
``pipeline.mt.ctranslate2_backend.open_engine``, a ``CTranslate2Translator`` still locates the
checkpoint, reads its config and tokenizer and batches as usual, but decodes with ``KnownEngine``:
a sentence's translation is its own source pieces behind a language mark, cut at the batch's
decoding limit, the same on every CPU and in every batch. Uncut, it is ``known_translation``.

Use ``install()`` in another process (a Ray worker's setup hook); in-process, tests monkeypatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KnownResult:
    """What ``ctranslate2.Translator.translate_batch`` returns per sentence (the part we read)."""

    hypotheses: list[list[str]]


def known_translation(code: str, sentence: str) -> str:
    """The text ``KnownEngine`` gives ``sentence`` for language ``code`` when it is not cut short."""
    return f"[{code}] {sentence}"


def _special(piece: str) -> bool:
    """``</s>`` and a multi-target model's language token (``>>ukr<<``): not part of the text."""
    return piece == "</s>" or (piece.startswith(">>") and piece.endswith("<<"))


class KnownEngine:
    """Translates a batch of source pieces into ``[code]`` and the same pieces, whatever the batch."""

    def __init__(self, code: str):
        self.mark = f"▁[{code}]"
        self.batches: list[int] = []  # the size of each batch it was given

    def translate_batch(
        self, source: Sequence[Sequence[str]], *, max_decoding_length: int, **options: Any
    ) -> list[KnownResult]:
        self.batches.append(len(source))
        return [
            KnownResult([[self.mark, *(p for p in pieces if not _special(p))][:max_decoding_length]])
            for pieces in source
        ]


def open_known_engine(
    directory: Any, fingerprint: str, compute_type: str, device: str, settings: Any, key: str
) -> KnownEngine:
    """``open_engine``'s signature; ``key`` is ``languages.<code>``."""
    return KnownEngine(key.rpartition(".")[2])


def install() -> None:
    """Make every ``CTranslate2Translator`` this process loads from now on decode with ``KnownEngine``."""
    from pipeline.mt import ctranslate2_backend

    ctranslate2_backend.open_engine = open_known_engine
