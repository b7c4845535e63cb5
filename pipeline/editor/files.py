"""Which files of a job folder the review app may serve: regular files only, reached without a
symbolic link at any level below the job's folder (a link planted in an article's folder, to
``/etc/passwd`` or to the state file, is not followed), and opened so that a file swapped for a link
between the check and the open is not served either."""

from __future__ import annotations

import os
import stat
from pathlib import Path

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # O_NONBLOCK: a FIFO never hangs


def regular_below(root: Path, path: Path) -> bool:
    """Whether ``path`` is a regular file inside ``root`` with no symbolic link (and nothing but
    folders) between them; ``root`` itself may be reached through links (outputs on another disk).
    """
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return False
    if not parts or any(part in ("", ".", "..") for part in parts):
        return False
    current = root
    try:
        for part in parts[:-1]:
            current = current / part
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                return False
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        return path.resolve(strict=True).is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):  # RuntimeError: a link loop (older Pythons)
        return False


def open_regular(path: Path) -> tuple[int, os.stat_result]:
    """An open read-only descriptor of the regular file at ``path`` and its ``fstat``; the last
    component is not followed if it is a link (swapped in after ``regular_below`` said yes).

    Raises:
        FileNotFoundError: ``path`` is not there, or is a link, a folder, a FIFO or another
            non-regular file (the descriptor is closed then).
    """
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError:
        raise FileNotFoundError(path.name) from None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise FileNotFoundError(path.name)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, found
