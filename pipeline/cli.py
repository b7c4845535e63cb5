"""The ``pipeline`` command. The only place that configures logging and chooses exit codes.

Exit codes: 0 all good; 1 some articles failed (the rest were delivered); 2 bad usage, config or
state file; 3 another run holds the job's lock; 130 / 143 stopped by SIGINT / SIGTERM after
recording what was done (the next run goes on from there).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
    """Translate English articles into Albanian and Ukrainian (MarianMT) and narrate them."""
    logs.quiet_third_parties()
    ctx.obj = {"verbosity": -1 if quiet else verbose}


def _load(config: Path, overrides: tuple[str, ...]) -> Any:
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    try:
        return load_config(config, list(overrides))
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue}", err=True)
        sys.exit(EXIT_CONFIG)


def _check_outputs(job: Any, log_file: Path | None = None) -> None:
    """Exit 2 with one line per place the job cannot write to, before any work."""
    from pipeline.preflight import output_issues

    issues = output_issues(job, log_file)
    for issue in issues:
        click.echo(f"error: {issue}", err=True)
    if issues:
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
    _check_outputs(job)
    lines, unreadable = describe_job(job)
    click.echo("\n".join(lines))
    suffix = f" ({unreadable} article files cannot be read and would fail)" if unreadable else ""
    click.echo(f"config is valid{suffix}")


@cli.command()
@config_argument
@set_option
@click.option("--dry-run", is_flag=True, help="List what would be done, and do nothing.")
@click.option("--retry-failed", is_flag=True, help="Try failed items again, however often they failed.")
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Full debug log (default: <output_dir>/<job>/logs/run-<time>.log).",
)
@click.pass_context
def run(
    ctx: click.Context,
    config: Path,
    overrides: tuple[str, ...],
    dry_run: bool,
    retry_failed: bool,
    log_file: Path | None,
) -> None:
    """Translate and narrate every article CONFIG's input globs match that is not up to date."""
    console = _terminal_console()
    logs.configure(ctx.obj["verbosity"], console)
    job = _load(config, overrides)
    from pipeline.errors import ConfigError, LockedError, StateError
    from pipeline.executor.run import RunOptions, run_job
    from pipeline.layout import LOG_DIR
    from pipeline.state.store import corrupt_state_message

    _check_outputs(job, log_file)
    log_path = None
    if not dry_run:
        log_path = logs.add_log_file(log_file or logs.default_log_path(job.job_dir / LOG_DIR))
    stop, received = threading.Event(), list[int]()
    _stop_on_signals(stop, received)
    started = time.monotonic()
    options = RunOptions(dry_run=dry_run, retry_failed=retry_failed)
    try:
        if console is not None and not dry_run:
            from pipeline.progress import RichProgress

            with RichProgress(console) as progress:
                report = run_job(job, progress, stop, options)
        else:
            from pipeline.progress import LogProgress

            report = run_job(job, LogProgress(), stop, options)
    except LockedError as exc:
        log.error("%s", exc)
        sys.exit(EXIT_LOCKED)
    except ConfigError as exc:
        for issue in exc.issues:
            log.error("%s", issue)
        sys.exit(EXIT_CONFIG)
    except StateError as exc:
        log.error("state file %s: %s", job.state_path, exc)
        sys.exit(EXIT_CONFIG)
    except sqlite3.DatabaseError as exc:
        log.debug("state file error", exc_info=True)
        log.error("state file %s: %s", job.state_path, corrupt_state_message(job.state_path, exc))
        sys.exit(EXIT_CONFIG)
    except Exception as exc:  # the one place that turns a crash into a line and an exit code
        log.debug("unexpected error", exc_info=True)
        where = f" (traceback in {log_path})" if log_path else ""
        log.error("run stopped by an unexpected error: %s: %s%s", type(exc).__name__, exc, where)
        sys.exit(EXIT_FAILED_ITEMS)

    if dry_run:
        _print_plan(report)
        sys.exit(EXIT_OK)
    elapsed = time.monotonic() - started
    if report.interrupted:
        log.warning("%s: stopped by %s after %d items; the next run goes on from there", job.job,
                    signal.Signals(received[0]).name, report.done)  # fmt: skip
        sys.exit(128 + received[0])
    if report.todo == 0 and report.failed == 0:
        log.info("%s: 0 to do, %d up to date (%.1f s)", job.job, report.up_to_date, elapsed)
    else:
        log.info("%s: %d done, %d failed, %d up to date in %.1f s; manifest %s", job.job, report.done,
                 report.failed, report.up_to_date, elapsed, report.manifest_path)  # fmt: skip
        phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in report.timings.seconds.items())
        log.info("%s: time spent: %s", job.job, phases)
    sys.exit(EXIT_FAILED_ITEMS if report.failed else EXIT_OK)


def _print_plan(report: Any) -> None:
    click.echo(
        f"{report.todo} to do, {report.up_to_date} up to date, {len(report.skipped)} failed (not retried)"
    )
    for plan in report.plans:
        if not plan.up_to_date:
            article_id, language = plan.key
            click.echo(f"  {article_id} [{language}]: {plan.reason()}")
    for failure in report.ingest_failures:
        click.echo(f"  ! {failure.message}")


def _stop_on_signals(stop: threading.Event, received: list[int]) -> None:
    """First SIGINT/SIGTERM: finish the step in hand, record, exit. Second: exit at once."""

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            log.error("second %s: stopping now", signal.Signals(signum).name)
            os._exit(128 + signum)
        received.append(signum)
        stop.set()
        log.warning(
            "%s: finishing the step in hand and recording it (send again to stop at once)",
            signal.Signals(signum).name,
        )

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handle)
        signal.signal(signal.SIGTERM, handle)


@cli.command()
@config_argument
@set_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--runs", "run_count", default=5, show_default=True, help="How many recent runs to show.")
@click.pass_context
def status(
    ctx: click.Context, config: Path, overrides: tuple[str, ...], as_json: bool, run_count: int
) -> None:
    """The job's recent runs and its failed items."""
    logs.configure(ctx.obj["verbosity"])
    job = _load(config, overrides)
    from pipeline.errors import StateError
    from pipeline.state import StateStore

    try:
        state = StateStore.open(job.state_path, create=False)
        runs = state.runs(run_count)
        failures = [
            {
                "article_id": row.article_id,
                "language": row.language,
                "stage": row.stage,
                "attempts": row.attempts,
                "transient": row.transient,
                "error": row.last_error,
            }
            for row in state.items().values()
            if row.status == "failed"
        ]
        state.close()
    except StateError as exc:
        click.echo(f"error: state file {job.state_path}: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except sqlite3.DatabaseError as exc:
        from pipeline.state.store import corrupt_state_message

        click.echo(
            f"error: state file {job.state_path}: {corrupt_state_message(job.state_path, exc)}", err=True
        )
        sys.exit(EXIT_CONFIG)
    if as_json:
        data = {"job": job.job, "state": str(job.state_path), "runs": runs, "failures": failures}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"job {job.job}: state {job.state_path}")
    click.echo("runs (newest first):")
    for r in runs:
        click.echo(
            f"  #{r['id']} {r['started']} -> {r['finished'] or '...'} {r['status']}: {r['todo']} to do, "
            f"{r['up_to_date']} up to date, {r['done']} done, {r['failed']} failed"
        )
    click.echo(f"failed items: {len(failures)}")
    for f in failures:
        kind = "transient" if f["transient"] else "permanent"
        click.echo(
            f"  {f['article_id']} [{f['language']}] {f['stage']} ({kind}, {f['attempts']}x): {f['error']}"
        )


@cli.group()
def models() -> None:
    """Manage the models a config uses."""


@models.command("pull")
@config_argument
@set_option
@click.pass_context
def models_pull(ctx: click.Context, config: Path, overrides: tuple[str, ...]) -> None:
    """Download every hub model CONFIG uses into the cache and print the commits to pin."""
    logs.configure(ctx.obj["verbosity"])
    job = _load(config, overrides)
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
        for pulled in pins:
            click.echo(f"  {pulled.language}:\n    revision: {pulled.commit}")
    sys.exit(EXIT_FAILED_ITEMS if any(p.error for p in results) else EXIT_OK)


@models.command("convert")
@config_argument
@set_option
@click.option("--force", is_flag=True, help="Convert again even the models already converted.")
@click.pass_context
def models_convert(ctx: click.Context, config: Path, overrides: tuple[str, ...], force: bool) -> None:
    """Convert every model CONFIG uses to CTranslate2 now, instead of on the first run.

    A cached conversion that does not load is converted again; --force converts every model again.
    """
    logs.configure(ctx.obj["verbosity"])
    job = _load(config, overrides)
    from pipeline.mt.pull import convert_models

    results = convert_models(job, force=force)
    for language, outcome in results:
        if isinstance(outcome, Path):
            click.echo(f"{language}: {outcome}")
        else:
            click.echo(f"error: {outcome}", err=True)
    sys.exit(EXIT_FAILED_ITEMS if any(not isinstance(o, Path) for _, o in results) else EXIT_OK)


@cli.command("eval")
@click.option("--config", "config", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--lang", required=True, help="Target language code of the config (sq, uk, ...).")
@click.option("--src", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Source lines.")
@click.option(
    "--ref", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Reference lines."
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Hypotheses (default: SRC.LANG.hyp)."
)
@set_option
@click.pass_context
def evaluate_command(
    ctx: click.Context,
    config: Path,
    lang: str,
    src: Path,
    ref: Path,
    out: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Translate SRC with the config's model for LANG and print BLEU and chrF against REF."""
    logs.configure(ctx.obj["verbosity"])
    job = _load(config, overrides)
    from pipeline.errors import PipelineError
    from pipeline.executor.evaluate import evaluate, read_lines
    from pipeline.fsio import atomic_write_text

    target = next((t for t in job.targets if t.code == lang), None)
    if target is None:
        click.echo(
            f"error: {config}: no language {lang!r} (it has {', '.join(t.code for t in job.targets)})",
            err=True,
        )
        sys.exit(EXIT_CONFIG)
    try:
        sources, references = read_lines(src), read_lines(ref)
        if len(sources) != len(references):
            click.echo(f"error: {src} has {len(sources)} lines but {ref} has {len(references)}", err=True)
            sys.exit(EXIT_CONFIG)
        result = evaluate(job, target, sources, references)
    except PipelineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG if not exc.transient else EXIT_FAILED_ITEMS)
    out = out or src.with_name(f"{src.name}.{lang}.hyp")
    atomic_write_text(out, "\n".join(result.hypotheses) + "\n")
    click.echo(f"model: {result.model}")
    click.echo(f"{len(sources)} lines, hypotheses in {out}")
    click.echo(f"{result.bleu}")
    click.echo(f"  signature: {result.bleu_signature}")
    click.echo(f"{result.chrf}")
    click.echo(f"  signature: {result.chrf_signature}")


def _terminal_console() -> Any:
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)


def main() -> None:
    cli(prog_name="pipeline")
