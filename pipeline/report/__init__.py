"""What editors open and what the public sees, written from the job's outputs: transcripts, the
review pages, the public folder and the podcast feeds."""

from __future__ import annotations

from typing import Any

from pipeline.config import JobConfig
from pipeline.report.feeds import write_feeds
from pipeline.report.public import prune_public, update_public
from pipeline.report.review import write_review
from pipeline.report.transcripts import write_transcripts


def write_reports(config: JobConfig, manifest: dict[str, Any]) -> None:
    """Write the transcripts, the review pages, the public folder, and the feeds when
    ``feeds.base_url`` is set, from ``manifest``.

    New files reach the public folder before the feeds list them, and what is no longer servable
    leaves it only after the feeds stop listing it.

    Raises:
        OSError: a page, transcript, feed or public file cannot be written or removed.
    """
    transcripts = write_transcripts(config, manifest)
    write_review(config, manifest)
    public = update_public(config, manifest, transcripts)
    if config.feeds.base_url:
        write_feeds(config, manifest)
    prune_public(config, public)


__all__ = ["write_reports"]
