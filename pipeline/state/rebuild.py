"""``pipeline state rebuild``: the editors' work put back into the state from the journal.

Under the job's lock: a state file that cannot be read as SQLite is moved aside (kept, named
``<state>.damaged-<time>``) and a new one made; a missing or empty one is made anew; then every
change of the journal the state does not hold is recorded, pending, so the next run (or the review
app's start) writes the outputs with it.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pipeline.clock import utc_now
from pipeline.errors import StateDamaged
from pipeline.lock import JobLock
from pipeline.state.journal import EditorsJournal
from pipeline.state.journaling import Restored, catch_up
from pipeline.state.store import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rebuilt:
    """What ``rebuild`` did: ``restored`` from the journal; the damaged file ``moved_aside`` to;
    whether the journal existed; the article-languages now waiting for a run."""

    restored: Restored
    moved_aside: Path | None
    journal_found: bool
    pending: int


def rebuild(state_path: Path, journal_path: Path, lock_path: Path, wait_lock: float = 0) -> Rebuilt:
    """Rebuild the state at ``state_path`` from the journal at ``journal_path``.

    Raises:
        LockedError: a run (or the review app applying a change) holds the job.
        JournalError: the journal cannot be read.
        StateError: the state file is of another program or a newer version (left as it is).
    """
    journal = EditorsJournal(journal_path)
    with JobLock(lock_path, wait=wait_lock):
        moved = None
        try:
            state = _open(state_path)
        except (StateDamaged, sqlite3.DatabaseError) as exc:
            moved = _move_aside(state_path)
            log.warning("the state file %s cannot be used (%s); moved aside to %s", state_path, exc, moved)
            state = StateStore.open(state_path)
        try:
            found = journal.header() is not None
            restored = catch_up(state, journal)
            return Rebuilt(restored, moved, found, len(state.pending_pairs()))
        finally:
            state.close()


def _open(path: Path) -> StateStore:
    """The state, checked readable through (a damaged page shows only when read)."""
    state = StateStore.open(path)
    try:
        state.db.execute("PRAGMA quick_check").fetchall()
        state.journal_position()
    except sqlite3.DatabaseError:
        state.close()
        raise
    return state


def _move_aside(path: Path) -> Path:
    """Rename the state file (and its WAL files) to ``<name>.damaged-<UTC time>``; returns the new path."""
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.rename(aside.with_name(aside.name + suffix))
    return aside
