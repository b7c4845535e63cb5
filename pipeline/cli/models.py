"""``pipeline models pull`` and ``pipeline models convert``: fetch and convert a config's models."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline import logs
from pipeline.cli.common import (
    EXIT_FAILED_ITEMS,
    EXIT_OK,
    cli,
    config_argument,
    load_job,
    set_option,
    verbosity,
    verbosity_options,
)


@cli.group()
@verbosity_options
def models() -> None:
    """Manage the models a config uses."""


@models.command("pull")
@config_argument
@set_option
@verbosity_options
@click.pass_context
def models_pull(ctx: click.Context, config: Path, overrides: tuple[str, ...]) -> None:
    """Download every hub model CONFIG uses into the cache and print the commits to pin."""
    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    from pipeline.mt.pull import pull_models

    results = pull_models(job)
    pins = []
    for pulled in results:
        if pulled.error is not None:
            click.echo(f"error: {pulled.error}", err=True)
        elif pulled.commit is None:
            click.echo(f"{pulled.language}: {pulled.model} (local directory, nothing to pull)")
        else:
            click.echo(
                f"{pulled.language}: {pulled.model} {pulled.revision or 'main'} -> {pulled.commit} (cached)"
            )
            if pulled.revision != pulled.commit:
                pins.append(pulled)
    if pins:
        click.echo("\nTo pin these in the config (reproducible runs, HF_HUB_OFFLINE=1 safe):\nlanguages:")
        for language in dict.fromkeys(pulled.language for pulled in pins):  # one block per language
            click.echo(f"  {language}:")
            for pulled in pins:
                if pulled.language == language and pulled.kind == "voice":
                    click.echo(f"    tts:\n      voice: {pulled.model}@{pulled.commit}")
                elif pulled.language == language:
                    click.echo(f"    revision: {pulled.commit}")
    sys.exit(EXIT_FAILED_ITEMS if any(p.error for p in results) else EXIT_OK)


@models.command("convert")
@config_argument
@set_option
@click.option("--force", is_flag=True, help="Convert again even the models already converted.")
@verbosity_options
@click.pass_context
def models_convert(ctx: click.Context, config: Path, overrides: tuple[str, ...], force: bool) -> None:
    """Convert every model CONFIG uses to CTranslate2 now, instead of on the first run.

    A cached conversion that does not load is converted again; --force converts every model again.
    """
    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    from pipeline.mt.pull import convert_models

    results = convert_models(job, force=force)
    for language, outcome in results:
        if isinstance(outcome, Path):
            click.echo(f"{language}: {outcome}")
        else:
            click.echo(f"error: {outcome}", err=True)
    sys.exit(EXIT_FAILED_ITEMS if any(not isinstance(o, Path) for _, o in results) else EXIT_OK)
