"""The local executor: a run's work in this process. Per language, translate what the translation
memory lacks, publish text, narrate what the segment cache lacks, publish audio, and record every
step as it completes (``pipeline.executor.run`` plans the run and finishes it).

Work goes in chunks so outputs appear as the run goes; every sentence batch and every segment is
recorded the moment it is done, so a killed run loses at most the step in hand. ``stop`` (set by
the CLI on SIGTERM or Ctrl-C) is checked between steps: the run then records what it finished and
returns. A model or engine that cannot be used fails its language only; an article that cannot be
read, translated or narrated fails alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator

from pipeline.config import JobConfig, TargetConfig
from pipeline.errors import ConfigError, PipelineError
from pipeline.executor.narration import NarrationQueue
from pipeline.executor.plan import ItemPlan, Planner
from pipeline.executor.run_report import RunReport
from pipeline.executor.worker import Worker
from pipeline.items import TEXT, SentenceTranslation
from pipeline.mt.marian import ModelInfo
from pipeline.progress import Task
from pipeline.stages.translate import Translate
from pipeline.state.keys import model_fingerprint

log = logging.getLogger(__name__)

CHUNK_SENTENCES = 256  # sentences translated before their articles are published and narrated


class LocalWorker(Worker):
    """Does one run's work in this process: translation in the driver, speech in worker threads."""

    def run(self) -> None:
        """Every language in turn; narration runs beside translation and is awaited at the end."""
        self.narration = NarrationQueue(
            self.context, self.recorder, self.progress.task("narrate", 0, "segments")
        )
        if not self.report.options.defer_narration:
            self.narration.expect([plan for plan in self.report.plans if plan.todo])
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
        narrated = self.narrate.wants(target) and not self.report.options.defer_narration
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
                log.debug("%s: every sentence is in the translation memory; no model load", target.code)
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
            batch = missing[start : start + step]
            log.debug("%s: translating %d sentences (%d of this chunk's %d were in the memory)",
                      chunk[0].target.code, len(batch), len(keys) - len(missing), len(keys))  # fmt: skip
            with self.report.timings.measure("translate"):
                results = translate(batch)
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
    log.debug(
        "%s: the model loaded as %s, not %s: planning again", target.code, fingerprint, plans[0].fingerprint
    )
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
