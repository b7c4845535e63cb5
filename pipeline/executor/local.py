"""Run a job in this process, incrementally: plan against the state, then per language translate
what the translation memory lacks, publish text, narrate what the segment cache lacks, publish
audio, and record every step as it completes.

Work goes in chunks so outputs appear as the run goes; every sentence batch and every segment is
recorded the moment it is done, so a killed run loses at most the step in hand. ``stop`` (set by
the CLI on SIGTERM or Ctrl-C) is checked between steps: the run then records what it finished and
returns. A model or engine that cannot be used fails its language only; an article that cannot be
read, translated or narrated fails alone.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import JobConfig, TargetConfig
from pipeline.errors import ConfigError, ConfigIssue, PipelineError, QualityError
from pipeline.executor.narration import NarrationQueue
from pipeline.executor.plan import TEXT, ItemPlan, Planner, existing_state
from pipeline.items import Failure
from pipeline.lock import JobLock
from pipeline.manifest import write_manifest
from pipeline.mt.batching import SentenceTranslation
from pipeline.mt.marian import ModelInfo
from pipeline.progress import NullProgress, Progress, Task
from pipeline.report import write_reports
from pipeline.stages.ingest import Ingest
from pipeline.stages.narrate import Narrate
from pipeline.stages.publish import PublishAudio, PublishText
from pipeline.stages.segment import Segment
from pipeline.stages.translate import Translate, TranslatedArticle, assemble_translation
from pipeline.state import StateStore
from pipeline.state.keys import model_fingerprint
from pipeline.text.discover import discover
from pipeline.timing import Timings

log = logging.getLogger(__name__)

CHUNK_SENTENCES = 256  # sentences translated before their articles are published and narrated


@dataclass
class RunOptions:
    dry_run: bool = False
    retry_failed: bool = False


@dataclass
class RunReport:
    job_dir: Path
    manifest_path: Path
    plans: list[ItemPlan] = field(default_factory=list)
    ingest_failures: list[Failure] = field(default_factory=list)
    todo: int = 0  # as planned, before the work
    up_to_date: int = 0
    done: int = 0
    failures: list[Failure] = field(default_factory=list)  # items that failed in this run
    interrupted: bool = False
    timings: Timings = field(default_factory=Timings)

    def planned(self, plans: list[ItemPlan]) -> None:
        self.plans = plans
        self.todo = sum(plan.todo for plan in plans)
        self.up_to_date = sum(plan.up_to_date for plan in plans)

    @property
    def skipped(self) -> list[ItemPlan]:
        return [plan for plan in self.plans if plan.skip]

    @property
    def failed(self) -> int:
        """Items not delivered: failed now, failed before and not retried, or unreadable inputs."""
        languages = {plan.target.code for plan in self.plans} or {"*"}
        return len(self.failures) + len(self.skipped) + len(self.ingest_failures) * len(languages)


def run_job(
    config: JobConfig,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    options: RunOptions | None = None,
) -> RunReport:
    options = options or RunOptions()
    paths = discover(config.input_patterns)
    if not paths:
        raise ConfigError([ConfigIssue("input.paths", "matches no files", origin=str(config.path))])
    report = RunReport(config.job_dir, config.job_dir / "manifest.json")
    articles = []
    with report.timings.measure("read"):
        for item in Ingest()(paths):
            if isinstance(item, Failure):
                _log_failure(item)
                report.ingest_failures.append(item)
            else:
                articles.append(item)
        segmented = Segment()(articles)
    narrate = Narrate(config.tts, config.targets)

    if options.dry_run:
        state = existing_state(config.state_path)
        planner = Planner(config, state, narrate, options.retry_failed)
        report.planned([plan for target in config.targets for plan in planner.plan(segmented, target)])
        return report

    with JobLock(config.lock_path):
        _remove_temp_files(config.job_dir)
        state = StateStore.open(config.state_path)
        run_id = state.begin_run(os.getpid())
        status = "crashed"
        try:
            with report.timings.measure("plan"):
                planner = Planner(config, state, narrate, options.retry_failed)
                report.planned(
                    [plan for target in config.targets for plan in planner.plan(segmented, target)]
                )
            log.info(
                "%s: %d articles x %d languages: %d to do, %d up to date%s",
                config.job, len(articles), len(config.targets), report.todo, report.up_to_date,
                f", {len(report.skipped)} failed before and not retried" if report.skipped else "",
            )  # fmt: skip
            for plan in report.skipped:
                log.warning("%s [%s]: %s", plan.key[0], plan.key[1], plan.skip)
            worker = _Worker(
                config, state, planner, narrate, run_id, report, progress or NullProgress(), stop
            )
            worker.run()
            report.interrupted = worker.stopped
            status = "interrupted" if report.interrupted else "finished"
            if report.todo or report.failures or not (config.job_dir / "index.html").exists():
                manifest = write_manifest(
                    config, state, report.ingest_failures, report.plans, report.interrupted
                )
                with report.timings.measure("review pages and feeds"):
                    write_reports(config, manifest)
            if not report.interrupted:
                state.prune(config.state.keep_days)
        finally:
            counts = {
                "todo": report.todo,
                "up_to_date": report.up_to_date,
                "done": report.done,
                "failed": report.failed,
            }
            state.finish_run(run_id, status, counts)
            state.close()
    return report


class _Worker:
    """Does one run's work for each language, recording every step in the state."""

    def __init__(
        self,
        config: JobConfig,
        state: StateStore,
        planner: Planner,
        narrate: Narrate,
        run_id: int,
        report: RunReport,
        progress: Progress,
        stop: threading.Event | None,
    ):
        self.config, self.state, self.planner, self.narrate = config, state, planner, narrate
        self.run_id, self.report, self.progress = run_id, report, progress
        self._stop = stop or threading.Event()
        self.artist = config.tts.artist or config.job
        self.publish_text = PublishText(config.job_dir)
        self.publish_audio = PublishAudio(config.job_dir)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Every language in turn; narration runs beside translation and is awaited at the end."""
        self.articles = self.progress.task("articles", self.report.todo, "articles")
        self.narration = NarrationQueue(
            self.config, self.state, self.planner, self.narrate, self.run_id,
            self.progress.task("narrate", 0, "segments"), self._done, self._failed, self.report.timings,
        )  # fmt: skip
        try:
            for target in self.config.targets:
                if self.stopped:
                    break
                self.run_language(target, [p for p in self.report.plans if p.target is target and p.todo])
        finally:
            with self.report.timings.measure("wait for narration"):
                self.narration.close(stopped=self.stopped)
            self.articles.close()

    def _done(self, plan: ItemPlan) -> None:
        self.report.done += 1
        self.articles.advance(1)

    def run_language(self, target: TargetConfig, plans: list[ItemPlan]) -> None:
        if not plans:
            return
        translate, model = self._model(target, plans)
        if model is None:
            return
        if translate is not None:  # keys follow the model actually loaded (a download pins the commit)
            fingerprint = model_fingerprint(target.model, target.revision, target.model_is_local)
            self.state.set_model_info(fingerprint, model.state())
            if fingerprint != plans[0].fingerprint:
                plans = self._replan(target, plans, fingerprint)
        task = self.progress.task(f"translate {target.code}", sum(len(p.missing) for p in plans), "sentences")
        for chunk in _chunks(plans, max(CHUNK_SENTENCES, self.config.translation.batch_size)):
            if self.stopped:
                break
            for plan, item in self._translate_chunk(target, chunk, translate, model, task):
                if self.narrate.wants(target):
                    self.narration.submit(target, plan, item)
                else:
                    self._done(plan)
        task.close()

    # Translation ------------------------------------------------------------------------------

    def _model(
        self, target: TargetConfig, plans: list[ItemPlan]
    ) -> tuple[Translate | None, ModelInfo | None]:
        """The translator when some sentence needs it; else what the model loaded as last time."""
        if not any(plan.missing for plan in plans):
            info = self.state.model_info(plans[0].fingerprint)
            if info is not None:  # same files; the config may name them differently
                recorded = ModelInfo.from_state(info)
                return None, dataclasses.replace(recorded, model=target.model, revision=target.revision)
        log.info("%s: loading model %s", target.code, target.model)
        started = time.monotonic()
        try:
            with self.report.timings.measure("load model"):
                translate = Translate(
                    target, self.config.translation, pull_command(self.config), self.config.quality
                )
        except ConfigError:
            raise  # a setting no language can run with (device: cuda without a GPU)
        except PipelineError as exc:
            log.error("%s", exc)
            log.error("%s: %d articles not translated", target.code, len(plans))
            for plan in plans:
                self._failed(plan, TEXT, plan.text_key, exc, log_it=False)
            return None, None
        log.info(
            "%s: model loaded in %.1f s on %s", target.code, time.monotonic() - started, translate.info.device
        )
        return translate, translate.info

    def _replan(self, target: TargetConfig, plans: list[ItemPlan], fingerprint: str) -> list[ItemPlan]:
        fresh = self.planner.plan([plan.segmented for plan in plans], target, fingerprint)
        by_key = {plan.key: plan for plan in fresh}
        self.report.plans = [by_key.get(plan.key, plan) for plan in self.report.plans]
        return [plan for plan in fresh if plan.todo]

    def _translate_chunk(
        self,
        target: TargetConfig,
        chunk: list[ItemPlan],
        translate: Translate | None,
        model: ModelInfo,
        task: Task,
    ) -> list[tuple[ItemPlan, TranslatedArticle]]:
        keys = {s: key for plan in chunk for s, key in plan.sentence_keys.items()}
        missing = list(dict.fromkeys(s for plan in chunk for s in plan.missing))
        errors: dict[str, PipelineError] = {}
        if missing and translate is not None:
            # Sub-batches, each recorded at once: a killed run keeps every batch it finished.
            step = self.config.translation.batch_size * 4
            missing.sort(key=len)
            for start in range(0, len(missing), step):
                if self.stopped:
                    return []
                self.narration.collect()  # narration of earlier articles goes on meanwhile
                with self.report.timings.measure("translate"):
                    results = translate(missing[start : start + step])
                self.state.add_translations(
                    (keys[s], r) for s, r in results.items() if isinstance(r, SentenceTranslation)
                )
                errors.update({s: r for s, r in results.items() if isinstance(r, PipelineError)})
                task.advance(len(results))
        memory = self.state.translations(keys.values())
        self.state.touch("translations", memory)
        translated = []
        for plan in chunk:
            error = next((errors[s] for s in plan.sentence_keys if s in errors), None)
            if error is None and any(key not in memory for key in plan.sentence_keys.values()):
                error = PipelineError("some sentences were not translated")  # the run was stopped
            if error is not None:
                self._failed(plan, TEXT, plan.text_key, error)
                continue
            pairs = {s: dataclasses.replace(memory[key], source=s) for s, key in plan.sentence_keys.items()}
            item = assemble_translation(
                plan.segmented, target, self.config.translation, model, pairs, self.config.quality
            )
            for warning in item.warnings:
                log.warning("%s [%s]: %s", item.article_id, target.code, warning)
            if not plan.text_done:
                with self.report.timings.measure("publish"):
                    written = self.publish_text([item])[0]
                if isinstance(written, Failure):
                    self._failed(plan, TEXT, plan.text_key, written.error)
                    continue
                flags = item.flag_counts()
                if flags and self.config.quality.on_flag == "fail":
                    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(flags.items()))
                    self._failed(
                        plan, TEXT, plan.text_key, QualityError(f"quality flags: {summary} (on_flag: fail)")
                    )
                    continue  # the text is written, for review, but not delivered or narrated
                detail = {
                    "files": written.files,
                    "sha256": written.sha256,
                    "sentences": plan.segmented.sentence_count,
                    "flags": flags,
                    "warnings": [*plan.segmented.article.warnings, *item.warnings],
                }
                self.state.record_done(*plan.key, TEXT, plan.text_key, detail, self.run_id)
                plan.text_done = True
            translated.append((plan, item))
        return translated

    def _failed(
        self, plan: ItemPlan, stage: str, key: str, error: PipelineError, log_it: bool = True
    ) -> None:
        self.articles.advance(1)
        failure = Failure(plan.segmented.article.source, plan.key[0], stage, error, plan.key[1])
        if log_it:
            _log_failure(failure)
        attempts = self.state.record_failed(*plan.key, stage, key, str(error), error.transient, self.run_id)
        log.debug("%s [%s] %s failed (attempt %d)", *plan.key, stage, attempts)
        self.report.failures.append(failure)


def pull_command(config: JobConfig) -> str:
    return f"pipeline models pull {config.path}"


def _chunks(plans: list[ItemPlan], sentences: int) -> Iterator[list[ItemPlan]]:
    chunk: list[ItemPlan] = []
    size = 0
    for plan in plans:
        chunk.append(plan)
        size += len(plan.missing) or 1
        if size >= sentences:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _remove_temp_files(job_dir: Path) -> None:
    """Temporary files of a killed run (we hold the lock, so no one else is writing)."""
    if job_dir.is_dir():
        for temp in job_dir.rglob(".*.tmp"):
            temp.unlink(missing_ok=True)
            log.debug("removed %s, left by an interrupted run", temp)


def _log_failure(failure: Failure) -> None:
    where = f"{failure.article_id} [{failure.language}]: " if failure.language else ""
    log.error("%s%s", where, failure.message)
    log.debug("failure detail", exc_info=failure.error)
