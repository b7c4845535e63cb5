"""Run the translation and narration stages on a Ray cluster (``executor: ray``).

The same stage classes run as ``ray.data`` ``map_batches`` actor pools: translation actors load
the model once each; narration actors run the speech engine; the two stream into each other, and
the driver consumes finished articles as they arrive. The driver stays the only writer of the
state and of ``outputs/``: workers return translations and MP3 segments, the driver records them,
publishes and narrates-by-assembly exactly as the local executor does, so incremental runs, the
lock and crash recovery behave the same.

Ray is imported only here, and only when a config asks for it (``pip install '.[ray]'``).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from pipeline import errors
from pipeline.config import JobConfig, QualityConfig, TargetConfig, TranslationConfig, TtsConfig
from pipeline.errors import (
    ConfigError,
    ConfigIssue,
    PermanentError,
    PipelineError,
    TransientError,
    item_error,
)
from pipeline.executor.plan import ItemPlan
from pipeline.executor.recorder import NarrationWork
from pipeline.executor.worker import Worker
from pipeline.items import TEXT, SentenceTranslation
from pipeline.mt.marian import ModelInfo
from pipeline.stages.narrate import Narrate, script, segment_keys, spoken_script
from pipeline.stages.translate import Translate

log = logging.getLogger(__name__)


class TranslateActor:
    """A ``map_batches`` actor: the Translate stage for one language, loaded once per actor."""

    def __init__(self, target: TargetConfig, settings: TranslationConfig, quality: QualityConfig):
        self.stage = Translate(target, settings, None, quality)
        self.model = json.dumps(self.stage.info.state())

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        wanted = [json.loads(text) for text in batch["missing"]]
        results = self.stage(list(dict.fromkeys(s for sentences in wanted for s in sentences)))
        translations, errors = [], []
        for sentences in wanted:
            done, failed = {}, {}
            for s in sentences:
                result = results[s]
                if isinstance(result, SentenceTranslation):
                    done[s] = _translation(result)
                else:
                    failed[s] = error_to_wire(result)
            translations.append(json.dumps(done, ensure_ascii=False))
            errors.append(json.dumps(failed, ensure_ascii=False))
        return {**batch, "translations": translations, "errors": errors, "model": [self.model] * len(wanted)}


class NarrateActor:
    """A ``map_batches`` actor: speaks the segments of each article that no cache holds yet."""

    def __init__(self, tts: TtsConfig, target: TargetConfig, cached: set[str]):
        self.tts, self.target, self.cached = tts, target, set(cached)
        self.narrate = Narrate(tts, (target,))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        produced: list[str] = []
        failures: list[str] = []
        for index in range(len(batch["article_id"])):
            known = json.loads(batch["known"][index])
            if "translations" in batch:
                known.update({s: t[0] for s, t in json.loads(batch["translations"][index]).items()})
            known.update(json.loads(batch["overrides"][index]))  # editors' post-edits win
            blocks = json.loads(batch["blocks"][index])
            if any(s not in known for block in blocks for s in block):
                produced.append("{}")  # its translation failed: nothing to say
                failures.append("{}")
                continue
            new, failed = self._speak(self.keyed_script(blocks, known))
            produced.append(json.dumps(new))
            failures.append(json.dumps(failed, ensure_ascii=False))
        return {**batch, "segments": produced, "speech_errors": failures}

    def keyed_script(self, blocks: list[list[str]], known: dict[str, str]) -> dict[str, str]:
        """Segment key → text of the article's script, from its sentences' translations: the
        same script and keys the driver's planner computes (``spoken_script``, ``segment_keys``)."""
        segments = spoken_script(
            ([known[s] for s in block] for block in blocks), self.target, self.tts.disclosure
        )
        keys = segment_keys(self.target, self.narrate.cache_params(self.target), segments)
        return {key: segment.text for key, segment in zip(keys, segments, strict=True)}

    def _speak(self, script: dict[str, str]) -> tuple[dict[str, str], dict[str, list[Any]]]:
        """Speak the segments no cache holds: (key → base64 MP3, key → error on the wire)."""
        todo = {key: text for key, text in script.items() if key not in self.cached}
        error = self.narrate.engine_error(self.target)
        if error is not None:
            return {}, {key: error_to_wire(error) for key in todo}
        new, failed = {}, {}
        for key, result in zip(
            todo, self.narrate([(self.target, text) for text in todo.values()]), strict=True
        ):
            if isinstance(result, bytes):
                new[key] = base64.b64encode(result).decode("ascii")
                self.cached.add(key)
            else:
                failed[key] = error_to_wire(result)
        return new, failed


class RayWorker(Worker):
    """Does one run's work on Ray, recording every finished article in the driver."""

    def run(self) -> None:
        started = _start_ray(self.config)
        try:
            self.run_languages()
        finally:
            if started:
                import ray

                ray.shutdown()

    def run_language(self, target: TargetConfig, plans: list[ItemPlan]) -> None:
        import ray.data

        if not plans:
            return
        needs_model = any(plan.missing for plan in plans)
        if needs_model and plans[0].fingerprint.endswith(":uncached"):
            raise ConfigError(
                [
                    ConfigIssue(
                        f"languages.{target.code}.model",
                        f"{target.model!r} is not in this machine's cache; with executor: ray, run "
                        f"`pipeline models pull {self.config.path}` here and on every node first",
                    )
                ]
            )
        recorded = self.state.model_info(plans[0].fingerprint)
        model = ModelInfo.from_state(recorded) if recorded else None
        by_id = {plan.key[0]: plan for plan in plans}
        memory = self.state.translations(k for plan in plans for k in plan.sentence_keys.values())
        rows = [
            {
                "article_id": plan.key[0],
                "missing": json.dumps(plan.missing, ensure_ascii=False),
                "blocks": json.dumps(plan.segmented.sentences, ensure_ascii=False),
                "known": json.dumps(
                    {s: memory[k].target for s, k in plan.sentence_keys.items() if k in memory},
                    ensure_ascii=False,
                ),
                "overrides": json.dumps(plan.overrides, ensure_ascii=False),
            }
            for plan in plans
        ]
        dataset: Any = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
        settings = self.config.ray
        if needs_model:
            dataset = dataset.map_batches(
                TranslateActor,
                fn_constructor_kwargs={
                    "target": target, "settings": self.config.translation, "quality": self.config.quality,
                },
                batch_size=settings.translate.batch_size,
                compute=ray.data.ActorPoolStrategy(size=settings.translate.concurrency),
                num_cpus=settings.translate.num_cpus,
                num_gpus=settings.translate.num_gpus,
                batch_format="numpy",
            )  # fmt: skip
        narrated = self.narrate.wants(target)
        if narrated:
            cached = self._cached_segments(plans, memory)
            dataset = dataset.map_batches(
                NarrateActor,
                fn_constructor_kwargs={"tts": self.config.tts, "target": target, "cached": cached},
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=settings.tts.concurrency),
                num_cpus=settings.tts.num_cpus,
                batch_format="numpy",
            )
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for index in range(len(batch["article_id"])):
                row = {name: values[index] for name, values in batch.items()}
                plan = by_id[str(row["article_id"])]
                try:
                    model = self._record(target, plan, row, model, narrated)
                except Exception as exc:  # one article's surprise fails that article-language only
                    self.recorder.failed(plan, TEXT, plan.text_key, item_error(exc, "recording the article"))
            if self.stopped:
                break

    def _cached_segments(self, plans: list[ItemPlan], memory: dict[str, SentenceTranslation]) -> set[str]:
        """The keys of this run's segments the cache already holds (not every key ever stored);
        a forced plan's segments count as not cached, so the actors speak them again."""
        keys: list[str] = []
        forced: set[str] = set()
        for plan in plans:
            known = self.planner.known_segment_keys(plan, memory)[0]
            keys += known
            if plan.forced:
                forced.update(known)
        return self.state.cached_segment_keys(keys) - forced

    def _record(
        self,
        target: TargetConfig,
        plan: ItemPlan,
        row: dict[str, Any],
        model: ModelInfo | None,
        narrated: bool,
    ) -> ModelInfo | None:
        if "model" in row:
            loaded = ModelInfo.from_state(json.loads(row["model"]))
            if model is None or model != loaded:
                self.state.set_model_info(plan.fingerprint, loaded.state())
            model = loaded
        translations = json.loads(row["translations"]) if "translations" in row else {}
        self.state.add_translations(
            (plan.sentence_keys[s], SentenceTranslation(s, t[0], t[1], t[2], tuple(t[3])))
            for s, t in translations.items()
        )
        errors = {
            s: error_from_wire(e) for s, e in (json.loads(row["errors"]) if "errors" in row else {}).items()
        }
        if model is None:  # nothing was translated and no run ever recorded the model: cannot publish
            errors = errors or {s: PermanentError("the model was never loaded") for s in plan.missing}
        translated = self.recorder.translations(target, [plan], model, errors, narrated) if model else []
        if not translated:
            return model
        _, item = translated[0]
        segments = script(item, self.config.tts.disclosure)
        plan.progress.narration_key = self.planner.narration_key(plan, segments)
        keys = self.planner.segment_keys(target, segments)
        for key, encoded in json.loads(row["segments"]).items():
            self.state.add_segment(key, base64.b64decode(encoded))
        speech_errors = {k: error_from_wire(e) for k, e in json.loads(row["speech_errors"]).items()}
        if (engine_error := self.narrate.engine_error(target)) is not None:
            speech_errors = dict.fromkeys(keys, engine_error)
        audio = self.state.segments(keys)
        self.recorder.narration(NarrationWork(plan, item, segments, keys), audio, speech_errors)
        return model


def _translation(t: SentenceTranslation) -> list[Any]:
    return [t.target, t.parts, t.hit_limit, list(t.moved)]


def error_to_wire(error: PipelineError) -> list[Any]:
    """An error as JSON for the trip from a Ray worker to the driver: class name, message, transient."""
    return [type(error).__name__, str(error), error.transient]


def error_from_wire(wire: list[Any]) -> PipelineError:
    """The error a worker sent, rebuilt as its own class (``SpeechUnavailableError``, ...) when that
    is one of ``pipeline.errors`` made from a message; else a generic one of the same kind."""
    name, message, transient = wire
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, PipelineError) and cls.transient == transient:
        try:
            return cls(message)
        except TypeError:  # a class built from other arguments (ConfigError, InputError)
            pass
    return TransientError(message) if transient else PermanentError(message)


def _start_ray(config: JobConfig) -> bool:
    """Connect to (or start) the cluster the config names; True if this run started it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError(
            [
                ConfigIssue(
                    "executor",
                    "is 'ray' but Ray is not installed: pip install '.[ray]'",
                    origin=str(config.path),
                )
            ]
        ) from None
    level = max(logging.WARNING, _console_level())  # our progress, not Ray's; -q silences its warnings
    for name in ("ray", "ray.data", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(level)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    if ray.is_initialized():
        return False
    address = config.ray.address or None
    log.info("starting Ray (%s)", address or "a local cluster")
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=level)
    return True


def _console_level() -> int:
    """The lowest level the console shows (the CLI's -v / -q), not counting the run log file."""
    handlers = [h for h in logging.getLogger().handlers if not isinstance(h, logging.FileHandler)]
    return min((h.level for h in handlers), default=logging.WARNING)
