"""Narration that runs beside translation: segments go to a thread pool as soon as an article's
text is published, and the driver collects finished segments between translation batches.

Speech is network- or subprocess-bound, so it overlaps well with translating the next articles.
The driver thread alone writes the state: each finished segment is recorded as it is collected,
and an article is joined, tagged and published once all its segments are in. The order of the
segments in each MP3 comes from the article's script, never from completion order.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from pipeline.config import TargetConfig
from pipeline.errors import PipelineError, Stopped, item_error
from pipeline.executor.context import RunContext
from pipeline.executor.plan import ItemPlan
from pipeline.executor.recorder import NarrationWork, Recorder
from pipeline.progress import Task
from pipeline.stages.narrate import script
from pipeline.stages.translate import TranslatedArticle

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often a stop request is noticed while waiting for speech


class NarrationQueue:
    def __init__(self, context: RunContext, recorder: Recorder, task: Task):
        """``task``: the progress task counting segments spoken."""
        self.config, self.state, self.planner = context.config, context.state, context.planner
        self.narrate, self.stop, self.timings = context.narrate, context.stop, context.timings
        self.recorder, self.task = recorder, task
        self.narrate.stop_on(self.stop)  # a stopped run sends no more speech requests, nor retries
        self.pool = ThreadPoolExecutor(max_workers=self.config.tts.concurrency, thread_name_prefix="tts")
        self.pending: dict[str, Future[bytes | PipelineError]] = {}
        self.audio: dict[str, bytes] = {}
        self.errors: dict[str, PipelineError] = {}
        self.jobs: list[NarrationWork] = []
        self.expected = self.submitted = 0
        self.spoken: set[str] = set()  # segments synthesised by this run

    def expect(self, plans: list[ItemPlan]) -> None:
        """Size the progress up front: the segments these plans will have spoken, that is every
        uncached segment whose text is known and one per block still to translate."""
        narrated = [plan for plan in plans if plan.narration_wanted and not plan.narration_done]
        memory = self.state.translations(k for plan in narrated for k in plan.sentence_keys.values())
        keys: set[str] = set()
        forced: set[str] = set()  # --force: spoken again, cached or not
        waiting = 0
        for plan in narrated:
            known, blocks = self.planner.known_segment_keys(plan, memory)
            (forced if plan.forced else keys).update(known)
            waiting += blocks
        keys -= forced
        self.expected = len(keys - self.state.cached_segment_keys(keys)) + len(forced) + waiting
        self.task.add_total(self.expected)
        log.debug("narration: about %d segments to synthesise", self.expected)

    def submit(self, target: TargetConfig, plan: ItemPlan, item: TranslatedArticle) -> None:
        """Queue the article's narration, unless it is up to date under today's key."""
        segments = script(item, self.config.tts.disclosure)
        key = self.planner.narration_key(plan, segments)
        if plan.narration_done and plan.narration_key == key:
            return
        plan.progress.narration_key, plan.progress.narration_done = key, False
        keys = self.planner.segment_keys(target, segments)
        self.jobs.append(NarrationWork(plan, item, segments, keys))
        wanted = [k for k in dict.fromkeys(keys) if k not in self.audio and k not in self.pending]
        cached = self._cached(plan, wanted)
        self.state.touch("segments", cached)
        self.audio.update(cached)
        texts = {k: s.text for k, s in zip(keys, segments, strict=True)}
        engine_error = self.narrate.engine_error(target)
        log.debug(
            "%s [%s]: narration of %d segments: %d in hand or cached, %d to synthesise",
            *plan.key, len(keys), len(keys) - len(wanted) + len(cached), len(wanted) - len(cached),
        )  # fmt: skip
        for k in wanted:
            if k in cached:
                continue
            if engine_error is not None:
                self.errors[k] = engine_error
                continue
            self.pending[k] = self.pool.submit(self._speak, target, texts[k])
            self.submitted += 1
            if self.submitted > self.expected:  # more than foreseen: grow the total as it comes
                self.task.add_total(1)
        self.collect()

    def _cached(self, plan: ItemPlan, keys: list[str]) -> dict[str, bytes]:
        """The audio the segment cache has for ``keys``. For a plan redone with ``--force`` only
        what this run has spoken already (its other segments are spoken again, and the new audio
        replaces the cached), so a text two forced articles share is spoken once."""
        if not plan.forced:
            return self.state.segments(keys)
        return self.state.segments(key for key in keys if key in self.spoken)

    def _speak(self, target: TargetConfig, text: str) -> bytes | PipelineError:
        with self.timings.measure("speech (worker threads)"):
            return self.narrate.speak(target, text)

    def collect(self) -> None:
        """Record the segments finished so far; publish every article whose segments are all in."""
        for key, future in list(self.pending.items()):
            if not future.done():
                continue
            del self.pending[key]
            if future.cancelled():
                continue
            try:
                result = future.result()
            except Exception as exc:  # _speak returns errors; this guards the guard
                result = item_error(exc, "synthesising speech")
            if isinstance(result, Stopped):  # not sent: its article stays pending for the next run
                continue
            if isinstance(result, bytes):
                self.state.add_segment(key, result)  # at once: a killed run keeps every reply it had
                self.audio[key] = result
                self.spoken.add(key)
                self.task.advance(1)
            else:
                log.debug("segment %s… failed: %s", key[:12], result)
                self.errors[key] = result
                self.task.fail(1)
        ready = [job for job in self.jobs if all(k in self.audio or k in self.errors for k in job.keys)]
        if not ready:
            return
        self.jobs = [job for job in self.jobs if job not in ready]
        with self.timings.measure("join, tag and publish audio"):
            for job in ready:
                self._finish(job)
        needed = {k for job in self.jobs for k in job.keys}
        self.audio = {k: v for k, v in self.audio.items() if k in needed}  # the rest is in the state

    def close(self) -> None:
        """Record segments as they finish until none is left. Once the run is asked to stop, the
        queued segments are dropped at once and only those in flight are awaited: an engine sends
        no new try then (``Narrate.stop_on``), and each try in flight is bounded by its deadline.
        Their articles stay pending for the next run, with every segment that arrived recorded."""
        while self.pending:
            if self.stop.is_set():
                for future in self.pending.values():
                    future.cancel()
            wait(self.pending.values(), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            self.collect()
        self.pool.shutdown(wait=True)
        if not self.stop.is_set() and self.submitted < self.expected:
            self.task.add_total(self.submitted - self.expected)  # fewer than foreseen: the bar ends full

    def _finish(self, job: NarrationWork) -> None:
        self.recorder.narration(job, self.audio, self.errors)
