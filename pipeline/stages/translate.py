"""Translate: sentences → translations, for one target language; and the assembly of a
translated article from its sentences' translations, with quality flags.

The model loads once, in ``__init__``; ``__call__`` translates a batch of sentences (protected
spans masked, de-duplicated, split to fit, length-sorted) and, with ``quality.on_flag: retry``,
translates a flagged sentence again with a repetition penalty, keeping the version with fewer
flags. The driver decides which sentences need the model at all (the translation memory has the
rest) and keeps the results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from pipeline.config import QualityConfig, TargetConfig, TranslationConfig
from pipeline.edits import NO_EDITS, SentenceEdits
from pipeline.edits import per_block as edits_per_block
from pipeline.errors import PipelineError, item_error
from pipeline.items import SentenceTranslation
from pipeline.mt.backends import load_translator
from pipeline.mt.batching import Translator, translate_sentences
from pipeline.mt.marian import ModelInfo
from pipeline.quality.flags import QualityRules, flags_for
from pipeline.quality.protect import mask, protection_pattern, unmask
from pipeline.stages.segment import SegmentedArticle

log = logging.getLogger(__name__)

# What a second attempt at a flagged sentence changes: no loops, no repeated 3-grams.
RETRY_DECODING = {"repetition_penalty": 1.3, "no_repeat_ngram_size": 3}

Flags = tuple[dict[str, str], ...]


@dataclass(frozen=True)
class TranslatedArticle:
    """An article translated into one target language: each sentence's translation and flags.

    ``warnings`` are for the operator (sentences cut short at ``translation.max_length``).
    """

    segmented: SegmentedArticle
    target: TargetConfig
    model: ModelInfo
    settings: TranslationConfig
    blocks: tuple[tuple[SentenceTranslation, ...], ...]  # parallel to segmented.sentences; as published
    flags: tuple[tuple[Flags, ...], ...] = ()  # parallel to blocks
    warnings: tuple[str, ...] = ()
    edits: tuple[tuple[SentenceEdits, ...], ...] = ()  # parallel to blocks; () when no edit concerns it
    machine: tuple[tuple[str, ...], ...] = ()  # parallel to blocks: the machine translations

    def sentence_edits(self, block: int, sentence: int) -> SentenceEdits:
        """What editors' post-edits do to one sentence (``NO_EDITS`` when nothing)."""
        return self.edits[block][sentence] if self.edits else NO_EDITS

    def edited_count(self) -> int:
        """How many sentences are published with this article's own post-edit."""
        return sum(1 for block in self.edits for e in block if e.edit is not None and not e.borrowed)

    @property
    def article_id(self) -> str:
        """The source article's id."""
        return self.segmented.article.id

    def flag_counts(self) -> dict[str, int]:
        """How many flags of each type (``repetition``, ``empty``...) the sentences carry."""
        counts: dict[str, int] = {}
        for block in self.flags:
            for sentence in block:
                for flag in sentence:
                    counts[flag["type"]] = counts.get(flag["type"], 0) + 1
        return counts


def quality_rules(target: TargetConfig, quality: QualityConfig) -> QualityRules:
    """The ``quality`` thresholds, with ``target``'s language and the script it is written in."""
    return QualityRules(
        max_repeats=quality.max_repeats,
        min_length_ratio=quality.min_length_ratio,
        max_length_ratio=quality.max_length_ratio,
        min_script_share=quality.min_script_share,
        script=target.language.script,
        language=target.language.code,
        min_language_confidence=quality.min_language_confidence,
    )


def sentence_flags(translation: SentenceTranslation, target: TargetConfig, quality: QualityConfig) -> Flags:
    """The quality flags of one sentence's translation (each a ``type`` and a ``detail``); () if none.

    ``target`` gives the script and the glossary; ``translation.moved``, the protected spans that
    the model dropped.
    """
    rules = quality_rules(target, quality)
    return tuple(
        flags_for(translation.source, translation.target, rules, dict(target.glossary), translation.moved)
    )


class Translate:
    """The translate stage for one target language: loads its model once, then translates batches.

    Args:
        target: the language, its model and what to protect from translation.
        settings: ``translation``: backend, device, beam size, batch limits...
        pull_command: the command that fetches a missing model, suggested in the error.
        quality: ``quality``: the flag thresholds and ``on_flag``; the defaults when None.

    Raises:
        ModelError: the model or its tokenizer cannot be found or loaded.
        ModelUnavailableError: a hub model is not cached and the hub cannot be reached.
        ConfigError: ``translation.device`` is ``cuda`` and the backend sees no CUDA device.
    """

    name = "translate"

    def __init__(
        self,
        target: TargetConfig,
        settings: TranslationConfig,
        pull_command: str | None = None,
        quality: QualityConfig | None = None,
    ):
        self.target = target
        self.settings = settings
        self.quality = quality or QualityConfig()
        self.protection = protection_pattern(target.protect)
        self.translator: Translator = load_translator(target, settings, pull_command)

    @property
    def info(self) -> ModelInfo:
        """What translates: the model, its revision, language token, device and token limits."""
        return self.translator.info

    def __call__(
        self, sentences: list[str], on_progress: Callable[[int, int], None] | None = None
    ) -> dict[str, SentenceTranslation | PipelineError]:
        """Each sentence's translation, or the error that stopped it; never raises for one sentence:
        if the batch as a whole fails unexpectedly, each sentence is tried on its own.

        Args:
            sentences: the source sentences; repeats are translated once.
            on_progress: called as ``on_progress(done, total)`` after each batch of the first pass,
                counting sentence parts (a long sentence may be split).

        Returns:
            Sentence → its ``SentenceTranslation``, or its error as a value: ``OutOfMemoryError``
            (too big even on its own), ``TranslationError`` or ``UnexpectedError``.
        """
        try:
            return self._translate_and_retry(sentences, on_progress)
        except Exception as exc:
            if len(sentences) <= 1:
                log.debug("translating failed", exc_info=exc)
                return dict.fromkeys(sentences, item_error(exc, "translating"))
            log.warning("translating %d sentences failed (%s); trying one at a time", len(sentences),
                        item_error(exc, "translating"))  # fmt: skip
            results: dict[str, SentenceTranslation | PipelineError] = {}
            for sentence in sentences:
                results.update(self([sentence]))
            return results

    def _translate_and_retry(
        self, sentences: list[str], on_progress: Callable[[int, int], None] | None
    ) -> dict[str, SentenceTranslation | PipelineError]:
        results = self._translate(self.translator, sentences, on_progress)
        if self.quality.on_flag == "retry":
            flagged = [s for s, r in results.items() if isinstance(r, SentenceTranslation) and self._flags(r)]
            if flagged:
                again = self._translate(self.translator.variant(**RETRY_DECODING), flagged, None)
                for sentence, second in again.items():
                    first = results[sentence]
                    better = (
                        isinstance(second, SentenceTranslation)
                        and isinstance(first, SentenceTranslation)
                        and len(self._flags(second)) < len(self._flags(first))
                    )
                    if better:
                        results[sentence] = second
        return results

    def _flags(self, translation: SentenceTranslation) -> Flags:
        return sentence_flags(translation, self.target, self.quality)

    def _translate(
        self, translator: Translator, sentences: list[str], on_progress: Callable[[int, int], None] | None
    ) -> dict[str, SentenceTranslation | PipelineError]:
        masked = {sentence: mask(sentence, self.protection) for sentence in sentences}
        raw = translate_sentences(
            translator,
            [m.text for m in masked.values()],
            self.settings.batch_size,
            self.settings.batch_tokens,
            on_progress,
        )
        results: dict[str, SentenceTranslation | PipelineError] = {}
        for sentence, m in masked.items():
            outcome = raw[m.text]
            if isinstance(outcome, PipelineError):
                results[sentence] = outcome
                continue
            text, moved = unmask(outcome.target, m)
            results[sentence] = replace(outcome, source=sentence, target=text, moved=tuple(moved))
        return results


def assemble_translation(
    segmented: SegmentedArticle,
    target: TargetConfig,
    settings: TranslationConfig,
    model: ModelInfo,
    translations: Mapping[str, SentenceTranslation],
    quality: QualityConfig | None = None,
    edits: Sequence[SentenceEdits] = (),
) -> TranslatedArticle:
    """The article's translation from its sentences' (every sentence must be in ``translations``)
    and the editors' post-edits (``edits``: per sentence in reading order; () for none).

    A sentence with a post-edit is published as the edit, flagged only with what the edits say
    (``from_edit``, ``invisible_characters``); the machine's text is kept beside it. Every other
    sentence is flagged with the
    ``quality`` thresholds (the defaults when None), plus ``source_changed_after_edit`` when its
    English changed after an editor's edit. A warning counts the machine translations that reached
    ``translation.max_length``.
    """
    quality = quality or QualityConfig()
    machine = tuple(tuple(translations[s] for s in block) for block in segmented.sentences)
    per_block = edits_per_block(segmented.sentences, edits)
    blocks = tuple(
        tuple(_published(t, e) for t, e in zip(block, block_edits, strict=True))
        for block, block_edits in zip(machine, per_block, strict=True)
    )
    flags = tuple(
        tuple(
            e.flags() if e.edit else (*sentence_flags(t, target, quality), *e.flags())
            for t, e in zip(block, block_edits, strict=True)
        )
        for block, block_edits in zip(blocks, per_block, strict=True)
    )
    cut = sum(1 for block in blocks for t in block if t.hit_limit)
    warnings = []
    if cut:
        warnings.append(
            f"{cut} of {segmented.sentence_count} sentences reached the output limit "
            f"(translation.max_length, {model.max_output_tokens} tokens, or max_length_ratio x their "
            "length) and may be cut short"
        )
    return TranslatedArticle(
        segmented, target, model, settings, blocks, flags, tuple(warnings),
        per_block if edits else (), tuple(tuple(t.target for t in block) for block in machine),
    )  # fmt: skip


def _published(machine: SentenceTranslation, edits: SentenceEdits) -> SentenceTranslation:
    """The sentence as published (``SentenceEdits.text``): the machine's translation, or an
    editor's in its place."""
    text = edits.text(machine.target)
    return machine if edits.edit is None else SentenceTranslation(machine.source, text)
