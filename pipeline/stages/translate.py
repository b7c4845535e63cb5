"""Translate: segmented articles → translated articles, for one target language.

The model loads once, in ``__init__``; ``__call__`` translates the sentences of a whole batch of
articles together (de-duplicated, length-sorted) and reassembles each article. An article with a
sentence that could not be translated fails alone; the rest of the batch is delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.config import TargetConfig, TranslationConfig
from pipeline.errors import PipelineError
from pipeline.items import Failure
from pipeline.mt.batching import SentenceTranslation, translate_sentences
from pipeline.mt.marian import MarianTranslator, ModelInfo
from pipeline.stages.segment import SegmentedArticle

log = logging.getLogger(__name__)


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

    def __init__(self, target: TargetConfig, settings: TranslationConfig):
        self.target = target
        self.settings = settings
        self.translator = MarianTranslator(target, settings)

    def __call__(
        self,
        batch: list[SegmentedArticle],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[TranslatedArticle | Failure]:
        sentences = [s for segmented in batch for s in segmented.all_sentences()]
        outcomes = translate_sentences(self.translator, sentences, self.settings.batch_size, on_progress)
        return [self._assemble(segmented, outcomes) for segmented in batch]

    def _assemble(
        self, segmented: SegmentedArticle, outcomes: dict[str, SentenceTranslation | PipelineError]
    ) -> TranslatedArticle | Failure:
        article = segmented.article
        for sentence in segmented.all_sentences():
            outcome = outcomes[sentence]
            if isinstance(outcome, PipelineError):
                return Failure(article.source, article.id, self.name, outcome, self.target.code)
        blocks = tuple(
            tuple(outcomes[s] for s in block)  # type: ignore[misc]  # errors returned above
            for block in segmented.sentences
        )
        cut = sum(1 for block in blocks for t in block if t.hit_limit)
        warnings = []
        if cut:
            warnings.append(
                f"{cut} of {segmented.sentence_count} sentences reached translation.max_length "
                f"({self.translator.info.max_output_tokens} tokens) and may be cut short"
            )
        return TranslatedArticle(
            segmented=segmented,
            target=self.target,
            model=self.translator.info,
            settings=self.settings,
            blocks=blocks,
            warnings=tuple(warnings),
        )
