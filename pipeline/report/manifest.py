"""The job-level ``manifest.json``: every current article × language, its status and files.

Rendered from each item's outcome (``ItemOutcome``: what the plan and the run decided, from the
state), so it describes the job's outputs as they stand, including those an earlier run made, not
just what the last run touched. Deciding whether an item is done is the planner's job, not this
module's. An article × language the state knows but the input no longer has (its file was
removed, or its language left the job) is listed as ``retracted``, with the files it left under
``outputs/<job>/``: they stay there for the record, but leave the public folder and the feeds.

Every item has a ``review``: ``approved`` or ``rejected`` when an editor's review (the state's
``reviews``) is of the item's article.txt as it stands (the same sha256), else ``needs_review``, so
an approved item whose text changes needs review again. An item of a readable article has its
``headline`` (the title, or the first sentence when it has none) and ``date``, so a list of the
job's articles needs no other file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from pipeline.clock import utc_now_iso
from pipeline.config import JobConfig
from pipeline.fsio import atomic_write_json
from pipeline.integrity import read_record
from pipeline.items import NARRATION, TEXT, Failure, ItemOutcome, text_sha256
from pipeline.layout import MANIFEST_FILE
from pipeline.state import ItemState
from pipeline.state.review_records import Review
from pipeline.version import __version__

SCHEMA_VERSION = 5  # 3: items and counts may be "retracted"; 4: items have a "review"; 5: "headline", "date"
NARRATION_FIELDS = ("engine", "voice", "duration", "size", "sha256")
STATUSES = ("ok", "failed", "pending", "retracted")
NEEDS_REVIEW = "needs_review"
Reviews = Mapping[tuple[str, str], Review]


def review_status(review: Review | None, text_sha256: str | None) -> str:
    """``approved`` / ``rejected`` when ``review`` is of the text whose sha256 is ``text_sha256``
    (an item's article.txt as it stands), else ``needs_review`` (no review, no text, or the text
    changed since, or the approval was retracted with the article)."""
    if review is None or text_sha256 is None or review.text_sha256 != text_sha256:
        return NEEDS_REVIEW
    return review.status if review.status in ("approved", "rejected") else NEEDS_REVIEW


def manifest_data(
    config: JobConfig,
    ingest_failures: list[Failure],
    outcomes: list[ItemOutcome],
    interrupted: bool,
    retracted: Iterable[ItemState] = (),
    reviews: Reviews | None = None,
) -> dict[str, Any]:
    """The manifest as a JSON-ready dict: one item per outcome, per unreadable input × language,
    and per retracted article × language.

    ``retracted``: the state's records (any stage) of the article × language pairs no longer in
    the input; see ``retracted_states``. ``reviews``: the state's ``reviews()``; None: none known,
    every item ``needs_review``.
    """
    reviews = reviews or {}
    items = [_item(outcome, reviews) for outcome in outcomes]
    items += [_unreadable(failure, target.code) for failure in ingest_failures for target in config.targets]
    items += _retracted(config, retracted, reviews)
    return _manifest(config, items, interrupted)


def _manifest(config: JobConfig, items: list[dict[str, Any]], interrupted: bool) -> dict[str, Any]:
    """The manifest of ``items`` (sorted here), with the job's header and counts."""
    items.sort(key=lambda item: (item["article_id"], item["language"]))
    statuses = [item["status"] for item in items]
    return {
        "schema": SCHEMA_VERSION,
        "job": config.job,
        "config": str(config.path),
        "languages": [target.code for target in config.targets],
        "updated": utc_now_iso(),
        "interrupted": interrupted,
        "pipeline_version": __version__,
        "counts": {
            "articles": len({item["article_id"] for item in items}),
            "items": len(items),
            **{status: statuses.count(status) for status in STATUSES},
        },
        "items": items,
    }


def _item(outcome: ItemOutcome, reviews: Reviews) -> dict[str, Any]:
    text, narration = outcome.text or {}, outcome.narration or {}
    summary = narration.get("narration", {})
    item: dict[str, Any] = {
        "article_id": outcome.article_id,
        "language": outcome.language,
        "status": outcome.status,
        "source": str(outcome.source),
        "headline": outcome.headline,
        "date": outcome.date,
        "files": {**text.get("files", {}), **narration.get("files", {})},
        "sentences": outcome.sentences,
        "narration": {k: summary[k] for k in NARRATION_FIELDS if k in summary} if narration else None,
        "flags": text.get("flags", {}),
        "edited": text.get("edited", 0),  # sentences published with an editor's post-edit
        "warnings": text.get("warnings", []),
        "review": review_status(reviews.get((outcome.article_id, outcome.language)), text_sha256(text)),
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
        "review": NEEDS_REVIEW,
    }


def retracted_states(
    states: Mapping[tuple[str, str, str], ItemState], current: Collection[tuple[str, str]]
) -> list[ItemState]:
    """The records of ``states`` (``StateStore.items()``) whose ``(article_id, language)`` is not in
    ``current`` (every pair of this run's input and languages, read or unreadable): what
    ``manifest_data`` lists as retracted."""
    return [
        state for (article_id, language, _), state in states.items() if (article_id, language) not in current
    ]


def _retracted(config: JobConfig, states: Iterable[ItemState], reviews: Reviews) -> list[dict[str, Any]]:
    by_item: dict[tuple[str, str], dict[str, ItemState]] = {}
    for state in states:
        by_item.setdefault((state.article_id, state.language), {})[state.stage] = state
    return [_retracted_item(config, *key, stages, reviews) for key, stages in by_item.items()]


def _retracted_item(
    config: JobConfig, article_id: str, language: str, stages: dict[str, ItemState], reviews: Reviews
) -> dict[str, Any]:
    """A retracted item: the files its stages wrote (still under the job folder, for the record)
    and its narration; its source is the one its ``article.json`` names, when that is readable."""
    files: dict[str, str] = {}
    for stage in sorted(stages, key=lambda name: (name != TEXT, name)):  # the text stage's first
        files.update(stages[stage].detail.get("files", {}))
    narration = stages[NARRATION].detail.get("narration") if NARRATION in stages else None
    record = read_record(config.job_dir / files["json"]) if "json" in files else None
    source = ((record or {}).get("source") or {}).get("path", "")
    return {
        "article_id": article_id,
        "language": language,
        "status": "retracted",
        "source": str(source),
        "files": files,
        "narration": {k: narration[k] for k in NARRATION_FIELDS if k in narration} if narration else None,
        "review": review_status(
            reviews.get((article_id, language)), text_sha256(stages[TEXT].detail if TEXT in stages else None)
        ),
    }


def write_manifest(
    config: JobConfig,
    ingest_failures: list[Failure],
    outcomes: list[ItemOutcome],
    interrupted: bool,
    retracted: Iterable[ItemState] = (),
    reviews: Reviews | None = None,
) -> dict[str, Any]:
    """Write ``<job>/manifest.json`` atomically, unless only its time would change; return its data
    (see ``manifest_data``; ``reviews``: the state's ``reviews()``).

    Raises:
        OSError: the file cannot be written.
    """
    data = manifest_data(config, ingest_failures, outcomes, interrupted, retracted, reviews)
    return _write(config.job_dir / MANIFEST_FILE, data, read_record(config.job_dir / MANIFEST_FILE))


def update_manifest(
    config: JobConfig, outcomes: list[ItemOutcome], interrupted: bool, reviews: Reviews | None = None
) -> dict[str, Any]:
    """Replace the items of ``outcomes``' article-languages in ``<job>/manifest.json`` (adding those
    it lacks) and leave every other item as it is listed: what a run on an editor's change writes,
    having planned those items alone. Returns the manifest's data; writes as ``write_manifest``.

    Raises:
        OSError: the file cannot be written.
    """
    path = config.job_dir / MANIFEST_FILE
    previous = read_record(path)
    replaced = {(outcome.article_id, outcome.language) for outcome in outcomes}
    kept = [
        item
        for item in (previous or {}).get("items", [])
        if (item["article_id"], item["language"]) not in replaced
    ]
    new = [_item(outcome, reviews or {}) for outcome in outcomes]
    interrupted = interrupted or bool((previous or {}).get("interrupted"))  # the last nightly run's, too
    return _write(path, _manifest(config, kept + new, interrupted), previous)


def _write(path: Path, data: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    if previous is not None and {**previous, "updated": data["updated"]} == data:
        return previous  # only the time would change: "updated" stays the time of the last change
    atomic_write_json(path, data)
    return data
