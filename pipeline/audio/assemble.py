"""Join narrated segments into one MP3 with silence between them, and know where each one starts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from pipeline.audio import mp3
from pipeline.audio.encode import silence
from pipeline.audio.mp3 import FrameFormat


@dataclass(frozen=True)
class Chapter:
    """Where one segment plays in a narration: its title, its start and its end."""

    title: str
    start: float  # seconds
    end: float


@dataclass(frozen=True)
class Assembled:
    """One narration's MP3, its length in seconds, its chapters and the format its frames share."""

    mp3: bytes  # no tags yet
    duration: float
    chapters: tuple[Chapter, ...]
    format: FrameFormat  # not mp3.FrameFormat: in the class body ``mp3`` is the field above


def assemble(segments: list[tuple[str, bytes]], pause: float) -> Assembled:
    """Join MP3 segments into one stream, ``pause`` seconds of silence between them (none if <= 0).

    ``segments``: (chapter title, MP3 bytes) in order. Frames must share one format.

    Raises:
        Mp3Error: there are no segments, a segment holds no audio frames, or formats differ.
    """
    parsed = [(title, mp3.audio_frames(data)) for title, data in segments]
    fmt = mp3.common_format(frame for _, frames in parsed for frame in frames)
    # The silence takes the segments' most common bitrate, so a CBR narration stays CBR.
    bitrate = Counter(frame.bitrate for _, frames in parsed for frame in frames).most_common(1)[0][0]
    gap = list(silence(fmt, bitrate, pause)) if pause > 0 else []

    frames: list[mp3.Frame] = []
    chapters: list[Chapter] = []
    elapsed = 0.0
    for index, (title, segment) in enumerate(parsed):
        if index and gap:
            frames += gap
            elapsed += mp3.duration(gap)
        start, elapsed = elapsed, elapsed + mp3.duration(segment)
        frames += segment
        chapters.append(Chapter(title, start, elapsed))
    return Assembled(mp3.join(frames), elapsed, tuple(chapters), fmt)
