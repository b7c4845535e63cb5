"""The editors' journal: every change an editor makes (post-edits saved or dropped, imports,
reviews), appended as one JSON line and fsynced before the state records it, never rewritten.

It lives beside the job (``<output_dir>/<job>/editors-journal.jsonl``), apart from the state file,
so the editors' work outlives a state that is deleted, replaced or damaged: a new state is rebuilt
from it (``pipeline.state.journaling``). Its first line names it (``journal``, an id, the job);
each later line is a ``Change``. A line cut short by a crash, or one this version cannot read, is
skipped with a warning; an append after a cut line first ends that line, so no change is glued
onto a fragment.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clock import utc_now_iso
from pipeline.errors import JournalError
from pipeline.fsio import atomic_write_bytes
from pipeline.state.changes import Change, new_change_id

log = logging.getLogger(__name__)

JOURNAL_FORMAT = "pipeline editors' journal"


@dataclass(frozen=True)
class JournalPosition:
    """How far a state has read a journal: the journal's id and the byte offset after the last
    change it holds (None and 0: none read)."""

    journal_id: str | None = None
    offset: int = 0


class EditorsJournal:
    """The journal file at ``path`` (created at the first change, or from a snapshot). Its errors
    name it by its file name only: the review app shows them to editors."""

    def __init__(self, path: Path):
        self.path = path
        self.name = f"the editors' journal ({path.name} in the job folder)"

    def header(self) -> dict[str, Any] | None:
        """The journal's first line (``journal``, ``id``, ``created``), or None when there is no
        journal (no file, or an empty one).

        Raises:
            JournalError: the file cannot be read, or is not an editors' journal.
        """
        try:
            with self.path.open("rb") as handle:
                first = handle.readline()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise JournalError(f"{self.name} cannot be read ({_reason(exc)})") from None
        if not first:
            return None
        try:
            header = json.loads(first)
        except ValueError:
            header = None
        if not (isinstance(header, dict) and header.get("journal") == JOURNAL_FORMAT and "id" in header):
            raise JournalError(
                f"{self.path.name} in the job folder is not an editors' journal; move it aside"
            )
        return header

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def create(self, changes: Iterable[Change] = ()) -> JournalPosition:
        """Start the journal (there must be none) with ``changes``; returns its position at the end.

        Raises:
            JournalError: it cannot be written (nothing is left behind).
        """
        journal_id = new_change_id()
        header = {"journal": JOURNAL_FORMAT, "id": journal_id, "created": utc_now_iso(), "version": 1}
        data = b"".join(_line(record) for record in (header, *(c.to_json() for c in changes)))
        try:
            atomic_write_bytes(self.path, data)
        except OSError as exc:
            raise JournalError(f"{self.name} cannot be written ({_reason(exc)})") from None
        return JournalPosition(journal_id, len(data))

    def append(self, change: Change) -> JournalPosition:
        """Add ``change`` at the end, on disk (fsynced) when this returns; returns the position
        after it. A journal not there yet is started first.

        Raises:
            JournalError: it cannot be written; the journal is left as it was.
        """
        header = self.header() or {"id": self.create().journal_id}
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        except OSError as exc:
            raise JournalError(f"{self.name} cannot be opened ({_reason(exc)})") from None
        try:
            return JournalPosition(header["id"], _append(fd, _line(change.to_json())))
        except OSError as exc:
            raise JournalError(f"{self.name} cannot be written ({_reason(exc)})") from None
        finally:
            os.close(fd)

    def changes(self, start: int) -> Iterator[tuple[Change, int]]:
        """Each change from byte ``start`` on (0: the first after the header), with the offset
        after it; only whole lines (a line still being written is left for later)."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise JournalError(f"{self.name} cannot be read ({_reason(exc)})") from None
        with handle:
            if start == 0:
                handle.readline()  # the header
            else:
                handle.seek(start)
            while (line := handle.readline()).endswith(b"\n"):
                change = _change(line, self.path, handle.tell())
                if change is not None:
                    yield change, handle.tell()


def _append(fd: int, data: bytes) -> int:
    """Write ``data`` at the end of the open file ``fd`` (ending a cut last line first) and fsync
    it; on failure cut the file back to where it was and raise. Returns the new size."""
    before = os.fstat(fd).st_size
    try:
        if before and os.pread(fd, 1, before - 1) != b"\n":
            data = b"\n" + data  # a crash cut the last line: end it, so this one stands alone
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    except OSError:
        with contextlib.suppress(OSError):  # not recorded either way; a cut line is skipped on reading
            os.ftruncate(fd, before)
        raise
    return before + len(data)


def _change(line: bytes, path: Path, offset: int) -> Change | None:
    try:
        return Change.from_json(json.loads(line))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        if line.strip():
            log.warning("%s: a line before byte %d is not a change this version can read (%s); skipped",
                        path, offset, type(exc).__name__)  # fmt: skip
        return None


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
