"""The state file a long-lived process (the review app) opened, and whether it is still there.

A state file deleted, emptied or replaced under a running app must not be recreated by the app's
next change: a new, empty state would hold none of the editors' work and would unpublish every
approved article. The app notes the file's identity (device, inode) when it starts and refuses
changes once the file at the path is another, or none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import StateUnavailable

REBUILD_HINT = (
    "run `pipeline state rebuild CONFIG` (the editors' work is kept in the journal), then restart the app"
)


@dataclass(frozen=True)
class StateFile:
    """``path`` and the identity it had when opened (None: there was no state file yet)."""

    path: Path
    identity: tuple[int, int] | None

    @classmethod
    def opened(cls, path: Path, has_outputs: bool) -> StateFile:
        """The state file as it is now.

        Raises:
            StateUnavailable: the job has outputs but its state file is missing or empty.
        """
        state = cls(path, _identity(path))
        if has_outputs and (state.identity is None or _size(path) == 0):
            how = "missing" if state.identity is None else "empty"
            raise StateUnavailable(
                f"the job has outputs but its state file {path.name} is {how}; {REBUILD_HINT}"
            )
        return state

    def problem(self) -> str | None:
        """Why changes must not be recorded now, in one line without server paths; None if the
        state file is the one opened (or there was none and there is still none)."""
        now = _identity(self.path)
        if now is None:
            return (
                None
                if self.identity is None
                else f"the job's state file ({self.path.name}) was deleted; {REBUILD_HINT}"
            )
        if _size(self.path) == 0:
            return f"the job's state file ({self.path.name}) is empty; {REBUILD_HINT}"
        if self.identity is not None and now != self.identity:
            return (
                f"the job's state file ({self.path.name}) was replaced since the app started; restart the app"
            )
        return None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
