"""Publish: write outputs atomically. Text first (``article.txt``, ``article.json``) as soon as an
article is translated; then ``narration.mp3``, with ``article.json`` updated to describe it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.clock import utc_now_iso
from pipeline.diskspace import full_folder, is_disk_full
from pipeline.errors import DiskFullError, PermanentError, PipelineError
from pipeline.fsio import atomic_write_bytes, json_bytes
from pipeline.integrity import file_stat
from pipeline.items import Failure, paragraph_text
from pipeline.layout import AUDIO_FILE, JSON_FILE, TEXT_FILE, item_dir
from pipeline.stages.narrate import Narration
from pipeline.stages.translate import TranslatedArticle
from pipeline.text.article import iso_utc
from pipeline.version import __version__

JSON_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Written:
    """Files one publish step wrote: kind → path relative to the job folder, and their sha256."""

    files: dict[str, str]
    sha256: dict[str, str]
    stat: dict[str, list[int]]  # kind → [size, mtime_ns] as written, so a later check need not hash


class _Writer:
    name = "publish"

    def __init__(self, job_dir: Path):
        self.job_dir = job_dir

    def _write(self, directory: Path, files: dict[str, tuple[str, bytes]]) -> Written:
        for name, data in files.values():
            atomic_write_bytes(directory / name, data)
        return Written(
            files={
                kind: str((directory / name).relative_to(self.job_dir)) for kind, (name, _) in files.items()
            },
            sha256={kind: hashlib.sha256(data).hexdigest() for kind, (_, data) in files.items()},
            stat={kind: file_stat(directory / name) for kind, (name, _) in files.items()},
        )

    def _failure(self, item: TranslatedArticle, directory: Path, exc: OSError) -> Failure:
        """A full disk fails the item transiently (the next runs try again); anything else
        (permissions, a file where a folder should be) fails it the same way until fixed."""
        article = item.segmented.article
        error: PipelineError
        if is_disk_full(exc):
            error = DiskFullError(full_folder(exc, directory))
        else:
            error = PermanentError(f"cannot write outputs in {directory}: {exc.strerror or exc}")
        return Failure(article.source, article.id, self.name, error, item.target.code)


class PublishText(_Writer):
    """``article.txt`` and ``article.json`` of each translated article.

    Args:
        job_dir: the job's folder; files go to ``<job_dir>/<article-id>/<lang>/``.
    """

    def __call__(
        self, batch: list[TranslatedArticle], narrations: list[dict[str, Any] | None] | None = None
    ) -> list[Written | Failure]:
        """``narrations``: per item, the summary of its narration when that is already published
        and up to date (``article.json`` keeps describing it), else None.

        Returns:
            Per item, the files written, or a ``Failure`` holding a ``PermanentError`` when they
            cannot be written; never raises for one item.
        """
        return [
            self._publish(item, narration)
            for item, narration in zip(batch, narrations or [None] * len(batch), strict=True)
        ]

    def _publish(self, item: TranslatedArticle, narration: dict[str, Any] | None) -> Written | Failure:
        directory = item_dir(self.job_dir, item.article_id, item.target.code)
        record = {"status": "ok", "file": AUDIO_FILE, **narration} if narration else None
        try:
            return self._write(
                directory,
                {
                    "text": (TEXT_FILE, render_text(item).encode("utf-8")),
                    "json": (JSON_FILE, json_bytes(render_json(item, record))),
                },
            )
        except OSError as exc:
            return self._failure(item, directory, exc)


class PublishAudio(_Writer):
    """Each narration, with ``article.json`` updated to describe it (or why there is none).

    Args:
        job_dir: the job's folder; files go to ``<job_dir>/<article-id>/<lang>/``.
    """

    def __call__(self, batch: list[tuple[TranslatedArticle, Narration | Failure]]) -> list[Written | Failure]:
        """Per (item, narration or its failure): the files written, or a ``Failure``.

        A failed narration is recorded in ``article.json`` and its ``Failure`` returned as it is;
        files that cannot be written give a ``Failure`` holding a ``PermanentError``. Never raises
        for one item.
        """
        return [self._publish(item, narration) for item, narration in batch]

    def _publish(self, item: TranslatedArticle, narration: Narration | Failure) -> Written | Failure:
        directory = item_dir(self.job_dir, item.article_id, item.target.code)
        if isinstance(narration, Failure):
            record: dict[str, Any] = {"status": "failed", "error": narration.message}
            files = {"json": (JSON_FILE, json_bytes(render_json(item, record)))}
        else:
            record = {"status": "ok", "file": AUDIO_FILE, **narration.summary()}
            files = {
                "audio": (AUDIO_FILE, narration.mp3),
                "json": (JSON_FILE, json_bytes(render_json(item, record))),
            }
        try:
            written = self._write(directory, files)
        except OSError as exc:
            return self._failure(item, directory, exc)
        return narration if isinstance(narration, Failure) else written


def render_text(item: TranslatedArticle) -> str:
    """Translated blocks separated by blank lines, then the disclosure in the target language."""
    blocks = [paragraph_text(t.target for t in block) for block in item.blocks]
    return "\n\n".join([*blocks, item.target.disclosure]) + "\n"


def _edit_fields(item: TranslatedArticle, block: int, sentence: int) -> dict[str, Any]:
    """A sentence's post-edit in ``article.json``: the machine translation kept beside the edit,
    who made it and when (and in which article, for an edit borrowed from another)."""
    edits = item.sentence_edits(block, sentence)
    if edits.edit is None:
        return {}
    edit = edits.edit
    record: dict[str, Any] = {"editor": edit.editor, "at": edit.at}
    if edits.borrowed:
        record["from"] = edit.article_id
    return {"machine": item.machine[block][sentence], "edit": record}


def render_json(item: TranslatedArticle, narration: dict[str, Any] | None) -> dict[str, Any]:
    """The ``article.json`` record: source, model, settings, sentences with their flags, warnings.

    ``narration`` is the record of the narration (``status``, ``file`` or ``error``...), or None.
    """
    article = item.segmented.article
    return {
        "schema": JSON_SCHEMA_VERSION,
        "article_id": article.id,
        "language": item.target.code,
        "source": {
            "path": str(article.source),
            "format": article.format,
            "sha256": article.sha256,
            "encoding": article.encoding,
            "date": article.date.isoformat(),
            "published": iso_utc(article.parts.published),
            "updated": iso_utc(article.parts.updated),
            "title": article.title,
            "audio_note": article.parts.audio_note,
        },
        "model": item.model.as_dict(),
        "generation": {
            "beam_size": item.settings.beam_size,
            "max_length": item.model.max_output_tokens,
            "max_input_tokens": item.model.max_input_tokens,
            "batch_size": item.settings.batch_size,
            "device": item.model.device,
        },
        "disclosure": item.target.disclosure,
        "paragraphs": [
            {
                "kind": block.kind,
                "sentences": [
                    {"source": t.source, "target": t.target}
                    | ({"parts": t.parts} if t.parts > 1 else {})
                    | ({"hit_max_length": True} if t.hit_limit else {})
                    | _edit_fields(item, b, i)
                    | ({"flags": list(flags)} if flags else {})
                    for i, (t, flags) in enumerate(zip(translations, sentence_flags, strict=True))
                ],
            }
            for b, (block, translations, sentence_flags) in enumerate(
                zip(article.blocks, item.blocks, item.flags, strict=True)
            )
        ],
        "flags": item.flag_counts(),
        "edited": item.edited_count(),
        "narration": narration,
        "warnings": list(article.warnings + item.warnings),
        "pipeline_version": __version__,
        "translated_at": utc_now_iso(),
    }
