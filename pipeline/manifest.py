"""The job-level ``manifest.json``: every article × language of the run, with status and paths."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.fsio import atomic_write_json
from pipeline.items import Failure
from pipeline.layout import MANIFEST_FILE
from pipeline.stages.publish import Published

SCHEMA_VERSION = 1


@dataclass
class RunRecord:
    """What one run did; the executor fills it, the CLI reports it, this module writes it."""

    job: str
    config_path: Path
    job_dir: Path
    languages: tuple[str, ...]
    started: dt.datetime
    finished: dt.datetime | None = None
    published: list[Published] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed_items(self) -> list[tuple[Failure, str]]:
        """Each failure once per language it cost (an unreadable file costs every language)."""
        return [
            (failure, language)
            for failure in self.failures
            for language in ((failure.language,) if failure.language else self.languages)
        ]

    @property
    def manifest_path(self) -> Path:
        return self.job_dir / MANIFEST_FILE


def manifest_data(record: RunRecord) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {
            "article_id": p.article_id,
            "language": p.language,
            "status": "ok",
            "source": str(p.source),
            "files": p.files,
            "sentences": p.sentences,
            "warnings": list(p.warnings),
        }
        for p in record.published
    ]
    items += [
        {
            "article_id": failure.article_id,
            "language": language,
            "status": "failed",
            "source": str(failure.source),
            "stage": failure.stage,
            "error": failure.message,
            "transient": failure.error.transient,
        }
        for failure, language in record.failed_items
    ]
    items.sort(key=lambda item: (item["article_id"], item["language"]))
    finished = record.finished or dt.datetime.now(dt.UTC)
    failed = sum(1 for item in items if item["status"] == "failed")
    return {
        "schema": SCHEMA_VERSION,
        "job": record.job,
        "config": str(record.config_path),
        "languages": list(record.languages),
        "run": {
            "started": record.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "seconds": round((finished - record.started).total_seconds(), 3),
            "pipeline_version": __version__,
        },
        "counts": {
            "articles": len({item["article_id"] for item in items}),
            "items": len(items),
            "ok": len(items) - failed,
            "failed": failed,
        },
        "items": items,
    }


def write_manifest(record: RunRecord) -> Path:
    atomic_write_json(record.manifest_path, manifest_data(record))
    return record.manifest_path
