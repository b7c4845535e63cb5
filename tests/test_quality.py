"""Quality flags, protected spans and the glossary: unit tests, then through the CLI."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.quality.flags import QualityRules, flags_for, missing_numbers, repetition
from pipeline.quality.protect import mask, protection_pattern, unmask

from .conftest import WriteConfig

UK = QualityRules(script="Cyrillic")


def types(flags: list[dict[str, str]]) -> list[str]:
    return [flag["type"] for flag in flags]


def test_repetition_loops() -> None:
    assert repetition("the the the the", 3) == "the"
    assert repetition("very very good", 3) is None  # "very very" is English
    assert repetition("за мир за мир за мир у нас", 3) == "за мир"
    assert repetition("a b c a b c", 3) is None


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("Engineers restored power to 85,000 homes.", "Інженери відновили живлення 85 000 будинків.", []),
        ("Ships carried 4.2 million tons.", "Судна перевезли 4,2 мільйона тонн.", []),
        ("Ships carried 4.2 million tons.", "Судна перевезли мільйони тонн.", ["missing_number"]),
        ("The treaty covers trade and culture.", "The treaty covers trade and culture.",
         ["untranslated", "wrong_script"]),
        ("Zelensky flew to the Albanian capital on the evening.", "Зеленський.", ["length_ratio"]),
        ("Hello there friend.", "", ["empty"]),
        ("Ukraine and Albania signed a treaty.", "Україна Україна Україна Україна і Албанія.",
         ["repetition"]),
    ],
)  # fmt: skip
def test_flags(source: str, target: str, expected: list[str]) -> None:
    assert types(flags_for(source, target, UK)) == expected


def test_numbers_are_compared_whatever_their_separators() -> None:
    assert missing_numbers("At 7:30 a.m. on Feb. 28, 2024", "О 7:30 28 лютого 2024 року") == []
    assert missing_numbers("160 vessels and 11 drones", "160 суден") == ["11"]


def test_glossary_miss_is_flagged() -> None:
    glossary = {"Black Sea": "Чорне море"}
    assert types(
        flags_for("The Black Sea corridor works.", "Коридор у Чорному морі працює.", UK, glossary)
    ) == ["glossary_miss"]
    assert flags_for("The Black Sea corridor works.", "Коридор Чорне море працює.", UK, glossary) == []


def test_protected_spans_are_masked_with_numbers_the_sentence_lacks() -> None:
    pattern = protection_pattern(["Ukrenergo"])
    sentence = "Ukrenergo posted 70001 notes at https://ua.energy/news, write to press@ua.energy."
    masked = mask(sentence, pattern)
    assert [span for _, span in masked.spans] == ["Ukrenergo", "https://ua.energy/news", "press@ua.energy"]
    assert "70001" not in [placeholder for placeholder, _ in masked.spans]  # already in the sentence
    assert "Ukrenergo" not in masked.text and "https://" not in masked.text
    translated = masked.text.replace("posted", "опублікувала").replace("write to", "пишіть на")
    restored, moved = unmask(translated, masked)
    assert (
        restored == "Ukrenergo опублікувала 70001 notes at https://ua.energy/news, пишіть на press@ua.energy."
    )
    assert moved == []


def test_a_placeholder_the_model_dropped_still_gets_its_span_back() -> None:
    masked = mask("See https://example.org for more.", protection_pattern([]))
    restored, moved = unmask("Дивіться більше.", masked)
    assert restored == "Дивіться більше. https://example.org"
    assert moved == ["https://example.org"]


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


ARTICLE = (
    "date 2024-03-20 note\n\n"
    "Ukrenergo posted the schedule at https://ua.energy/outages and press@ua.energy answers questions.\n\n"
    "The Black Sea corridor carried 4.2 million tons in February.\n"
)


def test_protected_spans_survive_and_flags_are_recorded(
    write_config: WriteConfig, articles: Path, tiny_models: dict
) -> None:
    (articles / "outages.txt").write_text(ARTICLE, "utf-8")
    config = write_config(
        languages={
            "uk": {
                "model": str(tiny_models["uk"]),
                "protect": ["Ukrenergo"],
                "glossary": {"Black Sea": "Чорне море"},
            }
        }
    )
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    record = json.loads((config.parent / "out/test/outages/uk/article.json").read_text())
    first, second = record["paragraphs"][0]["sentences"][0], record["paragraphs"][1]["sentences"][0]
    for span in ("Ukrenergo", "https://ua.energy/outages", "press@ua.energy"):
        assert first["target"].count(span) == 1  # exactly, once, whatever the random model did
    assert "glossary_miss" in types(second["flags"])
    items = json.loads((config.parent / "out/test/manifest.json").read_text())["items"]
    assert next(i for i in items if i["article_id"] == "outages")["flags"] == record["flags"]
    assert record["flags"]["glossary_miss"] == 1


def repetition_flags(job_dir: Path) -> int:
    return sum(
        json.loads(p.read_text())["flags"].get("repetition", 0) for p in job_dir.glob("*/*/article.json")
    )


def test_retry_translates_flagged_sentences_again_and_keeps_the_better(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.stages import translate as stage

    variants: list[dict] = []
    real = stage.load_translator

    def spying(target, settings, pull_command=None):
        translator = real(target, settings, pull_command)
        make_variant = translator.variant

        def variant(**options):
            variants.append(options)
            return make_variant(**options)

        translator.variant = variant
        return translator

    monkeypatch.setattr(stage, "load_translator", spying)
    keep = write_config(name="keep.yaml")
    retry = write_config(name="retry.yaml", quality={"on_flag": "retry"}, output_dir="out-retry")
    assert invoke("run", str(keep)).exit_code == 0
    assert variants == []
    assert invoke("run", str(retry)).exit_code == 0
    assert variants == [{"repetition_penalty": 1.3, "no_repeat_ngram_size": 3}] * 2  # once per language
    assert repetition_flags(retry.parent / "out-retry/test") <= repetition_flags(keep.parent / "out/test")


def test_on_flag_fail_fails_flagged_articles_but_writes_them_for_review(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config(quality={"on_flag": "fail"})
    result = invoke("run", str(config))
    assert result.exit_code == 1
    assert "quality flags: " in result.stderr and "(on_flag: fail)" in result.stderr
    items = json.loads((config.parent / "out/test/manifest.json").read_text())["items"]
    assert {i["status"] for i in items} == {"failed"}  # random models flag everything
    assert all(i["stage"] == "text" and not i["transient"] for i in items)
    assert len(list((config.parent / "out/test").glob("*/*/article.txt"))) == 6
