"""The job's state: one SQLite file (WAL), written only by the driver process.

Tables: ``runs`` (one row per run, with the exit code the CLI chose), ``items`` (article ×
language × stage: content key, status, attempts, last error, what was written), ``translations``
(the sentence translation memory), ``segments`` (narrated paragraphs: key → sha256 of the MP3) and
``models`` (what each model fingerprint loaded as), ``inputs`` (each input file as last read, so an
unchanged one is not read again), ``reviews`` and ``edits`` (each article × language's current
editor's review and post-edits, with ``review_history`` and ``edit_history`` keeping every one) and
``changes`` (each editor's change of the journal, pending until applied; ``journal_read``: how far
the journal is read). Every write is its own transaction, so a process killed at any moment leaves
the file consistent; the next run picks up from what was recorded.

The segments' audio lives beside the state, not in it: ``<state file>-segments/<aa>/<sha256>.mp3``,
content-addressed and written atomically before its row, so the SQLite file stays small. A file
that is missing or does not hash to its name counts as not cached (its row is dropped; the segment
is synthesised again). Pruning removes the files no row refers to and vacuums the file.

Schema versions: 1 kept the MP3s as BLOBs and had no exit code; opening a version-1 file migrates
it in place (the BLOBs are written out as files, ``runs.exit_code`` is added, the file is vacuumed);
version 2 had no reviews (the tables are added, empty); version 3 had no post-edits and no
``runs.origin`` (added: every earlier run was a ``run``); version 4 had no ``inputs`` (added, empty:
the next run reads every input file once more); version 5 had no ``changes`` (added, empty: the
next run starts the editors' journal with a snapshot of the edits and reviews).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clock import utc_now, utc_now_iso
from pipeline.errors import StateDamaged, StateError
from pipeline.items import SentenceTranslation
from pipeline.state.change_records import CHANGES_TABLES, ChangeRecords
from pipeline.state.edit_records import EditRecords
from pipeline.state.input_records import INPUTS_TABLE, InputRecords
from pipeline.state.review_records import ReviewRecords
from pipeline.state.schema import (
    APPLICATION_ID,
    EDITS_TABLES,
    REVIEWS_TABLES,
    SCHEMA,
    SCHEMA_VERSION,
    SEGMENTS_TABLE,
)
from pipeline.state.segment_files import SegmentFiles, segments_dir
from pipeline.state.web_records import WEB_TABLES, WebRecords

log = logging.getLogger(__name__)


def _execute_all(db: sqlite3.Connection, statements: str) -> None:
    """Run each of ``statements`` (separated by semicolons) in the caller's transaction."""
    for statement in statements.split(";"):
        if statement.strip():
            db.execute(statement)


def move_aside_hint(path: Path) -> str:
    """What to do about a state file that cannot be used."""
    return f"move it aside (the next run then starts afresh; outputs are kept but work is redone): {path}"


def corrupt_state_message(path: Path, exc: Exception) -> str:
    """One line for a SQLite error met while using the state (``database disk image is malformed``)."""
    return f"the state file cannot be used ({exc}); {move_aside_hint(path)}"


@dataclass(frozen=True)
class ItemState:
    article_id: str
    language: str
    stage: str
    key: str
    status: str
    attempts: int
    transient: bool
    last_error: str | None
    detail: dict[str, Any]


class StateStore(EditRecords, ReviewRecords, ChangeRecords, InputRecords, WebRecords):
    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self.db = connection
        self.files = SegmentFiles(segments_dir(path))

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> StateStore:
        """Open (or create) the state file; refuse a file that is not this tool's state."""
        if not create and (not path.exists() or path.stat().st_size == 0):  # an empty file is none either
            raise StateError(f"{path}: no state yet (no run has finished a step)")
        path.parent.mkdir(parents=True, exist_ok=True)
        hint = move_aside_hint(path)
        if create and path.exists() and path.stat().st_size == 0:
            log.warning(
                "state file %s is empty (0 bytes: a run killed as it began, or a damaged disk); "
                "starting a new state: work not recorded elsewhere is done again",
                path,
            )
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise StateDamaged(f"the state file is not readable as SQLite ({exc}); {hint}") from None
        if app_id == 0 and not tables:
            cls._create(db)
        elif app_id != APPLICATION_ID:
            db.close()
            raise StateError(f"the state file is a SQLite database of another program; {hint}")
        elif version > SCHEMA_VERSION:
            db.close()
            raise StateError(
                f"the state file was written by a newer version (schema {version}); upgrade, or {hint}"
            )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        store = cls(path, db)
        if app_id == APPLICATION_ID and version < SCHEMA_VERSION:
            store._migrate()
        return store

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        db.executescript(
            f"BEGIN; {SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
            f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
        )

    def _migrate(self) -> None:
        """Bring an older state file up to ``SCHEMA_VERSION`` in place (once: a second process
        that opens it meanwhile waits for the first, then finds nothing to do).

        Raises:
            StateError: the segment files cannot be written (the file is left as it was).
        """
        try:
            with self.transaction() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version >= SCHEMA_VERSION:
                    return
                log.info("state file %s: upgrading schema %d to %d", self.path, version, SCHEMA_VERSION)
                if version < 2:
                    self._migrate_to_2(db)
                if version < 3:
                    self._migrate_to_3(db)
                if version < 4:
                    self._migrate_to_4(db)
                if version < 5:
                    db.execute(INPUTS_TABLE)  # schema 5: input files as last read (none yet)
                if version < 6:
                    _execute_all(db, CHANGES_TABLES)  # schema 6: editors' changes (the journal is started
                    # from a snapshot of the edits and reviews by the first run: journaling.catch_up)
                if version < 7:
                    _execute_all(db, WEB_TABLES)  # schema 7: the web ingest's URLs and articles (none yet)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except OSError as exc:
            raise StateError(
                f"cannot move the narrated segments out of the state file into {self.files.folder} ({exc}); "
                "free some space or fix the folder's permissions, then run again"
            ) from None
        self._vacuum()

    def _migrate_to_2(self, db: sqlite3.Connection) -> None:
        """Schema 1 → 2: the runs' exit code; each segment BLOB written out to its file."""
        db.execute("ALTER TABLE runs ADD COLUMN exit_code INTEGER")
        db.execute(SEGMENTS_TABLE.format(name="segments_v2"))
        moved = 0
        for key, mp3, last_used in db.execute("SELECT key, mp3, last_used FROM segments"):
            data = bytes(mp3)
            db.execute(
                "INSERT INTO segments_v2 (key, sha256, size, last_used) VALUES (?, ?, ?, ?)",
                (key, self.files.write(data), len(data), last_used),
            )
            moved += 1
        db.execute("DROP TABLE segments")
        db.execute("ALTER TABLE segments_v2 RENAME TO segments")
        log.info("state file %s: %d narrated segments moved to %s", self.path, moved, self.files.folder)

    @staticmethod
    def _migrate_to_3(db: sqlite3.Connection) -> None:
        """Schema 2 → 3: the editors' reviews (none yet)."""
        _execute_all(db, REVIEWS_TABLES)

    @staticmethod
    def _migrate_to_4(db: sqlite3.Connection) -> None:
        """Schema 3 → 4: the editors' post-edits (none yet) and each run's origin."""
        db.execute("ALTER TABLE runs ADD COLUMN origin TEXT NOT NULL DEFAULT 'run'")
        _execute_all(db, EDITS_TABLES)

    def _vacuum(self) -> None:
        """Give the space of deleted rows back to the file system (and empty the WAL)."""
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # Runs -----------------------------------------------------------------------------------

    def begin_run(self, pid: int, origin: str = "run") -> int:
        """Record a run beginning in process ``pid``; ``origin``: ``run`` or ``serve``."""
        with self.transaction() as db:
            # A run still marked running holds no lock any more (we hold it now): it crashed.
            db.execute("UPDATE runs SET status='crashed' WHERE status='running'")
            cursor = db.execute(
                "INSERT INTO runs (started, status, pid, origin) VALUES (?, 'running', ?, ?)",
                (utc_now_iso(), pid, origin),
            )
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, counts: dict[str, int]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished=?, status=?, todo=?, up_to_date=?, done=?, failed=? WHERE id=?",
                (
                    utc_now_iso(),
                    status,
                    counts.get("todo", 0),
                    counts.get("up_to_date", 0),
                    counts.get("done", 0),
                    counts.get("failed", 0),
                    run_id,
                ),
            )

    def set_exit_code(self, run_id: int, code: int) -> None:
        """Record the exit code ``pipeline run`` chose for run ``run_id``; a run that finished but
        exits non-zero (items failed) is marked ``failed``, so it never reads as finished cleanly."""
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET exit_code=?,"
                " status=CASE WHEN status='finished' AND ?<>0 THEN 'failed' ELSE status END WHERE id=?",
                (code, code, run_id),
            )

    def unrecorded_run(self, pid: int, since: str) -> int | None:
        """The newest run that process ``pid`` began at or after ``since`` (ISO time, UTC) and
        whose exit code is not recorded yet, or None (the run stopped before it began one)."""
        row = self.db.execute(
            "SELECT id FROM runs WHERE pid=? AND started>=? AND exit_code IS NULL ORDER BY id DESC LIMIT 1",
            (pid, since),
        ).fetchone()
        return int(row[0]) if row else None

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The ``limit`` newest runs, newest first: id, started, finished, status, pid, counts
        (todo, up_to_date, done, failed) and exit_code (None when not recorded)."""
        names = (
            "id", "started", "finished", "status", "exit_code", "pid", "todo", "up_to_date", "done", "failed",
            "origin",
        )  # fmt: skip
        rows = self.db.execute(f"SELECT {', '.join(names)} FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(zip(names, row, strict=True)) for row in rows]

    # Items ----------------------------------------------------------------------------------

    def items(self, article_ids: Collection[str] | None = None) -> dict[tuple[str, str, str], ItemState]:
        """Each article × language × stage's record, by ``(article_id, language, stage)``: every
        one, or those of ``article_ids`` (what a run restricted to an editor's change needs)."""
        columns = "article_id, language, stage, key, status, attempts, transient, last_error, detail"
        if article_ids is None:
            rows: Iterable[tuple[Any, ...]] = self.db.execute(f"SELECT {columns} FROM items")
        else:
            rows = self._rows_by_key(f"SELECT {columns} FROM items", article_ids, "article_id")
        result = {}
        for article_id, language, stage, key, status, attempts, transient, error, detail in rows:
            state = ItemState(
                article_id,
                language,
                stage,
                key,
                status,
                attempts,
                bool(transient),
                error,
                json.loads(detail or "{}"),
            )
            result[(article_id, language, stage)] = state
        return result

    def record_done(
        self, article_id: str, language: str, stage: str, key: str, detail: dict[str, Any], run_id: int
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO items (article_id, language, stage, key, status, attempts, transient,"
                " last_error, detail, run_id, updated) VALUES (?, ?, ?, ?, 'done', 0, 0, NULL, ?, ?, ?)"
                " ON CONFLICT (article_id, language, stage) DO UPDATE SET key=excluded.key, status='done',"
                " attempts=0, transient=0, last_error=NULL, detail=excluded.detail, run_id=excluded.run_id,"
                " updated=excluded.updated",
                (
                    article_id,
                    language,
                    stage,
                    key,
                    json.dumps(detail, ensure_ascii=False),
                    run_id,
                    utc_now_iso(),
                ),
            )

    def record_failed(
        self, article_id: str, language: str, stage: str, key: str, error: str, transient: bool, run_id: int
    ) -> int:
        """Record a failure and return how many times this key has now failed."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT key, attempts, status FROM items WHERE article_id=? AND language=? AND stage=?",
                (article_id, language, stage),
            ).fetchone()
            attempts = row[1] + 1 if row and row[0] == key and row[2] == "failed" else 1
            db.execute(
                "INSERT INTO items (article_id, language, stage, key, status, attempts, transient,"
                " last_error, detail, run_id, updated) VALUES (?, ?, ?, ?, 'failed', ?, ?, ?, '{}', ?, ?)"
                " ON CONFLICT (article_id, language, stage) DO UPDATE SET key=excluded.key, status='failed',"
                " attempts=excluded.attempts, transient=excluded.transient, last_error=excluded.last_error,"
                " run_id=excluded.run_id, updated=excluded.updated",
                (article_id, language, stage, key, attempts, int(transient), error, run_id, utc_now_iso()),
            )
        return attempts

    # Translation memory and segment cache ----------------------------------------------------

    def translations(self, keys: Iterable[str]) -> dict[str, SentenceTranslation]:
        """Translation-memory entries by key (their ``source`` is left empty: keys are one-way)."""
        rows = self._rows_by_key("SELECT key, target, parts, hit_limit, moved FROM translations", keys)
        return {
            key: SentenceTranslation("", target, parts, bool(hit), tuple(json.loads(moved)))
            for key, target, parts, hit, moved in rows
        }

    def add_translations(self, rows: Iterable[tuple[str, SentenceTranslation]]) -> None:
        now = utc_now_iso()
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO translations (key, target, parts, hit_limit, moved, last_used)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        key,
                        t.target,
                        t.parts,
                        int(t.hit_limit),
                        json.dumps(list(t.moved), ensure_ascii=False),
                        now,
                    )
                    for key, t in rows
                ],
            )

    def segments(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The cached audio of those of ``keys`` the cache holds whole. A segment whose file is
        missing or damaged is dropped from the cache (one warning), so it is synthesised again."""
        found: dict[str, bytes] = {}
        damaged: dict[str, str] = {}
        for key, sha256 in self._rows_by_key("SELECT key, sha256 FROM segments", keys):
            data = self.files.read(sha256)
            if data is None:
                damaged[key] = sha256
            else:
                found[key] = data
        if damaged:
            log.warning(
                "%d cached narrated segment(s) are missing or damaged in %s; they will be synthesised again",
                len(damaged), self.files.folder,
            )  # fmt: skip
            self._forget_segments(damaged)
        return found

    def _forget_segments(self, damaged: dict[str, str]) -> None:
        """Drop the rows of ``damaged`` (key → sha256) and their files, so they are made anew."""
        with self.transaction() as db:
            db.executemany("DELETE FROM segments WHERE key=?", [(key,) for key in damaged])
        for sha256 in set(damaged.values()):
            self.files.path(sha256).unlink(missing_ok=True)

    def _rows_by_key(
        self, select: str, keys: Iterable[str], column: str = "key"
    ) -> Iterator[tuple[Any, ...]]:
        """Rows of ``select`` whose ``column`` is one of ``keys``, asked in chunks under SQLite's
        variable limit."""
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            yield from self.db.execute(f"{select} WHERE {column} IN ({','.join('?' * len(chunk))})", chunk)

    def cached_segment_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` the segment cache holds: a row, and its file at the recorded size
        (the audio itself is not read)."""
        rows = self._rows_by_key("SELECT key, sha256, size FROM segments", keys)
        return {key for key, sha256, size in rows if self.files.has(sha256, size)}

    def add_segment(self, key: str, mp3: bytes) -> None:
        """Cache a segment's audio: its file first (atomically), then the row that names it.

        Raises:
            OSError: the file cannot be written.
        """
        sha256 = self.files.write(mp3)
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO segments (key, sha256, size, last_used) VALUES (?, ?, ?, ?)",
                (key, sha256, len(mp3), utc_now_iso()),
            )

    def touch(self, table: str, keys: Iterable[str]) -> None:
        """Mark cache entries as used by this run (entries unused for long are pruned)."""
        assert table in ("translations", "segments")
        now = utc_now_iso()
        with self.transaction() as db:
            db.executemany(f"UPDATE {table} SET last_used=? WHERE key=?", [(now, key) for key in keys])

    def prune(self, older_than_days: int) -> int:
        """Remove cache entries unused for ``older_than_days`` days, then the segment files no entry
        refers to; vacuum the file when rows went. Call it under the job's lock. Returns the rows removed."""
        cutoff = (utc_now() - dt.timedelta(days=older_than_days)).isoformat(timespec="seconds")
        with self.transaction() as db:
            removed = db.execute("DELETE FROM translations WHERE last_used < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM segments WHERE last_used < ?", (cutoff,)).rowcount
        referenced = {row[0] for row in self.db.execute("SELECT DISTINCT sha256 FROM segments")}
        files = self.files.remove_unreferenced(referenced)
        if removed:
            self._vacuum()
        log.debug("pruned %d cache entries and %d segment files unused for %d days", removed, files,
                  older_than_days)  # fmt: skip
        return removed

    # Models ---------------------------------------------------------------------------------

    def model_info(self, fingerprint: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT info FROM models WHERE fingerprint=?", (fingerprint,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_model_info(self, fingerprint: str, info: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO models (fingerprint, info) VALUES (?, ?)",
                (fingerprint, json.dumps(info)),
            )
