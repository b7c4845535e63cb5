"""Segment: each block (title, paragraphs) → its sentences, keeping the block structure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import item_error
from pipeline.items import Failure
from pipeline.text.article import Article
from pipeline.text.sentences import split_sentences


@dataclass(frozen=True)
class SegmentedArticle:
    """An article with the sentences of each of its blocks, in block order."""

    article: Article
    sentences: tuple[tuple[str, ...], ...]  # one tuple per block of ``article.blocks``

    @property
    def sentence_count(self) -> int:
        """How many sentences the article has, over all its blocks."""
        return sum(len(block) for block in self.sentences)

    def all_sentences(self) -> list[str]:
        """Every sentence of the article in reading order, repeats included."""
        return [sentence for block in self.sentences for sentence in block]


class Segment:
    """The segment stage: each block (title, paragraphs) of an article split into sentences.

    Args:
        known: articles split before, by file: one whose file has the same sha256 keeps those
            sentences instead of being split again.
    """

    name = "segment"

    def __init__(self, known: Mapping[Path, SegmentedArticle] | None = None):
        self.known = known or {}

    def __call__(self, articles: list[Article]) -> list[SegmentedArticle | Failure]:
        """Each article split into sentences, or the ``Failure`` of one the splitter choked on."""
        return [self._segment(article) for article in articles]

    def _segment(self, article: Article) -> SegmentedArticle | Failure:
        before = self.known.get(article.source)
        if before is not None and before.article.sha256 == article.sha256:
            return SegmentedArticle(article, before.sentences)
        try:
            return SegmentedArticle(article, tuple(tuple(split_sentences(b.text)) for b in article.blocks))
        except Exception as exc:
            error = item_error(exc, f"splitting {article.source} into sentences")
            return Failure(article.source, article.id, self.name, error)


def split_outcomes(
    items: list[Article | Failure], known: Mapping[Path, SegmentedArticle] | None = None
) -> tuple[list[SegmentedArticle], list[Failure]]:
    """Ingest's outcomes segmented (``known``: see ``Segment``): the articles ready to translate,
    and every file that failed (unreadable, or the sentence splitter failed on it), in input order."""
    articles = [item for item in items if isinstance(item, Article)]
    failures = [item for item in items if isinstance(item, Failure)]
    segmented: list[SegmentedArticle] = []
    for outcome in Segment(known)(articles):
        if isinstance(outcome, Failure):
            failures.append(outcome)
        else:
            segmented.append(outcome)
    return segmented, failures
