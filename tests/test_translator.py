"""The MarianMT translator on tiny local models: language tokens, long sentences, batching."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from pipeline.config import TranslationConfig, load_config
from pipeline.errors import ModelError
from pipeline.mt.batching import translate_sentences
from pipeline.mt.marian import MarianTranslator

from .conftest import WriteConfig

GREEDY = TranslationConfig(beam_size=1, max_length=10, batch_size=4, device="cpu")
SENTENCES = [
    "Ukraine and Albania signed a treaty on friendship and cooperation in Tirana on Feb. 28.",
    "The treaty covers trade.",
    "Ships carried 4.2 million tons of cargo through the corridor in February, the ministry said.",
    "Officials expect exports to grow.",
    "The treaty covers trade.",
]


@pytest.fixture
def targets(write_config: WriteConfig, articles: Path) -> dict:
    return {t.code: t for t in load_config(write_config()).targets}


def reference_generate(translator: MarianTranslator, sources: list[str]) -> list[str]:
    """Plain transformers, one sentence at a time, source text given exactly."""
    results = []
    for source in sources:
        batch = translator.tokenizer([source], return_tensors="pt")
        with torch.inference_mode():
            out = translator.model.generate(
                **batch,
                num_beams=1,
                do_sample=False,
                max_new_tokens=GREEDY.max_length,
                bad_words_ids=[[translator.model.config.pad_token_id]],
            )
        results.append(translator.tokenizer.decode(out[0], skip_special_tokens=True).strip())
    return results


def test_language_token_goes_before_every_source_sentence(targets: dict) -> None:
    translator = MarianTranslator(targets["uk"], GREEDY)
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
    assert translator.count_tokens(["The treaty covers trade."])[0] == len(
        translator.tokenizer(">>ukr<< The treaty covers trade.")["input_ids"]
    )


def test_bilingual_model_takes_sentences_as_they_are(targets: dict) -> None:
    translator = MarianTranslator(targets["sq"], GREEDY)
    assert translator.lang_token is None
    assert [h.text for h in translator.translate(SENTENCES[:2])] == reference_generate(
        translator, SENTENCES[:2]
    )


def test_unknown_language_token_is_refused_with_the_model_s_tokens(targets: dict) -> None:
    with pytest.raises(
        ModelError,
        match=r"languages.uk.lang_token: '>>pol<<' is not in the vocabulary .*"
        r"its language tokens are >>bel<<, >>rus<<, >>ukr<<",
    ):
        MarianTranslator(replace(targets["uk"], lang_token=">>pol<<"), GREEDY)
    with pytest.raises(ModelError, match="it has no language tokens"):
        MarianTranslator(replace(targets["sq"], lang_token=">>sqi<<"), GREEDY)


def test_multi_target_model_without_a_known_token_asks_for_one(targets: dict) -> None:
    from pipeline.languages import LANGUAGES

    russian = replace(targets["uk"], code="ru", language=LANGUAGES["ru"])
    with pytest.raises(
        ModelError, match="translates into several languages; set lang_token to one of >>bel<<"
    ):
        MarianTranslator(russian, GREEDY)


def test_batched_translation_equals_one_by_one_under_greedy_decoding(targets: dict) -> None:
    for code in ("sq", "uk"):
        translator = MarianTranslator(targets[code], GREEDY)
        batched = translate_sentences(translator, SENTENCES, batch_size=8)
        single = translate_sentences(translator, SENTENCES, batch_size=1)
        assert {s: t.target for s, t in batched.items()} == {s: t.target for s, t in single.items()}
        assert len({t.target for t in batched.values()}) > 1  # outputs really depend on the input


def test_progress_is_reported_per_batch_and_duplicates_are_translated_once(targets: dict) -> None:
    translator = MarianTranslator(targets["sq"], GREEDY)
    calls: list[tuple[int, int]] = []
    results = translate_sentences(
        translator, SENTENCES, batch_size=2, on_progress=lambda d, t: calls.append((d, t))
    )
    assert set(results) == set(SENTENCES)
    assert calls == [(2, 4), (4, 4)]  # four distinct sentences in batches of two


def test_sentence_over_the_512_token_window_is_split_not_truncated(targets: dict) -> None:
    translator = MarianTranslator(targets["uk"], GREEDY)
    clause = "the ministers discussed trade, culture, education and the environment in Tirana"
    long_sentence = ", and ".join([clause] * 40) + "."
    assert translator.count_tokens([long_sentence])[0] > 512
    outcome = translate_sentences(translator, [long_sentence, "Short one."], batch_size=8)
    result = outcome[long_sentence]
    assert result.parts >= 2
    assert result.target
    # every part fits the window, and the parts cover the whole sentence
    from pipeline.mt.long_sentences import split_to_fit

    parts = split_to_fit(long_sentence, lambda s: translator.count_tokens([s])[0], 512)
    assert len(parts) == result.parts
    assert all(translator.count_tokens([p])[0] <= 512 for p in parts)
    assert " ".join(parts).split() == long_sentence.split()


def test_hitting_max_length_is_reported(targets: dict) -> None:
    translator = MarianTranslator(targets["sq"], GREEDY)
    hypotheses = translator.translate(SENTENCES[:1])
    # random weights rarely produce </s>, so 10 generated tokens is the limit being hit
    assert hypotheses[0].tokens == 10 and hypotheses[0].hit_limit


def test_model_info_records_what_was_used(targets: dict) -> None:
    info = MarianTranslator(
        targets["uk"], TranslationConfig(beam_size=3, max_length=2000 // 2, device="cpu")
    ).info
    assert (info.model, info.lang_token, info.device, info.max_input_tokens) == (
        targets["uk"].model,
        ">>ukr<<",
        "cpu",
        512,
    )
    assert info.max_output_tokens == 511  # capped at the model's 512 positions


def test_cuda_requested_without_a_gpu_is_a_config_error(targets: dict) -> None:
    from pipeline.errors import ConfigError

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match=r"translation\.device: is 'cuda' but PyTorch sees no CUDA device"):
        MarianTranslator(targets["sq"], TranslationConfig(device="cuda"))
