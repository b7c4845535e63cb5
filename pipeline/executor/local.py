"""Run a job in this process: ingest → segment → (per language) translate → publish → manifest.

Articles go through translation in chunks, so outputs appear as the run goes (a killed run keeps
what it finished) and progress moves article by article. A model that cannot load fails its
language only; an article that cannot be read or translated fails alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator

from pipeline.config import JobConfig, TargetConfig
from pipeline.errors import ConfigError, ConfigIssue, PipelineError
from pipeline.items import Failure
from pipeline.manifest import RunRecord, write_manifest
from pipeline.progress import NullProgress, Progress
from pipeline.stages.ingest import Ingest
from pipeline.stages.publish import Publish
from pipeline.stages.segment import Segment, SegmentedArticle
from pipeline.stages.translate import Translate, TranslatedArticle
from pipeline.text.article import Article
from pipeline.text.discover import discover

log = logging.getLogger(__name__)

CHUNK_SENTENCES = 256  # sentences translated together before their articles are published


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
            _report(item)
            record.failures.append(item)
        else:
            articles.append(item)
    segmented = Segment()(articles)

    publish = Publish(config.job_dir)
    for target in config.targets:
        _translate_language(target, config, segmented, publish, record, progress)

    record.finished = dt.datetime.now(dt.UTC)
    write_manifest(record)
    return record


def _translate_language(
    target: TargetConfig,
    config: JobConfig,
    segmented: list[SegmentedArticle],
    publish: Publish,
    record: RunRecord,
    progress: Progress,
) -> None:
    if not segmented:
        return
    label = f"{target.code} ({target.model})"
    log.info("%s: loading model", label)
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
        return
    info = translate.translator.info
    log.info("%s: model loaded in %.1f s on %s", target.code, time.monotonic() - started, info.device)

    total = sum(s.sentence_count for s in segmented)
    description = f"translate {target.code} {{}}/{len(segmented)} articles"
    task = progress.task(description.format(0), total=total, unit="sentences")
    done_sentences = 0
    done_articles = 0
    for chunk in _chunks(segmented, max(CHUNK_SENTENCES, config.translation.batch_size)):
        chunk_sentences = sum(s.sentence_count for s in chunk)

        def on_progress(done: int, of: int, base: int = done_sentences, size: int = chunk_sentences) -> None:
            task.update(base + size * done / max(of, 1))

        results = translate(chunk, on_progress)
        translated = [r for r in results if isinstance(r, TranslatedArticle)]
        for item in translated:
            for warning in item.warnings:
                log.warning("%s [%s]: %s", item.article_id, target.code, warning)
        for outcome in [r for r in results if isinstance(r, Failure)] + publish(translated):
            if isinstance(outcome, Failure):
                _report(outcome)
                record.failures.append(outcome)
            else:
                record.published.append(outcome)
        done_sentences += chunk_sentences
        done_articles += len(chunk)
        task.update(done_sentences, description.format(done_articles))
    task.close()


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


def _report(failure: Failure) -> None:
    where = f"{failure.article_id} [{failure.language}]: " if failure.language else ""
    log.error("%s%s", where, failure.message)
    log.debug("failure detail", exc_info=failure.error)
