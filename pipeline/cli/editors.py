"""``pipeline editors add|list|remove``: the people who may sign in to the review app.

An account has a name (what the journal, ``article.json``, the history and TMX record for its
changes) and a role: ``editor`` edits sentences, ``approver`` also approves and rejects. ``add``
prints the account's token once (only its hash is kept); ``remove`` ends its sessions at once, in a
running review app too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pipeline import logs
from pipeline.cli.common import cli, config_argument, fail, load_job, set_option, verbosity, verbosity_options


def _store(ctx: click.Context, config: Path, overrides: tuple[str, ...]) -> Any:
    from pipeline.editor.accounts import ACCOUNTS_FILE, AccountStore

    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    return AccountStore(job.job_dir / ACCOUNTS_FILE)


def _fail_on_account_error(action: Any) -> Any:
    """Run ``action()``; an unusable name or accounts file exits 2 with its one line."""
    from pipeline.errors import AccountError

    try:
        return action()
    except AccountError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"the accounts file cannot be written: {exc}")


@cli.group()
def editors() -> None:
    """The review app's editor accounts (who may sign in, and whether they may approve)."""


@editors.command("add")
@config_argument
@click.argument("name")
@click.option("--role", type=click.Choice(["editor", "approver"]), default="editor", show_default=True,
              help="editor: edit sentences; approver: also approve and reject.")  # fmt: skip
@set_option
@verbosity_options
@click.pass_context
def add(ctx: click.Context, config: Path, name: str, role: str, overrides: tuple[str, ...]) -> None:
    """Add an editor account and print its token (shown only this once)."""
    store = _store(ctx, config, overrides)
    token = _fail_on_account_error(lambda: store.add(name, role))
    click.echo(f"editor {name.strip()!r} ({role}) added; their token, shown only now (keep it secret):")
    click.echo(token)


@editors.command("list")
@config_argument
@set_option
@verbosity_options
@click.pass_context
def list_editors(ctx: click.Context, config: Path, overrides: tuple[str, ...]) -> None:
    """List the editor accounts: name, role, when added (never a token)."""
    store = _store(ctx, config, overrides)
    accounts = _fail_on_account_error(store.accounts)
    if not accounts:
        click.echo("no editor accounts (the review app's shared token, if any, is the only one)")
        return
    for account in accounts.values():
        click.echo(f"{account.name}\t{account.role}\t{account.created}")


@editors.command("remove")
@config_argument
@click.argument("name")
@set_option
@verbosity_options
@click.pass_context
def remove(ctx: click.Context, config: Path, name: str, overrides: tuple[str, ...]) -> None:
    """Remove an editor account: its token and its sign-ins stop working at once."""
    store = _store(ctx, config, overrides)
    _fail_on_account_error(lambda: store.remove(name))
    click.echo(f"editor {name.strip()!r} removed")
