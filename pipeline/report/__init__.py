"""What editors open: the review pages and the podcast feeds, written from the job's outputs."""

from __future__ import annotations

from typing import Any

from pipeline.config import JobConfig
from pipeline.layout import FEEDS_DIR, MANIFEST_FILE, REVIEW_FILE
from pipeline.report.feeds import write_feeds
from pipeline.report.review import write_review


def reports_missing(config: JobConfig) -> bool:
    """True if a page or feed a finished run leaves is absent (a run killed while writing them):
    then the next run writes them even when it has no article to do."""
    expected = [config.job_dir / MANIFEST_FILE, config.job_dir / REVIEW_FILE]
    if config.feeds.base_url:
        expected += [config.job_dir / FEEDS_DIR / f"{target.code}.xml" for target in config.targets]
    return not all(path.is_file() for path in expected)


def write_reports(config: JobConfig, manifest: dict[str, Any]) -> None:
    """Write the review pages, and the feeds when ``feeds.base_url`` is set, from ``manifest``.

    Raises:
        OSError: a page or feed cannot be written.
    """
    write_review(config, manifest)
    if config.feeds.base_url:
        write_feeds(config, manifest)


__all__ = ["reports_missing", "write_reports"]
