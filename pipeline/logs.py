"""Logging set-up, done only by the CLI: concise lines on stderr, full detail in a log file."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


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


def add_log_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    logging.getLogger().addHandler(handler)
    return path


def default_log_path(log_dir: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return log_dir / f"run-{stamp}.log"
