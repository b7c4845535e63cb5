"""Checks made before any work: can the job write where its config says it writes?

A run that discovers at its end that ``outputs/`` is read-only has wasted the night, and a
traceback from deep inside a writer tells the operator little. These checks run first (in
``validate`` and ``run``) and report each problem as one config line.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from pipeline.config import JobConfig
from pipeline.errors import ConfigIssue
from pipeline.layout import LOG_DIR


def output_issues(config: JobConfig, log_file: Path | None = None) -> list[ConfigIssue]:
    """One issue per place the job writes to (job folder, state file, run log) that is not a
    writable folder, or cannot be made one; empty when all are usable. Creates nothing."""
    places = [
        ("output_dir", config.job_dir),
        ("state.path", config.state_path.parent),
        (
            "--log-file" if log_file else "output_dir",
            (log_file.parent if log_file else config.job_dir / LOG_DIR),
        ),
    ]
    issues, seen = [], set()
    for key, folder in places:
        problem = folder_problem(folder)
        if problem and problem not in seen:  # one line per cause, however many places it blocks
            seen.add(problem)
            origin = "--log-file" if key == "--log-file" else str(config.path)
            issues.append(
                ConfigIssue("" if key == "--log-file" else key, f"{folder}: {problem}", origin=origin)
            )
    return issues


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in ``folder`` (which may not exist yet), or None if they can;
    the reason names the place that blocks it (``folder`` itself or a parent)."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = "read-only file system" if exc.errno == errno.EROFS else (exc.strerror or str(exc))
        return f"cannot write in {existing} ({reason})"
    if existing != folder and not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot create folders in {existing} (permission denied)"
    return None
