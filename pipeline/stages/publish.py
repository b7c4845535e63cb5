"""Publish: write outputs atomically. Text first (``article.txt``, ``article.json``) as soon as an
article is translated; then ``narration.mp3``, with ``article.json`` updated to describe it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import PermanentError
from pipeline.fsio import atomic_write_bytes, atomic_write_json, atomic_write_text
from pipeline.items import Failure
from pipeline.layout import AUDIO_FILE, JSON_FILE, TEXT_FILE, item_dir
from pipeline.stages.narrate import Narration
from pipeline.stages.translate import TranslatedArticle

JSON_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Published:
    article_id: str
    language: str
    source: Path
    files: dict[str, str]  # kind → path relative to the job folder
    sentences: int
    warnings: tuple[str, ...]
    narration: dict[str, Any] | None = field(default=None)


class _Writer:
    name = "publish"

    def __init__(self, job_dir: Path):
        self.job_dir = job_dir

    def _relative(self, path: Path) -> str:
        return str(path.relative_to(self.job_dir))

    def _failure(self, item: TranslatedArticle, directory: Path, exc: OSError) -> Failure:
        article = item.segmented.article
        error = PermanentError(f"cannot write outputs in {directory}: {exc.strerror or exc}")
        return Failure(article.source, article.id, self.name, error, item.target.code)


class PublishText(_Writer):
    def __call__(self, batch: list[TranslatedArticle]) -> list[Published | Failure]:
        return [self._publish(item) for item in batch]

    def _publish(self, item: TranslatedArticle) -> Published | Failure:
        article = item.segmented.article
        directory = item_dir(self.job_dir, article.id, item.target.code)
        try:
            atomic_write_text(directory / TEXT_FILE, render_text(item))
            atomic_write_json(directory / JSON_FILE, render_json(item, None))
        except OSError as exc:
            return self._failure(item, directory, exc)
        return Published(
            article_id=article.id,
            language=item.target.code,
            source=article.source,
            files={
                "text": self._relative(directory / TEXT_FILE),
                "json": self._relative(directory / JSON_FILE),
            },
            sentences=item.segmented.sentence_count,
            warnings=article.warnings + item.warnings,
        )


class PublishAudio(_Writer):
    """Write each narration and record it (or why there is none) in ``article.json``."""

    def __call__(
        self, batch: list[tuple[TranslatedArticle, Published, Narration | Failure]]
    ) -> list[Published | Failure]:
        return [self._publish(item, text, narration) for item, text, narration in batch]

    def _publish(
        self, item: TranslatedArticle, text: Published, narration: Narration | Failure
    ) -> Published | Failure:
        directory = item_dir(self.job_dir, item.article_id, item.target.code)
        if isinstance(narration, Failure):
            record = {"status": "failed", "error": narration.message}
        else:
            record = {"status": "ok", "file": AUDIO_FILE, **narration.summary()}
        try:
            if isinstance(narration, Narration):
                atomic_write_bytes(directory / AUDIO_FILE, narration.mp3)
            atomic_write_json(directory / JSON_FILE, render_json(item, record))
        except OSError as exc:
            return self._failure(item, directory, exc)
        if isinstance(narration, Failure):
            return narration
        files = {**text.files, "audio": self._relative(directory / AUDIO_FILE)}
        return replace(text, files=files, narration=record)


def render_text(item: TranslatedArticle) -> str:
    """Translated blocks separated by blank lines, then the disclosure in the target language."""
    blocks = [" ".join(t.target for t in block if t.target) for block in item.blocks]
    return "\n\n".join([*blocks, item.target.disclosure]) + "\n"


def render_json(item: TranslatedArticle, narration: dict[str, Any] | None) -> dict[str, Any]:
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
                    for t in translations
                ],
            }
            for block, translations in zip(article.blocks, item.blocks, strict=True)
        ],
        "narration": narration,
        "warnings": list(article.warnings + item.warnings),
        "pipeline_version": __version__,
        "translated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
