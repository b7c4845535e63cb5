"""Where outputs go: ``<output_dir>/<job>/`` holds the manifest, review page, feeds, state, lock and
logs; ``<article-id>/<lang>/`` holds ``article.txt``, ``article.json`` and ``narration.mp3``."""

from __future__ import annotations

from pathlib import Path

TEXT_FILE = "article.txt"
JSON_FILE = "article.json"
AUDIO_FILE = "narration.mp3"
TRANSCRIPT_FILE = "transcript.vtt"  # WebVTT, one cue per sentence, beside the narration
MANIFEST_FILE = "manifest.json"
REVIEW_FILE = "index.html"
FEEDS_DIR = "feeds"
PUBLIC_DIR = "public"  # <job>/public/: the only folder meant to be served
STATE_FILE = "state.sqlite"
SEGMENTS_SUFFIX = "-segments"  # <state file>-segments/<aa>/<sha256>.mp3: the narrated-segment cache
LOCK_FILE = ".lock"
FEED_VERSIONS_FILE = "feed-versions.json"  # <job>/: each feed item's last published audio version
JOURNAL_FILE = "editors-journal.jsonl"  # <job>/: every editor's change, appended (state/journal.py)
LOG_DIR = "logs"
# <job>/sources/<article-id>/: what the web ingest fetched for one article (web/sources_folder.py):
# latest.json (the article file the run reads), versions/ (each version's raw bytes and extraction)
SOURCES_DIR = "sources"
LATEST_FILE = "latest.json"
# Folders of the job's own beside the article folders: no article may take one of these ids.
JOB_FOLDER_NAMES = frozenset({LOG_DIR, PUBLIC_DIR, FEEDS_DIR, SOURCES_DIR})


def item_dir(job_dir: Path, article_id: str, language: str) -> Path:
    """``<job_dir>/<article_id>/<language>``: the folder of one article's outputs in one language.

    Raises:
        ValueError: the folder would not be inside ``job_dir`` (a guard; slug ids never do that).
    """
    directory = job_dir / article_id / language
    # Ids are slugs, so this holds by construction; checked anyway because it guards the disk.
    if job_dir.resolve() not in directory.resolve().parents:
        raise ValueError(f"refusing to write outside {job_dir}: {directory}")
    return directory
