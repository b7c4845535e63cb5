"""Translate: sentences → translations, for one target language; and the assembly of a
translated article from its sentences' translations.

The model loads once, in ``__init__``; ``__call__`` translates a batch of sentences (de-duplicated,
split to fit, length-sorted). The driver decides which sentences need the model at all (the
translation memory has the rest) and keeps the results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import PipelineError
from pipeline.mt.backends import load_translator
from pipeline.mt.batching import SentenceTranslation, translate_sentences
from pipeline.mt.marian import ModelInfo
from pipeline.stages.segment import SegmentedArticle


@dataclass(frozen=True)
class TranslatedArticle:
    segmented: SegmentedArticle
    target: TargetConfig
    model: ModelInfo
    settings: TranslationConfig
    blocks: tuple[tuple[SentenceTranslation, ...], ...]  # parallel to segmented.sentences
    warnings: tuple[str, ...] = ()

    @property
    def article_id(self) -> str:
        return self.segmented.article.id


class Translate:
    name = "translate"

    def __init__(self, target: TargetConfig, settings: TranslationConfig, pull_command: str | None = None):
        self.target = target
        self.settings = settings
        self.translator = load_translator(target, settings, pull_command)

    @property
    def info(self) -> ModelInfo:
        return self.translator.info

    def __call__(
        self, sentences: list[str], on_progress: Callable[[int, int], None] | None = None
    ) -> dict[str, SentenceTranslation | PipelineError]:
        return translate_sentences(
            self.translator, sentences, self.settings.batch_size, self.settings.batch_tokens, on_progress
        )


def assemble_translation(
    segmented: SegmentedArticle,
    target: TargetConfig,
    settings: TranslationConfig,
    model: ModelInfo,
    translations: Mapping[str, SentenceTranslation],
) -> TranslatedArticle:
    """The article's translation from its sentences' (every sentence must be in ``translations``)."""
    blocks = tuple(tuple(translations[s] for s in block) for block in segmented.sentences)
    cut = sum(1 for block in blocks for t in block if t.hit_limit)
    warnings = []
    if cut:
        warnings.append(
            f"{cut} of {segmented.sentence_count} sentences reached translation.max_length "
            f"({model.max_output_tokens} tokens) and may be cut short"
        )
    return TranslatedArticle(segmented, target, model, settings, blocks, tuple(warnings))
