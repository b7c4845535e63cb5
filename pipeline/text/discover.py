"""Expand the config's input globs into article files."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path


def expand_glob(pattern: str) -> list[Path]:
    """Files (not folders) matching an absolute glob, ``**`` included, in sorted order."""
    matches = glob.glob(pattern, recursive=True)
    return sorted(Path(match) for match in matches if Path(match).is_file())


def discover(patterns: Iterable[str]) -> list[Path]:
    """Every file matched by any pattern, once, in a stable order."""
    seen: set[Path] = set()
    files: list[Path] = []
    for pattern in patterns:
        for path in expand_glob(pattern):
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(path)
    return files
