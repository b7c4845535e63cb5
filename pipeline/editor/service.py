"""``EditorService``: what an editor can do to a job, for the review app and the command line.

Reading goes by the published outputs (the manifest and each ``article.json``), so the app shows
exactly what was delivered. Every change (a post-edit saved or dropped, a review) is journaled,
recorded and applied under the job's lock by the same code a nightly run uses: a post-edit is
journaled and recorded (pending) by ``run_job``'s ``prepare`` hook and applied by that run (chosen
to the one article-language, its narration deferred), which rewrites ``article.txt``,
``article.json``, the manifest, the pages and the public folder, then marks it applied; the
narration of the changed paragraphs is then redone in the background (``background.py``). A
``pipeline run`` that holds the lock makes every change answer ``JobBusy``. Changes left pending by
a process killed between the two steps are applied when the service starts. A state file deleted,
emptied or replaced under the service makes every change answer ``StateUnavailable``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.clock import utc_now_iso
from pipeline.config import JobConfig
from pipeline.editor.background import BackgroundNarration, Pairs
from pipeline.editor.contract import EDITOR_MAX, NOTE_MAX, REVIEW_STATES, TEXT_MAX
from pipeline.editor.reader import JobReader
from pipeline.editor.redact import without_server_details
from pipeline.editor.reviews import BUSY, record_review
from pipeline.edits import Edit, invisible_characters
from pipeline.errors import (
    EditorError,
    InvalidEdit,
    JobBusy,
    JournalError,
    KeyRequired,
    LockedError,
    NotApplied,
    NotFound,
    PipelineError,
    StaleKey,
    StateUnavailable,
)
from pipeline.executor.options import RunOptions
from pipeline.executor.run import run_job
from pipeline.executor.run_report import RunReport
from pipeline.integrity import read_record
from pipeline.layout import MANIFEST_FILE
from pipeline.state import StateStore
from pipeline.state.changes import Change
from pipeline.state.journal import EditorsJournal
from pipeline.state.journaling import record as journal_change
from pipeline.state.watch import StateFile

log = logging.getLogger(__name__)


def clean_text(text: object, what: str, limit: int, *, invisible: bool = False) -> str:
    """``text`` with its white space runs made single spaces (a sentence is one line).

    Args:
        invisible: accept bidi controls and zero-width characters (``edits.INVISIBLE_CHARACTERS``):
            an edit may hold them (and is flagged ``invisible_characters``); a name or a note may not.

    Raises:
        InvalidEdit: not a string, empty, longer than ``limit`` or holding control characters (or,
            unless ``invisible``, invisible ones).
    """
    if not isinstance(text, str):
        raise InvalidEdit(f"{what} must be a string")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidEdit(f"{what} is empty")
    if len(cleaned) > limit:
        raise InvalidEdit(f"{what} is {len(cleaned)} characters long; at most {limit} are accepted")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in cleaned):
        raise InvalidEdit(f"{what} holds control characters")
    if not invisible and (hidden := invisible_characters(cleaned)):
        raise InvalidEdit(f"{what} holds invisible characters ({', '.join(hidden)}): type it without them")
    return cleaned


@dataclass(frozen=True)
class Located:
    """A sentence found by its index: the article's record and the sentence as the API shows it."""

    record: dict[str, Any]
    sentence: dict[str, Any]


class EditorService(JobReader):
    """A job's articles for editors: read them (``JobReader``), post-edit sentences, approve or
    reject.

    Args:
        config: the job (its executor is ignored: changes are applied in this process).
        background: narrate changed paragraphs on a background thread (False: the next
            ``pipeline run`` does it).
    """

    def __init__(self, config: JobConfig, *, background: bool = True):
        super().__init__(dataclasses.replace(config, executor="local"))
        self._local = threading.Lock()  # changes made without a background worker, one at a time
        self.notices: list[str] = []  # what the editors should know (shown on the article list)
        self.state_file = StateFile.opened(config.state_path, self._has_outputs())
        self.journal = EditorsJournal(config.journal_path)
        self.background = BackgroundNarration(self._narrate) if background else None
        self._apply_pending()
        if self.background is not None:  # narration an earlier app (or an interrupted run) left pending
            self.background.add(self._pending_narrations())

    def _has_outputs(self) -> bool:
        return (self.config.job_dir / MANIFEST_FILE).exists()

    def _apply_pending(self) -> None:
        """Apply the editors' changes recorded but not applied (the app or a run was killed between
        the two), before anything else; the article list says so."""
        pairs = self._with_state(None, lambda st: st.pending_pairs())
        if not pairs:
            return
        options = RunOptions(pairs=frozenset(pairs), defer_narration=True, origin="serve")
        try:
            report = self._run(options, None)
        except JobBusy:
            log.warning("%d article-language(s) have editors' changes not applied yet; the run in "
                        "progress applies them", len(pairs))  # fmt: skip
            return
        except NotApplied as exc:
            log.error("%d article-language(s) have editors' changes not applied yet: %s", len(pairs), exc)
            self.notices.append(
                f"{len(pairs)} article-language(s) have editors' changes not applied yet: {exc}"
            )
            return
        applied = {plan.key for plan in report.plans} - {(f.article_id, f.language) for f in report.failures}
        notice = (f"{len(applied)} article-language(s) had editors' changes recorded but not applied when "
                  "the app (or a run) last stopped; they are applied now")  # fmt: skip
        log.warning("%s", notice)
        self.notices.append(notice)  # their narration, left pending, is queued with the others (__init__)

    def _pending_narrations(self) -> Pairs:
        """The article-languages whose text is published but whose narration is not made yet."""
        manifest = read_record(self.config.job_dir / MANIFEST_FILE) or {"items": []}
        return frozenset(
            (item["article_id"], item["language"])
            for item in manifest["items"]
            if item["status"] == "pending"
            and item["language"] in self._narrated
            and self._audio(item) == "pending"
        )

    def close(self) -> None:
        """Stop the background narration after the step in hand (the next run finishes it)."""
        if self.background is not None:
            self.background.close()

    # Changing ---------------------------------------------------------------------------------

    def save_edit(
        self, article_id: str, language: str, index: int, text: str, editor: str, if_match: str | None
    ) -> dict[str, Any]:
        """Publish ``text`` as sentence ``index``'s translation (an editor's post-edit), at once.

        Raises:
            InvalidEdit: the text or the editor's name is unusable.
            KeyRequired: no ``if_match``. StaleKey: the sentence changed since it was read.
            NotFound: no such article, language or sentence.
            JobBusy: a run of the job holds its lock. NotApplied: recorded, outputs not updated.
        """
        text = clean_text(text, "the text", TEXT_MAX, invisible=True)
        editor = clean_text(editor, "the editor's name", EDITOR_MAX)

        def record(state: StateStore) -> None:
            found = self._current(article_id, language, index, if_match)
            sentence = found.sentence
            edits = self._sentence_edits(article_id, found.record, state.edits(language))[index]
            edit = Edit(article_id, language, sentence["source"], text, sentence["machine"], index, editor,
                        utc_now_iso())  # fmt: skip
            self._record(state, Change("edit", editor, edit.at, edits=(edit,), superseded=tuple(edits.stale)))

        self._apply(article_id, language, record)
        return self.article(article_id, language)

    def drop_edit(
        self, article_id: str, language: str, index: int, if_match: str | None, editor: str = ""
    ) -> dict[str, Any]:
        """Publish sentence ``index`` as the machine translated it again (dropping the article's
        edit of it, and any edit of an earlier version of its English that it is flagged with).

        Raises:
            NotFound: no such article, language or sentence, or the sentence has no edit.
            KeyRequired, StaleKey, JobBusy, NotApplied: as for ``save_edit``.
        """
        who = clean_text(editor, "the editor's name", EDITOR_MAX) if editor else "unknown"

        def record(state: StateStore) -> None:
            found = self._current(article_id, language, index, if_match)
            edits = self._sentence_edits(article_id, found.record, state.edits(language))[index]
            dropped = [*edits.stale, *([edits.edit] if edits.edit and not edits.borrowed else [])]
            if not dropped:
                raise NotFound(f"sentence {index} of {article_id} [{language}] has no edit to drop")
            self._record(state, Change("drop", who, utc_now_iso(), edits=tuple(dropped)))

        self._apply(article_id, language, record)
        return self.article(article_id, language)

    def review(
        self, article_id: str, language: str, status: str, editor: str, note: str, if_match: str | None
    ) -> dict[str, Any]:
        """Approve or reject the article-language's text, the version ``if_match`` names (the
        article view's ``text_key``): an approval is of the text the editor read.

        Raises:
            InvalidEdit: an unknown status, an unusable name or note.
            KeyRequired: no ``if_match``. StaleKey: the text changed since it was read.
            NotFound, JobBusy, NotApplied (``ReportsNotUpdated``): see ``record_review``.
        """
        if status not in REVIEW_STATES:
            raise InvalidEdit(f"unknown review {status!r}: approved or rejected")
        editor = clean_text(editor, "the editor's name", EDITOR_MAX)
        note = clean_text(note, "the note", NOTE_MAX) if note and note.strip() else ""
        if not if_match:
            raise KeyRequired("send the text's key in If-Match (GET the article to read its text_key)")
        self._item(article_id, language)
        with self._exclusive():
            self._check_state()
            try:
                record_review(
                    self.config, article_id, (language,), status, editor, note, text_keys={language: if_match}
                )
            except JournalError as exc:
                raise NotApplied(f"the review could not be recorded: {exc}") from None
        return self.article(article_id, language)

    def import_edits(self, language: str, pairs: dict[str, tuple[str, str, str]], editor: str) -> int:
        """Post-edit every sentence of the job's ``language`` articles whose English is a key of
        ``pairs`` (English → (translation, editor, ISO time); an empty editor or time: ``editor``,
        now) and whose published text differs, then bring those articles up to date (text and
        narration, in this process). Returns how many sentences were edited.

        Raises:
            JobBusy: a run of the job holds its lock. NotApplied: an article could not be written.
        """
        found: dict[tuple[str, str], list[Edit]] = {}
        for article in self.articles():
            if language not in article["languages"]:
                continue
            record = self._record_of(article["id"], language)
            flat = [s for p in (record or {"paragraphs": []})["paragraphs"] for s in p["sentences"]]
            for index, sentence in enumerate(flat):
                source = sentence["source"]
                if source not in pairs or pairs[source][0] == sentence["target"]:
                    continue
                text, who, at = pairs[source]
                text = clean_text(text, f"the translation of {source!r}", TEXT_MAX, invisible=True)
                machine = sentence.get("machine", sentence["target"])
                edit = Edit(
                    article["id"], language, source, text, machine, index, who or editor, at or utc_now_iso()
                )
                found.setdefault((article["id"], language), []).append(edit)
        if not found:
            return 0
        edits = [edit for batch in found.values() for edit in batch]
        options = RunOptions(pairs=frozenset(found), origin="import")
        report = self._run(options, lambda state: self._record(state, Change("import", editor, utc_now_iso(),
                                                                           edits=tuple(edits))))  # fmt: skip
        if report.failures:
            failure = report.failures[0]
            raise NotApplied(
                f"{len(edits)} edits are saved, but {failure.article_id} [{failure.language}] could not be "
                f"written ({failure.message}); the next run writes it"
            )
        return len(edits)

    # Inside ----------------------------------------------------------------------------------

    def _apply(self, article_id: str, language: str, record: Callable[[StateStore], None]) -> None:
        """Record a change with ``record`` (under the lock) and write the article's text with it at
        once; its narration follows in the background."""
        self._item(article_id, language)
        pair = (article_id, language)
        options = RunOptions(pairs=frozenset({pair}), defer_narration=True, origin="serve")
        report = self._run(options, record)
        failed = [f for f in report.failures if (f.article_id, f.language) == pair]
        if failed:
            log.warning("%s [%s] not written: %s", article_id, language, failed[0].message)
            raise NotApplied(
                f"the change is saved, but {article_id} [{language}] could not be written "
                f"({without_server_details(failed[0].message)}); the next run writes it"
            )
        if not any(plan.key == pair for plan in report.plans):
            raise NotApplied(f"the change is saved, but {article_id} is no longer in the job's input")
        if language in self._narrated and self.background is not None:
            self.background.add(frozenset({pair}))

    def _record(self, state: StateStore, change: Change) -> None:
        """Journal ``change`` and record it in ``state``, pending until the run applying it is over."""
        self._check_state()  # under the lock, with the state open: still the file the app opened
        journal_change(state, self.journal, change)

    def _check_state(self) -> None:
        """Raise ``StateUnavailable`` (one ERROR logged) when the state file is missing, empty or
        not the one the app opened: a change recorded there would be lost, or would start afresh."""
        problem = self.state_file.problem()
        if problem:
            log.error("change refused: %s", problem)
            raise StateUnavailable(f"changes are refused: {problem}")

    def _run(self, options: RunOptions, prepare: Callable[[StateStore], None] | None) -> RunReport:
        """Run the job in this process with ``options``, recording a change with ``prepare`` under
        the lock first; the background narration waits meanwhile.

        Raises:
            JobBusy: another process (a ``pipeline run``) holds the job's lock: nothing recorded.
            StateUnavailable: the state file is not the one the app opened: nothing recorded.
            NotApplied: the inputs or the state cannot be read now: nothing recorded.
        """
        with self._exclusive():
            self._check_state()
            try:
                return run_job(self.config, options=options, prepare=prepare)
            except LockedError as exc:
                log.info("change refused: %s", exc)  # the lock's path and PID: the log only
                raise JobBusy(BUSY) from None
            except EditorError:  # the change was refused (prepare): the editor is told why
                raise
            except PipelineError as exc:
                log.warning("change not applied: %s", exc)
                raise NotApplied(
                    f"the change could not be applied: {without_server_details(str(exc))}"
                ) from None

    def _exclusive(self) -> Any:
        return self.background.exclusive() if self.background is not None else self._local

    def _narrate(self, pairs: Pairs, stop: threading.Event) -> Pairs:
        """Background: narrate ``pairs`` (their text is up to date); returns those left pending."""
        options = RunOptions(pairs=pairs, origin="serve")
        if self.state_file.problem():  # a change would say so; the narration waits for a restart
            log.warning(
                "narration of %d edited item(s) left pending: %s", len(pairs), self.state_file.problem()
            )
            return frozenset()
        try:
            report = run_job(self.config, stop=stop, options=options)
        except LockedError:
            log.info(
                "a pipeline run holds the job; it finishes the narration of %d edited item(s)", len(pairs)
            )
            return frozenset()
        return pairs if report.interrupted else frozenset()

    def _current(self, article_id: str, language: str, index: int, if_match: str | None) -> Located:
        """Sentence ``index`` as published now, checked against ``if_match`` (under the lock)."""
        if not if_match:
            raise KeyRequired("send the sentence's key in If-Match (GET the article to read it)")
        view = self.article(article_id, language)
        sentences = [s for paragraph in view["paragraphs"] for s in paragraph]
        if not 0 <= index < len(sentences):
            raise NotFound(f"{article_id} [{language}] has no sentence {index} (it has {len(sentences)})")
        sentence = sentences[index]
        if sentence["key"] != if_match:
            raise StaleKey(
                f"sentence {index} of {article_id} [{language}] changed since it was read; reload the article"
            )
        record = self._record_of(article_id, language)
        assert record is not None  # article() found it
        return Located(record, sentence)
