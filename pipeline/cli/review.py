"""``pipeline approve`` and ``pipeline reject``: an editor's review of an article's text.

What is recorded, and what is rewritten at once, is ``pipeline.editor.reviews``'s: the review app
records reviews the same way.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import click

from pipeline import logs
from pipeline.cli.common import (
    EXIT_FAILED_ITEMS,
    EXIT_LOCKED,
    cli,
    config_argument,
    fail,
    load_job,
    login_name,
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
            click.option("--wait-lock", type=click.FloatRange(0, 86400), default=0, metavar="SECONDS",
                         help="If a run (or the review app) holds the job, wait up to this long for it."),
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
        wait_lock: float,
        overrides: tuple[str, ...],
    ) -> None:
        _review(ctx, config, overrides, article_id, languages, status, editor, note, wait_lock)

    command.__doc__ = summary
    cli.command(name)(command)


_review_command(
    "approve",
    "approved",
    "Approve ARTICLE_ID's text as it stands (with review.require_approval: publish it).",
)
_review_command(
    "reject",
    "rejected",
    "Reject ARTICLE_ID's text as it stands: withdraw it from the public folder and the feeds until it "
    "is approved or its text changes.",
)


def _review(
    ctx: click.Context,
    config: Path,
    overrides: tuple[str, ...],
    article_id: str,
    languages: tuple[str, ...],
    status: str,
    editor: str | None,
    note: str,
    wait_lock: float = 0,
) -> None:
    from pipeline.editor.reviews import record_review
    from pipeline.errors import JobBusy, JournalError, NotFound, ReportsNotUpdated, StateError
    from pipeline.state.store import corrupt_state_message

    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    editor = editor or login_name()
    try:
        reviewed = record_review(job, article_id, languages, status, editor, note, wait_lock)
    except JobBusy as exc:
        fail(str(exc.__cause__ or exc), EXIT_LOCKED)  # the cause names the lock and its holder's PID
    except NotFound as exc:
        fail(str(exc))
    except (ReportsNotUpdated, JournalError) as exc:
        fail(str(exc), EXIT_FAILED_ITEMS)
    except StateError as exc:
        fail(f"state file {job.state_path}: {exc}")
    except sqlite3.DatabaseError as exc:
        fail(f"state file {job.state_path}: {corrupt_state_message(job.state_path, exc)}")
    for review in reviewed:
        short = review.text_sha256[:12]
        click.echo(f"{article_id} [{review.language}]: {status} by {editor} (article.txt sha256 {short})")
        if consequence := _publication(job, review):
            click.echo(f"{article_id} [{review.language}]: {consequence}")
        if review.effective != status:
            where = f"{article_id} [{review.language}]"
            click.echo(f"warning: {where}: its article.txt is not the one the last run wrote; "
                       "it needs review again after the next run", err=True)  # fmt: skip


def _publication(job: Any, review: Any) -> str | None:
    """What the review did to the public folder and the feeds, in words (None: nothing)."""
    feed = f" and the {review.language} feed" if job.feeds.base_url and review.narrated else ""
    if review.served_before and not review.served:
        return f"withdrawn from the public folder{feed} until it is approved or its text changes"
    if review.served and not review.served_before:
        return f"published in the public folder{feed}"
    if review.status == "rejected":
        return "not in the public folder (it was not published)"
    return None
