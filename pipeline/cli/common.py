"""What every ``pipeline`` subcommand shares: the command group, exit codes, -v/-q, loading a
config, and the check that the job can write where it writes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from pipeline import logs
from pipeline.version import __version__

EXIT_OK, EXIT_FAILED_ITEMS, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3

log = logging.getLogger("pipeline")

config_argument = click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set translation.beam_size=2 (repeatable).",
)


F = TypeVar("F", bound=Callable[..., Any])


def _note_verbosity(ctx: click.Context, param: click.Parameter, value: int | bool) -> int | bool:
    """Add a ``-v`` / ``-q`` to the run's setting, wherever it was given (before or after the
    subcommand): the counts live in the root context's ``obj``."""
    if value:
        settings = ctx.find_root().ensure_object(dict)
        settings[param.name or ""] = settings.get(param.name or "", 0) + int(value)
    return value


def verbosity_options(command: F) -> F:
    """``-v`` (repeatable) and ``-q``, accepted by the group and by every subcommand."""
    quiet = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_note_verbosity,
                         help="Only warnings and errors on stderr.")  # fmt: skip
    verbose = click.option("-v", "--verbose", count=True, expose_value=False, callback=_note_verbosity,
                           help="More detail on stderr (debug).")  # fmt: skip
    return verbose(quiet(command))


def verbosity(ctx: click.Context) -> int:
    """-1 quiet (``-q`` anywhere wins), 0 normal, 1+ debug: what ``logs.configure`` takes."""
    settings = ctx.find_root().obj or {}
    return -1 if settings.get("quiet") else int(settings.get("verbose", 0))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeline")
@verbosity_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Translate English articles into Albanian and Ukrainian (MarianMT) and narrate them."""
    logs.quiet_third_parties()
    ctx.ensure_object(dict)


def load_job(config: Path, overrides: tuple[str, ...]) -> Any:
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    try:
        return load_config(config, list(overrides))
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue}", err=True)
        sys.exit(EXIT_CONFIG)


def check_outputs(job: Any, log_file: Path | None = None) -> None:
    """Exit 2 with one line per place the job cannot write to, before any work."""
    from pipeline.preflight import output_issues

    issues = output_issues(job, log_file)
    for issue in issues:
        click.echo(f"error: {issue}", err=True)
    if issues:
        sys.exit(EXIT_CONFIG)


def fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    """Exit with ``code`` after one ``error:`` line on stderr."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def login_name() -> str:
    """Who is running the command (an editor's default name), or ``unknown``."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
