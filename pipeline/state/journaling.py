"""Keeping the state and the editors' journal level: a change is journaled (fsynced) before the
state records it, and a state that lacks changes the journal holds (a new or empty state, one
restored from a backup, a process killed between the two writes) takes them from the journal.

Every run and every editor's change calls ``catch_up`` under the job's lock first; it costs one
``stat`` when the state has read the whole journal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.state.changes import Change
from pipeline.state.journal import EditorsJournal, JournalPosition
from pipeline.state.store import StateStore

log = logging.getLogger(__name__)

SNAPSHOT_EDITOR = "pipeline"  # who a snapshot is by: the tool, copying what the state held


@dataclass(frozen=True)
class Restored:
    """What ``catch_up`` took from the journal into the state (``started``: the journal was
    started from what the state held, which the journal did not have)."""

    changes: int = 0
    edits: int = 0
    drops: int = 0
    reviews: int = 0
    started: bool = False

    def added(self, change: Change) -> Restored:
        counts = change.counts()
        return Restored(self.changes + 1, self.edits + counts["edits"], self.drops + counts["drops"],
                        self.reviews + counts["reviews"], self.started)  # fmt: skip

    def summary(self) -> str:
        """``3 changes (2 edits, 1 review)``."""
        parts = [f"{n} {name if n != 1 else name[:-1]}" for name, n in
                 (("edits", self.edits), ("drops", self.drops), ("reviews", self.reviews)) if n]  # fmt: skip
        return f"{self.changes} change{'s' if self.changes != 1 else ''} ({', '.join(parts) or 'nothing'})"


def catch_up(state: StateStore, journal: EditorsJournal) -> Restored:
    """Record in ``state`` every change of ``journal`` it does not hold, in journal order, each
    pending for the article-languages it touches; start the journal from a snapshot when there is
    none but the state holds editors' work (a state older than journals, or a journal deleted).
    Only the journal past what the state has read is read (all of it for another journal).

    Raises:
        JournalError: the journal cannot be read, or a snapshot cannot be written.
    """
    header = journal.header()
    if header is None:
        return _start(state, journal)
    position, size = state.journal_position(), journal.size()
    same = position.journal_id == header["id"] and position.offset <= size
    start = position.offset if same else 0
    if same and start == size:
        return Restored()
    restored = Restored()
    for change, end in journal.changes(start):
        if state.record_change(change, JournalPosition(header["id"], end)):
            restored = restored.added(change)
    if restored.changes:
        log.info("restored %s from the editors' journal %s into the state", restored.summary(), journal.path)
    return restored


def _start(state: StateStore, journal: EditorsJournal) -> Restored:
    """No journal: start one holding what the state has (if it has editors' work)."""
    if not state.has_editors_work():
        return Restored()
    read_before = state.journal_position().journal_id is not None
    snapshot = state.snapshot(SNAPSHOT_EDITOR)
    state.record_change(snapshot, journal.create([snapshot]), apply=False, applied=True)
    how = log.warning if read_before else log.info
    how("the editors' journal %s %s; started it with the %d edits and %d reviews the state holds",
        journal.path, "was missing" if read_before else "did not exist yet",
        len(snapshot.edits), len(snapshot.reviews))  # fmt: skip
    return Restored(started=True)


def record(state: StateStore, journal: EditorsJournal, change: Change) -> None:
    """Journal ``change`` (on disk when this returns), then record it in ``state``, pending for
    the article-languages it touches. Call under the job's lock, after ``catch_up``.

    Raises:
        JournalError: the journal cannot be written: nothing is recorded.
    """
    state.record_change(change, journal.append(change))
