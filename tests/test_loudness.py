"""Narrations at podcast loudness, chapters every player shows, cover art in the tag."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import struct
import zlib

import numpy as np
import pytest
from mutagen.id3 import ID3

from pipeline.audio import loudness, mp3
from pipeline.audio.assemble import Chapter, assemble
from pipeline.audio.encode import encode_pcm
from pipeline.audio.tags import NarrationTags, tag_mp3
from pipeline.config import TtsConfig
from pipeline.config.artwork import artwork_problem
from pipeline.stages.narrate import CHAPTER_TITLE_CHARS, chapter_title

from .requirements import needs_espeak, needs_ffprobe
from .test_tags import ffprobe_chapters

TARGET, CEILING = -16.0, -1.0


def speechlike_mp3(seconds: float, amplitude: float, rate: int = 24000) -> bytes:
    """gTTS-shaped audio (24 kHz mono, 32 kbps): a tone whose level swells like syllables."""
    t = np.arange(int(seconds * rate)) / rate
    signal = amplitude * np.sin(2 * np.pi * 220 * t) * (0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 3 * t)))
    return encode_pcm((signal * 32767).astype("<i2").tobytes(), rate, 1, 32)


def assert_normalised(result: loudness.Normalised | None) -> None:
    assert result is not None
    assert abs(result.after.loudness - TARGET) <= 1.0
    assert result.after.true_peak <= CEILING
    # the figures are measured on the file itself
    again = loudness.measure(*loudness.decode(result.mp3))
    assert again == result.after


@pytest.mark.parametrize("amplitude", [0.02, 0.99])
def test_quiet_and_loud_gtts_audio_reach_the_target(amplitude: float) -> None:
    joined = assemble([(str(i), speechlike_mp3(2.0, amplitude)) for i in range(2)], 0.5)
    result = loudness.normalise(joined.mp3, TARGET, CEILING, 64)
    assert_normalised(result)
    assert result is not None
    assert (result.gain > 0) == (amplitude < 0.5)  # louder for the quiet one, softer for the loud
    assert len(mp3.audio_frames(result.mp3)) == len(mp3.audio_frames(joined.mp3))


@needs_espeak
@pytest.mark.slow
def test_espeak_narration_reaches_the_target() -> None:
    from pipeline.tts.espeak import EspeakEngine

    engine = EspeakEngine.from_config(TtsConfig())
    texts = ["Kjo është një fjali shqip për të provuar zërin.", "Dhe një tjetër, pak më e gjatë se e para."]
    joined = assemble([(t, engine.synthesize(t, "sq")) for t in texts], 0.8)
    assert_normalised(loudness.normalise(joined.mp3, TARGET, CEILING, 64))


def test_chapters_stay_where_they_were() -> None:
    """Sound starts where it did before, to within a frame: LAME's delay is taken off."""
    tone = speechlike_mp3(1.0, 0.3)
    joined = assemble([("a", tone), ("b", tone), ("c", tone)], 0.8)
    result = loudness.normalise(joined.mp3, TARGET, CEILING, 64)
    assert result is not None

    def onsets(data: bytes) -> list[int]:
        samples, _ = loudness.decode(data)
        loud = np.flatnonzero(np.abs(samples) > 0.02)
        return [int(loud[0]), *(int(b) for a, b in itertools.pairwise(loud) if b - a > 4000)]

    before, after = onsets(joined.mp3), onsets(result.mp3)
    assert len(before) == len(after) == 3
    assert all(abs(a - b) <= 576 // 4 for a, b in zip(before, after, strict=True))


def test_silence_is_left_alone() -> None:
    silent = encode_pcm(bytes(2 * 24000), 24000, 1, 32)
    assert loudness.normalise(mp3.join(mp3.audio_frames(silent)), TARGET, CEILING, 64) is None


def test_loudness_off_in_yaml_is_the_string() -> None:
    assert TtsConfig.model_validate({"loudness": False}).loudness == "off"
    assert TtsConfig().loudness != "off"


LONG_UK = (
    "Міністерство закордонних справ України заявило сьогодні, що переговори щодо відновлення "
    "енергетичної інфраструктури тривають попри складні погодні умови та постійні обстріли"
)


def test_chapter_titles_are_cut_at_a_word() -> None:
    word = "Ш" * 150
    assert chapter_title(word) == "Ш" * (CHAPTER_TITLE_CHARS - 1) + "…"
    title = chapter_title(" ".join(["довгеслово" * 3] * 6))
    assert len(title) <= CHAPTER_TITLE_CHARS and title.endswith("…")
    assert title[:-1].split(" ") == ["довгеслово" * 3] * 3
    assert chapter_title("Short one.") == "Short one."


@needs_ffprobe
def test_ffprobe_reads_every_long_multibyte_chapter_in_order(tmp_path) -> None:
    titles = [f"{i}: {chapter_title(LONG_UK)}" for i in range(31)]
    assert all(len(t.encode()) > 127 for t in titles)  # over what ID3v2.4 CHAPs show in FFmpeg
    chapters = tuple(Chapter(t, i * 0.1, (i + 1) * 0.1) for i, t in enumerate(titles))
    tags = NarrationTags("T", "A", "ukr", dt.date(2024, 5, 1), "AI.", chapters)
    path_data = tag_mp3(speechlike_mp3(3.5, 0.3), tags)
    found = ffprobe_chapters(path_data, tmp_path)
    assert [c["tags"]["title"] for c in found] == titles
    assert [c["id"] for c in found] == sorted(c["id"] for c in found)  # file order is time order


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + header
        + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    )


def test_cover_art_album_and_voice_are_in_the_tag() -> None:
    art = png(1400, 1400)
    tags = NarrationTags("T", "A", "sqi", dt.date(2024, 5, 1), "AI.", (), "The Show", "espeak-ng: sq", art)
    id3 = ID3(io.BytesIO(tag_mp3(speechlike_mp3(0.5, 0.3), tags)))
    (apic,) = id3.getall("APIC")
    assert apic.data == art and apic.type == 3 and apic.mime == "image/png"
    assert id3["TALB"].text == ["The Show"]
    assert id3.getall("TXXX:Voice")[0].text == ["espeak-ng: sq"]


def test_artwork_must_be_a_square_jpeg_or_png(tmp_path) -> None:
    square, wide, text = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    square.write_bytes(png(1400, 1400))
    wide.write_bytes(png(1400, 1000))
    text.write_bytes(b"not an image")
    assert artwork_problem(square) is None
    assert "square" in (artwork_problem(wide) or "")
    assert "neither a JPEG nor a PNG" in (artwork_problem(text) or "")
    assert "cannot read" in (artwork_problem(tmp_path / "none.png") or "")
