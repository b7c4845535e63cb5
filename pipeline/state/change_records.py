"""The state's record of editors' changes: each change the journal holds (by its id), per
article-language it touches, ``pending`` until a run has written that article-language's outputs
with it, then ``applied``; and how far the state has read the journal. Mixed into ``StateStore``.

A change and its pending rows are recorded in one transaction with what it does to the edits and
reviews, so "recorded" and "waiting to be applied" can never disagree after a crash.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager

from pipeline.clock import utc_now_iso
from pipeline.edits import Edit
from pipeline.state.changes import Change
from pipeline.state.edit_records import EDIT_COLUMNS, put_edit, put_edits, retire_edits
from pipeline.state.journal import JournalPosition
from pipeline.state.review_records import REVIEW_COLUMNS, Review, put_review

CHANGES_TABLES = """
CREATE TABLE changes (               -- every editor's change the journal holds, per article-language
    id TEXT NOT NULL,                -- the change's id in the editors' journal
    article_id TEXT NOT NULL,        -- '' for a change that touches none
    language TEXT NOT NULL,
    kind TEXT NOT NULL,              -- edit, drop, import, review, snapshot
    recorded TEXT NOT NULL,          -- when the editor made it (ISO time, UTC)
    applied TEXT,                    -- when a run wrote the outputs with it (NULL: pending)
    PRIMARY KEY (id, article_id, language)
);
CREATE INDEX changes_pending ON changes (article_id, language) WHERE applied IS NULL;
CREATE TABLE journal_read (          -- one row: the editors' journal read, and up to which byte
    journal_id TEXT NOT NULL,
    offset INTEGER NOT NULL
);
"""


def apply_change(db: sqlite3.Connection, change: Change) -> None:
    """What ``change`` does to the edits and reviews (inside the caller's transaction)."""
    if change.kind == "edit":
        for edit in change.edits:
            put_edit(db, edit, change.superseded)
    elif change.kind == "drop":
        retire_edits(db, change.edits, "dropped", change.editor, change.at)
    else:  # import, review, snapshot
        put_edits(db, change.edits)
    for review in change.reviews:
        put_review(db, review)


class ChangeRecords:
    """Change storage; expects ``self.db`` and ``self.transaction()`` (``StateStore``)."""

    db: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # StateStore's

    def record_change(self, change: Change, position: JournalPosition, *, apply: bool = True,
                      applied: bool = False) -> bool:  # fmt: skip
        """Record ``change`` (its effect on the edits and reviews unless ``apply`` is False: a
        snapshot of this state's own work) as pending for each article-language it touches (or
        ``applied``), and that the journal is read up to ``position``; one transaction. Returns
        False, recording nothing, if the state holds the change already."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM changes WHERE id=? LIMIT 1", (change.id,)).fetchone():
                self._set_position(db, position)
                return False
            if apply:
                apply_change(db, change)
            when = utc_now_iso() if applied else None
            db.executemany(
                "INSERT INTO changes (id, article_id, language, kind, recorded, applied)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (change.id, a, lang, change.kind, change.at, when)
                    for a, lang in sorted(change.pairs()) or [("", "")]
                ],
            )
            self._set_position(db, position)
        return True

    def set_journal_position(self, position: JournalPosition) -> None:
        with self.transaction() as db:
            self._set_position(db, position)

    @staticmethod
    def _set_position(db: sqlite3.Connection, position: JournalPosition) -> None:
        db.execute("DELETE FROM journal_read")
        db.execute("INSERT INTO journal_read (journal_id, offset) VALUES (?, ?)",
                   (position.journal_id, position.offset))  # fmt: skip

    def journal_position(self) -> JournalPosition:
        """How far this state has read the editors' journal (None, 0: not at all)."""
        row = self.db.execute("SELECT journal_id, offset FROM journal_read").fetchone()
        return JournalPosition(row[0], row[1]) if row else JournalPosition()

    def pending_pairs(self) -> frozenset[tuple[str, str]]:
        """The article-languages with a change recorded whose outputs no run has written yet."""
        rows = self.db.execute(
            "SELECT DISTINCT article_id, language FROM changes WHERE applied IS NULL AND article_id<>''"
        )
        return frozenset((article_id, language) for article_id, language in rows)

    def mark_applied(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Mark the pending changes of ``pairs`` applied (their outputs are written); returns how
        many article-language rows changed."""
        now, count = utc_now_iso(), 0
        with self.transaction() as db:
            for article_id, language in pairs:
                count += db.execute(
                    "UPDATE changes SET applied=? WHERE applied IS NULL AND article_id=? AND language=?",
                    (now, article_id, language),
                ).rowcount
        return count

    def has_editors_work(self) -> bool:
        """Whether the state holds any post-edit or review (of its own, or restored)."""
        return any(
            self.db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
            for table in ("edits", "edit_history", "reviews")
        )

    def snapshot(self, editor: str) -> Change:
        """A ``snapshot`` change holding the edits in force and the current reviews."""
        edits = tuple(
            Edit(*row) for row in self.db.execute(f"SELECT {EDIT_COLUMNS} FROM edits ORDER BY at, rowid")
        )
        reviews = tuple(
            Review(*row) for row in self.db.execute(f"SELECT {REVIEW_COLUMNS} FROM reviews ORDER BY at")
        )
        return Change("snapshot", editor, utc_now_iso(), edits=edits, reviews=reviews)
