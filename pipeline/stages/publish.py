"""Publish: translated articles → ``article.txt`` and ``article.json``, written atomically."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import PermanentError
from pipeline.fsio import atomic_write_json, atomic_write_text
from pipeline.items import Failure
from pipeline.layout import JSON_FILE, TEXT_FILE, item_dir
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


class Publish:
    name = "publish"

    def __init__(self, job_dir: Path):
        self.job_dir = job_dir

    def __call__(self, batch: list[TranslatedArticle]) -> list[Published | Failure]:
        return [self._publish(item) for item in batch]

    def _publish(self, item: TranslatedArticle) -> Published | Failure:
        article = item.segmented.article
        language = item.target.code
        directory = item_dir(self.job_dir, article.id, language)
        try:
            atomic_write_text(directory / TEXT_FILE, render_text(item))
            atomic_write_json(directory / JSON_FILE, render_json(item))
        except OSError as exc:
            error = PermanentError(f"cannot write outputs in {directory}: {exc.strerror or exc}")
            return Failure(article.source, article.id, self.name, error, language)
        return Published(
            article_id=article.id,
            language=language,
            source=article.source,
            files={
                "text": str((directory / TEXT_FILE).relative_to(self.job_dir)),
                "json": str((directory / JSON_FILE).relative_to(self.job_dir)),
            },
            sentences=item.segmented.sentence_count,
            warnings=article.warnings + item.warnings,
        )


def render_text(item: TranslatedArticle) -> str:
    """Translated blocks separated by blank lines, then the disclosure in the target language."""
    blocks = [" ".join(t.target for t in block if t.target) for block in item.blocks]
    return "\n\n".join([*blocks, item.target.disclosure]) + "\n"


def render_json(item: TranslatedArticle) -> dict[str, Any]:
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
        "warnings": list(article.warnings + item.warnings),
        "pipeline_version": __version__,
        "translated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
