"""The ``pipeline`` command. The only place that configures logging and chooses exit codes.

Exit codes: 0 all good; 1 some articles failed (the rest were delivered); 2 bad usage, config or
state file; 3 another run holds the job's lock; 130 / 143 stopped by SIGINT / SIGTERM after
recording what was done (the next run goes on from there).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


def _verbosity(ctx: click.Context) -> int:
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
@verbosity_options
@click.pass_context
def validate(ctx: click.Context, config: Path, overrides: tuple[str, ...]) -> None:
    """Check CONFIG and print what the job would do."""
    logs.configure(_verbosity(ctx))
    from pipeline.describe import describe_job

    job = _load(config, overrides)
    _check_outputs(job)
    _warn_without_disclosure(job)
    lines, unreadable = describe_job(job)
    click.echo("\n".join(lines))
    suffix = f" ({unreadable} article files cannot be read and would fail)" if unreadable else ""
    click.echo(f"config is valid{suffix}")


def _warn_without_disclosure(job: Any) -> None:
    """One WARNING line when the job makes MP3s that do not say they are AI-made."""
    from pipeline.describe import disclosure_warning

    warning = disclosure_warning(job)
    if warning:
        log.warning("%s", warning)


@cli.command()
@config_argument
@set_option
@click.option("-n", "--dry-run", is_flag=True, help="List what would be done, and do nothing.")
@click.option("--retry-failed", is_flag=True, help="Try failed items again, however often they failed.")
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Full debug log (default: <output_dir>/<job>/logs/run-<time>.log).",
)
@verbosity_options
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
    logs.configure(_verbosity(ctx), console)
    job = _load(config, overrides)
    from pipeline.executor.run import RunOptions

    _check_outputs(job, log_file)
    log_path = None if dry_run else _start_run_log(job, log_file, overrides)
    _warn_without_disclosure(job)  # after the log's header, so the log has it too
    stop, received = threading.Event(), list[int]()
    _stop_on_signals(stop, received)
    started, since = time.monotonic(), _utc_now()
    options = RunOptions(dry_run=dry_run, retry_failed=retry_failed)
    report, code, recordable = _run_job(job, console, stop, options, log_path)
    if dry_run and report is not None:
        _print_plan(report)
        sys.exit(EXIT_OK)
    if report is not None:
        code = _summarise(job, report, received, time.monotonic() - started)
    if recordable and not dry_run:
        _record_exit_code(job, report, since, code)
    if not dry_run and code != EXIT_LOCKED:  # a run was made (or tried): notify.webhook may want it
        _notify(job, report, code, log_path)
    sys.exit(code)


def _notify(job: Any, report: Any, code: int, log_path: Path | None) -> None:
    """POST the run's summary to ``notify.webhook`` when the config asks; never raises, waits at
    most ``notify.timeout``, never changes ``code``."""
    from pipeline.notify import notify_run, run_summary

    try:
        run_id = getattr(report, "run_id", None)
        notify_run(job, run_summary(job.job, report, code, run_id=run_id, log_path=log_path))
    except Exception:  # an alert is a courtesy: it never turns into a crash
        log.warning("notify.webhook: the alert could not be sent", exc_info=True)


def _start_run_log(job: Any, log_file: Path | None, overrides: tuple[str, ...]) -> Path:
    """Open the run's debug log, headed by what the run is made of, and remove the job's run logs
    older than ``state.keep_days`` (never this one); returns the log's path."""
    from pipeline.describe import run_log_header
    from pipeline.layout import LOG_DIR

    log_dir = job.job_dir / LOG_DIR
    path = logs.add_log_file(log_file or logs.default_log_path(log_dir), run_log_header(job, overrides))
    logs.remove_old_logs(log_dir, job.state.keep_days, keep=path)
    return path


def _run_job(
    job: Any, console: Any, stop: threading.Event, options: Any, log_path: Path | None
) -> tuple[Any, int, bool]:
    """Run the job; returns its report (None if it stopped on an error), the exit code for an
    error, and whether that code belongs in the state (not when the state itself is unusable or
    another run holds the lock)."""
    from pipeline.errors import ConfigError, LockedError, StateError
    from pipeline.state.store import corrupt_state_message

    try:
        return _call_run_job(job, console, stop, options), EXIT_OK, True
    except LockedError as exc:
        log.error("%s", exc)
        return None, EXIT_LOCKED, False
    except ConfigError as exc:
        for issue in exc.issues:
            log.error("%s", issue)
        return None, EXIT_CONFIG, True
    except StateError as exc:
        log.error("state file %s: %s", job.state_path, exc)
        return None, EXIT_CONFIG, False
    except sqlite3.DatabaseError as exc:
        log.debug("state file error", exc_info=True)
        log.error("state file %s: %s", job.state_path, corrupt_state_message(job.state_path, exc))
        return None, EXIT_CONFIG, False
    except Exception as exc:  # the one place that turns a crash into a line and an exit code
        log.debug("unexpected error", exc_info=True)
        where = f" (traceback in {log_path})" if log_path else ""
        log.error("run stopped by an unexpected error: %s: %s%s", type(exc).__name__, exc, where)
        return None, EXIT_FAILED_ITEMS, True


def _call_run_job(job: Any, console: Any, stop: threading.Event, options: Any) -> Any:
    """``run_job`` with a progress bar on a terminal, progress lines otherwise."""
    from pipeline.executor.run import run_job

    if console is not None and not options.dry_run:
        from pipeline.progress import RichProgress

        with RichProgress(console) as progress:
            return run_job(job, progress, stop, options)
    from pipeline.progress import LogProgress

    return run_job(job, LogProgress(), stop, options)


def _summarise(job: Any, report: Any, received: list[int], elapsed: float) -> int:
    """Log the run's outcome in a line or two and return its exit code."""
    if report.interrupted:
        log.warning("%s: stopped by %s after %d items; the next run goes on from there", job.job,
                    signal.Signals(received[0]).name, report.done)  # fmt: skip
        return 128 + received[0]
    if report.todo == 0 and report.failed == 0:
        log.info("%s: 0 to do, %d up to date (%.1f s)", job.job, report.up_to_date, elapsed)
    else:
        log.info("%s: %d done, %d failed, %d up to date in %.1f s; manifest %s", job.job, report.done,
                 report.failed, report.up_to_date, elapsed, report.manifest_path)  # fmt: skip
        phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in report.timings.seconds.items())
        log.info("%s: time spent: %s", job.job, phases)
    return EXIT_FAILED_ITEMS if report.failed else EXIT_OK


def _utc_now() -> str:
    """Now, as the state records times (UTC, whole seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _record_exit_code(job: Any, report: Any, since: str, code: int) -> None:
    """Write ``code`` into this run's row of the state, for ``status``. The run is the report's
    ``run_id`` when the executor gives one, else the newest run this process began since
    ``since`` without an exit code. A failure here is a warning: the run itself is over."""
    from pipeline.errors import StateError
    from pipeline.state import StateStore

    if not job.state_path.exists():
        return
    try:
        state = StateStore.open(job.state_path, create=False)
        try:
            run_id = getattr(report, "run_id", None) or state.unrecorded_run(os.getpid(), since)
            if run_id is not None:
                state.set_exit_code(run_id, code)
        finally:
            state.close()
    except (StateError, sqlite3.Error, OSError) as exc:
        log.warning("state file %s: exit code %d not recorded (%s)", job.state_path, code, exc)


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
@verbosity_options
@click.pass_context
def status(
    ctx: click.Context, config: Path, overrides: tuple[str, ...], as_json: bool, run_count: int
) -> None:
    """The job's recent runs (with their exit codes), its item counts and its failed items."""
    logs.configure(_verbosity(ctx))
    job = _load(config, overrides)
    data = _status_data(job, run_count)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(_status_lines(data)))


def _status_data(job: Any, run_count: int) -> dict[str, Any]:
    """What ``status`` shows, as JSON-ready data; a job that never ran has no runs and no items.
    Exits 2 with one line if the state file cannot be used."""
    from pipeline.errors import StateError
    from pipeline.state import StateStore
    from pipeline.state.store import corrupt_state_message

    data: dict[str, Any] = {
        "job": job.job,
        "state": str(job.state_path),
        "state_exists": job.state_path.exists(),
        "last_exit_code": None,
        "counts": {"done": 0, "failed": 0},
        "runs": [],
        "failures": [],
    }
    if not data["state_exists"]:
        return data
    try:
        state = StateStore.open(job.state_path, create=False)
        try:
            data["runs"] = state.runs(run_count)
            data["counts"] = state.item_counts()
            data["failures"] = _failures(state)
        finally:
            state.close()
    except StateError as exc:
        click.echo(f"error: state file {job.state_path}: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except sqlite3.DatabaseError as exc:
        message = corrupt_state_message(job.state_path, exc)
        click.echo(f"error: state file {job.state_path}: {message}", err=True)
        sys.exit(EXIT_CONFIG)
    data["last_exit_code"] = data["runs"][0]["exit_code"] if data["runs"] else None
    return data


def _failures(state: Any) -> list[dict[str, Any]]:
    """Every failed item of the state, as ``status`` shows it."""
    return [
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


def _status_lines(data: dict[str, Any]) -> list[str]:
    """``status`` for people: the runs, newest first, with their exit codes; counts; failures."""
    lines = [f"job {data['job']}: state {data['state']}"]
    if not data["runs"]:
        lines.append("runs: none yet")
    else:
        lines.append("runs (newest first):")
    for r in data["runs"]:
        exit_code = "" if r["exit_code"] is None else f" (exit {r['exit_code']})"
        lines.append(
            f"  #{r['id']} {r['started']} -> {r['finished'] or '...'} {r['status']}{exit_code}: "
            f"{r['todo']} to do, {r['up_to_date']} up to date, {r['done']} done, {r['failed']} failed"
        )
    lines.append(f"items: {data['counts']['done']} done, {data['counts']['failed']} failed")
    lines.append(f"failed items: {len(data['failures'])}")
    for f in data["failures"]:
        kind = "transient" if f["transient"] else "permanent"
        lines.append(
            f"  {f['article_id']} [{f['language']}] {f['stage']} ({kind}, {f['attempts']}x): {f['error']}"
        )
    return lines


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
    logs.configure(_verbosity(ctx))
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
@verbosity_options
@click.pass_context
def models_convert(ctx: click.Context, config: Path, overrides: tuple[str, ...], force: bool) -> None:
    """Convert every model CONFIG uses to CTranslate2 now, instead of on the first run.

    A cached conversion that does not load is converted again; --force converts every model again.
    """
    logs.configure(_verbosity(ctx))
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
@click.argument("config", required=False, metavar="CONFIG", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--config", "config_option", hidden=True, type=click.Path(path_type=Path, dir_okay=False),
    help="CONFIG, the older way (kept for existing scripts).",
)  # fmt: skip
@click.option("--lang", required=True, help="Target language code of the config (sq, uk, ...).")
@click.option("--src", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Source lines.")
@click.option(
    "--ref", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Reference lines."
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Hypotheses (default: SRC.LANG.hyp)."
)
@set_option
@verbosity_options
@click.pass_context
def evaluate_command(
    ctx: click.Context,
    config: Path | None,
    config_option: Path | None,
    lang: str,
    src: Path,
    ref: Path,
    out: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Translate SRC with the config's model for LANG and print BLEU and chrF against REF."""
    logs.configure(_verbosity(ctx))
    config = _one_config(config, config_option)
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


def _one_config(positional: Path | None, option: Path | None) -> Path:
    """CONFIG, given as the argument or (the older way) with ``--config``.

    Raises:
        click.UsageError: neither was given, or both, naming different files (exit code 2).
    """
    if positional is not None and option is not None and positional != option:
        raise click.UsageError(f"CONFIG given twice ({positional} and --config {option}); give it once.")
    config = positional or option
    if config is None:
        raise click.UsageError("Missing argument 'CONFIG'.")
    return config


def _terminal_console() -> Any:
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)


def main() -> None:
    cli(prog_name="pipeline")
