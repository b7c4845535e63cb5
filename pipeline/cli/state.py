"""``pipeline state rebuild``: put the editors' work back into the job's state from its journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from pipeline import logs
from pipeline.cli.common import (
    EXIT_FAILED_ITEMS,
    EXIT_LOCKED,
    cli,
    config_argument,
    fail,
    load_job,
    set_option,
    verbosity,
    verbosity_options,
)


@cli.group("state")
def state_group() -> None:
    """The job's state file."""


@state_group.command("rebuild")
@config_argument
@click.option("--wait-lock", type=click.FloatRange(0, 86400), default=0, metavar="SECONDS",
              help="If a run (or the review app) holds the job, wait up to this long for it.")  # fmt: skip
@set_option
@verbosity_options
@click.pass_context
def rebuild_command(ctx: click.Context, config: Path, wait_lock: float, overrides: tuple[str, ...]) -> None:
    """Restore every post-edit, drop and review of the editors' journal that the state lacks.

    A missing or empty state file is made anew; one that is not readable is moved aside first
    (kept as <state>.damaged-<time>). The next `pipeline run` writes the outputs with what was
    restored; the review app must be restarted to use a new state file.
    """
    from pipeline.errors import JournalError, LockedError, StateError
    from pipeline.state.rebuild import rebuild

    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    try:
        done = rebuild(job.state_path, job.journal_path, job.lock_path, wait_lock)
    except LockedError as exc:
        fail(str(exc), EXIT_LOCKED)
    except JournalError as exc:
        fail(str(exc), EXIT_FAILED_ITEMS)
    except (StateError, sqlite3.Error, OSError) as exc:
        fail(f"state file {job.state_path}: {exc}")
    if done.moved_aside:
        click.echo(f"the damaged state file was moved aside to {done.moved_aside}")
    if not done.journal_found:
        click.echo(f"{job.state_path}: no editors' journal yet ({job.journal_path}): nothing to restore")
    elif done.restored.changes:
        click.echo(f"{job.state_path}: restored {done.restored.summary()} from {job.journal_path}")
    else:
        click.echo(f"{job.state_path}: nothing to restore: it holds every change of {job.journal_path}")
    if done.pending:
        click.echo(f"{done.pending} article-language(s) wait for `pipeline run {config}` to publish them "
                   "(restart `pipeline serve` if it is running)")  # fmt: skip
