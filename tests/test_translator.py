"""Both MarianMT backends on tiny local models: language tokens, long sentences, batching, parity."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from pipeline.config import TranslationConfig, load_config
from pipeline.errors import ConfigError, ModelError
from pipeline.mt.backends import load_translator
from pipeline.mt.batching import token_batches, translate_sentences
from pipeline.mt.ctranslate2_backend import CTranslate2Translator
from pipeline.mt.long_sentences import split_to_fit
from pipeline.mt.transformers_backend import TransformersTranslator

from .conftest import WriteConfig

SENTENCES = [
    "Ukraine and Albania signed a treaty on friendship and cooperation in Tirana on Feb. 28.",
    "The treaty covers trade.",
    "Ships carried 4.2 million tons of cargo through the corridor in February, the ministry said.",
    "Officials expect exports to grow.",
    "The treaty covers trade.",
]
BACKENDS = ["transformers", "ctranslate2"]


def settings(backend: str, tmp_path: Path, **changes: object) -> TranslationConfig:
    base = {"beam_size": 1, "max_length": 10, "batch_size": 4, "device": "cpu", "compute_type": "float32"}
    return TranslationConfig(backend=backend, cache_dir=str(tmp_path / "cache"), **{**base, **changes})


@pytest.fixture
def targets(write_config: WriteConfig, articles: Path) -> dict:
    return {t.code: t for t in load_config(write_config()).targets}


def reference_generate(translator: TransformersTranslator, sources: list[str]) -> list[str]:
    """Plain transformers, one sentence at a time, source text given exactly."""
    results = []
    for source in sources:
        batch = translator.tokenizer([source], return_tensors="pt")
        with torch.inference_mode():
            out = translator.model.generate(
                **batch, num_beams=1, do_sample=False, max_new_tokens=10,
                bad_words_ids=[[translator.model.config.pad_token_id]],
            )  # fmt: skip
        results.append(translator.tokenizer.decode(out[0], skip_special_tokens=True).strip())
    return results


def test_language_token_goes_before_every_source_sentence(targets: dict, tmp_path: Path) -> None:
    translator = TransformersTranslator(targets["uk"], settings("transformers", tmp_path))
    assert translator.lang_token == ">>ukr<<"  # the default for uk, found in the model's vocabulary
    seen: list[dict] = []
    generate = translator.model.generate

    def spy(**kwargs):
        seen.append(kwargs)
        return generate(**kwargs)

    translator.model.generate = spy
    got = [h.text for h in translator.translate(SENTENCES[:3])]
    ukr_id = translator.tokenizer.convert_tokens_to_ids(">>ukr<<")
    assert [row[0] for row in seen[0]["input_ids"].tolist()] == [ukr_id] * 3  # on the source side
    assert "decoder_input_ids" not in seen[0]  # not forced as a decoder prefix
    assert got == reference_generate(translator, [f">>ukr<< {s}" for s in SENTENCES[:3]])

    ct2 = CTranslate2Translator(targets["uk"], settings("ctranslate2", tmp_path))
    assert ct2.vocabulary.source_pieces("The treaty")[0] == ">>ukr<<"
    assert ct2.count_tokens(["The treaty covers trade."]) == translator.count_tokens(
        ["The treaty covers trade."]
    )


@pytest.mark.parametrize("code", ["sq", "uk"])
@pytest.mark.parametrize("beams", [1, 4])
def test_both_backends_give_the_same_translations_in_float32(
    targets: dict, tmp_path: Path, code: str, beams: int
) -> None:
    reference = TransformersTranslator(targets[code], settings("transformers", tmp_path, beam_size=beams))
    fast = CTranslate2Translator(targets[code], settings("ctranslate2", tmp_path, beam_size=beams))
    assert fast.info.backend == "ctranslate2" and fast.info.compute_type == "float32"
    expected = reference.translate(SENTENCES)
    got = fast.translate(SENTENCES)
    assert [h.text for h in got] == [h.text for h in expected]
    assert [(h.tokens, h.hit_limit) for h in got] == [(h.tokens, h.hit_limit) for h in expected]


@pytest.mark.parametrize("backend", BACKENDS)
def test_length_limits_hold_on_both_backends(targets: dict, tmp_path: Path, backend: str) -> None:
    forced = load_translator(targets["sq"], settings(backend, tmp_path, max_length=7, min_length=7))
    assert {h.tokens for h in forced.translate(SENTENCES)} == {7}
    assert all(h.hit_limit for h in forced.translate(SENTENCES[:1]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_language_token_is_refused_with_the_model_s_tokens(
    targets: dict, tmp_path: Path, backend: str
) -> None:
    with pytest.raises(
        ModelError,
        match=r"languages.uk.lang_token: '>>pol<<' is not in the vocabulary .*"
        r"its language tokens are >>bel<<, >>rus<<, >>ukr<<",
    ):
        load_translator(replace(targets["uk"], lang_token=">>pol<<"), settings(backend, tmp_path))
    with pytest.raises(ModelError, match="it has no language tokens"):
        load_translator(replace(targets["sq"], lang_token=">>sqi<<"), settings(backend, tmp_path))


def test_multi_target_model_without_a_known_token_asks_for_one(targets: dict, tmp_path: Path) -> None:
    from pipeline.languages import LANGUAGES

    russian = replace(targets["uk"], code="ru", language=LANGUAGES["ru"])
    with pytest.raises(
        ModelError, match="translates into several languages; set lang_token to one of >>bel<<"
    ):
        load_translator(russian, settings("ctranslate2", tmp_path))


@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_translation_equals_one_by_one_under_greedy_decoding(
    targets: dict, tmp_path: Path, backend: str
) -> None:
    for code in ("sq", "uk"):
        translator = load_translator(targets[code], settings(backend, tmp_path))
        batched = translate_sentences(translator, SENTENCES, batch_size=8)
        single = translate_sentences(translator, SENTENCES, batch_size=1)
        assert {s: t.target for s, t in batched.items()} == {s: t.target for s, t in single.items()}
        assert len({t.target for t in batched.values()}) > 1  # outputs really depend on the input


def test_batches_are_length_sorted_and_bounded_by_tokens(targets: dict, tmp_path: Path) -> None:
    counts = {"a": 50, "b": 40, "c": 30, "d": 10, "e": 10, "f": 5}
    assert token_batches(list(counts), counts, batch_size=10, batch_tokens=100) == [
        ["a", "b"],  # 2 x 50 padded tokens
        ["c", "d", "e"],  # 3 x 30
        ["f"],
    ]
    assert token_batches(list(counts), counts, batch_size=2, batch_tokens=0) == [
        ["a", "b"],
        ["c", "d"],
        ["e", "f"],
    ]

    translator = load_translator(targets["sq"], settings("ctranslate2", tmp_path))
    sizes: list[int] = []
    translate = translator.translate
    translator.translate = lambda batch: sizes.append(len(batch)) or translate(batch)  # type: ignore[method-assign]
    translate_sentences(translator, SENTENCES, batch_size=8, batch_tokens=60)
    assert sum(sizes) == 4 and max(sizes) < 4  # four distinct sentences, no batch over 60 tokens


def test_progress_is_reported_per_batch_and_duplicates_are_translated_once(
    targets: dict, tmp_path: Path
) -> None:
    translator = load_translator(targets["sq"], settings("ctranslate2", tmp_path))
    calls: list[tuple[int, int]] = []
    results = translate_sentences(
        translator, SENTENCES, batch_size=2, on_progress=lambda d, t: calls.append((d, t))
    )
    assert set(results) == set(SENTENCES)
    assert calls == [(2, 4), (4, 4)]  # four distinct sentences in batches of two


@pytest.mark.parametrize("backend", BACKENDS)
def test_sentence_over_the_512_token_window_is_split_not_truncated(
    targets: dict, tmp_path: Path, backend: str
) -> None:
    translator = load_translator(targets["uk"], settings(backend, tmp_path))
    clause = "the ministers discussed trade, culture, education and the environment in Tirana"
    long_sentence = ", and ".join([clause] * 40) + "."
    assert translator.count_tokens([long_sentence])[0] > 512
    outcome = translate_sentences(translator, [long_sentence, "Short one."], batch_size=8)
    result = outcome[long_sentence]
    assert result.parts >= 2
    assert result.target
    parts = split_to_fit(long_sentence, lambda s: translator.count_tokens([s])[0], 512)
    assert len(parts) == result.parts
    assert all(translator.count_tokens([p])[0] <= 512 for p in parts)
    assert " ".join(parts).split() == long_sentence.split()


def test_model_info_records_what_was_used(targets: dict, tmp_path: Path) -> None:
    info = TransformersTranslator(targets["uk"], settings("transformers", tmp_path, max_length=1000)).info
    assert (info.model, info.lang_token, info.device, info.max_input_tokens) == (
        targets["uk"].model, ">>ukr<<", "cpu", 512,
    )  # fmt: skip
    assert info.max_output_tokens == 511  # capped at the model's 512 positions
    fast = CTranslate2Translator(targets["sq"], settings("ctranslate2", tmp_path, compute_type="auto")).info
    assert (fast.backend, fast.compute_type) == ("ctranslate2", "int8")  # int8 on CPU by default


def test_conversion_is_cached_by_model_and_quantization(targets: dict, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "ctranslate2"
    CTranslate2Translator(targets["sq"], settings("ctranslate2", tmp_path))
    CTranslate2Translator(targets["sq"], settings("ctranslate2", tmp_path))
    assert len(list(cache.iterdir())) == 1
    CTranslate2Translator(targets["sq"], settings("ctranslate2", tmp_path, compute_type="int8"))
    assert len([p for p in cache.iterdir() if (p / "model.bin").is_file()]) == 2
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no half-made conversion left


@pytest.mark.parametrize("backend", BACKENDS)
def test_cuda_requested_without_a_gpu_is_a_config_error(targets: dict, tmp_path: Path, backend: str) -> None:
    from pipeline.mt.device import cuda_available

    if cuda_available(backend):
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match=r"translation\.device: is 'cuda' but .* sees no CUDA device"):
        load_translator(targets["sq"], settings(backend, tmp_path, device="cuda"))
