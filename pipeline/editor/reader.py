"""``JobReader``: a job's articles as editors read them, from the published outputs (the manifest
and each ``article.json``) and the state's edits, history and reviews, so the review app shows
exactly what was delivered. ``EditorService`` adds the changes."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.config import JobConfig
from pipeline.editor.contract import MEDIA_TYPES, ItemFailed
from pipeline.editor.files import regular_below
from pipeline.editor.redact import without_server_details
from pipeline.editor.reviews import manifest_items, text_key
from pipeline.editor.views import sentence_pair, sentence_view
from pipeline.edits import Edit, EditsInForce, SentenceEdits
from pipeline.errors import JournalError, NotFound, StateError, StateUnavailable
from pipeline.integrity import read_record
from pipeline.layout import JSON_FILE, MANIFEST_FILE, item_dir
from pipeline.report.review import headline
from pipeline.state import StateStore
from pipeline.state.history import History, HistoryQuery, job_history
from pipeline.state.review_records import Review
from pipeline.text.article import shown_time

log = logging.getLogger(__name__)


class JobReader:
    """Reading a job's articles for editors (``config``'s executor is not used)."""

    def __init__(self, config: JobConfig):
        self.config = config
        self.job = config.job
        self.languages = [(t.code, t.language.name) for t in config.targets]
        self._narrated = {t.code for t in config.targets if t.tts_engine != "none"}

    def articles(self) -> list[dict[str, Any]]:
        """Every current article with, per language, its status, review, flags, edits and audio,
        newest first; from the manifest alone (a manifest older than its ``headline`` field: from
        each ``article.json`` too)."""
        manifest = read_record(self.config.job_dir / MANIFEST_FILE) or {"items": []}
        articles: dict[str, dict[str, Any]] = {}
        for item in manifest["items"]:
            if item["status"] == "retracted":
                continue
            article = articles.setdefault(
                item["article_id"], {"id": item["article_id"], "date": "", "title": "", "languages": {}}
            )
            if not article["title"]:
                article["title"], article["date"] = self._headline(item)
            article["languages"][item["language"]] = {
                "status": item["status"],
                "review": item.get("review", "needs_review"),
                "flags": sum((item.get("flags") or {}).values()),
                "edited": item.get("edited", 0),
                "audio": self._audio(item),
                **_failure(item),
            }
        for article in articles.values():
            article["title"] = article["title"] or article["id"]
        return sorted(articles.values(), key=lambda a: (a["date"], a["id"]), reverse=True)

    def article(self, article_id: str, language: str) -> dict[str, Any]:
        """One article in one language: its sentences (English, machine, edit, flags, key,
        history), its review, its audio and ``text_key``, the version of its text that a review
        sends in ``If-Match``.

        Raises:
            ItemFailed: the article-language failed before it had a text (the reason with it).
            NotFound: an unknown article or language, or one with no text yet.
        """
        item = self._item(article_id, language)
        record = self._record_of(article_id, language)
        if record is None and item["status"] == "failed":
            raise ItemFailed(article_id, language, **_failure(item))
        if record is None:
            raise NotFound(f"{article_id} [{language}] has no translation yet")
        in_force, history, review = self._with_state(
            None,
            lambda st: (st.edits(language), list(st.edit_history(article_id, language)), st.reviews()),
        )
        edits = self._sentence_edits(article_id, record, in_force)
        paragraphs, index = [], 0
        for paragraph in record["paragraphs"]:
            sentences = []
            for raw in paragraph["sentences"]:
                sentences.append(sentence_view(raw, index, edits[index], history))
                index += 1
            paragraphs.append(sentences)
        narration = record.get("narration") or {}
        current = review.get((article_id, language))
        return {
            "id": article_id,
            "language": language,
            "title": headline(record, [], article_id),
            "date": record["source"].get("date", ""),
            "time": shown_time(record["source"].get("date", ""), record["source"].get("published")),
            "status": item["status"],
            "review": item.get("review", "needs_review"),
            "review_detail": _review_detail(current, item),
            "text_key": text_key(record),
            "audio": self._audio(item),
            "audio_version": (narration.get("sha256") or "")[:16],
            "chapters": narration.get("chapters", []) if narration.get("status") == "ok" else [],
            "source_paragraphs": [
                " ".join(s["source"] for s in p["sentences"]) for p in record["paragraphs"]
            ],
            "kinds": [p["kind"] for p in record["paragraphs"]],
            "paragraphs": paragraphs,
            **_failure(item),
        }

    def file(self, article_id: str, language: str, name: str) -> Path:
        """The path of one of an article-language's delivered files (only through known ids): a
        regular file reached without a symbolic link below the job's folder (``files.py``).

        Raises:
            NotFound: an unknown article, language or file name, or a file not there (or a link,
                or not a regular file).
        """
        if name not in MEDIA_TYPES:
            raise NotFound(f"no such file: {name}")
        self._item(article_id, language)
        path = self.config.job_dir / article_id / language / name  # (item_dir raises for a link)
        if not regular_below(self.config.job_dir, path):
            raise NotFound(f"{article_id} [{language}] has no {name} yet")
        return path

    def history(self, query: HistoryQuery) -> History:
        """The editors' changes ``query`` keeps, newest first (``pipeline.state.history``).

        Raises:
            StateUnavailable: the editors' journal (or, without one, the state) cannot be read.
        """
        try:
            return job_history(self.config.journal_path, self.config.state_path, query)
        except JournalError as exc:
            raise StateUnavailable(str(exc)) from None
        except (StateError, sqlite3.DatabaseError) as exc:
            log.error("the history cannot be read from %s: %s", self.config.state_path, exc)
            raise StateUnavailable("the history cannot be read: the state file cannot be used") from None

    def sentence_pairs(self, language: str) -> list[dict[str, str]]:
        """The human-checked sentence pairs of ``language``: every sentence of the article-languages
        approved as they stand (``status: approved``, the reviewer and the review's time), then every
        post-edit in force (``status: edited``), which wins for an English sentence both have.
        Each pair: ``source``, ``target``, ``editor``, ``at``, ``article_id``, ``status``."""
        pairs: dict[str, dict[str, str]] = {}
        manifest = read_record(self.config.job_dir / MANIFEST_FILE) or {"items": []}
        reviews = self._with_state(None, lambda st: st.reviews())
        for item in manifest["items"]:
            review = reviews.get((item["article_id"], language))
            if item["language"] != language or item.get("review") != "approved" or review is None:
                continue
            record = self._record_of(item["article_id"], language) or {"paragraphs": []}
            for paragraph in record["paragraphs"]:
                for sentence in paragraph["sentences"]:
                    source, target = sentence["source"], sentence["target"]
                    if source.strip() and target.strip():
                        pairs[source] = sentence_pair(
                            source, target, review.editor, review.at, item["article_id"]
                        )
        for edit in self._with_state(None, lambda st: st.edits(language)):
            pairs[edit.source] = sentence_pair(
                edit.source, edit.text, edit.editor, edit.at, edit.article_id, "edited"
            )
        return list(pairs.values())

    def _item(self, article_id: str, language: str) -> dict[str, Any]:
        """The manifest's item for the article-language (not retracted), or NotFound."""
        manifest = read_record(self.config.job_dir / MANIFEST_FILE)
        if manifest is None:  # not read_manifest's message: the app shows no server path
            raise NotFound(f"job {self.job} has no manifest yet: run the job first")
        return manifest_items(self.config, manifest, article_id, (language,))[language]

    def _record_of(self, article_id: str, language: str) -> dict[str, Any] | None:
        """The article-language's ``article.json``, or None when it has none (or it is unreadable, or
        its folder is a link out of the job's folder)."""
        try:
            folder = item_dir(self.config.job_dir, article_id, language)
        except ValueError:
            return None
        return read_record(folder / JSON_FILE)

    def _headline(self, item: dict[str, Any]) -> tuple[str, str]:
        """The article's headline and date as the manifest item gives them (or its ``article.json``,
        for a manifest written before items had them)."""
        if "headline" in item:
            return item["headline"], item.get("date", "")
        record = self._record_of(item["article_id"], item["language"])
        if record is None:
            return "", ""
        return headline(record, [], item["article_id"]), record["source"].get("date", "")

    def _audio(self, item: dict[str, Any]) -> str:
        """``ready``, ``pending``, ``failed``, or ``none`` for a language that is not narrated, as
        the manifest item says: its narration is listed once made, its failed stage named."""
        if item["language"] not in self._narrated:
            return "none"
        if item.get("narration"):
            return "ready"
        return "failed" if item.get("stage") == "narration" else "pending"

    def _sentence_edits(
        self, article_id: str, record: dict[str, Any], in_force: list[Edit]
    ) -> tuple[SentenceEdits, ...]:
        """What ``in_force`` (the state's edits in the record's language) does to each sentence of
        the published article, as a run would decide it."""
        sentences = [s["source"] for p in record["paragraphs"] for s in p["sentences"]]
        return EditsInForce.of(in_force, self.config.translation.prefer_edits).for_article(
            article_id, sentences
        )

    def _with_state(self, state: StateStore | None, read: Callable[[StateStore], Any]) -> Any:
        """``read(state)``, opening the state file for it when ``state`` is None (an empty result
        when there is no state file yet)."""
        if state is not None:
            return read(state)
        if not self.config.state_path.exists() or self.config.state_path.stat().st_size == 0:
            return read(_EMPTY)  # (an emptied state is not made a new one by reading it)
        opened = StateStore.open(self.config.state_path, create=False)
        try:
            return read(opened)
        finally:
            opened.close()


def _failure(item: dict[str, Any]) -> dict[str, str]:
    """A failed item's ``error`` (without server paths) and ``stage``; {} for any other item."""
    if item["status"] != "failed":
        return {}
    error = without_server_details(str(item.get("error") or "no reason was recorded"))
    return {"error": error, "stage": str(item.get("stage") or "")}


def _review_detail(review: Review | None, item: dict[str, Any]) -> dict[str, str] | None:
    """Who approved or rejected the text as it stands, with the note and when; None if no one did."""
    if review is None or item.get("review") == "needs_review":
        return None
    return {"editor": review.editor, "note": review.note, "at": review.at}


class _NoState:
    """Stands in for a state file not made yet: no edits, no history, no reviews."""

    def edits(self, language: str | None = None) -> list[Edit]:
        return []

    def edit_history(self, article_id: str, language: str) -> list[tuple[Edit, str]]:
        return []

    def reviews(self) -> dict[tuple[str, str], Any]:
        return {}

    def pending_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset()


_EMPTY: Any = _NoState()
