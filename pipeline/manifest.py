"""The job-level ``manifest.json``: every current article × language, its status and files.

Built from the state store, so it describes the job's outputs as they stand (including those an
earlier run made), not just what the last run touched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline import __version__
from pipeline.config import JobConfig
from pipeline.executor.plan import NARRATION, TEXT, ItemPlan
from pipeline.fsio import atomic_write_json
from pipeline.items import Failure
from pipeline.layout import MANIFEST_FILE
from pipeline.state import ItemState, StateStore

SCHEMA_VERSION = 2


def manifest_data(
    config: JobConfig,
    state: StateStore,
    ingest_failures: list[Failure],
    plans: list[ItemPlan],
    interrupted: bool,
) -> dict[str, Any]:
    rows = state.items()
    items = [_item(plan, rows) for plan in plans]
    for failure in ingest_failures:
        for target in config.targets:
            items.append(
                {
                    "article_id": failure.article_id,
                    "language": target.code,
                    "status": "failed",
                    "source": str(failure.source),
                    "files": {},
                    "stage": failure.stage,
                    "error": failure.message,
                    "transient": failure.error.transient,
                }
            )
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


def _item(plan: ItemPlan, rows: dict[tuple[str, str, str], ItemState]) -> dict[str, Any]:
    article_id, language = plan.key
    text = rows.get((article_id, language, TEXT))
    narration = rows.get((article_id, language, NARRATION)) if plan.narration_wanted else None
    item: dict[str, Any] = {
        "article_id": article_id,
        "language": language,
        "status": "pending",
        "source": str(plan.segmented.article.source),
        "files": {},
        "sentences": plan.segmented.sentence_count,
        "narration": None,
        "flags": {},
        "warnings": [],
    }
    text_ok = text is not None and text.status == "done" and text.key == plan.text_key
    if text_ok and text is not None:
        item["files"].update(text.detail.get("files", {}))
        item["warnings"] = text.detail.get("warnings", [])
        item["flags"] = text.detail.get("flags", {})
    narration_ok = (
        narration is not None and narration.status == "done" and narration.key == plan.narration_key
    )
    if narration_ok and narration is not None:
        item["files"].update(narration.detail.get("files", {}))
        summary = narration.detail.get("narration", {})
        item["narration"] = {
            k: summary[k] for k in ("engine", "voice", "duration", "size", "sha256") if k in summary
        }
    failed = next(
        (
            row
            for row, key in ((text, plan.text_key), (narration, plan.narration_key))
            if row is not None and row.status == "failed" and row.key == key
        ),
        None,
    )
    if failed is not None:
        item.update(status="failed", stage=failed.stage, error=failed.last_error, transient=failed.transient)
    elif text_ok and (not plan.narration_wanted or narration_ok):
        item["status"] = "ok"
    return item


def write_manifest(
    config: JobConfig,
    state: StateStore,
    ingest_failures: list[Failure],
    plans: list[ItemPlan],
    interrupted: bool,
) -> dict[str, Any]:
    data = manifest_data(config, state, ingest_failures, plans, interrupted)
    atomic_write_json(config.job_dir / MANIFEST_FILE, data)
    return data
