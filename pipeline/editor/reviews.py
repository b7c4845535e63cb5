"""Recording an editor's review (approve, reject) of an article's languages, for ``pipeline
approve``/``reject`` and the review app alike.

A review from the review app names the version of the text it is of (``text_key``, the key the
article view gives): a text changed since (an edit saved or dropped, a run) is refused
(``StaleKey``), so an approval never covers text the reviewer did not see. ``pipeline approve``
reviews the text as it stands.

The review is journaled, then recorded in the state (pending) with the sha256 of the article.txt
it is of, under the job's lock; the manifest's ``review`` fields, the article's review page, its
public files and its languages' feeds are then rewritten at once, so with
``review.require_approval`` an approved item is served, and a rejected one is withdrawn (approval
required or not), without waiting for the next run; the review is then marked applied (if the
process dies before, the next run or the app's start applies it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clock import utc_now_iso
from pipeline.config import JobConfig
from pipeline.errors import JobBusy, LockedError, NotFound, ReportsNotUpdated, StaleKey
from pipeline.fsio import atomic_write_json
from pipeline.integrity import read_record
from pipeline.items import TEXT, text_sha256
from pipeline.layout import JSON_FILE, MANIFEST_FILE, item_dir
from pipeline.lock import JobLock
from pipeline.report import write_reports
from pipeline.report.manifest import review_status
from pipeline.report.public import servable
from pipeline.state import StateStore
from pipeline.state.changes import Change
from pipeline.state.journal import EditorsJournal
from pipeline.state.journaling import catch_up, record
from pipeline.state.review_records import Review

log = logging.getLogger(__name__)
BUSY = "a pipeline run of this job is in progress; try again when it is over"


@dataclass(frozen=True)
class Reviewed:
    """One language's review as recorded: ``status`` is what the editor said; ``effective`` what
    the manifest now says (``needs_review`` when the article.txt is not the one the last run wrote);
    ``served_before``/``served``: whether the public folder (and the feed) held it before the
    review and holds it now (see ``servable``)."""

    language: str
    status: str
    effective: str
    text_sha256: str
    served_before: bool = False
    served: bool = False
    narrated: bool = False  # it has a narration, so its feed lists it when it is served


def record_review(
    config: JobConfig,
    article_id: str,
    languages: tuple[str, ...],
    status: str,
    editor: str,
    note: str,
    wait_lock: float = 0,
    text_keys: Mapping[str, str] | None = None,
) -> list[Reviewed]:
    """Record ``status`` (``approved`` or ``rejected``) of the article's ``languages`` (all when
    empty) by ``editor``, then rewrite the manifest and the reports; ``wait_lock``: seconds to wait
    for a run that holds the job's lock; ``text_keys``: per language, the ``text_key`` of the text
    the editor read (None: the text as it stands).

    Raises:
        JobBusy: a run of the job holds its lock (nothing is recorded); its message names no path
            or PID (the review app shows it), its cause (``LockedError``) does.
        StaleKey: a language's text is no longer the one of ``text_keys`` (nothing is recorded).
        NotFound: no manifest yet, an unknown article or language, or a language without text.
        ReportsNotUpdated: recorded, but the manifest or the reports cannot be written.
        StateError, sqlite3.DatabaseError: the state file cannot be used.
    """
    try:
        with JobLock(config.lock_path, wait=wait_lock):
            return _record(config, article_id, languages, status, editor, note, text_keys or {})
    except LockedError as exc:
        log.info("review refused: %s", exc)  # the lock's path and PID: the log only
        raise JobBusy(BUSY) from exc


def _record(
    config: JobConfig,
    article_id: str,
    languages: tuple[str, ...],
    status: str,
    editor: str,
    note: str,
    text_keys: Mapping[str, str],
) -> list[Reviewed]:
    manifest_path = config.job_dir / MANIFEST_FILE
    manifest = read_record(manifest_path)
    if manifest is None:
        raise NotFound(f"job {config.job} has no manifest yet: run the job first")  # no server path
    chosen = manifest_items(config, manifest, article_id, languages)
    hashes = {}
    for code, item in chosen.items():
        text = _sha256_as_it_stands(config.job_dir, item)
        if text is None:
            raise NotFound(f"{article_id} [{code}] has no text yet: nothing to review")
        hashes[code] = text
    _check_keys(config, article_id, text_keys)
    state = StateStore.open(config.state_path, create=False)
    try:
        journal = EditorsJournal(config.journal_path)
        catch_up(state, journal)
        records = state.items([article_id])
        now = utc_now_iso()
        reviews = tuple(Review(article_id, code, status, editor, note, now, hashes[code]) for code in chosen)
        record(state, journal, Change("review", editor, now, reviews=reviews))
        done = []
        for review in reviews:
            written = records.get((article_id, review.language, TEXT))
            item = chosen[review.language]
            before = servable(config, item)
            item["review"] = review_status(review, text_sha256(written.detail if written else None))
            done.append(
                Reviewed(
                    review.language, status, item["review"], review.text_sha256,
                    before, servable(config, item), "audio" in (item.get("files") or {}),
                )
            )  # fmt: skip
        try:
            atomic_write_json(manifest_path, manifest)
            write_reports(config, manifest, {(article_id, code) for code in chosen})
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__  # not str(exc): it names the server path
            raise ReportsNotUpdated(
                f"the review is recorded, but the reports cannot be updated ({reason}); "
                "the next run updates them"
            ) from None
        state.mark_applied((article_id, code) for code in chosen)
    finally:
        state.close()
    return done


def manifest_items(
    config: JobConfig, manifest: dict[str, Any], article_id: str, languages: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """The manifest items of the article in ``languages`` (all of its languages when empty);
    NotFound for an unknown (or retracted) article or a language it does not have."""
    items = {
        item["language"]: item
        for item in manifest["items"]
        if item["article_id"] == article_id and item["status"] != "retracted"
    }
    if not items:
        raise NotFound(f"unknown article {article_id!r}: job {config.job} has no such article")
    for code in languages:
        if code not in items:
            raise NotFound(
                f"article {article_id!r} has no language {code!r} (it has: {', '.join(sorted(items))})"
            )
    return {code: items[code] for code in (languages or tuple(sorted(items)))}


def text_key(record: dict[str, Any]) -> str:
    """The version of an article-language's text as its ``article.json`` publishes it (the text of
    every sentence, paragraph by paragraph, with the paragraphs' kinds), for ``If-Match`` on a
    review: it changes when an edit is saved or dropped or a run translates it differently."""
    paragraphs = [[p["kind"], [s["target"] for s in p["sentences"]]] for p in record["paragraphs"]]
    return hashlib.sha256(json.dumps(paragraphs, ensure_ascii=False).encode()).hexdigest()[:32]


def _check_keys(config: JobConfig, article_id: str, text_keys: Mapping[str, str]) -> None:
    """StaleKey unless each language's published text is still the one of its key (under the lock:
    no run is rewriting it)."""
    for code, key in text_keys.items():
        record = read_record(item_dir(config.job_dir, article_id, code) / JSON_FILE)
        if record is None or text_key(record) != key:
            raise StaleKey(
                f"the text of {article_id} [{code}] changed since it was read; reload the article "
                "to see what changed, then review it again"
            )


def _sha256_as_it_stands(job_dir: Path, item: dict[str, Any]) -> str | None:
    """The sha256 of the item's article.txt as it stands, or None when it has none."""
    relative = (item.get("files") or {}).get("text")
    if not relative:
        return None
    try:
        return hashlib.sha256((job_dir / relative).read_bytes()).hexdigest()
    except OSError:
        return None
