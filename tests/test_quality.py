"""Quality flags, protected spans and the glossary: unit tests, then through the CLI."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.mt.marian import Hypothesis, ModelInfo
from pipeline.quality.flags import NUMBER, QualityRules, flags_for, missing_numbers, repetition
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


# Text to answer with, in each language: the scripted translators below answer a sentence with
# as much of it as the sentence is long, plus the sentence's numbers (so no length or number flags).
TEXT = {
    "uk": "Уряд оголосив нові заходи підтримки для енергетики після нічної атаки. Інженери працювали "
    "всю ніч, щоб відновити живлення лікарень і шкіл. Міністр подякував рятувальникам за їхню роботу "
    "і пообіцяв додаткове фінансування. Компанія повідомила, що ремонт триватиме кілька тижнів. "
    "Мешканці міста отримали попередження через мобільний застосунок. Партнери з Європи надіслали "
    "генератори та обладнання для підстанцій. Наступного тижня уряд розгляне нову програму.",
    "sq": "Qeveria njoftoi masa të reja mbështetjeje për energjinë pas sulmit të natës. Inxhinierët "
    "punuan gjithë natën për të rikthyer energjinë në spitale dhe shkolla. Ministri falënderoi "
    "shpëtimtarët për punën e tyre dhe premtoi financim shtesë. Kompania njoftoi se riparimet do të "
    "zgjasin disa javë. Banorët e qytetit morën paralajmërim përmes aplikacionit celular. Partnerët "
    "nga Europa dërguan gjeneratorë dhe pajisje për nënstacionet.",
    "ru": "Правительство объявило новые меры поддержки энергетики после ночной атаки. Инженеры "
    "работали всю ночь, чтобы восстановить электроснабжение больниц и школ. Министр поблагодарил "
    "спасателей за их работу и пообещал дополнительное финансирование. Компания сообщила, что ремонт "
    "продлится несколько недель. Жители города получили предупреждение через мобильное приложение.",
}
LOOP = {"uk": "за мир за мир за мир за мир", "sq": "për paqe për paqe për paqe për paqe"}


def fluent(language: str, piece: str) -> str:
    """As much of ``TEXT[language]`` as ``piece`` is long (30 characters at least), then its numbers."""
    words: list[str] = []
    for word in TEXT[language].split():
        if len(" ".join(words)) >= max(30, 0.8 * len(piece)):
            break
        words.append(word)
    return " ".join([*words, *NUMBER.findall(piece)])


@dataclass
class Scripted:
    """A loaded model whose answers are scripted: ``answer(piece, options)``, ``options`` being the
    decoding options of the variant asked (``{}`` for the model as loaded)."""

    real: Any
    answer: Callable[[str, dict[str, object]], str]
    variants: list[dict[str, object]]
    options: dict[str, object] = field(default_factory=dict)

    @property
    def info(self) -> ModelInfo:
        return self.real.info

    def count_tokens(self, sentences: list[str]) -> list[int]:
        return self.real.count_tokens(sentences)

    def translate(self, sentences: list[str]) -> list[Hypothesis]:
        return [Hypothesis(self.answer(s, self.options), 8, False) for s in sentences]

    def variant(self, **options: object) -> "Scripted":
        self.variants.append(options)
        return replace(self, options={**self.options, **options})


def script_translations(
    monkeypatch: pytest.MonkeyPatch, answer: Callable[[str, str, dict[str, object]], str]
) -> list[dict[str, object]]:
    """Every model the run loads answers ``answer(language, piece, options)``; returns the list
    that collects the options of each variant asked for."""
    from pipeline.stages import translate as stage

    variants: list[dict[str, object]] = []
    real = stage.load_translator

    def load(target, settings, pull_command=None):
        code = target.code
        return Scripted(real(target, settings, pull_command), lambda p, o: answer(code, p, o), variants)

    monkeypatch.setattr(stage, "load_translator", load)
    return variants


def sentences_of(job_dir: Path, language: str) -> list[dict]:
    records = [json.loads(p.read_text()) for p in sorted(job_dir.glob(f"*/{language}/article.json"))]
    return [s for record in records for p in record["paragraphs"] for s in p["sentences"]]


def test_retry_translates_flagged_sentences_again_and_keeps_the_better(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model loops on every sentence; its retry variant does not: the retries are kept."""

    def answer(language: str, piece: str, options: dict[str, object]) -> str:
        clean = fluent(language, piece)
        return clean if options else f"{clean} {LOOP[language]}"

    variants = script_translations(monkeypatch, answer)
    keep = write_config(name="keep.yaml")
    retry = write_config(name="retry.yaml", quality={"on_flag": "retry"}, output_dir="out-retry")
    assert invoke("run", str(keep)).exit_code == 0
    assert variants == []
    for language in ("uk", "sq"):  # kept as the model answered: every sentence loops
        kept = sentences_of(keep.parent / "out/test", language)
        assert kept and all(LOOP[language] in s["target"] for s in kept)
        assert all("repetition" in [f["type"] for f in s["flags"]] for s in kept)
    assert invoke("run", str(retry)).exit_code == 0
    assert variants == [{"repetition_penalty": 1.3, "no_repeat_ngram_size": 3}] * 2  # once per language
    for language in ("uk", "sq"):
        retried = sentences_of(retry.parent / "out-retry/test", language)
        assert len(retried) == len(sentences_of(keep.parent / "out/test", language))
        assert all(LOOP[language] not in s["target"] for s in retried), retried
        assert all("repetition" not in [f["type"] for f in s.get("flags", [])] for s in retried)


def test_a_translation_in_the_wrong_language_is_flagged_in_article_json(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Ukrainian model answers in Russian (as opus-mt-tc-big-en-zle can); Albanian stays Albanian."""
    script_translations(
        monkeypatch, lambda language, piece, _: fluent("ru" if language == "uk" else "sq", piece)
    )
    config = write_config()
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    job_dir = config.parent / "out/test"
    russian = sentences_of(job_dir, "uk")
    judged = [s for s in russian if len(s["target"].split()) >= 4]
    assert judged and all(
        any(f["type"] == "wrong_language" and f["detail"].startswith("Russian") for f in s.get("flags", []))
        for s in judged
    ), judged
    assert not any(
        f["type"] == "wrong_language" for s in sentences_of(job_dir, "sq") for f in s.get("flags", [])
    )
    items = json.loads((job_dir / "manifest.json").read_text())["items"]
    assert all(i["flags"].get("wrong_language", 0) >= 1 for i in items if i["language"] == "uk")
    assert not any("wrong_language" in i["flags"] for i in items if i["language"] == "sq")


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
