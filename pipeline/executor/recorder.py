"""The driver's bookkeeping, shared by every executor: publish what finished and record it.

Workers (threads here, Ray actors elsewhere) only compute; this class, in the driver process, is
the one writer of ``outputs/`` and of the state, so incremental runs, the lock and crash recovery
behave the same whichever executor did the work.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.config import TargetConfig
from pipeline.diskspace import full_folder, is_disk_full
from pipeline.errors import DiskFullError, PipelineError, QualityError, item_error
from pipeline.executor.context import RunContext
from pipeline.executor.plan import ItemPlan
from pipeline.items import NARRATION, TEXT, Failure, SentenceTranslation, StageFailure
from pipeline.layout import item_dir
from pipeline.mt.marian import ModelInfo
from pipeline.progress import Task
from pipeline.stages.narrate import Narrate, Narration, Segment, build_narration, show_of
from pipeline.stages.publish import PublishAudio, PublishText
from pipeline.stages.translate import TranslatedArticle, assemble_translation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NarrationWork:
    """One article-language's narration: its plan, its translation, its script and segment keys."""

    plan: ItemPlan
    item: TranslatedArticle
    segments: list[Segment]
    keys: list[str]


class Recorder:
    def __init__(self, context: RunContext, articles: Task):
        """``articles``: the progress task that counts finished and failed article-languages."""
        self.config, self.state, self.run_id = context.config, context.state, context.run_id
        self.timings, self.failures = context.timings, context.report.failures
        config = self.config
        self.articles = articles
        self.done = 0
        self.show = show_of(config)
        self.publish_text = PublishText(config.job_dir)
        self.publish_audio = PublishAudio(config.job_dir)

    def translations(
        self,
        target: TargetConfig,
        chunk: list[ItemPlan],
        model: ModelInfo,
        errors: Mapping[str, PipelineError],
        narrated: bool,
    ) -> list[tuple[ItemPlan, TranslatedArticle]]:
        """Assemble each article from the translation memory, publish its text if new, record it.

        Returns the articles that go on to narration; ``narrated`` says whether the language has any.
        An article whose narration is up to date (only its text was written again) is finished here.
        """
        memory = self.state.translations(key for plan in chunk for key in plan.sentence_keys.values())
        self.state.touch("translations", memory)
        translated = []
        for plan in chunk:
            error = next((errors[s] for s in plan.sentence_keys if s in errors), None)
            if error is None and any(key not in memory for key in plan.sentence_keys.values()):
                error = PipelineError("some sentences were not translated")  # the run was stopped
            if error is not None:
                self.failed(plan, TEXT, plan.text_key, error)
                continue
            try:
                item = self._text(target, plan, model, memory)
            except Exception as exc:  # one article's surprise fails that article-language only
                error = self._item_error(plan, exc, "assembling and writing the text")
                self.failed(plan, TEXT, plan.text_key, error)
                continue
            if item is None:
                continue
            if narrated and not plan.narration_done:
                translated.append((plan, item))
            else:  # no narration, or only the text was to restore: the item is done now
                self.finished(plan)
        return translated

    def _text(
        self,
        target: TargetConfig,
        plan: ItemPlan,
        model: ModelInfo,
        memory: Mapping[str, SentenceTranslation],
    ) -> TranslatedArticle | None:
        """The article's translation, its text published unless up to date; None if that failed."""
        pairs = {s: dataclasses.replace(memory[key], source=s) for s, key in plan.sentence_keys.items()}
        item = assemble_translation(
            plan.segmented, target, self.config.translation, model, pairs, self.config.quality, plan.edits
        )
        for warning in item.warnings:
            log.warning("%s [%s]: %s", item.article_id, target.code, warning)
        if not plan.text_done and not self._publish_text(plan, item):
            return None
        return item

    def _publish_text(self, plan: ItemPlan, item: TranslatedArticle) -> bool:
        with self.timings.measure("publish"):
            narration = plan.narration_summary
            written = self.publish_text([item], [narration])[0]
        if isinstance(written, Failure):
            self.failed(plan, TEXT, plan.text_key, written.error)
            return False
        flags = item.flag_counts()
        if flags and self.config.quality.on_flag == "fail":
            summary = ", ".join(f"{count} {kind}" for kind, count in sorted(flags.items()))
            self.failed(plan, TEXT, plan.text_key, QualityError(f"quality flags: {summary} (on_flag: fail)"))
            return False  # the text is written, for review, but not delivered or narrated
        detail = {
            "files": written.files,
            "sha256": written.sha256,
            "stat": written.stat,
            "sentences": plan.segmented.sentence_count,
            "flags": flags,
            "edited": item.edited_count(),
            "warnings": [*plan.segmented.article.warnings, *item.warnings],
        }
        self.state.record_done(*plan.key, TEXT, plan.text_key, detail, self.run_id)
        log.debug("%s [%s]: text written (%s)", *plan.key, ", ".join(written.files.values()))
        plan.done(TEXT, detail)
        return True

    def narration(
        self, work: NarrationWork, audio: Mapping[str, bytes], errors: Mapping[str, PipelineError]
    ) -> None:
        """Join, tag and publish an article's narration from its segments' audio, and record it."""
        try:
            self._narration(work, audio, errors)
        except Exception as exc:  # joining, tagging or writing failed in a way no rule foresaw
            plan = work.plan
            error = self._item_error(plan, exc, "making the narration")
            self.failed(plan, NARRATION, plan.narration_key or "", error)

    def _narration(
        self, work: NarrationWork, audio: Mapping[str, bytes], errors: Mapping[str, PipelineError]
    ) -> None:
        plan, item, segments, keys = work.plan, work.item, work.segments, work.keys
        error = next((errors[k] for k in keys if k in errors), None)
        outcome: Narration | Failure
        if error is None:
            try:
                outcome = build_narration(
                    item, segments, [audio[k] for k in keys], self.config.tts, self.show
                )
            except Exception as exc:
                error = item_error(exc, "joining and tagging the narration")
        if error is not None:
            article = item.segmented.article
            outcome = Failure(article.source, article.id, Narrate.name, error, item.target.code)
        written = self.publish_audio([(item, outcome)])[0]
        if isinstance(written, Failure):
            self.failed(plan, NARRATION, plan.narration_key or "", written.error)
            return
        assert isinstance(outcome, Narration)
        detail = {
            "files": written.files,
            "sha256": written.sha256,
            "stat": written.stat,
            "narration": outcome.summary(),
        }
        self.state.record_done(*plan.key, NARRATION, plan.narration_key or "", detail, self.run_id)
        log.debug("%s [%s]: narration written (%.1f s, %d chapters)", *plan.key, outcome.duration,
                  len(outcome.chapters))  # fmt: skip
        plan.done(NARRATION, detail)
        self.finished(plan)

    def _item_error(self, plan: ItemPlan, exc: Exception, doing: str) -> PipelineError:
        """``exc`` as the item's error: a full disk under an output is the item's (transient: the
        next runs try again); a full disk under the state is the run's, and is raised again."""
        if not is_disk_full(exc):
            return item_error(exc, doing)
        if not isinstance(exc, OSError):  # SQLite's "database or disk is full"
            raise exc
        log.debug("%s [%s]: disk full", *plan.key, exc_info=exc)
        return DiskFullError(full_folder(exc, item_dir(self.config.job_dir, *plan.key)))

    def finished(self, plan: ItemPlan) -> None:
        self.done += 1
        self.articles.advance(1)

    def failed(self, plan: ItemPlan, stage: str, key: str, error: PipelineError, log_it: bool = True) -> None:
        self.articles.fail(1)
        failure = Failure(plan.segmented.article.source, plan.key[0], stage, error, plan.key[1])
        if log_it:
            log_failure(failure)
        attempts = self.state.record_failed(*plan.key, stage, key, str(error), error.transient, self.run_id)
        plan.failed(StageFailure(stage, str(error), error.transient))
        log.debug("%s [%s] %s failed (attempt %d)", *plan.key, stage, attempts)
        self.failures.append(failure)


def log_failure(failure: Failure) -> None:
    where = f"{failure.article_id} [{failure.language}]: " if failure.language else ""
    log.error("%s%s", where, failure.message)
    log.debug("failure detail", exc_info=failure.error)
