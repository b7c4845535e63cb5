"""``pipeline approve`` and ``pipeline reject``: an editor's review of an article's text.

The review is recorded in the state with the sha256 of the article.txt it is of, under the job's
lock; the manifest's ``review`` fields, the review pages, the public folder and the feeds are then
rewritten at once, so with ``review.require_approval`` an approved item is served (and a rejected
one withdrawn) without waiting for the next run.
"""

from __future__ import annotations

import getpass
import hashlib
import sqlite3
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from pipeline import logs
from pipeline.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED_ITEMS,
    EXIT_LOCKED,
    cli,
    config_argument,
    load_job,
    set_option,
    verbosity,
    verbosity_options,
)


def _review_options(command: Any) -> Any:
    for option in reversed(
        (
            config_argument,
            click.argument("article_id"),
            click.option("--lang", "languages", multiple=True, metavar="CODE",
                         help="Only this language (repeatable); default: every language of the article."),
            click.option("--editor", default=None, help="Who reviewed it; default: the login name."),
            click.option("--note", default="", help="A note kept with the review."),
            set_option,
            verbosity_options,
            click.pass_context,
        )
    ):  # fmt: skip
        command = option(command)
    return command


def _review_command(name: str, status: str, summary: str) -> None:
    """Add ``pipeline <name>``: record ``status`` for an article's languages (see ``_review``)."""

    @_review_options
    def command(
        ctx: click.Context,
        config: Path,
        article_id: str,
        languages: tuple[str, ...],
        editor: str | None,
        note: str,
        overrides: tuple[str, ...],
    ) -> None:
        _review(ctx, config, overrides, article_id, languages, status, editor, note)

    command.__doc__ = summary
    cli.command(name)(command)


_review_command(
    "approve",
    "approved",
    "Approve ARTICLE_ID's text as it stands (with review.require_approval: publish it).",
)
_review_command(
    "reject", "rejected", "Reject ARTICLE_ID's text as it stands (with review.require_approval: withdraw it)."
)


def _fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _review(
    ctx: click.Context,
    config: Path,
    overrides: tuple[str, ...],
    article_id: str,
    languages: tuple[str, ...],
    status: str,
    editor: str | None,
    note: str,
) -> None:
    from pipeline.errors import LockedError, StateError
    from pipeline.lock import JobLock
    from pipeline.state.store import corrupt_state_message

    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    try:
        with JobLock(job.lock_path):
            _review_locked(job, article_id, languages, status, editor or _login(), note)
    except LockedError as exc:
        _fail(str(exc), EXIT_LOCKED)
    except StateError as exc:
        _fail(f"state file {job.state_path}: {exc}")
    except sqlite3.DatabaseError as exc:
        _fail(f"state file {job.state_path}: {corrupt_state_message(job.state_path, exc)}")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _review_locked(
    job: Any, article_id: str, languages: tuple[str, ...], status: str, editor: str, note: str
) -> None:
    """Check, record, then rewrite the manifest and the reports (the caller holds the lock)."""
    from pipeline.fsio import atomic_write_json
    from pipeline.integrity import read_record
    from pipeline.items import TEXT
    from pipeline.layout import MANIFEST_FILE
    from pipeline.report import write_reports
    from pipeline.report.manifest import review_status
    from pipeline.state import StateStore

    manifest_path = job.job_dir / MANIFEST_FILE
    manifest = read_record(manifest_path)
    if manifest is None:
        _fail(f"{manifest_path}: no manifest yet: run the job first")
    items = {
        item["language"]: item
        for item in manifest["items"]
        if item["article_id"] == article_id and item["status"] != "retracted"
    }
    if not items:
        _fail(f"unknown article {article_id!r}: job {job.job} has no such article")
    for code in languages:
        if code not in items:
            _fail(f"article {article_id!r} has no language {code!r} (it has: {', '.join(sorted(items))})")
    chosen = {code: items[code] for code in (languages or sorted(items))}
    hashes = {}
    for code, item in chosen.items():
        text = _text_sha256(job.job_dir, item)
        if text is None:
            _fail(f"{article_id} [{code}] has no text yet: nothing to review")
        hashes[code] = text
    state = StateStore.open(job.state_path, create=False)
    try:
        records = state.items()
        for code, item in chosen.items():
            review = state.set_review(article_id, code, status, editor, note, hashes[code])
            record = records.get((article_id, code, TEXT))
            recorded = (record.detail.get("sha256") or {}).get("text") if record else None
            item["review"] = review_status(review, recorded)
            short = hashes[code][:12]
            click.echo(f"{article_id} [{code}]: {status} by {editor} (article.txt sha256 {short})")
            if item["review"] != status:
                click.echo(f"warning: {article_id} [{code}]: its article.txt is not the one the last run "
                           "wrote; it needs review again after the next run", err=True)  # fmt: skip
    finally:
        state.close()
    try:
        atomic_write_json(manifest_path, manifest)
        write_reports(job, manifest)
    except OSError as exc:
        _fail(f"the review is recorded, but the reports cannot be updated ({exc}); the next run updates them",
              EXIT_FAILED_ITEMS)  # fmt: skip


def _text_sha256(job_dir: Path, item: dict[str, Any]) -> str | None:
    """The sha256 of the item's article.txt as it stands, or None when it has none."""
    relative = (item.get("files") or {}).get("text")
    if not relative:
        return None
    try:
        return hashlib.sha256((job_dir / relative).read_bytes()).hexdigest()
    except OSError:
        return None
