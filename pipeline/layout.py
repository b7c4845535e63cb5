"""Where outputs go: ``<output_dir>/<job>/<article-id>/<lang>/article.{txt,json}``."""

from __future__ import annotations

from pathlib import Path

TEXT_FILE = "article.txt"
JSON_FILE = "article.json"
AUDIO_FILE = "narration.mp3"
MANIFEST_FILE = "manifest.json"
LOG_DIR = "logs"


def item_dir(job_dir: Path, article_id: str, language: str) -> Path:
    directory = job_dir / article_id / language
    # Ids are slugs, so this holds by construction; checked anyway because it guards the disk.
    if job_dir.resolve() not in directory.resolve().parents:
        raise ValueError(f"refusing to write outside {job_dir}: {directory}")
    return directory
