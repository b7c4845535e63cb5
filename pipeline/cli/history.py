"""``pipeline history``: every post-edit, drop, import and review of the job, newest first, with who,
when and the text before and after (text or JSON). What it lists is
``pipeline.state.history.job_history``'s: the review app's History page shows the same."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from pipeline import logs
from pipeline.cli.common import cli, config_argument, fail, load_job, set_option, verbosity, verbosity_options


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    from pipeline.state.history import parse_since

    if value is None:
        return None
    try:
        return parse_since(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (2026-12-01) or an ISO time") from None


@cli.command()
@config_argument
@click.option("--article", default=None, metavar="ID", help="Only this article's changes.")
@click.option("--editor", default=None, metavar="NAME", help="Only this editor's changes.")
@click.option("--lang", "language", default=None, metavar="CODE", help="Only this language's changes.")
@click.option("--since", default=None, metavar="DATE", callback=_since,
              help="Only changes made at or after DATE (2026-12-01, or an ISO time; UTC).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: a list of changes.")
@set_option
@verbosity_options
@click.pass_context
def history(
    ctx: click.Context,
    config: Path,
    article: str | None,
    editor: str | None,
    language: str | None,
    since: datetime | None,
    as_json: bool,
    overrides: tuple[str, ...],
) -> None:
    """Every edit, drop, import, approval and rejection of the job, newest first."""
    from pipeline.errors import JournalError, StateError
    from pipeline.state.history import HistoryQuery, job_history
    from pipeline.state.store import corrupt_state_message

    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    query = HistoryQuery(article=article, editor=editor, language=language, since=since)
    try:
        found = job_history(job.journal_path, job.state_path, query)
    except JournalError as exc:
        fail(str(exc))
    except StateError as exc:
        fail(f"state file {job.state_path}: {exc}")
    except sqlite3.DatabaseError as exc:
        fail(f"state file {job.state_path}: {corrupt_state_message(job.state_path, exc)}")
    if as_json:
        click.echo(json.dumps([entry.to_json() for entry in found.entries], indent=2, ensure_ascii=False))
        return
    if found.source == "state":
        click.echo("(no editors' journal yet: read from the state file; the next run starts the journal)\n")
    if not found.entries:
        click.echo("no changes" + (" match" if query != HistoryQuery() else " yet"))
    click.echo("\n\n".join("\n".join(_block(entry.to_json())) for entry in found.entries))


def _block(entry: dict[str, Any]) -> Iterator[str]:
    """One change as a few lines: what, where, who and when, then the text before and after."""
    what = entry["status"] or entry["kind"]
    change = f"  (change {entry['change'][:8]})" if entry["change"] else ""
    yield f"{entry['at']}  {what}  {entry['article_id']} [{entry['language']}]  by {entry['editor']}{change}"
    if entry["recorded_by"] != entry["editor"]:
        yield f"  recorded by {entry['recorded_by']} at {entry['recorded_at']}"
    if entry["kind"] == "review":
        yield f"  text sha256: {entry['text_sha256'][:12]}"
        if entry["note"]:
            yield f"  note: {entry['note']}"
        return
    yield f"  sentence {entry['position']}: {entry['sentence']}"
    yield f"  before: {entry['before']}"
    yield f"  after:  {entry['after']}"
    for old in entry["retired"]:
        yield f"  retired the edit of an earlier English ({old['sentence']}): {old['text']}"
