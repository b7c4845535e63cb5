"""``pipeline validate`` and ``pipeline run``: check a job, and run it (signals, run log, exit code,
the webhook)."""

from __future__ import annotations

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

from pipeline import logs
from pipeline.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED_ITEMS,
    EXIT_LOCKED,
    EXIT_OK,
    check_outputs,
    cli,
    config_argument,
    fail,
    load_job,
    log,
    set_option,
    verbosity,
    verbosity_options,
)
from pipeline.clock import utc_now_iso


@cli.command()
@config_argument
@set_option
@verbosity_options
@click.pass_context
def validate(ctx: click.Context, config: Path, overrides: tuple[str, ...]) -> None:
    """Check CONFIG and print what the job would do."""
    logs.configure(verbosity(ctx))
    from pipeline.describe import describe_job

    job = load_job(config, overrides)
    check_outputs(job)
    _warn_without_disclosure(job)
    lines, unreadable = describe_job(job)
    click.echo("\n".join(lines))
    suffix = f" ({unreadable} article files cannot be read and would fail)" if unreadable else ""
    click.echo(f"config is valid{suffix}")


def _warn_without_disclosure(job: Any) -> None:
    """One WARNING line when the job makes MP3s that do not say they are AI-made, and one per
    language whose engine cannot use the lexicon's IPA entries."""
    from pipeline.describe import disclosure_warning, ipa_warnings

    warning = disclosure_warning(job)
    for line in [warning, *ipa_warnings(job)]:
        if line:
            log.warning("%s", line)


@cli.command()
@config_argument
@set_option
@click.option("-n", "--dry-run", is_flag=True, help="List what would be done, and do nothing.")
@click.option("--retry-failed", is_flag=True, help="Try failed items again, however often they failed.")
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="ARTICLE_ID",
    help="Work on this article only (repeatable); the others stay as they are, and in the manifest.",
)
@click.option(
    "--lang",
    "languages",
    multiple=True,
    metavar="CODE",
    help="Work on this language only (repeatable).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Ignore the caches for the chosen items: translate, narrate and write them again. "
    "Without --only or --lang, that is every item.",
)
@click.option(
    "--wait-lock",
    type=click.FloatRange(0, 86400),
    default=0,
    metavar="SECONDS",
    help="If another run of the job (or the review app applying an edit) holds its lock, wait up to "
    "this long for it before giving up with exit 3 (default: do not wait).",
)
@click.option(
    "--no-fetch",
    is_flag=True,
    help="Take nothing new from the web sources (input.feeds, urls, sitemaps, wordpress): work on "
    "the articles already taken.",
)
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
    only: tuple[str, ...],
    languages: tuple[str, ...],
    force: bool,
    wait_lock: float,
    no_fetch: bool,
    log_file: Path | None,
) -> None:
    """Translate and narrate every article CONFIG's input globs match that is not up to date.

    --only and --lang choose which articles and languages to work on (an unknown one is an
    error, exit 2); --force does the chosen ones again even when they are up to date.
    """
    console = terminal_console()
    logs.configure(verbosity(ctx), console)
    job = load_job(config, overrides)
    from pipeline.executor.options import RunOptions

    check_outputs(job, log_file)
    log_path = None if dry_run else _start_run_log(job, log_file, overrides)
    _warn_without_disclosure(job)  # after the log's header, so the log has it too
    stop, received = threading.Event(), list[int]()
    _stop_on_signals(stop, received)
    started, since = time.monotonic(), utc_now_iso()
    options = RunOptions(dry_run, retry_failed, frozenset(only), frozenset(languages), force, wait_lock,
                         fetch=not no_fetch)  # fmt: skip
    report, code, recordable = _run_job(job, console, stop, options, log_path)
    if dry_run and report is not None:
        _print_plan(report)
        sys.exit(EXIT_OK)
    if report is not None:
        code = _summarise(job, report, received, time.monotonic() - started)
    if code == EXIT_OK and logs.log_file_failure() is not None:  # said once when it happened
        code = EXIT_FAILED_ITEMS
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
    older than ``state.keep_days`` (never this one); returns the log's path. A log that cannot be
    written (a full disk) is one line and exit 1, before any work."""
    from pipeline.describe import run_log_header
    from pipeline.layout import LOG_DIR

    log_dir = job.job_dir / LOG_DIR
    path = log_file or logs.default_log_path(log_dir)
    try:
        logs.add_log_file(path, run_log_header(job, overrides))
    except OSError as exc:
        fail(logs.file_failure(path, exc), EXIT_FAILED_ITEMS)
    logs.remove_old_logs(log_dir, job.state.keep_days, keep=path)
    return path


def _run_job(
    job: Any, console: Any, stop: threading.Event, options: Any, log_path: Path | None
) -> tuple[Any, int, bool]:
    """Run the job; returns its report (None if it stopped on an error), the exit code for an
    error, and whether that code belongs in the state (not when the state itself is unusable or
    another run holds the lock)."""
    from pipeline.errors import ConfigError, DiskFullError, JournalError, LockedError, StateError
    from pipeline.state.store import corrupt_state_message

    try:
        return _call_run_job(job, console, stop, options), EXIT_OK, True
    except DiskFullError as exc:  # the state or an output of the run as a whole: what fitted is kept
        log.debug("disk full", exc_info=True)
        log.error("%s", exc)
        return None, EXIT_FAILED_ITEMS, False  # the state may be on that disk: one line is all
    except JournalError as exc:  # the editors' work could not be read into the state: nothing done
        log.error("%s", exc)
        return None, EXIT_FAILED_ITEMS, True
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
    """``_run_with_progress``; a full disk under its state, lock or manifest (anywhere in what
    the run raised) is raised as a ``DiskFullError`` naming the folder."""
    from pipeline.diskspace import disk_full_error, full_folder
    from pipeline.errors import DiskFullError

    try:
        return _run_with_progress(job, console, stop, options)
    except Exception as exc:
        full = disk_full_error(exc)
        if full is None:
            raise
        folder = job.state_path.parent if isinstance(full, sqlite3.Error) else full_folder(full, job.job_dir)
        raise DiskFullError(folder) from exc


def _run_with_progress(job: Any, console: Any, stop: threading.Event, options: Any) -> Any:
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
        left = f", {report.not_chosen} not chosen" if report.not_chosen else ""
        log.info("%s: 0 to do, %d up to date%s (%.1f s)", job.job, report.up_to_date, left, elapsed)
    else:
        log.info("%s: %d done, %d failed, %d up to date in %.1f s; manifest %s", job.job, report.done,
                 report.failed, report.up_to_date, elapsed, report.manifest_path)  # fmt: skip
        phases = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in report.timings.seconds.items())
        log.info("%s: time spent: %s", job.job, phases)
    unread = report.web.sources_failed if report.web is not None else 0  # a feed down: tonight's news missing
    return EXIT_FAILED_ITEMS if report.failed or unread else EXIT_OK


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
        from pipeline.diskspace import is_disk_full

        level = logging.DEBUG if is_disk_full(exc) else logging.WARNING  # the run said so already
        log.log(level, "state file %s: exit code %d not recorded (%s)", job.state_path, code, exc)


def _print_plan(report: Any) -> None:
    click.echo(
        f"{report.todo} to do, {report.up_to_date} up to date, {len(report.skipped)} failed (not retried)"
    )
    for plan in report.plans:
        if plan.chosen and not plan.up_to_date:
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


def terminal_console() -> Any:
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)
