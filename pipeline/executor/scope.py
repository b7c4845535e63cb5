"""A run on an editor's change reads, plans and reports only the articles that change touches.

``RunOptions.pairs`` names the article-languages an editor changed (a post-edit saved or dropped,
an import, and the background narration that follows them). The run finds their input files by the
sources the manifest lists for those articles and reads only those (or takes them from the state's
records when unchanged); it plans only those pairs, and then replaces only their manifest items,
pages, transcripts, public files and feeds (``update_manifest``, ``write_reports(changed=...)``).
Whatever the manifest cannot vouch for (no manifest yet, an article it does not list, a file that
is now unreadable or gives another id) makes the run read the whole input, as a nightly run does:
slower, never wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from pipeline.config import JobConfig
from pipeline.executor.inputs import InputFiles
from pipeline.integrity import read_record
from pipeline.layout import MANIFEST_FILE
from pipeline.stages.ingest import Ingest
from pipeline.stages.segment import SegmentedArticle, split_outcomes
from pipeline.text.slug import short_hash

log = logging.getLogger(__name__)

Pairs = Collection[tuple[str, str]]  # (article_id, language)


def read_touched(config: JobConfig, pairs: Pairs) -> tuple[list[SegmentedArticle], InputFiles] | None:
    """The articles of ``pairs``, read from the files the manifest names for them, with the ids the
    job gave them; None when the manifest cannot vouch for them (see the module's docstring)."""
    sources = _sources(config, {article_id for article_id, _ in pairs})
    if sources is None:
        return None
    paths = sorted(sources)
    inputs = InputFiles.check(paths, config.state_path, whole=False)
    known = {path: item.article for path, item in inputs.known.items()}
    segmented, failures = split_outcomes(Ingest(job_dir=config.job_dir)(paths, known), inputs.known)
    if failures:
        log.info("%s: %s cannot be read now; reading the whole input", config.job, failures[0].source)
        return None
    issued = []
    for item in segmented:
        article = item.article
        job_id = sources[article.source]
        if job_id not in (article.id, f"{article.id}-{short_hash(str(article.source))}"):
            log.info("%s: %s now gives the id %r, not %r; reading the whole input",
                     config.job, article.source, article.id, job_id)  # fmt: skip
            return None
        issued.append(replace(item, article=replace(article, id=job_id)))
    return issued, inputs


def _sources(config: JobConfig, article_ids: set[str]) -> dict[Path, str] | None:
    """The input file of each of ``article_ids`` as the manifest lists it (file → article id), or
    None when the manifest is missing or does not list one of them as current."""
    manifest = read_record(config.job_dir / MANIFEST_FILE)
    if manifest is None:
        return None
    found: dict[str, Path] = {}
    for item in manifest.get("items", []):
        article_id = item.get("article_id")
        if article_id in article_ids and item.get("status") != "retracted" and item.get("source"):
            found[article_id] = Path(item["source"])
    if found.keys() != article_ids or len(set(found.values())) != len(found):
        return None
    return {path: article_id for article_id, path in found.items()}


__all__ = ["Pairs", "read_touched"]
