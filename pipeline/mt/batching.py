"""Translate many sentences with one model: de-duplicated, split to fit, length-sorted batches.

Sorting by token count keeps padding low; identical sentences are translated once; a batch that
runs out of memory is halved and retried; a sentence that fails on its own fails alone, so the
caller can fail just the articles that contain it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from pipeline.errors import OutOfMemoryError, PipelineError, item_error
from pipeline.items import SentenceTranslation, paragraph_text
from pipeline.mt.long_sentences import split_to_fit
from pipeline.mt.marian import Hypothesis, ModelInfo

log = logging.getLogger(__name__)


class Translator(Protocol):
    """A loaded translation model, as the backends in ``pipeline.mt.backends`` provide it."""

    info: ModelInfo  # what produced the translations, with the model's token limits

    def count_tokens(self, sentences: list[str]) -> list[int]:
        """Source tokens of each sentence as the model sees it (special tokens included)."""

    def translate(self, sentences: list[str]) -> list[Hypothesis]:
        """One batch, in order; every sentence must fit ``info.max_input_tokens``.

        Raises ``OutOfMemoryError`` when the batch does not fit in memory (retried smaller) and
        ``TranslationError`` when the engine fails on it.
        """

    def variant(self, **options: object) -> Translator:
        """The same loaded model with other decoding options (``repetition_penalty``, ...)."""


Outcome = SentenceTranslation | PipelineError


def translate_sentences(
    translator: Translator,
    sentences: Sequence[str],
    batch_size: int,
    batch_tokens: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Outcome]:
    """Map every distinct sentence to its translation or to the error that stopped it.

    Batches hold at most ``batch_size`` sentences and, when ``batch_tokens`` is set, at most that
    many source tokens counting padding (the longest sentence times the batch's size).
    ``on_progress(done, total)`` is called after each batch, counting sentence parts.
    """
    unique = list(dict.fromkeys(sentences))
    limit = translator.info.max_input_tokens
    counts = dict(zip(unique, translator.count_tokens(unique), strict=True))
    parts_of: dict[str, list[str]] = {}
    for sentence in unique:
        if counts[sentence] <= limit:
            parts_of[sentence] = [sentence]
        else:
            parts = split_to_fit(sentence, lambda text: translator.count_tokens([text])[0], limit)
            log.info(
                "a %d-token sentence was split into %d parts to fit the model's %d-token window",
                counts[sentence],
                len(parts),
                limit,
            )
            parts_of[sentence] = parts
    pieces = list(dict.fromkeys(part for parts in parts_of.values() for part in parts))
    missing = [piece for piece in pieces if piece not in counts]
    counts.update(zip(missing, translator.count_tokens(missing), strict=True))
    pieces.sort(key=lambda piece: counts[piece], reverse=True)

    done: dict[str, Hypothesis | PipelineError] = {}
    for batch in token_batches(pieces, counts, batch_size, batch_tokens):
        done.update(_translate_batch(translator, batch))
        if on_progress is not None:
            on_progress(len(done), len(pieces))

    results: dict[str, Outcome] = {}
    for sentence, parts in parts_of.items():
        outcomes = [done[part] for part in parts]
        error = next((o for o in outcomes if isinstance(o, PipelineError)), None)
        if error is not None:
            results[sentence] = error
            continue
        hypotheses = [o for o in outcomes if isinstance(o, Hypothesis)]
        results[sentence] = SentenceTranslation(
            source=sentence,
            target=paragraph_text(h.text for h in hypotheses),
            parts=len(parts),
            hit_limit=any(h.hit_limit for h in hypotheses),
        )
    return results


def token_batches(
    pieces: list[str], counts: dict[str, int], batch_size: int, batch_tokens: int
) -> list[list[str]]:
    """Consecutive batches of length-sorted (longest first) pieces under both limits."""
    batches: list[list[str]] = []
    batch: list[str] = []
    for piece in pieces:
        longest = counts[batch[0]] if batch else counts[piece]
        if batch and (
            len(batch) >= batch_size or (batch_tokens and longest * (len(batch) + 1) > batch_tokens)
        ):
            batches.append(batch)
            batch = []
        batch.append(piece)
    if batch:
        batches.append(batch)
    return batches


def _translate_batch(translator: Translator, batch: list[str]) -> dict[str, Hypothesis | PipelineError]:
    """Each piece's hypothesis, or its error: a batch out of memory is halved and retried; a batch
    that fails otherwise (an engine error, or any exception) is retried one piece at a time, so one
    bad sentence fails alone."""
    try:
        return dict(zip(batch, translator.translate(batch), strict=True))
    except OutOfMemoryError as exc:
        if len(batch) == 1:
            return {batch[0]: exc}
        log.warning("out of memory on a batch of %d sentences; retrying in halves", len(batch))
        half = len(batch) // 2
        return {**_translate_batch(translator, batch[:half]), **_translate_batch(translator, batch[half:])}
    except Exception as exc:
        error = item_error(exc, "translating")
        if len(batch) == 1:
            log.debug("a sentence failed to translate", exc_info=exc)
            return {batch[0]: error}
        log.warning("a batch of %d sentences failed (%s); retrying one by one", len(batch), error)
        results: dict[str, Hypothesis | PipelineError] = {}
        for sentence in batch:
            results.update(_translate_batch(translator, [sentence]))
        return results
