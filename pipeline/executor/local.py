"""Run a job in this process: ingest → segment → (per language) translate → publish text →
narrate → publish audio → manifest.

Articles go through in chunks, so outputs appear as the run goes (a killed run keeps what it
finished) and progress moves article by article. Text is written before narration starts, so a
speech service that fails never costs the translation. A model or engine that cannot be used
fails its language only; an article that cannot be read, translated or narrated fails alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.config import JobConfig, TargetConfig
from pipeline.errors import ConfigError, ConfigIssue, PipelineError
from pipeline.items import Failure
from pipeline.manifest import RunRecord, write_manifest
from pipeline.progress import NullProgress, Progress, Task
from pipeline.stages.ingest import Ingest
from pipeline.stages.narrate import Narrate
from pipeline.stages.publish import PublishAudio, Published, PublishText
from pipeline.stages.segment import Segment, SegmentedArticle
from pipeline.stages.translate import Translate, TranslatedArticle
from pipeline.text.article import Article
from pipeline.text.discover import discover

log = logging.getLogger(__name__)

CHUNK_SENTENCES = 256  # sentences translated together before their articles are published


@dataclass
class _Workers:
    """The stages shared by every language of a run."""

    publish_text: PublishText
    narrate: Narrate
    publish_audio: PublishAudio


def run_job(config: JobConfig, progress: Progress | None = None) -> RunRecord:
    progress = progress or NullProgress()
    record = RunRecord(
        job=config.job,
        config_path=config.path,
        job_dir=config.job_dir,
        languages=tuple(target.code for target in config.targets),
        started=dt.datetime.now(dt.UTC),
    )
    paths = discover(config.input_patterns)
    if not paths:
        raise ConfigError([ConfigIssue("input.paths", "matches no files", origin=str(config.path))])
    log.info("%s: %d article files, languages %s", config.job, len(paths), ", ".join(record.languages))

    articles: list[Article] = []
    for item in Ingest()(paths):
        if isinstance(item, Failure):
            _record(record, item)
        else:
            articles.append(item)
    segmented = Segment()(articles)

    workers = _Workers(
        PublishText(config.job_dir),
        Narrate(config.tts, config.targets, artist=config.tts.artist or config.job),
        PublishAudio(config.job_dir),
    )
    for target in config.targets:
        _run_language(target, config, segmented, workers, record, progress)

    record.finished = dt.datetime.now(dt.UTC)
    write_manifest(record)
    return record


def _run_language(
    target: TargetConfig,
    config: JobConfig,
    segmented: list[SegmentedArticle],
    workers: _Workers,
    record: RunRecord,
    progress: Progress,
) -> None:
    if not segmented:
        return
    translate = _load_translator(target, config, segmented, record)
    if translate is None:
        return
    narrating = workers.narrate.wants(target)
    count = f"{{}}/{len(segmented)} articles"
    translation_task = progress.task(
        f"translate {target.code} {count.format(0)}", sum(s.sentence_count for s in segmented), "sentences"
    )
    narration_task = (
        progress.task(f"narrate {target.code} {count.format(0)}", _segment_count(segmented), "segments")
        if narrating
        else None
    )
    done_sentences = done_segments = done_articles = 0
    for chunk in _chunks(segmented, max(CHUNK_SENTENCES, config.translation.batch_size)):
        chunk_sentences = sum(s.sentence_count for s in chunk)
        results = translate(chunk, _scaled(translation_task, done_sentences, chunk_sentences))
        translated = [r for r in results if isinstance(r, TranslatedArticle)]
        for item in translated:
            for warning in item.warnings:
                log.warning("%s [%s]: %s", item.article_id, target.code, warning)
        texts = workers.publish_text(translated)
        for outcome in [r for r in results if isinstance(r, Failure)] + texts:
            _record(record, outcome)
        done_sentences += chunk_sentences
        done_articles += len(chunk)
        translation_task.update(done_sentences, f"translate {target.code} {count.format(done_articles)}")

        if narration_task is not None:
            written = [
                (item, text)
                for item, text in zip(translated, texts, strict=True)
                if isinstance(text, Published)
            ]
            chunk_segments = _segment_count([item.segmented for item, _ in written])
            narrations = workers.narrate(
                [item for item, _ in written], _scaled(narration_task, done_segments, chunk_segments)
            )
            audio = workers.publish_audio(
                [(item, text, narration) for (item, text), narration in zip(written, narrations, strict=True)]
            )
            for outcome in audio:
                _record(record, outcome)
            done_segments += chunk_segments
            narration_task.update(done_segments, f"narrate {target.code} {count.format(done_articles)}")
    translation_task.close()
    if narration_task is not None:
        narration_task.close()


def _load_translator(
    target: TargetConfig, config: JobConfig, segmented: list[SegmentedArticle], record: RunRecord
) -> Translate | None:
    log.info("%s: loading model %s", target.code, target.model)
    started = time.monotonic()
    try:
        translate = Translate(target, config.translation)
    except ConfigError:
        raise  # a setting no language can run with (device: cuda without a GPU)
    except PipelineError as exc:
        log.error("%s", exc)
        log.error("%s: %d articles not translated", target.code, len(segmented))
        record.failures += [
            Failure(s.article.source, s.article.id, Translate.name, exc, target.code) for s in segmented
        ]
        return None
    info = translate.translator.info
    log.info("%s: model loaded in %.1f s on %s", target.code, time.monotonic() - started, info.device)
    return translate


def _scaled(task: Task, base: int, size: int):
    """A stage's (done, of) progress within a chunk → the task's overall count."""

    def update(done: int, of: int) -> None:
        task.update(base + size * done / max(of, 1))

    return update


def _segment_count(segmented: list[SegmentedArticle]) -> int:
    return sum(len(s.article.blocks) + 1 for s in segmented)  # blocks and the disclosure


def _chunks(segmented: list[SegmentedArticle], sentences: int) -> Iterator[list[SegmentedArticle]]:
    chunk: list[SegmentedArticle] = []
    size = 0
    for item in segmented:
        chunk.append(item)
        size += item.sentence_count
        if size >= sentences:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _record(record: RunRecord, outcome: Published | Failure) -> None:
    if isinstance(outcome, Failure):
        where = f"{outcome.article_id} [{outcome.language}]: " if outcome.language else ""
        log.error("%s%s", where, outcome.message)
        log.debug("failure detail", exc_info=outcome.error)
    record.add(outcome)
