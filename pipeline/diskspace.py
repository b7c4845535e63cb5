"""A full disk: how to recognise one in an exception, where it struck, and how much room is left.

Disk full is not a bug: an output that cannot be written fails its item (transiently), and a run
that cannot write its state or log stops with one line naming the folder. These helpers let each
of those places tell "no space" from other failures.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})  # a full file system, or a full quota
MB = 1024 * 1024  # as df -m counts


def is_disk_full(exc: BaseException) -> bool:
    """True for an ``OSError`` of a full disk or quota, and SQLite's "database or disk is full"."""
    if isinstance(exc, OSError):
        return exc.errno in NO_SPACE
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
    return False


def disk_full_error(exc: BaseException) -> BaseException | None:
    """The disk-full error in ``exc``'s chain (``exc`` itself, what it was raised from or while
    handling), or None: an error raised while cleaning up after a full disk is still about it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if is_disk_full(current):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def full_folder(exc: BaseException, default: Path) -> Path:
    """The folder a disk-full error struck in: an ``OSError`` naming a file gives that file's
    folder (or the folder it names); else ``default``, the folder the caller was writing in."""
    name = getattr(exc, "filename", None)
    if not isinstance(name, str | bytes):
        return default
    path = Path(os.fsdecode(name))
    return path if path.is_dir() else path.parent


def free_mb(folder: Path) -> float | None:
    """Free space, in MB, for unprivileged writes on the file system that holds ``folder`` (which
    may not exist yet: its nearest existing parent counts); None if it cannot be measured."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    try:
        return shutil.disk_usage(existing).free / MB
    except OSError:
        return None


RESERVE_FILE = ".space-reserve"  # in the job folder: room given back when the disk fills
RESERVE_BASE = MB  # kept whatever the job's size, for the state's last writes and the pages
RESERVE_CAP = 64 * MB


class SpaceReserve:
    """A file of ``size`` bytes kept in the job folder (made once, checked by one ``stat`` per
    run) and deleted when a disk that fills up stops a run, so that the manifest of what the run
    finished, the state's last writes and the reports still fit. Its bytes are random, so a file
    system that compresses or deduplicates still sets real room aside."""

    def __init__(self, path: Path, size: int):
        self.path, self.size = path, size

    @classmethod
    def for_job(cls, job_dir: Path, manifest: Path) -> SpaceReserve:
        """The job's reserve: 1 MB and twice the manifest's size (at most 64 MB)."""
        try:
            listed = manifest.stat().st_size
        except OSError:
            listed = 0
        return cls(job_dir / RESERVE_FILE, min(RESERVE_CAP, RESERVE_BASE + 2 * listed))

    def ensure(self) -> bool:
        """Make the reserve if it is missing or under half its size (a manifest that grows a
        little does not cost a rewrite each night); False (and nothing left) if it does not fit."""
        try:
            if self.path.stat().st_size >= self.size // 2:
                return True
        except OSError:
            pass
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("wb") as handle:
                for start in range(0, self.size, MB):
                    handle.write(os.urandom(min(MB, self.size - start)))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            self.path.unlink(missing_ok=True)
            return False
        return True

    def release(self) -> bool:
        """Delete the reserve; True if there was one to give back."""
        try:
            self.path.unlink()
        except OSError:
            return False
        return True
