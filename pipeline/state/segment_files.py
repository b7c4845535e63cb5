"""Narrated-segment audio as content-addressed files beside the state file.

``<state file>-segments/<aa>/<sha256>.mp3``: written atomically before the state records it, read
back only if it still hashes to its name, and removed by pruning once no row refers to it. The
SQLite file keeps only key → sha256, so it stays small however much audio the job makes.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pipeline.fsio import atomic_write_bytes
from pipeline.layout import SEGMENTS_SUFFIX


def segments_dir(state_path: Path) -> Path:
    """Where the segment audio of the state file ``state_path`` lives: ``<state file>-segments``."""
    return state_path.with_name(state_path.name + SEGMENTS_SUFFIX)


_SHARD = re.compile(r"[0-9a-f]{2}")
_AUDIO_FILE = re.compile(r"([0-9a-f]{64})\.mp3")


class SegmentFiles:
    """Narrated-segment audio as content-addressed files: ``<folder>/<aa>/<sha256>.mp3``."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, sha256: str) -> Path:
        """The file that holds the audio whose sha256 is ``sha256``."""
        return self.folder / sha256[:2] / f"{sha256}.mp3"

    def write(self, data: bytes) -> str:
        """Store ``data`` (atomically; kept if already there whole) and return its sha256.

        Raises:
            OSError: the file cannot be written (disk full, permissions).
        """
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.has(sha256, len(data)):
            atomic_write_bytes(self.path(sha256), data)
        return sha256

    def has(self, sha256: str, size: int) -> bool:
        """True if the file is there with ``size`` bytes (its content is not read)."""
        try:
            return self.path(sha256).stat().st_size == size
        except OSError:
            return False

    def read(self, sha256: str) -> bytes | None:
        """The audio, or None if its file is missing, unreadable or does not hash to its name."""
        try:
            data = self.path(sha256).read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def remove_unreferenced(self, referenced: set[str]) -> int:
        """Delete every audio file whose sha256 is not in ``referenced``, and leftover temporary
        files (call it only under the job's lock); returns how many files were removed."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        for shard in self.folder.iterdir():
            if shard.is_dir() and _SHARD.fullmatch(shard.name):
                removed += self._clean_shard(shard, referenced)
        return removed

    @staticmethod
    def _clean_shard(shard: Path, referenced: set[str]) -> int:
        removed = 0
        for file in shard.iterdir():
            audio = _AUDIO_FILE.fullmatch(file.name)
            left_over = file.name.startswith(".") and file.name.endswith(".tmp")
            if left_over or (audio is not None and audio.group(1) not in referenced):
                file.unlink(missing_ok=True)
                removed += 1
        if not any(shard.iterdir()):
            shard.rmdir()
        return removed
