"""The job-level ``manifest.json``: every current article × language, its status and files.

Rendered from each item's outcome (``ItemOutcome``: what the plan and the run decided, from the
state), so it describes the job's outputs as they stand, including those an earlier run made, not
just what the last run touched. Deciding whether an item is done is the planner's job, not this
module's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline import __version__
from pipeline.config import JobConfig
from pipeline.fsio import atomic_write_json
from pipeline.items import Failure, ItemOutcome
from pipeline.layout import MANIFEST_FILE

SCHEMA_VERSION = 2
NARRATION_FIELDS = ("engine", "voice", "duration", "size", "sha256")


def manifest_data(
    config: JobConfig, ingest_failures: list[Failure], outcomes: list[ItemOutcome], interrupted: bool
) -> dict[str, Any]:
    """The manifest as a JSON-ready dict: one item per outcome and per unreadable input × language."""
    items = [_item(outcome) for outcome in outcomes]
    items += [_unreadable(failure, target.code) for failure in ingest_failures for target in config.targets]
    items.sort(key=lambda item: (item["article_id"], item["language"]))
    statuses = [item["status"] for item in items]
    return {
        "schema": SCHEMA_VERSION,
        "job": config.job,
        "config": str(config.path),
        "languages": [target.code for target in config.targets],
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "interrupted": interrupted,
        "pipeline_version": __version__,
        "counts": {
            "articles": len({item["article_id"] for item in items}),
            "items": len(items),
            **{status: statuses.count(status) for status in ("ok", "failed", "pending")},
        },
        "items": items,
    }


def _item(outcome: ItemOutcome) -> dict[str, Any]:
    text, narration = outcome.text or {}, outcome.narration or {}
    summary = narration.get("narration", {})
    item: dict[str, Any] = {
        "article_id": outcome.article_id,
        "language": outcome.language,
        "status": outcome.status,
        "source": str(outcome.source),
        "files": {**text.get("files", {}), **narration.get("files", {})},
        "sentences": outcome.sentences,
        "narration": {k: summary[k] for k in NARRATION_FIELDS if k in summary} if narration else None,
        "flags": text.get("flags", {}),
        "warnings": text.get("warnings", []),
    }
    if outcome.failure is not None:
        failure = outcome.failure
        item.update(stage=failure.stage, error=failure.error, transient=failure.transient)
    return item


def _unreadable(failure: Failure, language: str) -> dict[str, Any]:
    return {
        "article_id": failure.article_id,
        "language": language,
        "status": "failed",
        "source": str(failure.source),
        "files": {},
        "stage": failure.stage,
        "error": failure.message,
        "transient": failure.error.transient,
    }


def write_manifest(
    config: JobConfig, ingest_failures: list[Failure], outcomes: list[ItemOutcome], interrupted: bool
) -> dict[str, Any]:
    """Write ``<job>/manifest.json`` atomically and return its data (see ``manifest_data``).

    Raises:
        OSError: the file cannot be written.
    """
    data = manifest_data(config, ingest_failures, outcomes, interrupted)
    atomic_write_json(config.job_dir / MANIFEST_FILE, data)
    return data
