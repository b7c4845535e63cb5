"""What editors open: the review pages and the podcast feeds, written from the job's outputs."""

from __future__ import annotations

from typing import Any

from pipeline.config import JobConfig
from pipeline.report.feeds import write_feeds
from pipeline.report.review import write_review


def write_reports(config: JobConfig, manifest: dict[str, Any]) -> None:
    write_review(config, manifest)
    if config.feeds.base_url:
        write_feeds(config, manifest)


__all__ = ["write_reports"]
