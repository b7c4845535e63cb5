"""The ``pipeline`` command. The only place that configures logging and chooses exit codes.

Exit codes: 0 all good; 1 some articles failed (the rest were delivered); 2 bad usage or config;
3 another run holds the job's lock.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from pipeline import __version__, logs

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeline")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Translate English articles into Albanian and Ukrainian (MarianMT) as the config says."""
    logs.quiet_third_parties()
    ctx.obj = {"verbosity": -1 if quiet else verbose}


def _load(config: Path, overrides: tuple[str, ...]):
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    try:
        return load_config(config, list(overrides))
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue}", err=True)
        sys.exit(EXIT_CONFIG)


@cli.command()
@config_argument
@set_option
@click.pass_context
def validate(ctx: click.Context, config: Path, overrides: tuple[str, ...]) -> None:
    """Check CONFIG and print what the job would do."""
    logs.configure(ctx.obj["verbosity"])
    from pipeline.describe import describe_job

    job = _load(config, overrides)
    lines, unreadable = describe_job(job)
    click.echo("\n".join(lines))
    suffix = f" ({unreadable} article files cannot be read and would fail)" if unreadable else ""
    click.echo(f"config is valid{suffix}")


@cli.command()
@config_argument
@set_option
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Full debug log (default: <output_dir>/<job>/logs/run-<time>.log).",
)
@click.pass_context
def run(ctx: click.Context, config: Path, overrides: tuple[str, ...], log_file: Path | None) -> None:
    """Translate every article CONFIG's input globs match, into every language it names."""
    console = _terminal_console()
    logs.configure(ctx.obj["verbosity"], console)
    job = _load(config, overrides)
    from pipeline.errors import ConfigError
    from pipeline.executor.local import run_job
    from pipeline.layout import LOG_DIR

    log_path = logs.add_log_file(log_file or logs.default_log_path(job.job_dir / LOG_DIR))
    started = time.monotonic()
    try:
        if console is not None:
            from pipeline.progress import RichProgress

            with RichProgress(console) as progress:
                record = run_job(job, progress)
        else:
            from pipeline.progress import LogProgress

            record = run_job(job, LogProgress())
    except ConfigError as exc:
        for issue in exc.issues:
            log.error("%s", issue)
        sys.exit(EXIT_CONFIG)
    except Exception as exc:  # the one place that turns a crash into a line and an exit code
        log.debug("unexpected error", exc_info=True)
        log.error(
            "run stopped by an unexpected error: %s: %s (traceback in %s)", type(exc).__name__, exc, log_path
        )
        sys.exit(EXIT_FAILED_ITEMS)
    ok, failed = record.counts()
    log.info(
        "%s: %d ok, %d failed in %.1f s; manifest %s",
        job.job,
        ok,
        failed,
        time.monotonic() - started,
        record.manifest_path,
    )
    sys.exit(EXIT_FAILED_ITEMS if failed else EXIT_OK)


def _terminal_console():
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)


def main() -> None:
    cli(prog_name="pipeline")
