"""The job's state: one SQLite file (WAL), written only by the driver process.

Tables: ``runs`` (one row per run), ``items`` (article × language × stage: content key, status,
attempts, last error, what was written), ``translations`` (the sentence translation memory),
``segments`` (narrated paragraphs, as MP3) and ``models`` (what each model fingerprint loaded as).
Every write is its own transaction, so a process killed at any moment leaves the file consistent;
the next run picks up from what was recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import StateError
from pipeline.items import SentenceTranslation

log = logging.getLogger(__name__)

APPLICATION_ID = 0x4E505350  # "NPSP": newsroom pipeline state, in the SQLite header
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,            -- running, finished, interrupted, crashed
    pid INTEGER NOT NULL,
    todo INTEGER NOT NULL DEFAULT 0,
    up_to_date INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE items (
    article_id TEXT NOT NULL,
    language TEXT NOT NULL,
    stage TEXT NOT NULL,             -- text, narration
    key TEXT NOT NULL,               -- content key of what the stage was asked to produce
    status TEXT NOT NULL,            -- done, failed
    attempts INTEGER NOT NULL DEFAULT 0,
    transient INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    detail TEXT,                     -- JSON: files written, their hashes, narration summary
    run_id INTEGER,
    updated TEXT NOT NULL,
    PRIMARY KEY (article_id, language, stage)
);
CREATE TABLE translations (
    key TEXT PRIMARY KEY,            -- sentence + model fingerprint + parameters
    target TEXT NOT NULL,
    parts INTEGER NOT NULL,
    hit_limit INTEGER NOT NULL,
    moved TEXT NOT NULL DEFAULT '[]',  -- JSON: protected spans put back at the end
    last_used TEXT NOT NULL
);
CREATE TABLE segments (
    key TEXT PRIMARY KEY,            -- text + engine + voice + engine parameters
    mp3 BLOB NOT NULL,
    last_used TEXT NOT NULL
);
CREATE TABLE models (
    fingerprint TEXT PRIMARY KEY,
    info TEXT NOT NULL               -- JSON of what loading the model reported
);
"""


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


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class StateStore:
    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self.db = connection

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> StateStore:
        """Open (or create) the state file; refuse a file that is not this tool's state."""
        if not path.exists() and not create:
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
            raise StateError(f"the state file is not readable as SQLite ({exc}); {hint}") from None
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
        return cls(path, db)

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        db.executescript(
            f"BEGIN; {_SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
            f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
        )

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

    def begin_run(self, pid: int) -> int:
        with self.transaction() as db:
            # A run still marked running holds no lock any more (we hold it now): it crashed.
            db.execute("UPDATE runs SET status='crashed' WHERE status='running'")
            cursor = db.execute(
                "INSERT INTO runs (started, status, pid) VALUES (?, 'running', ?)", (_now(), pid)
            )
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, counts: dict[str, int]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished=?, status=?, todo=?, up_to_date=?, done=?, failed=? WHERE id=?",
                (
                    _now(),
                    status,
                    counts.get("todo", 0),
                    counts.get("up_to_date", 0),
                    counts.get("done", 0),
                    counts.get("failed", 0),
                    run_id,
                ),
            )

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, started, finished, status, pid, todo, up_to_date, done, failed "
            "FROM runs ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        names = ("id", "started", "finished", "status", "pid", "todo", "up_to_date", "done", "failed")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # Items ----------------------------------------------------------------------------------

    def items(self) -> dict[tuple[str, str, str], ItemState]:
        rows = self.db.execute(
            "SELECT article_id, language, stage, key, status, attempts, transient, last_error, detail"
            " FROM items"
        )
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
                (article_id, language, stage, key, json.dumps(detail, ensure_ascii=False), run_id, _now()),
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
                (article_id, language, stage, key, attempts, int(transient), error, run_id, _now()),
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
        now = _now()
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
        return {key: bytes(data) for key, data in self._rows_by_key("SELECT key, mp3 FROM segments", keys)}

    def _rows_by_key(self, select: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``select`` whose key is one of ``keys``, asked in chunks under SQLite's variable limit."""
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            yield from self.db.execute(f"{select} WHERE key IN ({','.join('?' * len(chunk))})", chunk)

    def cached_segment_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` the segment cache holds (without reading their audio)."""
        return {row[0] for row in self._rows_by_key("SELECT key FROM segments", keys)}

    def add_segment(self, key: str, mp3: bytes) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO segments (key, mp3, last_used) VALUES (?, ?, ?)", (key, mp3, _now())
            )

    def touch(self, table: str, keys: Iterable[str]) -> None:
        """Mark cache entries as used by this run (entries unused for long are pruned)."""
        assert table in ("translations", "segments")
        now = _now()
        with self.transaction() as db:
            db.executemany(f"UPDATE {table} SET last_used=? WHERE key=?", [(now, key) for key in keys])

    def prune(self, older_than_days: int) -> int:
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than_days)).isoformat(timespec="seconds")
        with self.transaction() as db:
            removed = db.execute("DELETE FROM translations WHERE last_used < ?", (cutoff,)).rowcount
            removed += db.execute("DELETE FROM segments WHERE last_used < ?", (cutoff,)).rowcount
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
