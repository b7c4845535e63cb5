"""Logging set-up, done only by the CLI: concise lines on stderr, full detail in a log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.clock import utc_now

if TYPE_CHECKING:
    from rich.console import Console

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
HEADER_LOGGER = "pipeline.run"  # the name on the lines that open a run log
RUN_LOG_PREFIX, RUN_LOG_SUFFIX = "run-", ".log"


def quiet_third_parties() -> None:
    """Silence library chatter (progress bars, advisories) before those libraries are imported."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class OwnDebugOnly(logging.Filter):
    """Keeps other libraries' debug records (markdown_it's, for one, were nearly half a run log)
    out of a handler unless ``third_party_debug`` asks for them (``-vv``); the pipeline's own debug
    records, and every library's info, warnings and errors, pass."""

    third_party_debug = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG or self.third_party_debug:
            return True
        return record.name == "pipeline" or record.name.startswith("pipeline.")


def configure(verbosity: int, console: Console | None = None) -> None:
    """``verbosity``: -1 quiet (warnings and errors), 0 normal, 1 the pipeline's debug detail, 2+
    other libraries' debug records too (on the console and in the run log).

    Replaces the root logger's handlers with one for the console: through rich on ``console`` when
    given, else plain lines on stderr.
    """
    OwnDebugOnly.third_party_debug = verbosity > 1
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for old in list(root.handlers):
        root.removeHandler(old)
    if console is not None:
        from rich.highlighter import NullHighlighter
        from rich.logging import RichHandler

        class RichConsoleHandler(ReportsOnce, RichHandler):
            """The terminal's handler; a failure says so once (``ReportsOnce``)."""

        handler: logging.Handler = RichConsoleHandler(
            console=console, show_time=False, show_path=False, markup=False, highlighter=NullHighlighter()
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = ConsoleHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT, "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(level)
    handler.addFilter(OwnDebugOnly())
    root.addHandler(handler)
    for noisy in ("httpx", "httpcore", "filelock", "huggingface_hub", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # urllib3 warns, with a traceback, about every malformed reply; our retries report the failure.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


class ReportsOnce(logging.Handler):
    """A handler that, when it cannot write a record, says so once in one line on stderr and
    writes nothing more; never logging's ``--- Logging error ---`` traceback for every record
    (a full disk under the run log would print one per line logged). Mix it in before the
    handler class: ``class H(ReportsOnce, logging.FileHandler)``."""

    failure: BaseException | None = None
    report = True  # False: keep the failure for the caller to report (``add_log_file``)

    def emit(self, record: logging.LogRecord) -> None:
        if self.failure is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if self.failure is not None:
            return
        self.failure = sys.exc_info()[1] or RuntimeError("unknown logging error")
        self.give_up()
        if self.report:
            say(self.failure_line(self.failure))

    def give_up(self) -> None:
        """Stop writing (what is still buffered is dropped)."""

    def failure_line(self, exc: BaseException) -> str:
        return f"error: logging stopped: {type(exc).__name__}: {exc}"


class ConsoleHandler(ReportsOnce, logging.StreamHandler):
    """Plain lines on stderr; if stderr itself cannot be written (a full disk under a cron job's
    redirect), one line tries to say so, and the run goes on without a console."""


class RunLogHandler(ReportsOnce, logging.FileHandler):
    """The run log. If it cannot be written, one line says where the disk is full (or what else
    failed) and that the log stops there; the run goes on, and ``log_file_failure`` tells the CLI."""

    def give_up(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()  # the file is closed even when flushing what is buffered fails

    def failure_line(self, exc: BaseException) -> str:
        path = Path(self.baseFilename)
        return f"error: {file_failure(path, exc)}; the run log {path} stops here"


def file_failure(path: Path, exc: BaseException) -> str:
    """What keeps the log file ``path`` from being written, in a few words."""
    from pipeline.diskspace import is_disk_full

    if is_disk_full(exc):
        return f"no space left on device in {path.parent}"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot write {path} ({reason})"


def say(line: str) -> None:
    """Write ``line`` on stderr if stderr can be written; it may be what failed."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def add_log_file(path: Path, header: Iterable[str] = ()) -> Path:
    """Send every log record (the pipeline's debug included; see ``OwnDebugOnly``) to the file
    ``path`` too, from now on (instead of an earlier run log of this process, which is closed).

    Takes the file and the ``header`` lines it opens with (written to the file only, not the
    console); returns ``path``.

    Raises:
        OSError: the file cannot be opened, or its header cannot be written (a full disk); the
            file then takes no records.
    """
    root = logging.getLogger()
    for earlier in [h for h in root.handlers if isinstance(h, RunLogHandler)]:  # one run log a process
        root.removeHandler(earlier)
        earlier.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RunLogHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.addFilter(OwnDebugOnly())
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    handler.report = False
    for line in header:
        handler.handle(logging.LogRecord(HEADER_LOGGER, logging.INFO, __file__, 0, "%s", (line,), None))
    if handler.failure is not None:
        failure = handler.failure
        if isinstance(failure, OSError) and failure.filename is None and failure.errno is not None:
            raise OSError(failure.errno, failure.strerror, str(path)) from failure
        raise failure
    handler.report = True
    root.addHandler(handler)
    return path


def log_file_failure() -> BaseException | None:
    """Why the run log stopped being written during the run (reported once on stderr then), or
    None while it is written."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RunLogHandler) and handler.failure is not None:
            return handler.failure
    return None


def default_log_path(log_dir: Path) -> Path:
    """``<log_dir>/run-<UTC time>.log`` for a run starting now."""
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    return log_dir / f"{RUN_LOG_PREFIX}{stamp}{RUN_LOG_SUFFIX}"


def remove_old_logs(log_dir: Path, keep_days: float, keep: Path) -> list[Path]:
    """Delete the run logs (``run-*.log``) in ``log_dir`` last written more than ``keep_days``
    days ago, never ``keep`` (the current run's); returns what was removed. A file that cannot be
    removed is left with a debug line: old logs must never stop a run."""
    if not log_dir.is_dir():
        return []
    cutoff = time.time() - keep_days * 86400
    removed = []
    for path in sorted(log_dir.glob(f"{RUN_LOG_PREFIX}*{RUN_LOG_SUFFIX}")):
        try:
            if path.resolve() == keep.resolve() or not path.is_file() or path.stat().st_mtime >= cutoff:
                continue
            path.unlink()
        except OSError as exc:
            logging.getLogger(__name__).debug("old run log %s not removed: %s", path, exc)
            continue
        removed.append(path)
    if removed:
        logging.getLogger(__name__).debug(
            "removed %d run logs older than %g days from %s", len(removed), keep_days, log_dir
        )
    return removed
