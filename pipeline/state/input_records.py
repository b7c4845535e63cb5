"""The state's record of each input file as last read: its identity on disk (size, times, inode)
and what reading and splitting it gave (JSON), so an unchanged file is not read again. Mixed into
``StateStore``; ``read_input_records`` reads them without opening the state for writing."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

INPUTS_TABLE = """
CREATE TABLE inputs (                -- each input file as last read, so an unchanged one is not read again
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    read_ns INTEGER NOT NULL,        -- when it was read (a file changed in the same instant is read again)
    version TEXT NOT NULL,           -- the readers and the sentence splitter that made ``article``
    article TEXT NOT NULL            -- JSON: the article as read, and its sentences
);
"""


@dataclass(frozen=True)
class InputRecord:
    """One input file as last read (see ``INPUTS_TABLE``)."""

    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    read_ns: int
    version: str
    article: str

    @property
    def identity(self) -> tuple[int, int, int, int]:
        """The file as ``os.stat`` saw it before it was read: size, mtime_ns, ctime_ns, inode."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)

    def values(self) -> tuple[object, ...]:
        return (self.path, self.size, self.mtime_ns, self.ctime_ns, self.inode, self.read_ns, self.version,
                self.article)  # fmt: skip


COLUMNS = "path, size, mtime_ns, ctime_ns, inode, read_ns, version, article"


class InputRecords:
    """Input-file storage; expects ``self.db`` and ``self.transaction()`` (``StateStore``)."""

    db: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # StateStore's

    def save_inputs(self, records: Iterable[InputRecord], gone: Iterable[str]) -> None:
        """Record ``records`` (replacing those of their paths) and forget the files in ``gone``, in
        one transaction."""
        with self.transaction() as db:
            db.executemany(f"INSERT OR REPLACE INTO inputs ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [record.values() for record in records])  # fmt: skip
            db.executemany("DELETE FROM inputs WHERE path=?", [(path,) for path in gone])


def read_input_records(state_path: Path, paths: Collection[str] | None = None) -> dict[str, InputRecord]:
    """The input files as recorded in the state at ``state_path``, by path (every one, or those of
    ``paths``), read without writing to it (before the job's lock is taken). Empty when there is no
    state, or it cannot be read (the files are then read again, and the run itself reports the
    state's problem)."""
    if not state_path.is_file():
        return {}
    uri = f"{state_path.resolve().as_uri()}?mode=ro"
    select = f"SELECT {COLUMNS} FROM inputs"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
            if paths is None:
                rows = db.execute(select).fetchall()
            else:
                rows = [row for path in paths for row in db.execute(f"{select} WHERE path=?", (path,))]
    except sqlite3.Error:  # no such table (an older schema), locked, not a database...
        return {}
    return {row[0]: InputRecord(*row) for row in rows}
