"""What a run has to do: compare each article × language's content keys with the state.

Planning loads no model and makes no request: keys come from the text, the model fingerprint
(from the cache or the local directory) and the settings; translations already made come from the
translation memory. An item is up to date when its stages are recorded done under today's keys
and their files are still there.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline.config import JobConfig, TargetConfig
from pipeline.edits import EditsInForce, SentenceEdits, overrides, per_block, published
from pipeline.executor.options import RunOptions
from pipeline.integrity import damaged_files
from pipeline.items import NARRATION, TEXT, ItemOutcome, SentenceTranslation, StageFailure
from pipeline.mt.backends import result_signature
from pipeline.stages.narrate import Narrate, Segment, narration_params, segment_keys, spoken_script
from pipeline.stages.segment import SegmentedArticle
from pipeline.state import ItemState, StateStore
from pipeline.state.keys import (
    NARRATION_VERSION,
    TEXT_VERSION,
    digest,
    model_fingerprint,
    translation_key,
)
from pipeline.text.article import headline, iso_utc


@dataclass
class ItemProgress:
    """Where an item stands as the run goes: what the state said when it was planned, then what the
    run did (the recorder marks a stage done or failed once the state has it; the narration's key
    is known once every sentence is translated). The plan itself does not change."""

    text_done: bool = False
    narration_done: bool = False
    narration_key: str | None = None
    text_record: dict[str, Any] | None = None  # what the text stage recorded, while done
    narration_record: dict[str, Any] | None = None  # what the narration stage recorded, while done
    failure: StageFailure | None = None  # a stage that failed under today's key (before or now)

    def done(self, stage: str, record: dict[str, Any]) -> None:
        """``stage`` is done now, as ``record`` describes it."""
        if stage == TEXT:
            self.text_done, self.text_record = True, record
        else:
            self.narration_done, self.narration_record = True, record
        if self.failure is not None and self.failure.stage == stage:
            self.failure = None


@dataclass(frozen=True)
class ItemPlan:
    """What a run is to do for one article × language, decided once by the ``Planner``; where the
    item stands as the run goes is its ``progress``, a separate record."""

    segmented: SegmentedArticle
    target: TargetConfig
    fingerprint: str
    sentence_keys: Mapping[str, str]  # sentence → translation-memory key
    missing: tuple[str, ...]  # sentences the translation memory does not have
    text_key: str
    narration_wanted: bool
    skip: str | None = None  # why a failed item is not tried again this run
    repairs: tuple[str, ...] = ()  # delivered files found damaged, to write again
    chosen: bool = True  # False: --only or --lang left it out; it is not worked on, its status kept
    forced: bool = False  # --force: caches ignored, every sentence and segment made anew
    edits: tuple[SentenceEdits, ...] = ()  # per sentence in reading order; () when no edit concerns it
    progress: ItemProgress = field(default_factory=ItemProgress, compare=False)

    @property
    def text_done(self) -> bool:
        return self.progress.text_done

    @property
    def narration_done(self) -> bool:
        return self.progress.narration_done

    @property
    def narration_key(self) -> str | None:
        return self.progress.narration_key

    @property
    def failure(self) -> StageFailure | None:
        return self.progress.failure

    @property
    def overrides(self) -> dict[str, str]:
        """English sentence → the editor's text it is published with instead of the machine's."""
        return overrides(self.segmented.all_sentences(), self.edits)

    def published_blocks(self, machine: dict[str, str]) -> list[list[str]]:
        """Each block's sentence texts as published, from ``machine`` (English sentence → its machine
        translation; every sentence without an edit must be in it) and the edits."""
        blocks = self.segmented.sentences
        edits = per_block(blocks, self.edits)
        return [published(block, machine, rules) for block, rules in zip(blocks, edits, strict=True)]

    @property
    def key(self) -> tuple[str, str]:
        return (self.segmented.article.id, self.target.code)

    @property
    def up_to_date(self) -> bool:
        return self.text_done and (not self.narration_wanted or self.narration_done)

    @property
    def todo(self) -> bool:
        return self.chosen and not self.up_to_date and self.skip is None

    @property
    def narration_summary(self) -> dict[str, Any] | None:
        """The published narration's summary (engine, duration, chapters...), while it is done."""
        record = self.progress.narration_record or {}
        return record.get("narration") if self.narration_done else None

    def done(self, stage: str, record: dict[str, Any]) -> None:
        """``stage`` is done now, as ``record`` describes it (called once the state has it)."""
        self.progress.done(stage, record)

    def failed(self, failure: StageFailure) -> None:
        """A stage failed now (the state has recorded it)."""
        self.progress.failure = failure

    def outcome(self) -> ItemOutcome:
        """Where the item stands: ``ok`` when up to date, ``failed`` when a stage failed under
        today's key, else ``pending``."""
        status = "ok" if self.up_to_date else "failed" if self.failure else "pending"
        article, progress = self.segmented.article, self.progress
        return ItemOutcome(
            article_id=article.id,
            language=self.target.code,
            source=article.source,
            sentences=self.segmented.sentence_count,
            status=status,
            text=progress.text_record if progress.text_done else None,
            narration=progress.narration_record if self.narration_wanted and self.narration_done else None,
            failure=None if status == "ok" else self.failure,
            headline=headline(article.title, self.segmented.all_sentences()),
            date=article.date.isoformat(),
        )

    def reason(self) -> str:
        if self.skip:
            return self.skip
        if self.forced:
            return f"redo (--force): translate {len(self.missing)} sentences" + (
                ", narrate" if self.narration_wanted else ""
            )
        total = self.segmented.sentence_count
        if self.missing:
            return f"translate {len(self.missing)} of {total} sentences" + (
                ", narrate" if self.narration_wanted else ""
            )
        if self.repairs:
            return f"restore {len(self.repairs)} damaged or missing file(s)" + (
                ", narrate" if not self.narration_done and self.narration_wanted else ""
            )
        if not self.text_done:
            return "write text (translations cached)" + (", narrate" if self.narration_wanted else "")
        return "narrate"


class Planner:
    """Plans each article × language against the state, under the run's options: the items
    ``--only``/``--lang`` leave out are planned (for the manifest) but not to do, and ``--force``
    plans the chosen ones as if nothing were cached or done."""

    def __init__(
        self,
        config: JobConfig,
        state: StateStore | None,
        narrate: Narrate,
        retry_failed: bool = False,
        options: RunOptions | None = None,
        article_ids: Collection[str] | None = None,
    ):
        """``options`` (when given) says what the run may work on, and its ``retry_failed`` wins;
        ``article_ids``: the only articles it will plan (None: any), whose records alone are read."""
        self.config, self.state, self.narrate = config, state, narrate
        self.options = options or RunOptions(retry_failed=retry_failed)
        self.retry_failed = self.options.retry_failed
        self.rows: dict[tuple[str, str, str], ItemState] = state.items(article_ids) if state else {}

    def plan(
        self, segmented: list[SegmentedArticle], target: TargetConfig, fingerprint: str | None = None
    ) -> list[ItemPlan]:
        fingerprint = fingerprint or model_fingerprint(target.model, target.revision, target.model_is_local)
        signature = translation_signature(self.config, target)
        keys_of = {
            s.article.id: {
                sentence: translation_key(fingerprint, target.lang_token, signature, sentence)
                for sentence in s.all_sentences()
            }
            for s in segmented
        }
        memory = (
            self.state.translations(k for keys in keys_of.values() for k in keys.values())
            if self.state
            else {}
        )
        edits = self._edits(target)
        plans = []
        for s in segmented:
            plan = self._plan_item(s, target, fingerprint, signature, keys_of[s.article.id], memory, edits(s))
            plans.append(plan)
        return plans

    def _edits(self, target: TargetConfig) -> Callable[[SegmentedArticle], tuple[SentenceEdits, ...]]:
        """The function giving an article's ``SentenceEdits`` in ``target``'s language (() if none
        concerns it): the edits in force (``EditsInForce``), as the review app sees them too."""
        in_force = EditsInForce.of(
            self.state.edits(target.code) if self.state else [], self.config.translation.prefer_edits
        )
        return lambda segmented: in_force.concerning(segmented.article.id, segmented.all_sentences())

    def _plan_item(
        self,
        segmented: SegmentedArticle,
        target: TargetConfig,
        fingerprint: str,
        signature: list[object],
        sentence_keys: dict[str, str],
        memory: dict[str, SentenceTranslation],
        edits: tuple[SentenceEdits, ...] = (),
    ) -> ItemPlan:
        article = segmented.article
        parts: list[object] = [
            fingerprint,
            [target.model, target.revision, target.lang_token, target.disclosure],
            signature,
            [block.kind for block in article.blocks],
            segmented.sentences,
            [str(article.source), article.sha256, article.date, article.title],
        ]
        times = [iso_utc(article.parts.published), iso_utc(article.parts.updated)]
        if any(times):  # only then: an article with a date alone keeps the key it had before times
            parts.append(times)
        if edits:  # only then: an article no edit concerns keeps the key it had before edits existed
            parts.append([e.signature() for e in edits])
        text_key = digest(TEXT, TEXT_VERSION, *parts)
        plan = ItemPlan(
            segmented=segmented,
            target=target,
            fingerprint=fingerprint,
            sentence_keys=sentence_keys,
            missing=tuple(s for s, key in sentence_keys.items() if key not in memory),
            text_key=text_key,
            narration_wanted=self.narrate.wants(target),
            edits=edits,
        )
        repairs: list[str] = []
        written = self._written(plan)
        self._done(plan, TEXT, text_key, written, repairs)
        skip = self._skip(plan, TEXT, text_key)
        if plan.narration_wanted and not plan.missing:
            machine = {s: memory[key].target for s, key in sentence_keys.items()}
            segments = spoken_script(plan.published_blocks(machine), target, self.config.tts.disclosure)
            plan.progress.narration_key = narration_key = self.narration_key(plan, segments)
            self._done(plan, NARRATION, narration_key, written, repairs)
            skip = skip or self._skip(plan, NARRATION, narration_key)
        return self._choose(replace(plan, skip=skip, repairs=tuple(repairs)))

    def _choose(self, plan: ItemPlan) -> ItemPlan:
        """Apply ``--only``/``--lang`` (a plan left out keeps what the state says of it, and is not
        to do) and ``--force`` (a chosen plan is planned as if nothing were cached or done)."""
        plan = replace(plan, chosen=self.options.chosen(*plan.key))
        if plan.chosen and self.options.force and plan.skip is None:
            return force(plan)
        return plan

    def known_segment_keys(
        self, plan: ItemPlan, memory: dict[str, SentenceTranslation]
    ) -> tuple[list[str], int]:
        """Before translating: the keys of the plan's segments whose text the translation memory
        already gives (the disclosure included), and how many blocks still wait for a translation."""
        known, waiting = [], 0
        machine = {s: memory[key].target for s, key in plan.sentence_keys.items() if key in memory}
        blocks = plan.segmented.sentences
        for block, edits in zip(blocks, per_block(blocks, plan.edits), strict=True):
            try:
                known.append(published(block, machine, edits))
            except LookupError:  # a sentence with no edit is not translated yet
                waiting += 1
        segments = spoken_script(known, plan.target, self.config.tts.disclosure)
        return self.segment_keys(plan.target, segments), waiting

    def segment_keys(self, target: TargetConfig, segments: list[Segment]) -> list[str]:
        """The segments' cache keys under the engine settings this run uses."""
        return segment_keys(target, self.narrate.cache_params(target), segments)

    def narration_key(self, plan: ItemPlan, segments: list[Segment]) -> str:
        return digest(
            NARRATION,
            NARRATION_VERSION,
            plan.text_key,
            self.segment_keys(plan.target, segments),
            [s.title for s in segments],
            narration_params(self.config),
        )

    def _done(
        self, plan: ItemPlan, stage: str, key: str, written: dict[str, list[list[int]]], repairs: list[str]
    ) -> bool:
        """Recorded done under ``key``, with every file it wrote still intact (``written``: see
        ``_written``; then marked done in the plan's progress); damaged files are noted in
        ``repairs``, and the stage is done again."""
        row = self.rows.get((*plan.key, stage))
        if row is None or row.status != "done" or row.key != key:
            return False
        damaged = damaged_files(self.config.job_dir, row.detail, written)
        if not damaged:
            plan.done(stage, row.detail)
        for path, problem in damaged:
            repair = f"{self.config.job_dir / path}: {problem}; writing it again"
            if repair not in repairs:  # article.json belongs to both stages' records
                repairs.append(repair)
        return not damaged

    def _written(self, plan: ItemPlan) -> dict[str, list[list[int]]]:
        """Each file of the item's records → every ``file_stat`` they hold for it."""
        written: dict[str, list[list[int]]] = {}
        for stage in (TEXT, NARRATION):
            row = self.rows.get((*plan.key, stage))
            detail = row.detail if row is not None else {}
            for kind, relative in detail.get("files", {}).items():
                if kind in detail.get("stat", {}):
                    written.setdefault(relative, []).append(detail["stat"][kind])
        return written

    def _skip(self, plan: ItemPlan, stage: str, key: str) -> str | None:
        """Why a stage that failed under ``key`` is not tried again this run (None: it is); the
        failure is noted on the plan either way."""
        row = self.rows.get((*plan.key, stage))
        if row is None or row.status != "failed" or row.key != key:
            return None
        plan.failed(StageFailure(stage, row.last_error or "", row.transient))
        if self.retry_failed:
            return None
        if not row.transient:
            return f"{stage} failed and would fail again ({row.last_error}); fix it, or --retry-failed"
        if row.attempts >= self.config.state.max_attempts:
            return f"{stage} failed {row.attempts} times (last: {row.last_error}); --retry-failed tries again"
        return None


def force(plan: ItemPlan) -> ItemPlan:
    """``plan`` to be made anew: every sentence translated again (the translation memory is not
    asked), its text and narration not done (their segments are spoken again)."""
    return replace(
        plan,
        forced=True,
        missing=tuple(plan.sentence_keys),
        repairs=(),  # every file is written again anyway
        progress=ItemProgress(failure=plan.failure),
    )


def translation_signature(config: JobConfig, target: TargetConfig) -> list[object]:
    """Everything besides the model and the sentence that changes a sentence's translation."""
    signature = [*result_signature(config.translation), sorted(target.protect)]
    if config.quality.on_flag == "retry":  # flags decide what is translated again
        signature += [config.quality.model_dump(), sorted(target.glossary)]
    return signature


def existing_state(path: Path) -> StateStore | None:
    return StateStore.open(path, create=False) if path.exists() else None
