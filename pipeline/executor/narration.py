"""Narration that runs beside translation: segments go to a thread pool as soon as an article's
text is published, and the driver collects finished segments between translation batches.

Speech is network- or subprocess-bound, so it overlaps well with translating the next articles.
The driver thread alone writes the state: each finished segment is recorded as it is collected,
and an article is joined, tagged and published once all its segments are in. The order of the
segments in each MP3 comes from the article's script, never from completion order.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from pipeline.config import JobConfig, TargetConfig
from pipeline.errors import PipelineError
from pipeline.executor.plan import ItemPlan, Planner
from pipeline.executor.recorder import Recorder
from pipeline.progress import Task
from pipeline.stages.narrate import Narrate, Segment, script
from pipeline.stages.translate import TranslatedArticle
from pipeline.state import StateStore

log = logging.getLogger(__name__)


@dataclass
class _Job:
    plan: ItemPlan
    item: TranslatedArticle
    segments: list[Segment]
    keys: list[str]


class NarrationQueue:
    def __init__(
        self,
        config: JobConfig,
        state: StateStore,
        planner: Planner,
        narrate: Narrate,
        recorder: Recorder,
        task: Task,
    ):
        self.config, self.state, self.planner, self.narrate = config, state, planner, narrate
        self.recorder, self.task, self.timings = recorder, task, recorder.timings
        self.pool = ThreadPoolExecutor(max_workers=config.tts.concurrency, thread_name_prefix="tts")
        self.pending: dict[str, Future[bytes | PipelineError]] = {}
        self.audio: dict[str, bytes] = {}
        self.errors: dict[str, PipelineError] = {}
        self.jobs: list[_Job] = []

    def submit(self, target: TargetConfig, plan: ItemPlan, item: TranslatedArticle) -> None:
        """Queue the article's narration, unless it is up to date under today's key."""
        segments = script(item, self.config.tts.disclosure)
        key = self.planner.narration_key(plan, segments)
        if plan.narration_done and plan.narration_key == key:
            return
        plan.narration_key = key
        keys = self.planner.segment_keys(target, segments)
        self.jobs.append(_Job(plan, item, segments, keys))
        wanted = [k for k in dict.fromkeys(keys) if k not in self.audio and k not in self.pending]
        cached = self.state.segments(wanted)
        self.state.touch("segments", cached)
        self.audio.update(cached)
        texts = {k: s.text for k, s in zip(keys, segments, strict=True)}
        engine_error = self.narrate.engine_error(target)
        for k in wanted:
            if k in cached:
                continue
            if engine_error is not None:
                self.errors[k] = engine_error
                continue
            self.pending[k] = self.pool.submit(self._speak, target, texts[k])
            self.task.add_total(1)
        self.collect()

    def _speak(self, target: TargetConfig, text: str) -> bytes | PipelineError:
        with self.timings.measure("speech (worker threads)"):
            return self.narrate.speak(target, text)

    def collect(self, block: bool = False) -> None:
        """Record finished segments; publish every article whose segments are all in."""
        if block and self.pending:
            wait(self.pending.values())
        for key, future in list(self.pending.items()):
            if not future.done():
                continue
            del self.pending[key]
            if future.cancelled():
                continue
            result = future.result()
            if isinstance(result, bytes):
                self.state.add_segment(key, result)
                self.audio[key] = result
            else:
                self.errors[key] = result
            self.task.advance(1)
        ready = [job for job in self.jobs if all(k in self.audio or k in self.errors for k in job.keys)]
        if not ready:
            return
        self.jobs = [job for job in self.jobs if job not in ready]
        with self.timings.measure("join, tag and publish audio"):
            for job in ready:
                self._finish(job)
        needed = {k for job in self.jobs for k in job.keys}
        self.audio = {k: v for k, v in self.audio.items() if k in needed}  # the rest is in the state

    def close(self, stopped: bool) -> None:
        """Wait for the segments in hand (dropping the queued ones when stopped) and record them."""
        self.pool.shutdown(wait=True, cancel_futures=stopped)
        self.collect(block=not stopped)

    def _finish(self, job: _Job) -> None:
        self.recorder.narration(job.plan, job.item, job.segments, job.keys, self.audio, self.errors)
