"""Checks made before any work: can the job write where its config says it writes, and is there
room to?

A run that discovers at its end that ``outputs/`` is read-only has wasted the night, and a
traceback from deep inside a writer tells the operator little. These checks run first (in
``validate`` and ``run``) and report each problem as one config line: a folder that cannot be
written, or a file system with less free space than ``min_free_mb``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from pipeline.config import JobConfig
from pipeline.diskspace import free_mb
from pipeline.errors import ConfigIssue
from pipeline.layout import LOG_DIR


def output_issues(config: JobConfig, log_file: Path | None = None) -> list[ConfigIssue]:
    """One issue per place the job writes to (job folder, state file, run log) that is not a
    writable folder, or cannot be made one; when all are usable, one per file system among them
    with less room than ``min_free_mb`` (``space_issues``); else empty. Creates nothing."""
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
    if not issues:
        issues = space_issues(config)
    return issues


def space_issues(config: JobConfig) -> list[ConfigIssue]:
    """One issue per file system, of the job folder's and the state file's, with less free space
    than ``min_free_mb`` (none when it is 0, or the space cannot be measured)."""
    if config.min_free_mb <= 0:
        return []
    issues, seen = [], set()
    for folder in (config.job_dir, config.state_path.parent):
        free = free_mb(folder)
        device = _device(folder)
        if free is None or free >= config.min_free_mb or device in seen:
            continue
        seen.add(device)
        message = (
            f"{folder}: {free:.1f} MB free, less than the {config.min_free_mb} MB it needs; "
            "make room, or lower min_free_mb"
        )
        issues.append(ConfigIssue("min_free_mb", message, origin=str(config.path)))
    return issues


def _device(folder: Path) -> int | None:
    """The file system holding ``folder`` (or its nearest existing parent), by device number."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    try:
        return existing.stat().st_dev
    except OSError:
        return None


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
