"""The wrong_language flag: a translation in a neighbouring language (Russian or Belarusian for
Ukrainian, Italian or English for Albanian), found by a language identifier and by letters."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError

from pipeline.config import QualityConfig
from pipeline.quality import language_id
from pipeline.quality.flags import QualityRules, flags_for
from pipeline.quality.language_id import detector, judged_text, letter_evidence, wrong_language

UK = QualityRules(script="Cyrillic", language="uk")
SQ = QualityRules(script="Latin", language="sq")
SOURCE = "The source sentence is not what this check looks at."

UKRAINIAN = [
    "Президент України Володимир Зеленський прибув до Тирани на саміт.",
    "Прем'єр-міністр Албанії Еді Рама зустрів його в аеропорту.",
    "Укренерго повідомило про відключення світла в Києві та Харкові.",
    "Через зернений коридор у лютому пройшли 160 суден.",
    "Він сказав, що це історичний день.",
    "Генеральний секретар НАТО Марк Рютте прибув у Вільнюс.",
    "Президент сказав, що вона не знала.",
    "Тирана, Дуррес і Шкодер отримали гранти.",
    "Ми не здамося, сказав президент.",
    # Latin names, a URL and an e-mail address are not English: only Cyrillic words are judged
    "Ukrenergo опублікувала графік на https://ua.energy/outages, пишіть на press@ua.energy.",
    "Компанії Google, Microsoft і Amazon інвестують в Україну.",
]
RUSSIAN = [
    "Президент Украины Владимир Зеленский прибыл в Тирану на саммит.",
    "Премьер-министр Албании Эди Рама встретил его в аэропорту.",
    "По словам министра, переговоры длились более шести часов.",
    "Он сказал, что это исторический день.",
    "Зеленский прилетел в Тирану.",  # no ы э ё ъ: the detector alone
]
BELARUSIAN = [
    "Прэзідэнт Украіны Уладзімір Зяленскі прыбыў у Тырану на саміт.",
    "Бакі падпісалі пагадненне аб супрацоўніцтве ў галіне энергетыкі.",
]
ALBANIAN = [
    "Presidenti i Ukrainës Volodymyr Zelensky mbërriti në Tiranë për samitin.",
    "Palët nënshkruan një marrëveshje për bashkëpunim në fushën e energjisë.",
    "NATO dhe BE e përshëndetën marrëveshjen.",
    "Çmimet e gazit u rritën me 12 për qind.",
    "Ai tha se kjo është një ditë historike.",
    "Google njoftoi investime të reja në Tiranë.",
    "Ukrenergo njoftoi ndërprerje të energjisë në Kiev dhe Kharkiv.",
    "Programi i ri fillon në mars.",
]
ITALIAN = [
    "Il presidente ucraino Volodymyr Zelensky è arrivato a Tirana per il vertice.",
    "Le parti hanno firmato un accordo di cooperazione nel settore energetico.",
    "Ha detto che questo è un giorno storico.",
]
ENGLISH = [
    "The parties signed an agreement on energy cooperation.",
    "He said this was a historic day.",
]
SHORT = [
    "Зеленський.", "NATO", "2024", "Tirana", "Зеленский.", "Эди Рама.", "Так, сказав він.",
    "Rama foli me Zelenskin.",  # 4 words, 19 letters
    "Кристалина Георгиева (МВФ).",  # a name in Russian spelling: 22 letters, but 3 words
]  # fmt: skip


def types(flags: list[dict[str, str]]) -> list[str]:
    return [flag["type"] for flag in flags]


@pytest.mark.parametrize("sentence", UKRAINIAN)
def test_ukrainian_is_not_flagged(sentence: str) -> None:
    assert "wrong_language" not in types(flags_for(SOURCE, sentence, UK))


@pytest.mark.parametrize("sentence", RUSSIAN + BELARUSIAN)
def test_russian_and_belarusian_in_ukrainian_output_are_flagged(sentence: str) -> None:
    found = [f for f in flags_for(SOURCE, sentence, UK) if f["type"] == "wrong_language"]
    expected = "Belarusian" if sentence in BELARUSIAN else "Russian"
    assert len(found) == 1 and found[0]["detail"].startswith(expected), found


@pytest.mark.parametrize("sentence", ALBANIAN)
def test_albanian_is_not_flagged(sentence: str) -> None:
    assert "wrong_language" not in types(flags_for(SOURCE, sentence, SQ))


@pytest.mark.parametrize("sentence", ITALIAN + ENGLISH)
def test_italian_and_english_in_albanian_output_are_flagged(sentence: str) -> None:
    found = [f for f in flags_for(SOURCE, sentence, SQ) if f["type"] == "wrong_language"]
    expected = "Italian" if sentence in ITALIAN else "English"
    assert len(found) == 1 and found[0]["detail"].startswith(expected), found


@pytest.mark.parametrize("sentence", SHORT)
@pytest.mark.parametrize("rules", [UK, SQ], ids=["uk", "sq"])
def test_short_sentences_are_never_judged(sentence: str, rules: QualityRules) -> None:
    assert wrong_language(sentence, "uk" if rules is UK else "sq", rules.script, 0.0) is None


def test_only_words_in_the_targets_script_are_judged() -> None:
    mixed = "Эди Рама said the summit in Tirana was a success."
    assert wrong_language(mixed, "uk", "Cyrillic", 0.6) is None  # two Cyrillic words: too short
    assert (wrong_language(mixed, "sq", "Latin", 0.6) or "").startswith("English")
    # the Ukrainian apostrophe (ʼ, a modifier letter) is part of a Cyrillic word
    assert (
        judged_text("Мешканці отримали пʼять попереджень.", "Cyrillic")
        == "Мешканці отримали пʼять попереджень"
    )
    assert judged_text("Ukrenergo: https://ua.energy/a-b-c-d-e-f", None) is None  # URLs are not words


def test_without_a_language_there_is_no_check() -> None:
    assert flags_for(SOURCE, RUSSIAN[0], QualityRules(script="Cyrillic")) == []


def test_letters_tell_russian_from_ukrainian() -> None:
    assert letter_evidence("Инженеры восстановили электроснабжение", "uk") == "Russian letters ы, э"
    assert letter_evidence("Інженери відновили живлення", "uk") is None  # Ukrainian letters only
    assert letter_evidence("Прэзідэнт Украіны", "uk") is None  # і and ы, э: Belarusian; the detector decides
    assert letter_evidence("Инженеры восстановили", "sq") is None  # letters are a Ukrainian check


def test_letters_flag_russian_that_the_detector_is_unsure_of() -> None:
    """With a confidence the detector cannot reach, Russian letters alone still flag a sentence."""
    assert wrong_language(RUSSIAN[0], "uk", "Cyrillic", 1.01) == "Russian letters ы"
    assert wrong_language(UKRAINIAN[0], "uk", "Cyrillic", 1.01) is None


def test_the_threshold_is_the_detectors_confidence() -> None:
    lenient = QualityRules(script="Latin", language="sq", min_language_confidence=0.99)
    assert "wrong_language" in types(flags_for(SOURCE, ITALIAN[1], SQ))  # 0.99+ Italian
    assert "wrong_language" not in types(flags_for(SOURCE, ITALIAN[0], lenient))  # names make it 0.77
    assert QualityConfig().min_language_confidence == SQ.min_language_confidence
    assert QualityConfig(min_language_confidence=0.9).min_language_confidence == 0.9
    for bad in (0, 1.5):
        with pytest.raises(ValidationError):
            QualityConfig(min_language_confidence=bad)


def test_the_detector_is_built_once_and_shared_by_threads() -> None:
    assert detector("uk") is detector("uk")
    assert detector("uk") is not detector("sq")
    barrier = threading.Barrier(4)

    def judge(index: int) -> str | None:
        if index < 4:
            barrier.wait()  # the first four call at once
        return wrong_language(RUSSIAN[0] if index % 2 == 0 else UKRAINIAN[0], "uk", "Cyrillic", 0.6)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(judge, range(200)))
    assert all(r is not None for r in results[::2]) and all(r is None for r in results[1::2])


def test_concurrent_first_calls_build_one_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[tuple[str, ...]] = []

    def slow_build(codes: tuple[str, ...]) -> object:
        builds.append(codes)
        time.sleep(0.05)
        return object()

    monkeypatch.setattr(language_id, "_build", slow_build)
    monkeypatch.setattr(language_id, "_detectors", {})
    barrier = threading.Barrier(4)

    def first_call(_: int) -> object:
        barrier.wait()
        return detector("uk")

    with ThreadPoolExecutor(4) as pool:
        found = set(map(id, pool.map(first_call, range(4))))
    assert builds == [("uk", "ru", "be", "bg")] and len(found) == 1


def test_a_language_lingua_does_not_know_is_not_judged() -> None:
    assert detector("xx") is None
    assert wrong_language("Kjo fjali nuk ka rëndësi për këtë provë fare.", "xx", "Latin", 0.6) is None
