"""Decoding settings on both backends: what the checkpoint declares, the length bound, max_length.

The models here are the tiny test models with one thing changed: a ``generation_config.json``
that declares more, a bias that keeps ``</s>`` from ever being generated (a sentence the model
never ends), or one that puts probability mass on ``<pad>`` (which decoding must never produce).
"""

import json
import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from pipeline.config import TargetConfig, TranslationConfig, load_config
from pipeline.mt import marian
from pipeline.mt.backends import load_translator, result_signature
from pipeline.mt.batching import translate_sentences
from pipeline.mt.ctranslate2_backend import CTranslate2Translator
from pipeline.mt.marian import Hypothesis
from pipeline.mt.transformers_backend import TransformersTranslator
from pipeline.state.keys import model_fingerprint

from .conftest import WriteConfig

BACKENDS = ["transformers", "ctranslate2"]
SENTENCES = [
    "Ukraine and Albania signed a treaty on friendship and cooperation in Tirana on Feb. 28.",
    "The treaty covers trade.",
    "Ships carried 4.2 million tons of cargo through the corridor in February, the ministry said.",
    "Officials expect exports to grow.",
    "Engineers restored power to thousands of homes.",
    "The president said the agreement covers trade, culture and education.",
]
SHORT = "The treaty covers trade."


def settings(backend: str, tmp_path: Path, **changes: object) -> TranslationConfig:
    base = {"beam_size": 1, "batch_size": 8, "device": "cpu", "compute_type": "float32"}
    return TranslationConfig(backend=backend, cache_dir=str(tmp_path / "cache"), **{**base, **changes})


@pytest.fixture
def sq(write_config: WriteConfig, articles: Path) -> TargetConfig:
    return next(t for t in load_config(write_config()).targets if t.code == "sq")


Variant = Callable[..., TargetConfig]


@pytest.fixture
def variant(sq: TargetConfig, tmp_path: Path) -> Variant:
    """A copy of the tiny sq model with ``generation`` merged into its generation_config.json and
    ``bias`` (token id → value) added to its output bias."""

    def make(name: str, generation: dict[str, Any] | None = None, bias: dict[int, float] | None = None):
        folder = tmp_path / name
        shutil.copytree(sq.model, folder)
        if bias:
            from transformers import MarianMTModel

            model = MarianMTModel.from_pretrained(folder)
            with torch.no_grad():
                for token, value in bias.items():
                    model.final_logits_bias[0, token] += value
            model.save_pretrained(folder)
        path = folder / "generation_config.json"
        path.write_text(json.dumps({**json.loads(path.read_text("utf-8")), **(generation or {})}), "utf-8")
        return replace(sq, model=str(folder))

    return make


def config_ids(target: TargetConfig) -> dict[str, int]:
    return json.loads((Path(target.model) / "config.json").read_text("utf-8"))


def spy_generate(translator: TransformersTranslator) -> list[Any]:
    """Record the GenerationConfig of every ``generate`` call of ``translator``."""
    seen: list[Any] = []
    generate = translator.model.generate

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs["generation_config"])
        return generate(**kwargs)

    translator.model.generate = spy  # type: ignore[method-assign]
    return seen


def generated_pieces(translator: Any, sentences: list[str]) -> list[list[str]]:
    """The target pieces each sentence's translation was generated as (special tokens left out)."""
    tokenizer = translator.vocabulary.tokenizer
    if isinstance(translator, CTranslate2Translator):
        spy = translator.engine = EngineSpy(translator.engine)
        translator.translate(sentences)
        return [r.hypotheses[0] for r in spy.results]
    outputs: list[Any] = []
    generate = translator.model.generate
    translator.model.generate = lambda **kwargs: outputs.append(generate(**kwargs)) or outputs[-1]
    translator.translate(sentences)
    special = set(tokenizer.all_special_tokens)
    rows = [tokenizer.convert_ids_to_tokens(row) for row in outputs[0].tolist()]
    return [[p for p in row if p not in special] for row in rows]


class EngineSpy:
    """Stands in for a ``ctranslate2.Translator``, recording the options of every batch."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.calls: list[tuple[int, dict[str, Any]]] = []
        self.results: list[Any] = []

    def translate_batch(self, source: list[list[str]], **options: Any) -> Any:
        self.calls.append((max(len(s) for s in source), options))
        results = self.engine.translate_batch(source, **options)
        self.results.extend(results)
        return results


# ---------------------------------------------------------------------------------------------
# 1. The checkpoint's own decoding settings


def test_checkpoint_renormalize_logits_reaches_generate(
    variant: Variant, sq: TargetConfig, tmp_path: Path
) -> None:
    plain = TransformersTranslator(sq, settings("transformers", tmp_path, beam_size=4))
    seen = spy_generate(plain)
    plain.translate([SHORT])
    assert seen[-1].renormalize_logits is False  # the tiny checkpoint does not declare it

    declared = variant("renormalized", {"renormalize_logits": True})
    translator = TransformersTranslator(declared, settings("transformers", tmp_path, beam_size=4))
    seen = spy_generate(translator)
    translator.translate([SHORT])
    assert seen[-1].renormalize_logits is True
    assert translator.variant(repetition_penalty=1.3).generation.renormalize_logits is True  # retries too
    # what the checkpoint suggests as *our* choices is still ignored
    assert (seen[-1].num_beams, seen[-1].forced_eos_token_id) == (4, None)


def test_renormalized_reference_matches_ctranslate2_when_the_model_puts_mass_on_pad(
    variant: Variant, sq: TargetConfig, tmp_path: Path
) -> None:
    """CTranslate2 drops <pad> from the vocabulary, so its scores are normalised without it; the
    reference bans <pad> after the log-softmax, and only renormalising makes the two agree."""
    pad = config_ids(sq)["pad_token_id"]
    model = variant("pad-heavy", {"renormalize_logits": True}, bias={pad: 6.0})
    options = {"beam_size": 4, "max_length": 20}
    reference = TransformersTranslator(model, settings("transformers", tmp_path, **options))
    fast = CTranslate2Translator(model, settings("ctranslate2", tmp_path, **options))
    assert [h.text for h in reference.translate(SENTENCES)] == [h.text for h in fast.translate(SENTENCES)]
    unnormalised = reference.variant(renormalize_logits=False).translate(SENTENCES)
    assert [h.text for h in unnormalised] != [h.text for h in fast.translate(SENTENCES)]  # it matters here


@pytest.mark.parametrize("backend", BACKENDS)
def test_checkpoint_bad_words_are_never_generated(
    variant: Variant, sq: TargetConfig, tmp_path: Path, backend: str
) -> None:
    options = settings(backend, tmp_path, max_length=20)
    produced = generated_pieces(load_translator(sq, options), SENTENCES)
    common = max({p for ps in produced for p in ps}, key=lambda p: sum(ps.count(p) for ps in produced))
    tokenizer = load_translator(sq, options).vocabulary.tokenizer  # type: ignore[attr-defined]
    banned = tokenizer.convert_tokens_to_ids(common)
    pad = config_ids(sq)["pad_token_id"]

    declared = variant("banned", {"bad_words_ids": [[pad], [banned]]})
    translator = load_translator(declared, options)
    assert translator.info.decoding["bad_words_ids"] == [[pad], [banned]]
    produced = generated_pieces(translator, SENTENCES)
    assert all(pieces for pieces in produced)
    assert not [pieces for pieces in produced if common in pieces]


def test_checkpoint_decoding_is_recorded_and_changes_the_translation_key(
    variant: Variant, sq: TargetConfig, tmp_path: Path
) -> None:
    plain = variant("plain")
    declared = variant("declared", {"renormalize_logits": True})
    for backend in BACKENDS:
        info = load_translator(declared, settings(backend, tmp_path)).info
        assert info.decoding["renormalize_logits"] is True
        assert info.as_dict()["decoding"]["renormalize_logits"] is True  # article.json says so
        default = load_translator(plain, settings(backend, tmp_path)).info
        assert default.decoding["renormalize_logits"] is False
    assert model_fingerprint(plain.model, None, True) != model_fingerprint(declared.model, None, True)


# ---------------------------------------------------------------------------------------------
# 2. Output bounded by the source: max_length_ratio x source tokens + LENGTH_SLACK


def bound(source_tokens: int, ratio: float = 3) -> int:
    return min(math.ceil(ratio * source_tokens) + marian.LENGTH_SLACK, 511)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sentence_the_model_never_ends_stops_at_the_source_bound(
    variant: Variant, sq: TargetConfig, tmp_path: Path, backend: str
) -> None:
    endless = variant("endless", bias={config_ids(sq)["eos_token_id"]: -1e4})
    translator = load_translator(endless, settings(backend, tmp_path))  # max_length: auto (511)
    (source,) = translator.count_tokens([SHORT])
    (hypothesis,) = translator.translate([SHORT])
    assert hypothesis.tokens == bound(source) < 511
    assert hypothesis.hit_limit

    wider = load_translator(endless, settings(backend, tmp_path, max_length_ratio=5))
    assert wider.translate([SHORT])[0].tokens == bound(source, 5)
    unbounded = load_translator(endless, settings(backend, tmp_path, max_length_ratio=0, max_length=60))
    assert unbounded.translate([SHORT])[0].tokens == 60  # 0: only max_length bounds it
    forced = load_translator(endless, settings(backend, tmp_path, max_length=80, min_length=70))
    assert forced.translate([SHORT])[0].tokens == 70  # min_length is honoured over the ratio


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_bound_is_set_per_batch_from_its_longest_source(
    variant: Variant, sq: TargetConfig, tmp_path: Path, backend: str
) -> None:
    endless = variant("endless", bias={config_ids(sq)["eos_token_id"]: -1e4})
    translator = load_translator(endless, settings(backend, tmp_path))
    counts = dict(zip(SENTENCES, translator.count_tokens(SENTENCES), strict=True))
    if isinstance(translator, CTranslate2Translator):
        spy = translator.engine = EngineSpy(translator.engine)
    else:
        seen = spy_generate(translator)  # type: ignore[arg-type]
    batches: list[tuple[list[str], list[Hypothesis]]] = []
    translate = translator.translate

    def recording(batch: list[str]) -> list[Hypothesis]:
        batches.append((batch, translate(batch)))
        return batches[-1][1]

    translator.translate = recording  # type: ignore[method-assign]
    results = translate_sentences(translator, SENTENCES, batch_size=3)

    assert len(batches) == 2 and all(t.hit_limit for t in results.values())
    limits = [bound(max(counts[s] for s in batch)) for batch, _ in batches]
    assert limits[0] > limits[1]  # length-sorted: the short sentences get a tighter bound
    for (_, hypotheses), limit in zip(batches, limits, strict=True):
        assert [h.tokens for h in hypotheses] == [limit] * 3
    if isinstance(translator, CTranslate2Translator):
        assert [options["max_decoding_length"] for _, options in spy.calls] == limits
    else:
        assert [g.max_new_tokens for g in seen] == limits


def test_max_length_ratio_is_part_of_the_result_signature(tmp_path: Path) -> None:
    for backend in BACKENDS:
        three = result_signature(settings(backend, tmp_path))
        assert three != result_signature(settings(backend, tmp_path, max_length_ratio=2))
        assert three == result_signature(settings(backend, tmp_path, max_length_ratio=3))


# ---------------------------------------------------------------------------------------------
# 3. The default max_length fits the model


@pytest.mark.parametrize("backend", BACKENDS)
def test_default_max_length_fits_the_model_without_a_warning(
    sq: TargetConfig, tmp_path: Path, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    defaults = TranslationConfig(backend=backend, device="cpu", cache_dir=str(tmp_path / "cache"))
    with caplog.at_level(logging.WARNING):
        translator = load_translator(sq, defaults)
    assert translator.info.max_output_tokens == 511  # the model's 512 positions, less the start token
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text

    with caplog.at_level(logging.WARNING):
        capped = load_translator(sq, defaults.model_copy(update={"max_length": 600}))
    assert capped.info.max_output_tokens == 511
    assert "translation.max_length 600 exceeds the model's 512 positions; using 511" in caplog.text


def test_a_run_with_the_default_max_length_logs_no_warning(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    config = write_config(translation={"beam_size": 1, "device": "cpu"})
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "exceeds the model's" not in result.stderr, result.stderr
    record = json.loads(next((tmp_path / "out" / "test").glob("*/sq/article.json")).read_text("utf-8"))
    assert record["generation"]["max_length"] == 511


def test_max_length_is_auto_by_default_and_takes_a_number() -> None:
    assert TranslationConfig().max_length == "auto"
    assert TranslationConfig(max_length=64).max_length == 64
    assert TranslationConfig().max_length_ratio == 3
    for wrong in (0, 1025, "longest", True, 12.5):
        with pytest.raises(
            ValueError, match=r"max_length\n.*must be auto or a number of tokens from 1 to 1024"
        ):
            TranslationConfig(max_length=wrong)
