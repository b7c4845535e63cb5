"""Loudness normalisation of a joined narration: podcast norms, the same level from episode to episode.

The MP3 is decoded to PCM (libsndfile, through soundfile), its integrated loudness measured by ITU-R
BS.1770 (pyloudnorm) and its true peak as the peak of the signal oversampled 4x (scipy). A gain brings
the loudness to the target; where that would put the true peak above the ceiling, a look-ahead
limiter lowers the gain around those peaks only, so the loudness still reaches the target (speech
has few such peaks). The result is encoded again with LAME, mono, at the narration's sample rate.

LAME delays what it encodes by a fixed number of samples (``encoder_delay``, measured once per
format); that many samples are cut from the front before encoding, and the new stream keeps the old
one's frame count, so every chapter starts and ends where it did.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from pipeline.audio import mp3
from pipeline.audio.encode import encode_pcm
from pipeline.audio.mp3 import FrameFormat

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Signal = npt.NDArray[np.float64]

OVERSAMPLE = 4  # true peak: the signal's peak oversampled 4x (BS.1770-4 Annex 2)
LOOKAHEAD = 0.005  # seconds the limiter starts turning down before a peak (and the release after)
MIN_SECONDS = 0.4  # one BS.1770 gating block: shorter audio cannot be measured
SILENT = -70.0  # LUFS: BS.1770's absolute gate; quieter audio is left as it is
PASSES = 4  # encodings tried to land on the target, under the ceiling
TOLERANCE = 0.5  # LU from the target that is close enough (podcast norms allow ±1)


@dataclass(frozen=True)
class Levels:
    """Integrated loudness (LUFS) and true peak (dBTP) of one narration."""

    loudness: float
    true_peak: float

    def as_dict(self) -> dict[str, float]:
        return {"integrated_lufs": round(self.loudness, 2), "true_peak_dbtp": round(self.true_peak, 2)}


@dataclass(frozen=True)
class Normalised:
    """The normalised MP3 (untagged, same frame count as before) and its levels before and after."""

    mp3: bytes
    before: Levels
    after: Levels
    gain: float  # dB applied before limiting

    def summary(self, target: float, ceiling: float) -> dict[str, object]:
        """What ``article.json`` says of it."""
        return {
            "target_lufs": target,
            "true_peak_limit_dbtp": ceiling,
            "gain_db": round(self.gain, 2),
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
        }


def decode(data: bytes) -> tuple[Signal, int]:
    """The MP3 ``data`` as mono float samples in [-1, 1] and its sample rate."""
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return samples.mean(axis=1), int(rate)


def true_peak(samples: Signal) -> float:
    """The true peak in dBTP: the highest absolute sample of the signal oversampled 4x."""
    import numpy as np
    from scipy.signal import resample_poly

    peak = float(np.max(np.abs(resample_poly(samples, OVERSAMPLE, 1)))) if len(samples) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def measure(samples: Signal, rate: int) -> Levels:
    """Integrated loudness (BS.1770, -inf for silence or audio under 0.4 s) and true peak."""
    import pyloudnorm

    if len(samples) < MIN_SECONDS * rate:
        return Levels(-math.inf, true_peak(samples))
    return Levels(float(pyloudnorm.Meter(rate).integrated_loudness(samples)), true_peak(samples))


def limit(samples: Signal, ceiling: float, rate: int) -> Signal:
    """``samples`` with the gain turned down around each true peak above ``ceiling`` dBTP.

    The gain each sample needs is the lowest needed within ``LOOKAHEAD`` either side of it, averaged
    over a window half as wide: it changes smoothly and never exceeds what any nearby peak allows.
    """
    import numpy as np
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import resample_poly

    limit_linear = 10 ** (ceiling / 20)
    over = np.abs(resample_poly(samples, OVERSAMPLE, 1))[: len(samples) * OVERSAMPLE]
    over = np.pad(over, (0, len(samples) * OVERSAMPLE - len(over)))
    envelope = over.reshape(len(samples), OVERSAMPLE).max(axis=1)
    needed = np.minimum(1.0, limit_linear / np.maximum(envelope, 1e-12))
    width = max(1, round(LOOKAHEAD * rate))
    gain = uniform_filter1d(minimum_filter1d(needed, 2 * width + 1), width)
    return samples * np.minimum(gain, needed.max())


@lru_cache(maxsize=16)
def encoder_delay(sample_rate: int, bitrate: int) -> int:
    """Samples by which LAME delays its input, as a stream joined like a narration (``mp3.join``)
    decodes: measured with a click in silence."""
    import numpy as np

    at = 4 * 1152
    click = np.zeros(8 * 1152, dtype="<i2")
    click[at] = 30000
    encoded = encode_pcm(click.tobytes(), sample_rate, 1, bitrate)
    decoded, _ = decode(mp3.join(mp3.audio_frames(encoded)))
    return int(np.argmax(np.abs(decoded))) - at


def encode_frames(samples: Signal, fmt: FrameFormat, bitrate: int, frames: int) -> list[mp3.Frame]:
    """``frames`` MP3 frames of ``samples`` (mono, 16 bit), aligned to the frame grid they came from."""
    import numpy as np

    delay = encoder_delay(fmt.sample_rate, bitrate)
    shifted = samples[delay:] if delay >= 0 else np.concatenate([np.zeros(-delay), samples])
    length = (frames + 2) * fmt.samples_per_frame  # enough for LAME to give ``frames`` whole frames
    padded = np.zeros(length)
    padded[: min(length, len(shifted))] = shifted[:length]
    pcm = (np.clip(padded, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()
    encoded = mp3.audio_frames(encode_pcm(pcm, fmt.sample_rate, 1, bitrate))
    return encoded[:frames]


def normalise(data: bytes, target: float, ceiling: float, bitrate: int) -> Normalised | None:
    """The narration ``data`` (untagged MP3 of one format) at ``target`` LUFS, true peak <= ``ceiling``.

    Returns None for audio too short or too quiet to measure (it is left as it is).

    Raises:
        Mp3Error: ``data`` holds no audio frames of one format.
    """
    frames = mp3.audio_frames(data)
    fmt = mp3.common_format(frames)
    samples, rate = decode(data)
    before = measure(samples, rate)
    if not before.loudness > SILENT:
        return None
    gain = target - before.loudness
    margin = 0.3  # dB under the ceiling for the limiter: the MP3 coder adds a little peak
    best: tuple[bytes, Levels] | None = None
    for _ in range(PASSES):  # closed loop on the encoded result: LAME changes levels a little
        limited = limit(samples * 10 ** (gain / 20), ceiling - margin, rate)
        encoded = mp3.join(encode_frames(limited, fmt, bitrate, len(frames)))
        after = measure(*decode(encoded))
        if after.true_peak <= ceiling:
            best = encoded, after
            if abs(after.loudness - target) <= TOLERANCE:
                break
            gain += target - after.loudness
        else:
            margin += after.true_peak - ceiling + 0.1
    if best is None:  # never under the ceiling: a plain gain, from the last peak measured
        limited = samples * 10 ** ((gain - (after.true_peak - ceiling) - 0.5) / 20)
        best = (
            (encoded := mp3.join(encode_frames(limited, fmt, bitrate, len(frames)))),
            measure(*decode(encoded)),
        )
    encoded, after = best
    return Normalised(encoded, before, after, gain)
