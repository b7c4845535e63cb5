"""PCM → MP3 with LAME (lameenc); no ffmpeg needed."""

from __future__ import annotations

from functools import lru_cache

from pipeline.audio.mp3 import Frame, FrameFormat, audio_frames

QUALITY = 2  # LAME's -q 2: near-best quality, still fast


def encode_pcm(pcm: bytes, sample_rate: int, channels: int, bitrate: int) -> bytes:
    """16-bit little-endian PCM → constant-bitrate MP3 (``bitrate`` in kbps) at the same sample rate."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_channels(channels)
    encoder.set_quality(QUALITY)
    return bytes(encoder.encode(pcm) + encoder.flush())


@lru_cache(maxsize=32)
def silence(fmt: FrameFormat, bitrate: int, seconds: float) -> tuple[Frame, ...]:
    """Frames of silence encoded with the same parameters as the audio they go between.

    Raises:
        ValueError: LAME made the silence in another format than ``fmt`` (a guard; not expected).
    """
    channels = 1 if fmt.mono else 2
    samples = round(seconds * fmt.sample_rate)
    frames = audio_frames(encode_pcm(bytes(2 * channels * samples), fmt.sample_rate, channels, bitrate))
    if frames[0].format != fmt:
        raise ValueError(f"LAME made {frames[0].format} silence for {fmt} audio")
    return tuple(frames)
