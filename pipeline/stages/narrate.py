"""Narrate: translated articles → tagged MP3 narrations, one per article and language.

Each block (title, paragraphs) is one segment, with the spoken disclosure first or last. Segments
of the whole batch are synthesised concurrently (bounded by ``tts.concurrency``; the engines keep
their own request limits), then each article's segments are joined in order with silence between
them and tagged. A failed segment fails its article and language only.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pipeline.audio.assemble import Chapter, assemble
from pipeline.audio.mp3 import Mp3Error
from pipeline.audio.tags import NarrationTags, tag_mp3
from pipeline.config import TargetConfig, TtsConfig
from pipeline.errors import PipelineError, SpeechError
from pipeline.items import Failure
from pipeline.stages.translate import TranslatedArticle
from pipeline.tts import ENGINES, NO_NARRATION, Engine
from pipeline.tts.lexicon import apply_lexicon

log = logging.getLogger(__name__)

CHAPTER_TITLE_WORDS = 8


@dataclass(frozen=True)
class Narration:
    article_id: str
    language: str
    engine: str
    voice: str
    mp3: bytes
    duration: float
    chapters: tuple[Chapter, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.mp3).hexdigest()

    def summary(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "voice": self.voice,
            "duration": round(self.duration, 3),
            "size": len(self.mp3),
            "sha256": self.sha256,
            "chapters": [
                {"title": c.title, "start": round(c.start, 3), "end": round(c.end, 3)} for c in self.chapters
            ],
        }


@dataclass(frozen=True)
class Segment:
    title: str  # the chapter title
    text: str  # what the engine is given (lexicon applied)


class Narrate:
    name = "narrate"

    def __init__(self, tts: TtsConfig, targets: tuple[TargetConfig, ...], artist: str):
        self.tts = tts
        self.artist = artist
        self.engines: dict[str, Engine | PipelineError] = {}
        built: dict[str, Engine | PipelineError] = {}
        for target in targets:
            if target.tts_engine == NO_NARRATION:
                continue
            if target.tts_engine not in built:
                built[target.tts_engine] = _build(target.tts_engine, tts)
            engine = built[target.tts_engine]
            if not isinstance(engine, PipelineError):
                try:
                    engine.check_voice(target.tts_voice)
                except PipelineError as exc:
                    engine = exc
            self.engines[target.code] = engine

    def wants(self, target: TargetConfig) -> bool:
        return target.code in self.engines

    def __call__(
        self, batch: list[TranslatedArticle], on_progress: Callable[[int, int], None] | None = None
    ) -> list[Narration | Failure]:
        scripts = [script(item, self.tts.disclosure) for item in batch]
        jobs = [
            (index, position, segment)
            for index, (item, segments) in enumerate(zip(batch, scripts, strict=True))
            if not isinstance(self.engines[item.target.code], PipelineError)
            for position, segment in enumerate(segments)
        ]
        audio: dict[tuple[int, int], bytes | PipelineError] = {}
        with ThreadPoolExecutor(max_workers=self.tts.concurrency, thread_name_prefix="tts") as pool:
            futures = {
                (index, position): pool.submit(self._speak, batch[index].target, segment)
                for index, position, segment in jobs
            }
            for done, (key, future) in enumerate(futures.items(), start=1):
                audio[key] = future.result()
                if on_progress is not None:
                    on_progress(done, len(futures))
        return [self._assemble(index, item, scripts[index], audio) for index, item in enumerate(batch)]

    def _speak(self, target: TargetConfig, segment: Segment) -> bytes | PipelineError:
        engine = self.engines[target.code]
        assert not isinstance(engine, PipelineError)
        try:
            return engine.synthesize(segment.text, target.tts_voice)
        except PipelineError as exc:
            return exc

    def _assemble(
        self,
        index: int,
        item: TranslatedArticle,
        segments: list[Segment],
        audio: dict[tuple[int, int], bytes | PipelineError],
    ) -> Narration | Failure:
        article, target = item.segmented.article, item.target
        engine = self.engines[target.code]
        parts = (
            [engine]
            if isinstance(engine, PipelineError)
            else [audio[(index, p)] for p in range(len(segments))]
        )
        error = next((part for part in parts if isinstance(part, PipelineError)), None)
        try:
            if error is not None:
                raise error
            assembled = assemble(
                [(s.title, data) for s, data in zip(segments, parts, strict=True) if isinstance(data, bytes)],
                self.tts.pause,
            )
            tags = NarrationTags(
                title=narration_title(item),
                artist=self.artist,
                language=target.language.iso639_2,
                date=article.date,
                disclosure=target.disclosure,
                chapters=assembled.chapters,
            )
            data = tag_mp3(assembled.mp3, tags)
        except Mp3Error as exc:
            error = SpeechError(f"{target.tts_engine} returned audio that cannot be joined: {exc}")
            return Failure(article.source, article.id, self.name, error, target.code)
        except PipelineError as exc:
            return Failure(article.source, article.id, self.name, exc, target.code)
        engine_name = target.tts_engine
        return Narration(
            article.id,
            target.code,
            engine_name,
            target.tts_voice,
            data,
            assembled.duration,
            assembled.chapters,
        )


def _build(name: str, tts: TtsConfig) -> Engine | PipelineError:
    try:
        return ENGINES[name](tts)
    except PipelineError as exc:
        log.error("tts engine %s: %s", name, exc)
        return exc


def script(item: TranslatedArticle, disclosure: str) -> list[Segment]:
    """What is spoken, in order: one segment per non-empty block, the disclosure first or last."""
    lexicon = item.target.lexicon
    segments = []
    for block in item.blocks:
        text = " ".join(t.target for t in block if t.target)
        if text:
            segments.append(Segment(chapter_title(text), apply_lexicon(text, lexicon)))
    note = Segment(chapter_title(item.target.disclosure), apply_lexicon(item.target.disclosure, lexicon))
    if disclosure == "start":
        return [note, *segments]
    if disclosure == "end":
        return [*segments, note]
    return segments


def chapter_title(text: str) -> str:
    words = text.split()
    return " ".join(words[:CHAPTER_TITLE_WORDS]) + ("…" if len(words) > CHAPTER_TITLE_WORDS else "")


def narration_title(item: TranslatedArticle) -> str:
    """The translated title, or else the translated lead's first sentence."""
    for block in item.blocks:
        for translation in block:
            if translation.target:
                return translation.target[:200]
    return item.article_id
