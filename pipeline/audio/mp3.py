"""MPEG audio Layer III frames: parse, check, and write the Xing/Info header that gives the length.

Narrations are built by joining the frames of separately encoded segments. This module finds the
audio frames in an MP3 (skipping ID3 tags, junk, and any Xing/Info/VBRI header frame, which must
never sit in the middle of a stream), says their format and duration, and makes the one header
frame that goes first so that players report the whole file's duration exactly.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pipeline.errors import Mp3Error

# Bitrates in kbps by index, for Layer III.
_BITRATES = {
    "1": (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    "2": (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {"1": (44100, 48000, 32000), "2": (22050, 24000, 16000), "2.5": (11025, 12000, 8000)}
_VERSION_BITS = {0b11: "1", 0b10: "2", 0b00: "2.5"}
_MONO = 0b11


@dataclass(frozen=True)
class FrameFormat:
    """What must match for frames to be joined into one stream."""

    version: str  # "1", "2" or "2.5"
    sample_rate: int
    mono: bool

    @property
    def samples_per_frame(self) -> int:
        """1152 for MPEG-1, 576 for MPEG-2 and 2.5."""
        return 1152 if self.version == "1" else 576

    @property
    def frame_seconds(self) -> float:
        """How long one frame plays, in seconds."""
        return self.samples_per_frame / self.sample_rate

    def __str__(self) -> str:
        return f"MPEG-{self.version} Layer III, {self.sample_rate} Hz, {'mono' if self.mono else 'stereo'}"


@dataclass(frozen=True)
class Frame:
    """One audio frame: its format, its bitrate and its bytes, header included."""

    format: FrameFormat
    bitrate: int  # kbps
    data: bytes


@dataclass(frozen=True)
class _Header:
    format: FrameFormat
    bitrate: int
    length: int
    side_info: int  # bytes of side information after the header (and CRC)


def _parse_header(data: bytes, offset: int) -> _Header | None:
    if offset + 4 > len(data):
        return None
    return _header(data[offset : offset + 4])


@lru_cache(maxsize=1024)
def _header(raw: bytes) -> _Header | None:
    """A stream has few distinct headers: parsing each once keeps long narrations fast."""
    b1, b2, b3, b4 = raw
    if b1 != 0xFF or (b2 & 0xE0) != 0xE0:
        return None
    version = _VERSION_BITS.get((b2 >> 3) & 0b11)
    layer_bits = (b2 >> 1) & 0b11
    bitrate_index = b3 >> 4
    rate_index = (b3 >> 2) & 0b11
    if version is None or layer_bits != 0b01 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    table = "1" if version == "1" else "2"
    bitrate = _BITRATES[table][bitrate_index]
    sample_rate = _SAMPLE_RATES[version][rate_index]
    padding = (b3 >> 1) & 1
    mono = (b4 >> 6) == _MONO
    per_kbps = 144000 if version == "1" else 72000
    length = per_kbps * bitrate // sample_rate + padding
    crc = 0 if b2 & 1 else 2
    side = (17 if mono else 32) if version == "1" else (9 if mono else 17)
    return _Header(FrameFormat(version, sample_rate, mono), bitrate, length, crc + side)


def _skip_id3v2(data: bytes) -> int:
    offset = 0
    while data[offset : offset + 3] == b"ID3" and len(data) >= offset + 10:
        size = 0
        for byte in data[offset + 6 : offset + 10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if data[offset + 5] & 0x10 else 0
        offset += 10 + size + footer
    return offset


def _is_info_frame(frame: bytes, header: _Header) -> bool:
    at = 4 + header.side_info
    return frame[at : at + 4] in (b"Xing", b"Info") or frame[36:40] == b"VBRI"


def audio_frames(data: bytes) -> list[Frame]:
    """Every audio frame in ``data``, in order; tags, junk and header frames are left out.

    Raises:
        Mp3Error: ``data`` holds no MPEG Layer III audio frame.
    """
    offset = _skip_id3v2(data)
    end = len(data) - (128 if data[-128:-125] == b"TAG" else 0)
    frames: list[Frame] = []
    header = _parse_header(data, offset)
    while offset < end:
        if header is None or offset + header.length > end:
            next_sync = data.find(b"\xff", offset + 1, end)
            if next_sync < 0:
                break
            offset = next_sync
            header = _parse_header(data, offset)
            continue
        # Accept a frame only where the next one follows it (or the data ends): no false syncs.
        following = _parse_header(data, offset + header.length)
        if following is None and offset + header.length < end:
            offset += 1
            header = _parse_header(data, offset)
            continue
        raw = data[offset : offset + header.length]
        if not _is_info_frame(raw, header):
            frames.append(Frame(header.format, header.bitrate, raw))
        offset += header.length
        header = following
    if not frames:
        raise Mp3Error("no MPEG Layer III audio frames found")
    return frames


def common_format(frames: Iterable[Frame]) -> FrameFormat:
    """The one format all ``frames`` share.

    Raises:
        Mp3Error: the frames are of different formats, or there are none.
    """
    # Frames of one stream share FrameFormat objects (headers are cached): compare by identity first.
    formats = set({id(frame.format): frame.format for frame in frames}.values())
    if len(formats) != 1:
        raise Mp3Error(f"frames of different formats cannot be joined: {', '.join(map(str, formats))}")
    return formats.pop()


def duration(frames: list[Frame]) -> float:
    """How long ``frames`` play, in seconds."""
    return sum(frame.format.frame_seconds for frame in frames)


def info_frame(frames: list[Frame]) -> bytes:
    """A Xing ("Info" when every frame has one bitrate) frame giving the frame and byte counts.

    Raises:
        Mp3Error: the frames are of different formats, or there are none.
    """
    fmt = common_format(frames)
    first = frames[0].data
    table = "1" if fmt.version == "1" else "2"
    side = (17 if fmt.mono else 32) if fmt.version == "1" else (9 if fmt.mono else 17)
    needed = 4 + side + 16  # header, side info, tag, flags, frame count, byte count
    per_kbps = 144000 if fmt.version == "1" else 72000
    bitrate_index = next(
        index
        for index, kbps in enumerate(_BITRATES[table])
        if index and kbps >= frames[0].bitrate and per_kbps * kbps // fmt.sample_rate >= needed
    )
    length = per_kbps * _BITRATES[table][bitrate_index] // fmt.sample_rate
    rate_index = _SAMPLE_RATES[fmt.version].index(fmt.sample_rate)
    header = bytes(
        [
            0xFF,
            (first[1] & 0xF8) | 0b010 | 1,  # same version, Layer III, no CRC
            (bitrate_index << 4) | (rate_index << 2),  # no padding, private bit clear
            first[3],  # channel mode and the rest as in the audio
        ]
    )
    tag = b"Info" if len({frame.bitrate for frame in frames}) == 1 else b"Xing"
    total_bytes = length + sum(len(frame.data) for frame in frames)
    body = bytes(side) + tag + struct.pack(">III", 0x3, len(frames), total_bytes)
    return header + body + bytes(length - len(header) - len(body))


def join(frames: list[Frame]) -> bytes:
    """One MP3 stream: the Info/Xing frame, then the audio frames.

    Raises:
        Mp3Error: the frames are of different formats, or there are none.
    """
    return info_frame(frames) + b"".join(frame.data for frame in frames)


def check_audio(data: bytes) -> float:
    """The duration in seconds of the MP3 ``data``, checked before it is used or cached.

    Raises ``Mp3Error`` unless ``data`` holds MPEG Layer III audio frames of one format that make up
    at least half of its bytes (tags aside), so a few stray sync words in other bytes do not pass.
    """
    frames = audio_frames(data)
    common_format(frames)
    payload = len(data) - _skip_id3v2(data) - (128 if data[-128:-125] == b"TAG" else 0)
    framed = sum(len(frame.data) for frame in frames)
    if 2 * framed < payload:
        raise Mp3Error(f"only {framed} of {payload} bytes are MPEG audio frames")
    seconds = duration(frames)
    if seconds <= 0:
        raise Mp3Error("the audio frames add up to no time at all")
    return seconds
