"""Segment: each block (title, paragraphs) → its sentences, keeping the block structure."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.text.article import Article
from pipeline.text.sentences import split_sentences


@dataclass(frozen=True)
class SegmentedArticle:
    article: Article
    sentences: tuple[tuple[str, ...], ...]  # one tuple per block of ``article.blocks``

    @property
    def sentence_count(self) -> int:
        return sum(len(block) for block in self.sentences)

    def all_sentences(self) -> list[str]:
        return [sentence for block in self.sentences for sentence in block]


class Segment:
    name = "segment"

    def __call__(self, articles: list[Article]) -> list[SegmentedArticle]:
        return [
            SegmentedArticle(article, tuple(tuple(split_sentences(b.text)) for b in article.blocks))
            for article in articles
        ]
