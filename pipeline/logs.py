"""Logging set-up, done only by the CLI: concise lines on stderr, full detail in a log file."""

from __future__ import annotations

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


def configure(verbosity: int, console: Console | None = None) -> None:
    """``verbosity``: -1 quiet (warnings and errors), 0 normal, 1+ debug.

    Replaces the root logger's handlers with one for the console: through rich on ``console`` when
    given, else plain lines on stderr.
    """
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for old in list(root.handlers):
        root.removeHandler(old)
    if console is not None:
        from rich.highlighter import NullHighlighter
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(
            console=console, show_time=False, show_path=False, markup=False, highlighter=NullHighlighter()
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT, "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(level)
    root.addHandler(handler)
    for noisy in ("httpx", "httpcore", "filelock", "huggingface_hub", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # urllib3 warns, with a traceback, about every malformed reply; our retries report the failure.
    logging.getLogger("urllib3").setLevel(logging.ERROR)


def add_log_file(path: Path, header: Iterable[str] = ()) -> Path:
    """Send every log record (debug included) to the file ``path`` too, from now on.

    Takes the file and the ``header`` lines it opens with (written to the file only, not the
    console); returns ``path``. Raises ``OSError`` if the file cannot be opened.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    for line in header:
        handler.handle(logging.LogRecord(HEADER_LOGGER, logging.INFO, __file__, 0, "%s", (line,), None))
    logging.getLogger().addHandler(handler)
    return path


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
