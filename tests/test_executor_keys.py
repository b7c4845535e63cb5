"""Both executors key the same work the same way: a drift would re-narrate everything every night."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import (
    InputError,
    PermanentError,
    SpeechError,
    SpeechUnavailableError,
    TransientError,
    UnexpectedError,
)
from pipeline.executor.plan import Planner, force
from pipeline.executor.ray_executor import NarrateActor, error_from_wire, error_to_wire
from pipeline.items import SentenceTranslation
from pipeline.mt.marian import ModelInfo
from pipeline.stages.ingest import Ingest
from pipeline.stages.narrate import Narrate, script
from pipeline.stages.segment import split_outcomes
from pipeline.stages.translate import assemble_translation
from pipeline.state import StateStore

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .requirements import needs_espeak


def fake_translation(sentence: str) -> str:
    """Deterministic "translations", some empty (an empty sentence is left out of the spoken text)."""
    return "" if sentence.startswith("It") else sentence.upper()


@needs_espeak
@pytest.mark.parametrize("disclosure", ["start", "end", "none"])
def test_local_and_ray_executors_compute_identical_segment_and_narration_keys(
    write_config: WriteConfig, articles: Path, tmp_path: Path, disclosure: str
) -> None:
    config = load_config(
        write_config(
            tts={"engine": "espeak-ng", "disclosure": disclosure, "lexicon": {"sq": {"NATO": "Nato"}}}
        )
    )
    state = StateStore.open(tmp_path / "state.sqlite")
    narrate = Narrate(config.tts, config.targets)
    planner = Planner(config, state, narrate, retry_failed=False)
    segmented, _ = split_outcomes(Ingest()(SAMPLE_ARTICLES))
    info = ModelInfo("fake", None, None, None, "cpu", 512, 512)
    for target in config.targets:
        # the translation memory holds every sentence, so the planner keys the narration up front
        plans = planner.plan(segmented, target, fingerprint="fake")
        state.add_translations(
            (key, SentenceTranslation("", fake_translation(s)))
            for plan in plans
            for s, key in plan.sentence_keys.items()
        )
        plans = planner.plan(segmented, target, fingerprint="fake")
        actor = NarrateActor(config.tts, target, cached=set())
        for plan in plans:
            translations = {s: SentenceTranslation(s, fake_translation(s)) for s in plan.sentence_keys}
            item = assemble_translation(plan.segmented, target, config.translation, info, translations)
            segments = script(item, config.tts.disclosure)  # what the local executor speaks

            local_keys = planner.segment_keys(target, segments)
            known = {s: t.target for s, t in translations.items()}
            ray_script = actor.keyed_script([list(block) for block in plan.segmented.sentences], known)
            assert list(ray_script) == local_keys
            assert list(ray_script.values()) == [segment.text for segment in segments]
            assert planner.narration_key(plan, segments) == plan.narration_key  # planned == as narrated
        plan = plans[0]
        with pytest.raises(dataclasses.FrozenInstanceError):  # a plan is a value: decided once
            plan.skip = "changed afterwards"  # type: ignore[misc]
        forced = force(plan)  # --force plans anew: a new plan, the first one as it was
        assert forced.forced and forced.missing == tuple(plan.sentence_keys) and not forced.text_done
        assert not plan.forced and plan.narration_key is not None and forced.narration_key is None
    state.close()


@pytest.mark.parametrize(
    "error",
    [
        SpeechUnavailableError("429 Too Many Requests from the TTS endpoint after 5 tries"),
        SpeechError("espeak-ng has no voice 'xx'"),
        UnexpectedError("unexpected error while translating: KeyError: 'x'"),
    ],
)
def test_errors_keep_their_class_across_the_ray_boundary(error: Exception) -> None:
    back = error_from_wire(error_to_wire(error))  # type: ignore[arg-type]
    assert type(back) is type(error)
    assert str(back) == str(error) and back.transient == error.transient  # type: ignore[attr-defined]


def test_an_error_that_cannot_be_rebuilt_keeps_its_kind() -> None:
    permanent = error_from_wire(error_to_wire(InputError(Path("a.txt"), "empty file")))
    assert type(permanent) is PermanentError and str(permanent) == "a.txt: empty file"
    assert type(error_from_wire(["NoSuchError", "gone", True])) is TransientError
