"""Ingest: article files → ``Article`` objects with unique, stable ids."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from pipeline.errors import InputError, item_error
from pipeline.items import Failure
from pipeline.layout import JSON_FILE, LATEST_FILE, SOURCES_DIR
from pipeline.text.article import Article
from pipeline.text.load import read_article
from pipeline.text.slug import article_id, legacy_article_id, short_hash

log = logging.getLogger(__name__)


class Ingest:
    """The ingest stage: article files → ``Article`` objects with ids unique within the batch.

    Args:
        job_dir: the job's output folder (``<output_dir>/<job>``), or None. A file that earlier
            versions gave another id (``article-<hash>`` for a non-Latin name; see
            ``legacy_article_id``) keeps it when the job has outputs under it for that file (an
            ``article.json`` naming it), so ids already issued stay stable.
    """

    name = "ingest"

    def __init__(self, job_dir: Path | None = None):
        self.job_dir = job_dir

    def __call__(
        self, paths: list[Path], known: Mapping[Path, Article] | None = None
    ) -> list[Article | Failure]:
        """Each file read as an ``Article``, or the ``Failure`` that says why it cannot be, in order.

        ``known`` gives the files that need not be read again (unchanged since they were read), as
        ``read_article`` read them then. Never raises for one file: its ``Failure`` holds an
        ``InputError`` (unsupported type, unreadable, binary, empty, no date...) or an
        ``UnexpectedError`` for a reader's surprise. Two files with the same id (``a.txt``,
        ``a.md``) each get a suffix from their path's hash.
        """
        known = known or {}
        results: list[Article | Failure] = []
        for path in paths:
            try:
                article = known.get(path) or read_article(path)
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
        if self.job_dir is not None:
            results = [_keep_issued_id(item, self.job_dir) for item in results]
        return _unique_ids(results)


def _keep_issued_id(item: Article | Failure, job_dir: Path) -> Article | Failure:
    """``item`` with the id that earlier versions gave it, when ``job_dir`` has outputs for it under
    that id (or under that id made unique: ``<id>-<hash of the path>``); else ``item`` unchanged."""
    old = legacy_article_id(_named(item))
    if old == _id_of(item):
        return item
    folders = (job_dir / old, job_dir / f"{old}-{short_hash(str(item.source))}")
    if not any(_written_for(folder, item.source) for folder in folders):
        return item
    log.debug("%s: keeping the article id %r that its outputs have (new: %r)", item.source, old, _id_of(item))
    return _with_id(item, old)


def _written_for(folder: Path, source: Path) -> bool:
    """Whether an ``article.json`` in ``folder``'s language folders was written for a file named as
    ``source`` is (the file may have moved since)."""
    for record_path in sorted(folder.glob(f"*/{JSON_FILE}")):
        try:
            recorded = json.loads(record_path.read_text("utf-8"))["source"]["path"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(recorded, str) and Path(recorded).name == source.name:
            return True
    return False


def _named(item: Article | Failure) -> str:
    """What ``item``'s id is made from: the id its file declares, else the file name's stem."""
    hint = item.parts.id_hint if isinstance(item, Article) else None
    return hint or item.source.stem


def _unique_ids(results: list[Article | Failure]) -> list[Article | Failure]:
    """Two files with the same id (``a.txt`` and ``a.md``) each get a suffix from their path; an
    article taken from the web keeps the id it was issued (``<job>/sources/<id>/latest.json``),
    and only the files that share it get one."""
    counts = Counter(_id_of(item) for item in results)
    unique: list[Article | Failure] = []
    for item in results:
        if counts[_id_of(item)] == 1 or _issued_on_the_web(item):
            unique.append(item)
            continue
        new_id = f"{_id_of(item)}-{short_hash(str(item.source))}"
        log.warning("%s: another input has the same article id; using %r", item.source, new_id)
        unique.append(_with_id(item, new_id))
    return unique


def _issued_on_the_web(item: Article | Failure) -> bool:
    """Whether ``item`` is a web article's file, whose folder is named by the id it was issued."""
    source = item.source
    return (
        source.name == LATEST_FILE
        and source.parent.name == _id_of(item)
        and source.parent.parent.name == SOURCES_DIR
    )


def _with_id(item: Article | Failure, new_id: str) -> Article | Failure:
    return replace(item, id=new_id) if isinstance(item, Article) else replace(item, article_id=new_id)


def _id_of(item: Article | Failure) -> str:
    return item.id if isinstance(item, Article) else item.article_id
