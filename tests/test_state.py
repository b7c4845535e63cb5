"""The state file: segment audio kept as content-addressed files beside it, pruning that gives the
space back, exit codes per run, editors' reviews, and old (schema 1 and 2) state files migrated in place."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import sqlite3
from pathlib import Path

import pytest

from pipeline.edits import Edit
from pipeline.state import StateStore
from pipeline.state.change_records import CHANGES_TABLES
from pipeline.state.input_records import INPUTS_TABLE, InputRecord, read_input_records
from pipeline.state.schema import EDITS_TABLES, REVIEWS_TABLES, SCHEMA
from pipeline.state.store import APPLICATION_ID, SCHEMA_VERSION
from pipeline.state.web_records import WEB_TABLES, WebArticle, read_web_articles

# The schema of version 1 (pipeline/state/store.py before segment files and exit codes), verbatim.
SCHEMA_1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL,
    pid INTEGER NOT NULL, todo INTEGER NOT NULL DEFAULT 0, up_to_date INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE items (
    article_id TEXT NOT NULL, language TEXT NOT NULL, stage TEXT NOT NULL, key TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, transient INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, detail TEXT, run_id INTEGER, updated TEXT NOT NULL,
    PRIMARY KEY (article_id, language, stage)
);
CREATE TABLE translations (
    key TEXT PRIMARY KEY, target TEXT NOT NULL, parts INTEGER NOT NULL, hit_limit INTEGER NOT NULL,
    moved TEXT NOT NULL DEFAULT '[]', last_used TEXT NOT NULL
);
CREATE TABLE segments (key TEXT PRIMARY KEY, mp3 BLOB NOT NULL, last_used TEXT NOT NULL);
CREATE TABLE models (fingerprint TEXT PRIMARY KEY, info TEXT NOT NULL);
"""

OLD = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).isoformat(timespec="seconds")


def audio(index: int, size: int = 20_000) -> bytes:
    """Distinct bytes standing for a segment's MP3 (the store does not parse audio)."""
    return hashlib.sha256(str(index).encode()).digest() * (size // 32)


def make_schema_1_state(path: Path, segments: dict[str, bytes]) -> None:
    """A state file as version 1 wrote it: one finished run, the segments' audio as BLOBs."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.executescript(
            f"BEGIN; {SCHEMA_1} PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=1; COMMIT;"
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "INSERT INTO runs (started, finished, status, pid, todo, done) "
            "VALUES ('2025-01-01T02:00:00+00:00', '2025-01-01T02:01:00+00:00', 'finished', 42, 6, 6)"
        )
        db.executemany(
            "INSERT INTO segments (key, mp3, last_used) VALUES (?, ?, '2025-01-01T02:00:30+00:00')",
            list(segments.items()),
        )


def columns(path: Path, table: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def file_size(path: Path) -> int:
    """The state's size on disk: the file and its WAL."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def test_segment_audio_is_a_file_beside_the_state_not_a_blob_in_it(tmp_path: Path) -> None:
    state = StateStore.open(tmp_path / "state.sqlite")
    state.add_segment("k1", audio(1))
    state.add_segment("k2", audio(1))  # the same audio under another key: one file
    state.add_segment("k3", audio(3))
    sha = hashlib.sha256(audio(1)).hexdigest()
    assert (tmp_path / "state.sqlite-segments" / sha[:2] / f"{sha}.mp3").read_bytes() == audio(1)
    assert len(list((tmp_path / "state.sqlite-segments").glob("*/*.mp3"))) == 2
    assert state.segments(["k1", "k2", "k3", "nope"]) == {"k1": audio(1), "k2": audio(1), "k3": audio(3)}
    assert state.cached_segment_keys(["k1", "k3", "nope"]) == {"k1", "k3"}
    state.close()
    assert "mp3" not in columns(tmp_path / "state.sqlite", "segments")
    StateStore.open(tmp_path / "empty.sqlite").close()
    empty = file_size(tmp_path / "empty.sqlite")
    assert file_size(tmp_path / "state.sqlite") < empty + 6 * 4096  # a few rows; not 60 kB of audio


@pytest.mark.parametrize("damage", ["missing", "truncated", "altered"])
def test_a_missing_or_damaged_segment_file_counts_as_not_cached(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = StateStore.open(tmp_path / "state.sqlite")
    state.add_segment("good", audio(1))
    state.add_segment("bad", audio(2))
    path = state.files.path(hashlib.sha256(audio(2)).hexdigest())
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(audio(2)[:100])
    else:
        path.write_bytes(audio(2)[:-1] + b"!")
    if damage != "altered":  # same size: only reading it shows the damage
        assert state.cached_segment_keys(["good", "bad"]) == {"good"}
    with caplog.at_level(logging.WARNING):
        assert state.segments(["good", "bad"]) == {"good": audio(1)}
    assert "1 cached narrated segment(s) are missing or damaged" in caplog.text
    assert state.cached_segment_keys(["good", "bad"]) == {"good"}  # dropped: synthesised again
    state.add_segment("bad", audio(2))  # as the next synthesis does
    assert state.segments(["bad"]) == {"bad": audio(2)}
    state.close()


def test_prune_removes_unused_entries_their_files_and_gives_the_space_back(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    state = StateStore.open(path)
    for index in range(40):
        state.add_segment(f"k{index}", audio(index))
    state.add_segment("shared-old", audio(0))  # same audio as k0, which stays in use
    with state.transaction() as db:
        keep = ("k0", "k1")
        db.execute(f"UPDATE segments SET last_used=? WHERE key NOT IN {keep}", (OLD,))
        db.execute(
            "INSERT INTO translations (key, target, parts, hit_limit, last_used) VALUES (?, ?, 1, 0, ?)",
            ("t", "x" * 200_000, OLD),
        )
    temp = state.files.folder / "ab" / ".0123.mp3.x.tmp"  # left by a killed run
    temp.parent.mkdir(exist_ok=True)
    temp.write_bytes(b"half")
    before = file_size(path)
    assert state.prune(90) == 40  # 39 segments and the translation
    assert sorted(p.name for p in state.files.folder.glob("*/*")) == sorted(
        f"{hashlib.sha256(audio(i)).hexdigest()}.mp3" for i in (0, 1)
    )
    assert state.segments(["k0", "k1"]) == {"k0": audio(0), "k1": audio(1)}
    assert state.db.execute("PRAGMA freelist_count").fetchone()[0] == 0  # vacuumed
    state.close()
    assert file_size(path) < before - 150_000


def test_a_run_records_its_exit_code_and_a_failing_finish_is_not_finished(tmp_path: Path) -> None:
    state = StateStore.open(tmp_path / "state.sqlite")
    first = state.begin_run(100)
    state.finish_run(first, "finished", {"todo": 6, "done": 6})
    state.set_exit_code(first, 0)
    second = state.begin_run(100)
    state.finish_run(second, "finished", {"todo": 6, "failed": 6})
    assert state.unrecorded_run(100, "2000-01-01") == second
    assert state.unrecorded_run(101, "2000-01-01") is None
    assert state.unrecorded_run(100, "2999-01-01") is None
    state.set_exit_code(second, 1)
    third = state.begin_run(100)
    state.finish_run(third, "interrupted", {"todo": 6, "done": 2})
    state.set_exit_code(third, 143)
    assert state.unrecorded_run(100, "2000-01-01") is None
    runs = state.runs()
    assert [(r["id"], r["status"], r["exit_code"]) for r in runs] == [
        (third, "interrupted", 143),
        (second, "failed", 1),
        (first, "finished", 0),
    ]
    assert runs[1]["failed"] == 6
    state.close()


def test_a_schema_1_state_file_is_migrated_in_place(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.sqlite"
    old_segments = {f"key{index}": audio(index, 50_000) for index in range(30)}
    old_segments["dup"] = audio(0, 50_000)
    make_schema_1_state(path, old_segments)
    before = file_size(path)
    assert before > 30 * 50_000

    with caplog.at_level(logging.INFO):
        state = StateStore.open(path)
    assert f"upgrading schema 1 to {SCHEMA_VERSION}" in caplog.text
    assert state.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert state.segments(old_segments) == old_segments
    assert state.cached_segment_keys(old_segments) == set(old_segments)
    assert len(list(state.files.folder.glob("*/*.mp3"))) == 30
    (run,) = state.runs()
    assert (run["status"], run["exit_code"], run["done"]) == ("finished", None, 6)
    state.set_exit_code(run["id"], 0)
    state.close()
    assert "exit_code" in columns(path, "runs")
    assert columns(path, "segments") == ["key", "sha256", "size", "last_used"]
    assert file_size(path) < 200_000  # the 1.5 MB of BLOBs are out and the file vacuumed

    again = StateStore.open(path)  # opening it again changes nothing
    assert again.runs()[0]["exit_code"] == 0
    assert again.segments(["key7"]) == {"key7": old_segments["key7"]}
    again.close()


def schema_before(version: int) -> str:
    """The state's schema as it was before ``version`` (7: no web ingest; 6: nor editors' changes;
    5: nor input records; 4: nor post-edits, nor runs.origin)."""
    assert version in (4, 5, 6, 7)
    schema = SCHEMA.replace(WEB_TABLES, "")
    if version == 7:
        return schema
    schema = schema.replace(CHANGES_TABLES, "")
    if version == 6:
        return schema
    schema = schema.replace(INPUTS_TABLE, "")
    if version == 5:
        return schema
    origin = "    origin TEXT NOT NULL DEFAULT 'run'"
    lines = [line for line in schema.replace(EDITS_TABLES, "").splitlines() if not line.startswith(origin)]
    return "\n".join(lines).replace("exit_code INTEGER,", "exit_code INTEGER")


def test_a_schema_4_state_file_gets_the_inputs_table_in_place(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        header = f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=4;"
        db.executescript(f"BEGIN; {schema_before(5)} {header} COMMIT;")
    assert "inputs" not in tables(path)
    assert read_input_records(path) == {}  # an older state: every file is read

    state = StateStore.open(path)
    assert state.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    record = InputRecord("/in/a.txt", 10, 1, 2, 3, 4, "v", "{}")
    state.save_inputs([record], gone=["/in/gone.txt"])
    state.close()
    assert read_input_records(path) == {"/in/a.txt": record}


def test_a_schema_6_state_file_gets_the_web_tables_in_place(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        header = f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=6;"
        db.executescript(f"BEGIN; {schema_before(7)} {header} COMMIT;")
    assert "web_articles" not in tables(path)
    assert read_web_articles(path) == {}  # an older state: nothing taken from the web yet

    state = StateStore.open(path)
    assert state.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    record = WebArticle("guid-1", "budget-vote", "https://x.example/a", "https://x.example/feed", "s", "ok",
                        None, None, "2026-12-03T00:00:00+00:00")  # fmt: skip
    state.save_web_article(record)
    state.close()
    assert read_web_articles(path) == {"guid-1": record}


def test_a_schema_3_state_file_gets_the_edits_tables_and_run_origins_in_place(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        header = f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=3;"
        db.executescript(f"BEGIN; {schema_before(4)} {header} COMMIT;")
        db.execute(
            "INSERT INTO runs (started, status, pid, exit_code) VALUES ('2025-01-01', 'finished', 7, 0)"
        )
    assert "edits" not in tables(path)

    state = StateStore.open(path)
    assert state.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert state.runs()[0]["origin"] == "run"  # every earlier run was a `pipeline run`
    state.begin_run(8, origin="serve")
    assert [run["origin"] for run in state.runs()] == ["serve", "run"]
    first = Edit("a1", "sq", "Hello.", "Tungjatjeta.", "Pershendetje.", 0, "ed", "2026-01-01T00:00:00+00:00")
    state.save_edit(first)
    later = Edit(
        "a1", "sq", "Hello there.", "Tungjatjeta aty.", "Aty.", 0, "eve", "2026-01-02T00:00:00+00:00"
    )
    state.save_edit(later, superseded=[first])  # the English changed; the old edit is retired
    assert state.edits("sq") == [later]
    assert state.edits("uk") == [] and state.edits(article_id="a2") == []
    state.drop_edits([later], editor="max")
    assert state.edits() == []
    history = [(edit.text, edit.editor, action) for edit, action in state.edit_history("a1", "sq")]
    assert history == [
        ("Tungjatjeta.", "ed", "saved"),
        ("Tungjatjeta.", "eve", "superseded"),  # retired by eve's edit
        ("Tungjatjeta aty.", "eve", "saved"),
        ("Tungjatjeta aty.", "max", "dropped"),
    ]
    state.close()


def test_a_schema_2_state_file_gets_the_reviews_tables_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite"
    schema_2 = schema_before(4).replace(REVIEWS_TABLES, "")  # version 2: no reviews either
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.executescript(
            f"BEGIN; {schema_2} PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=2; COMMIT;"
        )
        db.execute(
            "INSERT INTO runs (started, status, pid, exit_code) VALUES ('2025-01-01', 'finished', 7, 0)"
        )
    assert "reviews" not in {row for row in tables(path)}

    with caplog.at_level(logging.INFO):
        state = StateStore.open(path)
    assert f"upgrading schema 2 to {SCHEMA_VERSION}" in caplog.text
    assert state.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    assert state.reviews() == {}
    assert state.runs()[0]["exit_code"] == 0  # what was there stays
    state.set_review("a1", "sq", "approved", "ed", "fine", "ab" * 32)
    state.set_review("a1", "sq", "rejected", "eve", "", "cd" * 32)
    state.set_review("a1", "uk", "approved", "ed", "", "ef" * 32)
    state.close()

    again = StateStore.open(path)  # opening it again changes nothing
    reviews = again.reviews()
    assert set(reviews) == {("a1", "sq"), ("a1", "uk")}
    current = reviews[("a1", "sq")]
    assert (current.status, current.editor, current.text_sha256) == ("rejected", "eve", "cd" * 32)
    assert [(r.language, r.status) for r in again.review_history()] == [
        ("sq", "approved"), ("sq", "rejected"), ("uk", "approved"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown review status"):
        again.set_review("a1", "sq", "maybe", "ed", "", "ab" * 32)
    again.close()
    assert columns(path, "reviews") == [
        "article_id", "language", "status", "editor", "note", "at", "text_sha256",
    ]  # fmt: skip


def tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_state_file_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    from pipeline.errors import StateError

    path = tmp_path / "state.sqlite"
    StateStore.open(path).close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match=f"newer version \\(schema {SCHEMA_VERSION + 1}\\)"):
        StateStore.open(path)
