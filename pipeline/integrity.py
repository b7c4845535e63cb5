"""Are the delivered files still what this tool wrote? Checked when planning, so a file edited by
hand, truncated or deleted under ``outputs/`` is written again instead of being called up to date.

Each publish records every file's sha256 and its size and modification time. A file whose size and
time still match is taken as intact without reading it (as git does); otherwise its bytes are
hashed. ``article.json`` is rewritten by more than one stage, so it is checked for being readable
JSON rather than against one stage's hash; it is intact unread while it is as either stage left it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

JSON_KIND = "json"


def file_stat(path: Path) -> list[int]:
    """``[size, mtime_ns]`` of ``path``: what a later check compares before hashing."""
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


def file_identity(path: Path) -> list[int] | None:
    """``[size, mtime_ns, inode]`` of ``path`` (any rewrite, even an atomic one of the same size,
    changes it), or None when it is not there: what a record of a file made from it compares."""
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def damaged_files(
    job_dir: Path, detail: dict[str, Any], written: Mapping[str, list[list[int]]] | None = None
) -> list[tuple[str, str]]:
    """``(relative path, what is wrong)`` for each file of a stage's record that is missing,
    unreadable or changed since it was written; empty when all are intact. ``written``: relative
    path → each ``file_stat`` the item's records hold for it (``article.json`` is written by both
    stages, each a whole, valid file): a JSON file still as one of them left it is not read."""
    problems = []
    hashes, stats = detail.get("sha256", {}), detail.get("stat", {})
    for kind, relative in detail.get("files", {}).items():
        known = [stats[kind]] if kind in stats else []
        if kind == JSON_KIND and written:
            known += written.get(relative, [])
        problem = _problem(job_dir / relative, kind, hashes.get(kind), known)
        if problem:
            problems.append((relative, problem))
    return problems


def _problem(path: Path, kind: str, sha256: str | None, stats: list[list[int]]) -> str | None:
    try:
        if stats and file_stat(path) in stats:
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if kind == JSON_KIND:
        try:
            parsed = json.loads(data)
        except (UnicodeDecodeError, ValueError):
            return "not valid JSON"
        return None if isinstance(parsed, dict) else "not a JSON object"
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        return "changed since it was written (sha256 differs)"
    return None


def read_record(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None if it is missing, unreadable or not a JSON object (a
    reader treats such a file as absent; the next run's planning writes it again)."""
    try:
        parsed = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None
