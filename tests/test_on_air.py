"""Issue 23's "done when": a job narrated with espeak-ng, with mms on tiny VITS voices and with azure
against a local stand-in gives MP3s at -16 ± 1 LUFS and at most -1 dBTP, every chapter visible to
ffprobe, the cover art embedded, and the figures, the engine and the voice in article.json."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import feedparser
import pytest
from mutagen.id3 import ID3

from pipeline.audio.loudness import decode, measure

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import ScriptedServer
from .requirements import needs_espeak, needs_ffprobe
from .test_azure_engine import KEY, mp3_reply
from .test_loudness import png
from .test_mms import ACCEPTED, mms_languages, voices  # noqa: F401 (the voices fixture)
from .test_narration import invoke
from .test_tags import ffprobe_chapters

ARTICLE = SAMPLE_ARTICLES[0]


@contextmanager
def engine_settings(
    engine: str, tiny_models: dict, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict, dict | None]]:
    """The job's ``tts`` (and ``languages``, for mms) narrating with ``engine``."""
    if engine == "espeak-ng":
        yield {"engine": "espeak-ng"}, None
    elif engine == "mms":
        yield dict(ACCEPTED), mms_languages(tiny_models, request.getfixturevalue("voices"))
    else:
        monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
        with ScriptedServer([mp3_reply(0.6)]) as server:
            yield {"engine": "azure", "azure": {"endpoint": server.url, "backoff": 0}}, None


@needs_ffprobe
@needs_espeak
@pytest.mark.parametrize("engine", ["espeak-ng", "mms", "azure"])
def test_each_engine_goes_on_air_at_podcast_loudness_with_chapters_and_cover_art(
    engine: str,
    write_config: WriteConfig,
    tiny_models: dict,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    art = png(1400, 1400)
    (tmp_path / "show.png").write_bytes(art)
    with engine_settings(engine, tiny_models, request, monkeypatch) as (tts, languages):
        extra = {"languages": languages} if languages else {}
        config = write_config(
            input={"paths": ["in/*.txt"]},
            tts={**tts, "artwork": "show.png"},
            feeds={"base_url": "https://cdn.example/news"},
            **extra,
        )
        result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr

    job = config.parent / "out" / "test"
    for code in ("sq", "uk"):
        folder = job / ARTICLE.stem / code
        data = (folder / "narration.mp3").read_bytes()
        levels = measure(*decode(data))
        assert abs(levels.loudness + 16) <= 1 and levels.true_peak <= -1.0, (engine, code, levels)
        record = json.loads((folder / "article.json").read_text("utf-8"))
        narration = record["narration"]
        assert narration["engine"] == engine
        assert abs(narration["loudness"]["after"]["integrated_lufs"] + 16) <= 1
        id3 = ID3(io.BytesIO(data))
        assert id3.getall("APIC")[0].data == art
        chapters = ffprobe_chapters(data, tmp_path)
        assert len(chapters) == len(id3.getall("CHAP")) == len(narration["chapters"]) > 1
        assert [c["tags"]["title"] for c in chapters] == [c["title"] for c in narration["chapters"]]
        feed = feedparser.parse((job / "public" / "feeds" / f"{code}.xml").read_bytes())
        assert feed.feed.image.href == "https://cdn.example/news/feeds/artwork.png"
    assert (job / "public" / "feeds" / "artwork.png").read_bytes() == art


@needs_espeak
def test_a_new_target_remakes_the_narrations_and_off_keeps_the_engines_level(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / ARTICLE.name).write_bytes(ARTICLE.read_bytes())
    config = write_config(input={"paths": ["in/*.txt"]}, tts={"engine": "espeak-ng"})
    narration = config.parent / "out" / "test" / ARTICLE.stem / "sq" / "narration.mp3"
    assert invoke("run", str(config)).exit_code == 0
    assert abs(measure(*decode(narration.read_bytes())).loudness + 16) <= 1

    quieter = invoke("run", str(config), "--set", "tts.loudness.target=-20")

    assert quieter.exit_code == 0 and "2 done" in quieter.stderr  # each language's narration, again
    assert abs(measure(*decode(narration.read_bytes())).loudness + 20) <= 1
    assert invoke("run", str(config), "--set", "tts.loudness=off").exit_code == 0
    record = json.loads(narration.with_name("article.json").read_text("utf-8"))
    assert "loudness" not in record["narration"] or record["narration"]["loudness"] is None
    assert measure(*decode(narration.read_bytes())).loudness < -18  # espeak-ng's own level, about -21


def test_a_new_cover_reaches_the_next_narrations_of_a_long_running_process(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    import os

    from pipeline.config import load_config
    from pipeline.stages.narrate import narration_params, show_of

    cover = tmp_path / "show.png"
    cover.write_bytes(png(1400, 1400))
    config = load_config(write_config(tts={"engine": "espeak-ng", "artwork": "show.png"}))
    before = narration_params(config)
    cover.write_bytes(png(1600, 1600))
    os.utime(cover, ns=(cover.stat().st_atime_ns, cover.stat().st_mtime_ns + 10**9))

    assert show_of(config).artwork == png(1600, 1600)
    assert narration_params(config) != before  # each narration is made again with the new cover
