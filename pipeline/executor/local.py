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
from pipeline.errors import ConfigError, ConfigIssue, PipelineError
from pipeline.executor.narration import NarrationQueue
from pipeline.executor.plan import ItemPlan, Planner, existing_state
from pipeline.executor.recorder import Recorder, log_failure
from pipeline.executor.worker import Worker
from pipeline.items import TEXT, Failure, SentenceTranslation
from pipeline.layout import MANIFEST_FILE
from pipeline.lock import JobLock
from pipeline.mt.marian import ModelInfo
from pipeline.progress import NullProgress, Progress, Task
from pipeline.report import reports_missing, write_reports
from pipeline.report.manifest import write_manifest
from pipeline.stages.ingest import Ingest
from pipeline.stages.narrate import Narrate
from pipeline.stages.segment import split_outcomes
from pipeline.stages.translate import Translate
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
    report = RunReport(config.job_dir, config.job_dir / MANIFEST_FILE)
    with report.timings.measure("read"):
        segmented, report.ingest_failures = split_outcomes(Ingest()(paths))
    for failure in report.ingest_failures:
        log_failure(failure)
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
                config.job, len(segmented), len(config.targets), report.todo, report.up_to_date,
                f", {len(report.skipped)} failed before and not retried" if report.skipped else "",
            )  # fmt: skip
            for plan in report.skipped:
                log.warning("%s [%s]: %s", plan.key[0], plan.key[1], plan.skip)
            for repair in (repair for plan in report.plans for repair in plan.repairs):
                log.warning("%s", repair)
            article_task = (progress or NullProgress()).task("articles", report.todo, "articles")
            recorder = Recorder(config, state, run_id, report.timings, article_task, report.failures)
            stop = stop or threading.Event()
            worker_class = LocalWorker
            if config.executor == "ray":
                from pipeline.executor.ray_executor import RayWorker

                worker_class = RayWorker  # type: ignore[assignment]
            worker = worker_class(
                config, state, planner, narrate, recorder, report, progress or NullProgress(), stop
            )
            try:
                if report.todo:
                    worker.run()
            finally:
                report.done = recorder.done
                article_task.close()
            report.interrupted = stop.is_set()
            status = "interrupted" if report.interrupted else "finished"
            if report.todo or report.failures or reports_missing(config):
                outcomes = [plan.outcome() for plan in report.plans]
                manifest = write_manifest(config, report.ingest_failures, outcomes, report.interrupted)
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


class LocalWorker(Worker):
    """Does one run's work in this process: translation in the driver, speech in worker threads."""

    def run(self) -> None:
        """Every language in turn; narration runs beside translation and is awaited at the end."""
        self.narration = NarrationQueue(
            self.config, self.state, self.planner, self.narrate, self.recorder,
            self.progress.task("narrate", 0, "segments"), self._stop,
        )  # fmt: skip
        try:
            self.run_languages()
        finally:
            with self.report.timings.measure("wait for narration"):
                self.narration.close()

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
                plans = replan(self.planner, self.report, target, plans, fingerprint)
        task = self.progress.task(f"translate {target.code}", sum(len(p.missing) for p in plans), "sentences")
        narrated = self.narrate.wants(target)
        for chunk in _chunks(plans, max(CHUNK_SENTENCES, self.config.translation.batch_size)):
            if self.stopped:
                break
            errors = self._translate_missing(chunk, translate, task)
            if self.stopped:
                break
            for plan, item in self.recorder.translations(target, chunk, model, errors, narrated):
                self.narration.submit(target, plan, item)
        task.close()

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
                self.recorder.failed(plan, TEXT, plan.text_key, exc, log_it=False)
            return None, None
        seconds = time.monotonic() - started
        log.info("%s: model loaded in %.1f s on %s", target.code, seconds, translate.info.device)
        return translate, translate.info

    def _translate_missing(
        self, chunk: list[ItemPlan], translate: Translate | None, task: Task
    ) -> dict[str, PipelineError]:
        """Translate what the memory lacks, in sub-batches, each recorded at once (a killed run
        keeps every batch it finished); returns the sentences that failed."""
        keys = {s: key for plan in chunk for s, key in plan.sentence_keys.items()}
        missing = sorted(dict.fromkeys(s for plan in chunk for s in plan.missing), key=len)
        errors: dict[str, PipelineError] = {}
        if not missing or translate is None:
            return errors
        step = self.config.translation.batch_size * 4
        for start in range(0, len(missing), step):
            if self.stopped:
                break
            self.narration.collect()  # narration of earlier articles goes on meanwhile
            with self.report.timings.measure("translate"):
                results = translate(missing[start : start + step])
            self.state.add_translations(
                (keys[s], r) for s, r in results.items() if isinstance(r, SentenceTranslation)
            )
            errors.update({s: r for s, r in results.items() if isinstance(r, PipelineError)})
            task.advance(len(results))
        return errors


def replan(
    planner: Planner, report: RunReport, target: TargetConfig, plans: list[ItemPlan], fingerprint: str
) -> list[ItemPlan]:
    """Plans again under the fingerprint of the model as loaded; returns those still to do."""
    fresh = planner.plan([plan.segmented for plan in plans], target, fingerprint)
    by_key = {plan.key: plan for plan in fresh}
    report.plans = [by_key.get(plan.key, plan) for plan in report.plans]
    return [plan for plan in fresh if plan.todo]


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
