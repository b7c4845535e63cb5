"""The history of the editors' work on a job: every post-edit, drop, import and review, with who,
when, the article-language and the text before and after, for ``pipeline history`` and the review
app's History page (both render what ``job_history`` gives).

The editors' journal is its source: it holds every change and outlives the state. The journal is
replayed from its start, keeping the edits in force, so an edit's "before" is the edit it replaced
(or the machine translation it was made over); a filter only decides which entries are kept, so
the cost is one pass over the journal. A job with a state but no journal yet (older than journals:
the next run or change starts one) is read from the state's ``edit_history`` and
``review_history`` instead (a snapshot starts the journal from what the state holds then).
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.edits import Edit
from pipeline.state.changes import Change
from pipeline.state.edit_records import EDIT_COLUMNS
from pipeline.state.journal import EditorsJournal
from pipeline.state.review_records import REVIEW_COLUMNS, Review
from pipeline.state.store import StateStore

SOURCES = ("journal", "state", "none")  # where a history was read from


@dataclass(frozen=True)
class HistoryQuery:
    """Which entries to keep: each given field must match (``editor``: the entry's ``editor`` or
    ``recorded_by``; ``since``: recorded at or after, a date or an ISO time; a date means its
    midnight UTC)."""

    article: str | None = None
    editor: str | None = None
    language: str | None = None
    since: datetime | None = None

    def keeps(self, entry: HistoryEntry) -> bool:
        return (
            (self.article is None or entry.article_id == self.article)
            and (self.editor is None or self.editor in (entry.editor, entry.recorded_by))
            and (self.language is None or entry.language == self.language)
            and (self.since is None or _at_or_after(entry.recorded_at, self.since))
        )


def parse_since(value: str) -> datetime:
    """``2026-12-01`` or ``2026-12-01T08:00:00+00:00`` as an aware time (naive: UTC).

    Raises:
        ValueError: neither a date nor an ISO time.
    """
    return _moment(value.strip())


@dataclass(frozen=True)
class HistoryEntry:
    """One change to one article-language, as ``pipeline history --json`` writes it.

    ``kind``: ``edit``, ``import``, ``snapshot`` (an edit put in force; ``before`` is the edit of
    the same English sentence it replaced, else the machine translation it was made over;
    ``after`` the editor's text), ``drop`` (``before``: the edit dropped; ``after``: the machine
    translation the sentence had when that edit was made, which it is published as again while
    its English is unchanged), ``review`` (``status``, ``note``, ``text_sha256``: of the
    article.txt reviewed; no text). ``retired``: the edits of earlier versions of the English
    sentence an edit took out of force, ``[{"sentence", "text"}]``. ``editor`` and ``at`` are
    the text's or review's own; ``recorded_by`` and ``recorded_at`` the change's (they differ for
    an import, whose edits keep their translators' names and times, and for a snapshot).
    """

    change: str  # the change's id in the journal ("" when read from the state)
    kind: str
    editor: str  # whose text or review it is
    at: str  # when they wrote it
    article_id: str
    language: str
    sentence: str | None = None  # the English sentence (edits and drops)
    position: int | None = None  # its index through the article when the edit was made
    before: str | None = None
    after: str | None = None
    status: str | None = None  # reviews: approved, rejected, retracted (by the run)
    note: str | None = None
    text_sha256: str | None = None
    retired: tuple[dict[str, str], ...] = field(default=())
    recorded_by: str = ""  # who made the change: the editor, or who imported, ``pipeline`` for a snapshot
    recorded_at: str = ""  # when it was recorded

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["retired"] = list(self.retired)
        return record


@dataclass(frozen=True)
class History:
    """The entries kept, newest first, and where they were read from (``SOURCES``)."""

    entries: list[HistoryEntry]
    source: str


def job_history(journal_path: Path, state_path: Path, query: HistoryQuery = HistoryQuery()) -> History:
    """The job's history as ``query`` keeps it, newest (last recorded) first: from its editors'
    journal, else from its state file, else empty.

    Raises:
        JournalError: the journal cannot be read. StateError, sqlite3.DatabaseError: the state.
    """
    journal = EditorsJournal(journal_path)
    if journal.header() is not None:
        changes: Iterable[Change] = (change for change, _end in journal.changes(0))
        source = "journal"
    else:
        changes = _state_changes(state_path) if state_path.exists() else []
        source = "state" if changes else "none"
    entries = [entry for entry in replay(changes) if query.keeps(entry)]
    entries.reverse()
    return History(entries, source)


def replay(changes: Iterable[Change]) -> Iterator[HistoryEntry]:
    """The entries of ``changes`` in their order, keeping the edits in force to know each one's
    "before"."""
    in_force: dict[tuple[str, str, str], Edit] = {}
    for change in changes:
        if change.kind == "drop":
            for edit in change.edits:
                in_force.pop(_key(edit), None)
                yield _drop(change, edit)
            continue
        retired = _retire(in_force, change.superseded)
        for edit in change.edits:
            before = in_force.get(_key(edit))
            in_force[_key(edit)] = edit
            yield HistoryEntry(
                change.id, change.kind, edit.editor, edit.at, edit.article_id, edit.language,
                sentence=edit.source, position=edit.position,
                before=before.text if before is not None else edit.machine, after=edit.text,
                retired=tuple({"sentence": old.source, "text": old.text} for old in retired
                              if (old.article_id, old.language) == (edit.article_id, edit.language)),
                recorded_by=change.editor, recorded_at=change.at,
            )  # fmt: skip
        for review in change.reviews:
            yield _review(change, review)


def _retire(in_force: dict[tuple[str, str, str], Edit], edits: tuple[Edit, ...]) -> list[Edit]:
    for edit in edits:
        in_force.pop(_key(edit), None)
    return list(edits)


def _drop(change: Change, edit: Edit) -> HistoryEntry:
    return HistoryEntry(
        change.id, "drop", change.editor, change.at, edit.article_id, edit.language,
        sentence=edit.source, position=edit.position, before=edit.text, after=edit.machine,
        recorded_by=change.editor, recorded_at=change.at,
    )  # fmt: skip


def _review(change: Change, review: Review) -> HistoryEntry:
    return HistoryEntry(
        change.id, change.kind, review.editor, review.at, review.article_id, review.language,
        status=review.status, note=review.note, text_sha256=review.text_sha256,
        recorded_by=change.editor, recorded_at=change.at,
    )  # fmt: skip


def _key(edit: Edit) -> tuple[str, str, str]:
    return edit.article_id, edit.language, edit.source


def _state_changes(state_path: Path) -> list[Change]:
    """A state's edit and review histories as changes, in the order recorded (a state older than
    the journal); none for a state without editors' work."""
    state = StateStore.open(state_path, create=False)
    try:
        edits, reviews = list(_edit_changes(state.db)), list(_review_changes(state.db))
    finally:
        state.close()
    # each history in the order recorded; interleaved by time (an imported edit keeps its own time)
    return list(heapq.merge(edits, reviews, key=lambda change: change.at))


def _edit_changes(db: sqlite3.Connection) -> Iterator[Change]:
    """``put_edit`` writes the edits an edit supersedes just before it, by its editor at its time."""
    superseded: list[Edit] = []
    for row in db.execute(f"SELECT {EDIT_COLUMNS}, action FROM edit_history ORDER BY id"):
        edit, action = Edit(*row[:8]), row[8]
        if action == "superseded":
            superseded.append(edit)  # editor and at: the superseding edit's
        elif action == "saved":
            mine = tuple(old for old in superseded if (old.editor, old.at) == (edit.editor, edit.at))
            superseded = []
            yield Change("edit", edit.editor, edit.at, edits=(edit,), superseded=mine, id="")
        else:  # dropped: editor and at are who dropped it, and when
            yield Change("drop", edit.editor, edit.at, edits=(edit,), id="")


def _review_changes(db: sqlite3.Connection) -> Iterator[Change]:
    for row in db.execute(f"SELECT {REVIEW_COLUMNS} FROM review_history ORDER BY id"):
        review = Review(*row)
        yield Change("review", review.editor, review.at, reviews=(review,), id="")


def _at_or_after(at: str, since: datetime) -> bool:
    try:
        return _moment(at) >= since
    except ValueError:  # an imported edit's time as its file gave it: not a time to compare
        return False


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
