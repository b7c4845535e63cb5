"""Atomic file writes: a file under ``outputs/`` is either whole or absent.

Write to a temporary file in the same folder, flush and fsync it, ``os.replace`` it over the
target, then fsync the folder so the rename itself survives a power cut.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically (``mode``, 644 by default), creating its folder if needed.

    Raises:
        OSError: the folder or the file cannot be written (a full disk included); ``path`` is then
            left as it was, and no temporary file is left beside it. The error names ``path``
            when the system's did not (a failed ``write`` names no file).
    """
    try:
        _write_and_replace(path, data, mode)
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    _fsync_dir(path.parent)


def _write_and_replace(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """``atomic_write_bytes`` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_if_changed(path: Path, text: str | bytes) -> bool:
    """Atomically write ``text`` (or bytes) unless the file already holds exactly that; True if
    written. Outputs regenerated on every run use it, so an unchanged one keeps its mtime."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    atomic_write_bytes(path, data)
    return True


def json_bytes(data: Any) -> bytes:
    """How every JSON output is encoded: UTF-8, indented, a final newline."""
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def atomic_write_json(path: Path, data: Any) -> None:
    """``atomic_write_bytes`` of ``data`` encoded as ``json_bytes`` encodes it."""
    atomic_write_bytes(path, json_bytes(data))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
