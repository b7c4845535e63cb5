"""MP3 frames: finding them, joining them, and the header that makes players report the length."""

import io

import pytest
import soundfile
from mutagen.mp3 import MP3

from pipeline.audio import mp3
from pipeline.audio.assemble import assemble
from pipeline.audio.encode import silence

from .fakes import tone_mp3


def test_frames_skip_tags_junk_and_header_frames() -> None:
    audio = tone_mp3(0.5)
    frames = mp3.audio_frames(audio)
    assert frames[0].format == mp3.FrameFormat("2", 24000, True)
    assert {f.bitrate for f in frames} == {32}
    joined = mp3.join(frames)  # an Info frame first
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10)
    wrapped = id3 + b"junk" + joined + b"TAG" + bytes(125)
    assert mp3.audio_frames(wrapped) == frames


def test_not_mp3_is_refused() -> None:
    with pytest.raises(mp3.Mp3Error, match="no MPEG Layer III audio frames"):
        mp3.audio_frames(b"RIFF....WAVEfmt " + bytes(100))


def test_joined_stream_has_one_header_first_and_exact_length() -> None:
    parts = [mp3.audio_frames(tone_mp3(s, pitch=p)) for s, p in ((0.6, 300), (1.1, 500))]
    frames = parts[0] + parts[1]
    data = mp3.join(frames)
    assert data.count(b"Info") == 1 and data.find(b"Info") < 40
    assert b"Xing" not in data
    expected = len(frames) * 576 / 24000
    assert MP3(io.BytesIO(data)).info.length == pytest.approx(expected, abs=1e-6)
    decoded, rate = soundfile.read(io.BytesIO(data))
    assert rate == 24000
    assert len(decoded) / rate == pytest.approx(expected, abs=0.05)


def test_variable_bitrate_streams_get_a_xing_header() -> None:
    frames = mp3.audio_frames(tone_mp3(0.3, bitrate=32)) + mp3.audio_frames(tone_mp3(0.3, bitrate=64))
    data = mp3.join(frames)
    assert data[: 4 + 9 + 4][-4:] == b"Xing"
    assert MP3(io.BytesIO(data)).info.length == pytest.approx(len(frames) * 576 / 24000, abs=1e-6)


def test_assemble_puts_silence_between_segments_and_times_chapters() -> None:
    segments = [("one", tone_mp3(0.5)), ("two", tone_mp3(1.0)), ("three", tone_mp3(0.25))]
    result = assemble(segments, pause=0.5)
    gap = mp3.duration(list(silence(result.format, 32, 0.5)))
    lengths = [mp3.duration(mp3.audio_frames(data)) for _, data in segments]
    assert result.duration == pytest.approx(sum(lengths) + 2 * gap)
    starts = [c.start for c in result.chapters]
    assert starts == pytest.approx([0, lengths[0] + gap, lengths[0] + lengths[1] + 2 * gap])
    assert [c.end - c.start for c in result.chapters] == pytest.approx(lengths)
    assert result.chapters[-1].end == pytest.approx(result.duration)
    assert MP3(io.BytesIO(result.mp3)).info.length == pytest.approx(result.duration, abs=1e-6)


def test_segments_of_different_formats_are_not_joined() -> None:
    with pytest.raises(mp3.Mp3Error, match="different formats"):
        assemble([("a", tone_mp3(0.3, rate=24000)), ("b", tone_mp3(0.3, rate=22050))], pause=0.2)
