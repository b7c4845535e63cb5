"""Ingest: article files → ``Article`` objects with unique, stable ids."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

from pipeline.errors import InputError, item_error
from pipeline.items import Failure
from pipeline.text.article import Article
from pipeline.text.load import read_article
from pipeline.text.slug import article_id, short_hash

log = logging.getLogger(__name__)


class Ingest:
    name = "ingest"

    def __call__(self, paths: list[Path]) -> list[Article | Failure]:
        results: list[Article | Failure] = []
        for path in paths:
            try:
                article = read_article(path)
            except InputError as exc:
                results.append(Failure(path, article_id(path.stem), self.name, exc))
                continue
            except Exception as exc:  # a reader's surprise fails this file only
                results.append(
                    Failure(path, article_id(path.stem), self.name, item_error(exc, f"reading {path}"))
                )
                continue
            for warning in article.warnings:
                log.warning("%s: %s", path, warning)
            results.append(article)
        return _unique_ids(results)


def _unique_ids(results: list[Article | Failure]) -> list[Article | Failure]:
    """Two files with the same id (``a.txt`` and ``a.md``) each get a suffix from their path."""
    counts = Counter(_id_of(item) for item in results)
    unique: list[Article | Failure] = []
    for item in results:
        if counts[_id_of(item)] == 1:
            unique.append(item)
            continue
        new_id = f"{_id_of(item)}-{short_hash(str(item.source))}"
        log.warning("%s: another input has the same article id; using %r", item.source, new_id)
        if isinstance(item, Article):
            unique.append(replace(item, id=new_id))
        else:
            unique.append(replace(item, article_id=new_id))
    return unique


def _id_of(item: Article | Failure) -> str:
    return item.id if isinstance(item, Article) else item.article_id
