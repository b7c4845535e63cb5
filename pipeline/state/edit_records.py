"""The state's post-edits: the ``edits`` in force (one per article × language × English sentence)
and the ``edit_history`` of every edit saved, dropped or superseded. Mixed into ``StateStore``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager

from pipeline.clock import utc_now_iso
from pipeline.edits import Edit

EDIT_COLUMNS = "article_id, language, source, text, machine, position, editor, at"
EDIT_ACTIONS = ("saved", "dropped", "superseded")
INSERT_EDIT = f"INSERT OR REPLACE INTO edits ({EDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_HISTORY = f"INSERT INTO edit_history ({EDIT_COLUMNS}, action) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _values(edit: Edit) -> tuple[object, ...]:
    return (edit.article_id, edit.language, edit.source, edit.text, edit.machine, edit.position,
            edit.editor, edit.at)  # fmt: skip


def put_edit(db: sqlite3.Connection, edit: Edit, superseded: Iterable[Edit] = ()) -> None:
    """Retire ``superseded`` (by ``edit``'s editor, at its time), then put ``edit`` in force
    (inside the caller's transaction)."""
    retire_edits(db, superseded, "superseded", edit.editor, edit.at)
    db.execute(INSERT_EDIT, _values(edit))
    db.execute(INSERT_HISTORY, (*_values(edit), "saved"))


def put_edits(db: sqlite3.Connection, edits: Iterable[Edit]) -> int:
    """Put every one of ``edits`` in force; returns how many."""
    count = 0
    for edit in edits:
        put_edit(db, edit)
        count += 1
    return count


def retire_edits(db: sqlite3.Connection, edits: Iterable[Edit], action: str, editor: str, at: str) -> None:
    """Take ``edits`` out of force; the history notes ``action`` (dropped, superseded), who, when."""
    for edit in edits:
        db.execute(
            "DELETE FROM edits WHERE article_id=? AND language=? AND source=?",
            (edit.article_id, edit.language, edit.source),
        )
        retired = (edit.article_id, edit.language, edit.source, edit.text, edit.machine, edit.position)
        db.execute(INSERT_HISTORY, (*retired, editor, at, action))


class EditRecords:
    """Post-edit storage; expects ``self.db`` and ``self.transaction()`` (``StateStore``)."""

    db: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # StateStore's

    def edits(self, language: str | None = None, article_id: str | None = None) -> list[Edit]:
        """The edits in force, for one language and/or one article when given, oldest first."""
        where, args = [], []
        if language is not None:
            where.append("language=?")
            args.append(language)
        if article_id is not None:
            where.append("article_id=?")
            args.append(article_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.execute(f"SELECT {EDIT_COLUMNS} FROM edits{clause} ORDER BY at, rowid", args)
        return [Edit(*row) for row in rows]

    def save_edit(self, edit: Edit, superseded: Iterable[Edit] = ()) -> None:
        """Put ``edit`` in force (replacing any edit of the same sentence) and retire the
        ``superseded`` edits (of an English sentence that changed since), in one transaction;
        the history keeps all of them."""
        with self.transaction() as db:
            put_edit(db, edit, superseded)

    def save_edits(self, edits: Iterable[Edit]) -> int:
        """Put many edits in force at once (an import), each replacing any edit of its sentence."""
        with self.transaction() as db:
            return put_edits(db, edits)

    def drop_edits(self, edits: Iterable[Edit], editor: str) -> None:
        """Take ``edits`` out of force (back to the machine translation); the history notes who."""
        with self.transaction() as db:
            retire_edits(db, edits, "dropped", editor, utc_now_iso())

    def edit_history(self, article_id: str, language: str) -> Iterator[tuple[Edit, str]]:
        """Every edit of the article in the language ever saved, dropped or superseded, oldest
        first, with its action (for ``dropped`` and ``superseded``: who did it, and when)."""
        rows = self.db.execute(
            f"SELECT {EDIT_COLUMNS}, action FROM edit_history WHERE article_id=? AND language=? ORDER BY id",
            (article_id, language),
        )
        for row in rows:
            yield Edit(*row[:8]), row[8]
