"""The state file's SQL schema, its SQLite application id and its version."""

from __future__ import annotations

from pipeline.state.change_records import CHANGES_TABLES
from pipeline.state.input_records import INPUTS_TABLE
from pipeline.state.web_records import WEB_TABLES

APPLICATION_ID = 0x4E505350  # "NPSP": newsroom pipeline state, in the SQLite header
SCHEMA_VERSION = 7  # 2: segment files, runs.exit_code; 3: editors' reviews; 4: post-edits, runs.origin;
# 5: input files as last read; 6: editors' changes (pending/applied) and the journal read;
# 7: the web ingest's fetched URLs and articles

SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,            -- running, finished, failed, interrupted, crashed
    pid INTEGER NOT NULL,
    todo INTEGER NOT NULL DEFAULT 0,
    up_to_date INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,               -- what `pipeline run` exited with (NULL: not known)
    origin TEXT NOT NULL DEFAULT 'run'  -- run (`pipeline run`), serve (an editor's change in the review app)
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
{segments}
{reviews}
{edits}
{inputs}
{changes}
{web}
CREATE TABLE models (
    fingerprint TEXT PRIMARY KEY,
    info TEXT NOT NULL               -- JSON of what loading the model reported
);
"""
SEGMENTS_TABLE = """
CREATE TABLE {name} (
    key TEXT PRIMARY KEY,            -- text + engine + voice + engine parameters
    sha256 TEXT NOT NULL,            -- of the MP3, which is <state file>-segments/<aa>/<sha256>.mp3
    size INTEGER NOT NULL,           -- its length in bytes
    last_used TEXT NOT NULL
);
"""
REVIEWS_TABLES = """
CREATE TABLE reviews (
    article_id TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,            -- approved, rejected
    editor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,                -- when (ISO time, UTC)
    text_sha256 TEXT NOT NULL,       -- of the article.txt the editor approved or rejected
    PRIMARY KEY (article_id, language)
);
CREATE TABLE review_history (        -- every review ever recorded, oldest first
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    editor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    text_sha256 TEXT NOT NULL
);
"""
EDITS_TABLES = """
CREATE TABLE edits (                 -- editors' post-edits in force, by English sentence
    article_id TEXT NOT NULL,
    language TEXT NOT NULL,
    source TEXT NOT NULL,            -- the English sentence
    text TEXT NOT NULL,              -- the editor's translation of it
    machine TEXT NOT NULL,           -- the machine translation it replaced, when it was made
    position INTEGER NOT NULL,       -- the sentence's index through the article, when it was made
    editor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (article_id, language, source)
);
CREATE INDEX edits_by_source ON edits (language, source);
CREATE TABLE edit_history (          -- every edit saved, dropped or replaced, oldest first
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL,
    language TEXT NOT NULL,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    machine TEXT NOT NULL,
    position INTEGER NOT NULL,
    editor TEXT NOT NULL,            -- who saved it (or, for "dropped", who dropped it)
    at TEXT NOT NULL,
    action TEXT NOT NULL             -- saved, dropped, superseded (its English changed, then re-edited)
);
"""
SCHEMA = SCHEMA.replace("{segments}", SEGMENTS_TABLE.format(name="segments"))
SCHEMA = SCHEMA.replace("{reviews}", REVIEWS_TABLES)
SCHEMA = SCHEMA.replace("{edits}", EDITS_TABLES)
SCHEMA = SCHEMA.replace("{inputs}", INPUTS_TABLE)
SCHEMA = SCHEMA.replace("{changes}", CHANGES_TABLES)
SCHEMA = SCHEMA.replace("{web}", WEB_TABLES)
