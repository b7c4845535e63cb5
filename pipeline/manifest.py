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
    published: dict[tuple[str, str], Published] = field(default_factory=dict)  # (article, language)
    failures: list[Failure] = field(default_factory=list)

    def add(self, outcome: Published | Failure) -> None:
        if isinstance(outcome, Failure):
            self.failures.append(outcome)
        else:
            self.published[(outcome.article_id, outcome.language)] = outcome

    @property
    def failed_items(self) -> list[tuple[Failure, str]]:
        """Each failure once per language it cost (an unreadable file costs every language)."""
        return [
            (failure, language)
            for failure in self.failures
            for language in ((failure.language,) if failure.language else self.languages)
        ]

    def counts(self) -> tuple[int, int]:
        """(items ok, items failed), an item being one article in one language."""
        failed = {(failure.article_id, language) for failure, language in self.failed_items}
        return len(set(self.published) - failed), len(failed)

    @property
    def manifest_path(self) -> Path:
        return self.job_dir / MANIFEST_FILE


def manifest_data(record: RunRecord) -> dict[str, Any]:
    """One item per article × language; a failed item keeps the files it did get (text without audio)."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for (article_id, language), p in record.published.items():
        items[(article_id, language)] = {
            "article_id": article_id,
            "language": language,
            "status": "ok",
            "source": str(p.source),
            "files": p.files,
            "sentences": p.sentences,
            "narration": _narration_summary(p.narration),
            "warnings": list(p.warnings),
        }
    for failure, language in record.failed_items:
        item = items.setdefault(
            (failure.article_id, language),
            {
                "article_id": failure.article_id,
                "language": language,
                "source": str(failure.source),
                "files": {},
            },
        )
        item.update(
            status="failed", stage=failure.stage, error=failure.message, transient=failure.error.transient
        )
    ordered = [items[key] for key in sorted(items)]
    finished = record.finished or dt.datetime.now(dt.UTC)
    failed = sum(1 for item in ordered if item["status"] == "failed")
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
            "articles": len({item["article_id"] for item in ordered}),
            "items": len(ordered),
            "ok": len(ordered) - failed,
            "failed": failed,
        },
        "items": ordered,
    }


def _narration_summary(narration: dict[str, Any] | None) -> dict[str, Any] | None:
    if narration is None:
        return None
    keys = ("engine", "voice", "duration", "size", "sha256")
    return {key: narration[key] for key in keys if key in narration}


def write_manifest(record: RunRecord) -> Path:
    atomic_write_json(record.manifest_path, manifest_data(record))
    return record.manifest_path
