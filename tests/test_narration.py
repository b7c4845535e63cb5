"""Narration: espeak-ng for real, gTTS through a fake endpoint, and the MP3s the CLI writes."""

import io
import itertools
import json
import os
from pathlib import Path

import pytest
import soundfile
from click.testing import CliRunner
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from pipeline.audio import mp3
from pipeline.audio.encode import silence
from pipeline.cli import cli
from pipeline.config.schema import EspeakConfig
from pipeline.tts.espeak import EspeakEngine
from pipeline.tts.lexicon import apply_lexicon

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import FakeEndpoint, request_parts, tone_mp3
from .requirements import needs_espeak

DISCLOSURE = {
    "sq": "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale.",
    "uk": "Це аудіо створено за допомогою штучного інтелекту.",
}


def invoke(*args: str):
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def item_dir(config: Path, article: Path, lang: str) -> Path:
    return config.parent / "out" / "test" / article.stem / lang


def spoken_segments(config: Path, article: Path, lang: str) -> list[str]:
    """What the narration should say, in order: disclosure, then each translated paragraph."""
    record = json.loads((item_dir(config, article, lang) / "article.json").read_text())
    paragraphs = [" ".join(s["target"] for s in p["sentences"]) for p in record["paragraphs"]]
    return [DISCLOSURE[lang], *paragraphs]


@needs_espeak
def test_espeak_narrations_through_the_cli(write_config: WriteConfig, articles: Path) -> None:
    config = write_config(tts={"engine": "espeak-ng", "pause": 0.6, "artist": "Test Newsroom"})
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    engine = EspeakEngine(EspeakConfig(), bitrate=64)
    manifest = json.loads((config.parent / "out/test/manifest.json").read_text())
    assert manifest["counts"]["ok"] == 6

    for article in SAMPLE_ARTICLES:
        for lang in ("sq", "uk"):
            path = item_dir(config, article, lang) / "narration.mp3"
            data = path.read_bytes()
            segments = spoken_segments(config, article, lang)

            # Duration: the segments, synthesised again one by one, plus the pauses between them.
            lengths = [mp3.duration(mp3.audio_frames(engine.synthesize(text, lang))) for text in segments]
            fmt = mp3.audio_frames(data)[0].format
            gap = mp3.duration(list(silence(fmt, 64, 0.6)))
            expected = sum(lengths) + gap * (len(segments) - 1)
            decoded, rate = soundfile.read(io.BytesIO(data))
            assert len(decoded) / rate == pytest.approx(expected, rel=0.05)
            assert MP3(io.BytesIO(data)).info.length == pytest.approx(expected, rel=0.05)

            tags = ID3(io.BytesIO(data))
            record = json.loads((item_dir(config, article, lang) / "article.json").read_text())
            assert str(tags["TIT2"]) == record["paragraphs"][0]["sentences"][0]["target"]  # the lead
            assert str(tags["TPE1"]) == "Test Newsroom"
            assert str(tags["TLAN"]) == {"sq": "sqi", "uk": "ukr"}[lang]
            assert str(tags["TDRC"]) == article.name[:10]
            assert tags.getall("COMM")[0].text == [DISCLOSURE[lang]]
            chapters = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
            assert len(chapters) == len(segments)
            assert tags.getall("CTOC")[0].child_element_ids == [c.element_id for c in chapters]
            starts = [c.start_time for c in chapters]
            assert starts == sorted(set(starts)) and starts[0] == 0
            assert all(c.start_time < c.end_time <= round(expected * 1000) + 50 for c in chapters)
            assert all(a.end_time <= b.start_time for a, b in itertools.pairwise(chapters))
            assert chapters[0].sub_frames["TIT2"].text[0].startswith(DISCLOSURE[lang].split()[0])

            narration = record["narration"]
            assert (
                narration["status"] == "ok"
                and narration["engine"] == "espeak-ng"
                and narration["voice"] == lang
            )
            assert narration["size"] == len(data)
            assert len(narration["chapters"]) == len(segments)
            entry = next(
                i for i in manifest["items"] if i["article_id"] == article.stem and i["language"] == lang
            )
            assert entry["files"]["audio"] == f"{article.stem}/{lang}/narration.mp3"
            assert entry["narration"]["sha256"] == narration["sha256"]
            assert entry["narration"]["duration"] == pytest.approx(expected, rel=0.05)


@needs_espeak
@pytest.mark.parametrize(
    ("where", "first", "last"), [("start", 0, None), ("end", None, -1), ("none", None, None)]
)
def test_disclosure_position(
    write_config: WriteConfig,
    articles: Path,
    tiny_models: dict,
    where: str,
    first: int | None,
    last: int | None,
) -> None:
    for path in SAMPLE_ARTICLES[1:]:
        (articles / path.name).unlink()
    config = write_config(
        tts={"engine": "espeak-ng", "disclosure": where}, languages={"uk": {"model": str(tiny_models["uk"])}}
    )
    assert invoke("run", str(config)).exit_code == 0
    tags = ID3(item_dir(config, SAMPLE_ARTICLES[0], "uk") / "narration.mp3")
    titles = [c.sub_frames["TIT2"].text[0] for c in sorted(tags.getall("CHAP"), key=lambda c: c.start_time)]
    is_disclosure = [t.startswith("Це аудіо") for t in titles]
    assert sum(is_disclosure) == (0 if where == "none" else 1)
    if first is not None:
        assert is_disclosure[first]
    if last is not None:
        assert is_disclosure[last]


def test_lexicon_replaces_whole_words_once() -> None:
    lexicon = (("NATO", "Nato"), ("U.N.", "OKB"), ("UN", "Kombet e Bashkuara"))
    assert (
        apply_lexicon("NATO dhe U.N. por jo NATOs; UN.", lexicon)
        == "Nato dhe OKB por jo NATOs; Kombet e Bashkuara."
    )


def test_lexicon_reaches_the_engine_and_text_output_is_kept_on_a_429_storm(
    write_config: WriteConfig, articles: Path, tiny_models: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = FakeEndpoint(statuses=[200] * 3 + [429] * 1000)
    monkeypatch.setattr("pipeline.tts.gtts_engine.new_session", endpoint.session)
    config = write_config(
        tts={
            "engine": "gtts",
            "concurrency": 1,
            "lexicon": {"uk": {"штучного інтелекту": "ШІ"}},
            "gtts": {"backoff": 0, "min_interval": 0},
        },
        languages={"uk": {"model": str(tiny_models["uk"])}},
    )
    result = invoke("run", str(config))
    assert result.exit_code == 1
    # the lexicon was applied to the first thing spoken, the disclosure
    assert request_parts(endpoint.bodies[0]) == ("Це аудіо створено за допомогою ШІ.", "uk")
    assert "429 Too Many Requests from the TTS endpoint after 5 tries" in result.stderr
    manifest = json.loads((config.parent / "out/test/manifest.json").read_text())
    for item in manifest["items"]:
        assert item["status"] == "failed" and item["stage"] == "narration" and item["transient"]
        assert set(item["files"]) == {"text", "json"}  # the translation is delivered
        assert (config.parent / "out/test" / item["files"]["text"]).read_text().strip()
        record = json.loads((config.parent / "out/test" / item["files"]["json"]).read_text())
        assert record["narration"]["status"] == "failed"
    assert not list((config.parent / "out/test").glob("*/*/narration.mp3"))


def test_gtts_narration_through_the_cli(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = FakeEndpoint(audio_seconds=0.3)
    monkeypatch.setattr("pipeline.tts.gtts_engine.new_session", endpoint.session)
    config = write_config(tts={"engine": "gtts", "gtts": {"min_interval": 0}})
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    for lang, iso in (("sq", "sqi"), ("uk", "ukr")):
        data = (item_dir(config, SAMPLE_ARTICLES[0], lang) / "narration.mp3").read_bytes()
        frames = mp3.audio_frames(data)
        assert frames[0].format == mp3.FrameFormat("2", 24000, True)  # Google's format, not re-encoded
        assert str(ID3(io.BytesIO(data))["TLAN"]) == iso
    assert {request_parts(body)[1] for body in endpoint.bodies} == {"sq", "uk"}


def test_a_missing_engine_fails_its_language_with_a_clear_line(
    write_config: WriteConfig, articles: Path, tiny_models: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.tts.espeak.shutil.which", lambda name: None)
    config = write_config(
        tts={"engine": "none"},
        languages={
            "sq": {"model": str(tiny_models["sq"]), "tts": {"engine": "espeak-ng"}},
            "uk": {"model": str(tiny_models["uk"])},
        },
    )
    result = invoke("run", str(config))
    assert result.exit_code == 1
    assert "espeak-ng is not installed (Debian/Ubuntu: apt-get install espeak-ng)" in result.stderr
    items = json.loads((config.parent / "out/test/manifest.json").read_text())["items"]
    assert {(i["language"], i["status"]) for i in items} == {("sq", "failed"), ("uk", "ok")}
    assert all(i["narration"] is None for i in items if i["language"] == "uk")  # uk asked for no audio


def test_a_new_engine_is_one_class_and_one_registry_line(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine interface: ``params``, ``check_voice`` and ``synthesize(text, voice) -> MP3 bytes``."""
    from pipeline.tts import ENGINES

    spoken: list[tuple[str, str]] = []

    class Beep:
        name = "beep"
        params: dict[str, object] = {}  # noqa: RUF012 - settings that change the audio (cache key)

        def __init__(self, tts: object) -> None:
            pass

        def check_voice(self, voice: str) -> None:
            pass

        def synthesize(self, text: str, voice: str) -> bytes:
            spoken.append((voice, text))
            return tone_mp3(0.2)

    monkeypatch.setitem(ENGINES, "beep", Beep)
    config = write_config(tts={"engine": "beep", "lexicon": {"sq": {"inteligjencës artificiale": "IA-së"}}})
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    assert ("sq", "Ky regjistrim audio është krijuar me ndihmën e IA-së.") in spoken
    assert {voice for voice, _ in spoken} == {"sq", "uk"}
    assert len(list((config.parent / "out/test").glob("*/*/narration.mp3"))) == 6

    bad = write_config(tts={"engine": "piper"})
    result = invoke("validate", str(bad))
    assert result.exit_code == 2
    assert (
        "tts.engine: unknown engine 'piper' (known: gtts, espeak-ng, mms, azure, beep, none)" in result.stderr
    )


def test_an_espeak_timeout_is_transient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow espeak-ng (a loaded machine) fails the item for tonight, to be tried again; it is not
    a text the engine cannot speak."""
    from pipeline.errors import TransientError

    program = tmp_path / "espeak-ng"
    program.write_text("#!/bin/sh\nexec sleep 5\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    engine = EspeakEngine(EspeakConfig(timeout=0.2), bitrate=64)
    with pytest.raises(TransientError, match=r"took longer than 0\.2 s"):
        engine.synthesize("Teksti.", "sq")
