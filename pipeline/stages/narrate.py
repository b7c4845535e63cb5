"""Narrate: text segments → speech (MP3), and the assembly of an article's narration from them.

Each block (title, paragraphs) is one segment, with the spoken disclosure first or last. A batch
of segments is synthesised concurrently (bounded by ``tts.concurrency``; the engines keep their
own request limits). The driver caches each segment, so an edited article re-narrates only the
paragraphs that changed, then joins an article's segments in order with silence between them and
tags the result.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.audio.assemble import Chapter, assemble
from pipeline.audio.loudness import normalise
from pipeline.audio.mp3 import check_audio
from pipeline.audio.tags import NarrationTags, Show, tag_mp3
from pipeline.config import JobConfig, TargetConfig, TtsConfig
from pipeline.errors import Mp3Error, PipelineError, SpeechError, SpeechUnavailableError, item_error
from pipeline.items import paragraph_text
from pipeline.registry import resolve
from pipeline.stages.translate import TranslatedArticle
from pipeline.state.keys import segment_key
from pipeline.tts import ENGINES, NO_NARRATION, Engine, Stoppable
from pipeline.tts.lexicon import apply_lexicon

log = logging.getLogger(__name__)

CHAPTER_TITLE_WORDS = 8
CHAPTER_TITLE_CHARS = 100  # longer titles are cut: players (and ffprobe) skip long chapter titles


@dataclass(frozen=True)
class Segment:
    """One piece of a narration: a block's text, or the disclosure, and its chapter title."""

    title: str  # the chapter title
    text: str  # what the engine is given (lexicon applied)
    block: int | None = None  # the article block it speaks; None for the disclosure


@dataclass(frozen=True)
class Narration:
    """One article's narration in one language: the tagged MP3, its length and its chapters."""

    article_id: str
    language: str
    engine: str
    voice: str
    mp3: bytes
    duration: float
    chapters: tuple[Chapter, ...]
    blocks: tuple[int | None, ...] = ()  # per chapter: the block it speaks (None: the disclosure)
    title: str = ""
    loudness: dict[str, object] | None = None  # the levels before and after normalisation (None: off)

    @property
    def sha256(self) -> str:
        """The sha256 of the MP3 bytes, in hex."""
        return hashlib.sha256(self.mp3).hexdigest()

    def summary(self) -> dict[str, object]:
        """What ``article.json`` says of the narration: engine, voice, length, size, hash, chapters."""
        return {
            "engine": self.engine,
            "voice": self.voice,
            "duration": round(self.duration, 3),
            "size": len(self.mp3),
            "sha256": self.sha256,
            "title": self.title,
            "chapters": [
                {"title": c.title, "start": round(c.start, 3), "end": round(c.end, 3), "block": block}
                for c, block in zip(self.chapters, self.blocks or [None] * len(self.chapters), strict=True)
            ],
            "loudness": self.loudness,
        }


class Narrate:
    """The narrate stage: builds each language's TTS engine once, then speaks text segments.

    Args:
        tts: the ``tts`` settings (concurrency, engine options).
        targets: the job's languages; those with ``tts.engine: none`` are not narrated.

    An engine that fails to build (a ``PipelineError``) or cannot speak a language's voice is not
    raised: it is kept as that language's error (see ``engine_error``) and returned for each of its
    segments.
    """

    name = "narrate"

    def __init__(self, tts: TtsConfig, targets: tuple[TargetConfig, ...]):
        self.tts = tts
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

    def stop_on(self, stop: threading.Event) -> None:
        """Once ``stop`` is set, the engines start no new request: ``speak`` then returns ``Stopped``
        (no failure of the segment; it is left for the next run). Requests in flight end by their
        deadline."""
        for engine in self.engines.values():
            if isinstance(engine, Stoppable):
                engine.stop_on(stop)

    def wants(self, target: TargetConfig) -> bool:
        """True if ``target`` is narrated (its engine is not ``none``), even by an engine that failed."""
        return target.code in self.engines

    def engine_error(self, target: TargetConfig) -> PipelineError | None:
        """Why ``target``'s engine cannot work (a ``SpeechError``, say), or None if it can or is unused."""
        engine = self.engines.get(target.code)
        return engine if isinstance(engine, PipelineError) else None

    def cache_params(self, target: TargetConfig) -> dict[str, object]:
        """The engine settings that change its audio (part of every segment's cache key).

        ``target`` must be narrated (see ``wants``); {} when its engine failed.
        """
        engine = self.engines[target.code]
        return {} if isinstance(engine, PipelineError) else dict(engine.params)

    def __call__(self, batch: list[tuple[TargetConfig, str]]) -> list[bytes | PipelineError]:
        """MP3 bytes, or the error, for each (target, text), in order."""
        with ThreadPoolExecutor(max_workers=self.tts.concurrency, thread_name_prefix="tts") as pool:
            return list(pool.map(lambda job: self.speak(*job), batch))

    def speak(self, target: TargetConfig, text: str) -> bytes | PipelineError:
        """One segment; thread-safe. Errors are returned, so a pool never loses them.

        Returns:
            The MP3 bytes, or the error: the engine's build or voice error, the engine's
            ``SpeechError``, ``SpeechUnavailableError`` or ``Stopped`` (see ``stop_on``),
            ``SpeechUnavailableError`` for bytes
            that are not playable MP3, or ``UnexpectedError`` for anything else.
        """
        engine = self.engines[target.code]
        if isinstance(engine, PipelineError):
            return engine
        try:
            audio = engine.synthesize(text, target.tts_voice)
            check_audio(audio)  # raises Mp3Error on bytes that are not playable MP3: never cached
            return audio
        except Mp3Error as exc:
            return SpeechUnavailableError(f"{engine.name} returned unusable audio: {exc}")
        except Exception as exc:
            return item_error(exc, f"synthesising speech with {engine.name}")


def _build(name: str, tts: TtsConfig) -> Engine | PipelineError:
    try:
        return resolve(ENGINES[name])(tts)
    except PipelineError as exc:
        log.error("tts engine %s: %s", name, exc)
        return exc


def script(item: TranslatedArticle, disclosure: str) -> list[Segment]:
    """What is spoken, in order: one segment per non-empty block, the disclosure first or last."""
    return spoken_script(([t.target for t in block] for block in item.blocks), item.target, disclosure)


def spoken_script(
    block_targets: Iterable[Iterable[str]], target: TargetConfig, disclosure: str
) -> list[Segment]:
    """The script from each block's sentence translations: what every executor narrates, and
    what the planner keys the narration by before anything is translated again."""
    return script_segments([paragraph_text(targets) for targets in block_targets], target, disclosure)


def segment_keys(target: TargetConfig, params: dict[str, object], segments: list[Segment]) -> list[str]:
    """Each segment's cache key: its text, the engine, the voice and the engine's ``params``."""
    return [segment_key(target.tts_engine, target.tts_voice, params, s.text) for s in segments]


def script_segments(block_texts: list[str], target: TargetConfig, disclosure: str) -> list[Segment]:
    """One segment per non-empty block text, lexicon applied, numbered by its block.

    ``disclosure`` (``tts.disclosure``) is ``start`` or ``end`` to speak ``target.disclosure``
    first or last; anything else (``none``) leaves it out.
    """
    lexicon = target.lexicon
    segments = [
        Segment(chapter_title(text), apply_lexicon(text, lexicon), index)
        for index, text in enumerate(block_texts)
        if text
    ]
    note = Segment(chapter_title(target.disclosure), apply_lexicon(target.disclosure, lexicon))
    if disclosure == "start":
        return [note, *segments]
    if disclosure == "end":
        return [*segments, note]
    return segments


def build_narration(
    item: TranslatedArticle, segments: list[Segment], audio: list[bytes], tts: TtsConfig, show: Show
) -> Narration:
    """Join the segments' audio with pauses, bring it to ``tts.loudness`` and tag it.

    Args:
        audio: each segment's MP3, parallel to ``segments``.
        tts: the ``tts`` settings (``pause`` between segments, ``loudness``, ``bitrate``).
        show: what every narration's tag says of the show (artist, album, cover art).

    Raises:
        SpeechError: the segments hold no MP3 frames or are in different formats.
    """
    target = item.target
    try:
        assembled = assemble([(s.title, data) for s, data in zip(segments, audio, strict=True)], tts.pause)
    except Mp3Error as exc:
        raise SpeechError(f"{target.tts_engine} returned audio that cannot be joined: {exc}") from None
    untagged, levels = assembled.mp3, None
    if tts.loudness != "off":
        normalised = normalise(untagged, tts.loudness.target, tts.loudness.true_peak, tts.bitrate)
        if normalised is not None:  # None: too short or too quiet to measure; kept as it is
            untagged = normalised.mp3
            levels = normalised.summary(tts.loudness.target, tts.loudness.true_peak)
    title = narration_title(item)
    tags = NarrationTags(
        title=title,
        artist=show.artist,
        language=target.language.iso639_2,
        date=item.segmented.article.date,
        disclosure=target.disclosure,
        chapters=assembled.chapters,
        album=show.album,
        voice=f"{target.tts_engine}: {target.tts_voice}",
        artwork=show.artwork,
    )
    return Narration(
        item.article_id,
        target.code,
        target.tts_engine,
        target.tts_voice,
        tag_mp3(untagged, tags),
        assembled.duration,
        assembled.chapters,
        tuple(segment.block for segment in segments),
        title,
        levels,
    )


def show_of(config: JobConfig) -> Show:
    """The show every narration of the job belongs to: ``tts.artist`` (else the job name), the feeds'
    title (else the job name) as the album, and the cover art of ``tts.artwork``."""
    artwork = _artwork(config.tts.artwork, _changed_at(config.tts.artwork)) if config.tts.artwork else None
    return Show(config.tts.artist or config.job, config.feeds.title or config.job, artwork)


@lru_cache(maxsize=4)
def _artwork(path: str, changed_at: int) -> bytes:
    """The cover art's bytes, read once while the file is unchanged (every narration's key and file
    needs them; the review app runs for days, and a new cover must reach the next narrations)."""
    return Path(path).read_bytes()


def _changed_at(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return 0  # read_bytes says what is wrong


def narration_params(config: JobConfig) -> list[object]:
    """What, besides the segments, changes a narration's file: part of its content key."""
    tts, show = config.tts, show_of(config)
    artwork = hashlib.sha256(show.artwork).hexdigest() if show.artwork else None
    loudness = tts.loudness if tts.loudness == "off" else [*tts.loudness.model_dump().values(), tts.bitrate]
    return [tts.pause, tts.disclosure, show.artist, show.album, artwork, loudness]


def chapter_title(text: str) -> str:
    """The first ``CHAPTER_TITLE_WORDS`` words of ``text``, with "…" when there are more, cut at a
    word to at most ``CHAPTER_TITLE_CHARS`` characters (a first word longer than that is cut itself)."""
    words = text.split()
    kept = words[:CHAPTER_TITLE_WORDS]
    if len(kept) == len(words) and len(" ".join(words)) <= CHAPTER_TITLE_CHARS:
        return " ".join(words)
    while len(kept) > 1 and len(" ".join(kept)) > CHAPTER_TITLE_CHARS - 1:
        kept.pop()
    return " ".join(kept)[: CHAPTER_TITLE_CHARS - 1] + "…"


def narration_title(item: TranslatedArticle) -> str:
    """The translated title, or else the translated lead's first sentence (at most 200 characters);
    the article id when nothing was translated."""
    for block in item.blocks:
        for translation in block:
            if translation.target:
                return translation.target[:200]
    return item.article_id
