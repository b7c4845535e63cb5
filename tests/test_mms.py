"""MMS-TTS narration on tiny random-weight VITS voices: the real loading and synthesis code runs."""

import io
import json
from pathlib import Path

import pytest
import soundfile
import torch
from mutagen.mp3 import MP3

from pipeline.config.schema import MmsConfig
from pipeline.devtools.tiny_vits import build_demo_voices, build_vits
from pipeline.errors import SpeechError
from pipeline.tts.mms import MmsEngine

from .conftest import REPO, SAMPLE_ARTICLES, WriteConfig
from .test_narration import invoke, item_dir
from .test_offline_models import cache_as_hub_model, run_cli

TEXT = {
    "sq": "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale.",
    "uk": "Це аудіо створено за допомогою штучного інтелекту.",
}
ACCEPTED = {"engine": "mms", "mms": {"license": "non-commercial", "device": "cpu"}}


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_demo_voices(tmp_path_factory.mktemp("voices"))


def mms_languages(tiny_models: dict, voices: dict[str, Path]) -> dict:
    return {
        code: {"model": str(tiny_models[code]), "tts": {"voice": str(voices[code])}} for code in ("sq", "uk")
    }


@pytest.mark.parametrize("lang", ["sq", "uk"])
def test_a_voice_speaks_its_language_as_mp3_the_same_every_time(voices: dict[str, Path], lang: str) -> None:
    engine = MmsEngine(MmsConfig(device="cpu"), bitrate=64)
    engine.check_voice(str(voices[lang]))
    audio = engine.synthesize(TEXT[lang], str(voices[lang]))

    samples, rate = soundfile.read(io.BytesIO(audio))
    assert rate == 16000 == MP3(io.BytesIO(audio)).info.sample_rate
    assert len(samples) / rate > 0.5  # ~70 letters with blanks between them, 256 samples each
    assert samples.any()
    torch.manual_seed(12345)  # whatever else used torch's random numbers meanwhile
    assert engine.synthesize(TEXT[lang], str(voices[lang])) == audio  # the segment cache relies on it
    assert engine.synthesize(TEXT[lang] + " " + TEXT[lang], str(voices[lang])) != audio


def test_a_checkpoint_that_wants_uroman_names_the_package(tmp_path: Path) -> None:
    voice = build_vits(tmp_path / "roman", "abc")
    settings = json.loads((voice / "tokenizer_config.json").read_text())
    (voice / "tokenizer_config.json").write_text(json.dumps({**settings, "is_uroman": True}))
    with pytest.raises(SpeechError, match=r"is_uroman\): install the uroman package"):
        MmsEngine(MmsConfig(device="cpu"), bitrate=64).check_voice(str(voice))


def test_a_job_narrated_with_mms(
    write_config: WriteConfig, articles: Path, tiny_models: dict, voices: dict[str, Path]
) -> None:
    config = write_config(tts=ACCEPTED, languages=mms_languages(tiny_models, voices))
    validate = invoke("validate", str(config))
    assert validate.exit_code == 0, validate.stderr
    assert f"mms, voice {voices['sq']} (licence CC-BY-NC 4.0: non-commercial use only)" in validate.stdout

    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    for article in SAMPLE_ARTICLES:
        for lang in ("sq", "uk"):
            data = (item_dir(config, article, lang) / "narration.mp3").read_bytes()
            assert MP3(io.BytesIO(data)).info.length > 1 and MP3(io.BytesIO(data)).info.sample_rate == 16000
            narration = json.loads((item_dir(config, article, lang) / "article.json").read_text())[
                "narration"
            ]
            assert (narration["status"], narration["engine"]) == ("ok", "mms")
            assert narration["voice"] == str(voices[lang])


@pytest.mark.parametrize("command", ["validate", "run"])
def test_mms_needs_the_non_commercial_licence_accepted(
    write_config: WriteConfig, articles: Path, tiny_models: dict, voices: dict[str, Path], command: str
) -> None:
    config = write_config(tts={"engine": "mms"}, languages=mms_languages(tiny_models, voices))
    result = invoke(command, str(config))
    assert result.exit_code == 2
    assert "tts.mms.license" in result.stderr and "CC-BY-NC 4.0" in result.stderr
    assert "set tts.mms.license: non-commercial" in result.stderr


@pytest.mark.slow
def test_hub_voices_offline_cached_one_works_missing_one_fails_its_language(
    tmp_path: Path,
    articles: Path,
    tiny_models: dict,
    voices: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # this checkout's pipeline, whatever is installed
    hf_home = tmp_path / "hf"
    cache_as_hub_model(hf_home, "facebook/mms-tts-sqi", voices["sq"])  # facebook/mms-tts-ukr is not cached
    config = tmp_path / "job.yaml"
    config.write_text(
        json.dumps(
            {
                "job": "test",
                "input": {"paths": ["articles/*.txt"]},
                "output_dir": "out",
                "languages": {code: {"model": str(tiny_models[code])} for code in ("sq", "uk")},
                "translation": {"beam_size": 1, "max_length": 8, "device": "cpu"},
                "tts": ACCEPTED,
            }
        )
    )
    pulled = run_cli("models", "pull", str(config), hf_home=hf_home, cwd=tmp_path)
    assert (
        "sq: facebook/mms-tts-sqi main -> 0123456789abcdef0123456789abcdef01234567 (cached)" in pulled.stdout
    )
    assert "languages.uk.tts.voice: 'facebook/mms-tts-ukr' is not in the local cache" in pulled.stderr
    assert "languages:\n  sq:\n    tts:\n      voice: facebook/mms-tts-sqi@0123456789abcdef" in pulled.stdout

    result = run_cli("run", str(config), hf_home=hf_home, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    missing = [line for line in result.stderr.splitlines() if "facebook/mms-tts-ukr" in line]
    assert len(missing) == len(SAMPLE_ARTICLES)  # one line per Ukrainian item, as for any engine error
    assert all(
        "mms voice: 'facebook/mms-tts-ukr' is not in the local cache and HF_HUB_OFFLINE=1: "
        "run `pipeline models pull CONFIG`" in line
        for line in missing
    )
    items = json.loads((tmp_path / "out/test/manifest.json").read_text())["items"]
    assert {(i["language"], i["status"]) for i in items} == {("sq", "ok"), ("uk", "failed")}


def test_a_text_with_none_of_the_voices_letters_is_a_short_silence(voices: dict[str, Path]) -> None:
    audio = MmsEngine(MmsConfig(device="cpu"), bitrate=64).synthesize("NATO", str(voices["uk"]))
    samples, rate = soundfile.read(io.BytesIO(audio))
    assert len(samples) / rate == pytest.approx(0.3, abs=0.1) and not abs(samples).max() > 0.01
