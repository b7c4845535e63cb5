"""What editors open and what the public sees, written from the job's outputs: transcripts, the
review pages, the public folder and the podcast feeds."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pipeline.config import JobConfig
from pipeline.report.feeds import write_feeds
from pipeline.report.public import prune_public, update_public
from pipeline.report.review import write_review
from pipeline.report.transcripts import write_transcripts


def write_reports(
    config: JobConfig, manifest: dict[str, Any], changed: Collection[tuple[str, str]] | None = None
) -> None:
    """Write the transcripts, the review pages, the public folder, and the feeds when
    ``feeds.base_url`` is set, from ``manifest``: for every item, or (``changed``: the
    ``(article_id, language)`` pairs an editor's change touched) for those alone: their
    transcripts, public files and articles' pages, the job's index and their languages' feeds.

    New files reach the public folder before the feeds list them, and what is no longer servable
    leaves it only after the feeds stop listing it. What fits is written: a part that fails (a
    full disk) does not keep the others from being tried, except those that depend on it (the
    public folder on the transcripts, the feeds on the public folder, pruning on the feeds).

    Raises:
        OSError: a page, transcript, feed or public file cannot be written or removed (the first
            such error, once every part that could be tried was).
    """
    only = None if changed is None else frozenset(changed)
    errors: list[OSError] = []
    transcripts = None
    try:
        transcripts = write_transcripts(config, manifest, only)
    except OSError as exc:
        errors.append(exc)
    try:
        write_review(config, manifest, None if only is None else {article_id for article_id, _ in only})
    except OSError as exc:
        errors.append(exc)
    if transcripts is not None:
        try:
            public = update_public(config, manifest, transcripts, only)
            if config.feeds.base_url:
                write_feeds(config, manifest, None if only is None else {language for _, language in only})
            prune_public(config, public, only)
        except OSError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


__all__ = ["write_reports"]
