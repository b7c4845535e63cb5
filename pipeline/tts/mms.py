"""MMS-TTS, the offline neural engine: Meta's VITS checkpoints (``facebook/mms-tts-*``) run with
transformers' ``VitsModel`` on CPU or CUDA, the waveform encoded to MP3 with LAME.

A voice is a hub id (``facebook/mms-tts-sqi``, pinned as ``facebook/mms-tts-sqi@<commit>``) or a
local directory, found like the translation models (hub cache, ``HF_HUB_OFFLINE=1``, ``pipeline
models pull``). Each voice is loaded once. A text with none of the voice's letters (the tokenizer
drops the others) becomes a short silence, not a failed narration. VITS samples noise (durations
and latents), so each text is synthesised under a seed derived from the text: the same text gives
the same audio, which keeps the segment cache and the tests honest. The seed is global to torch,
so synthesis holds one lock (one segment at a time; torch uses the cores within it).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

from pipeline.audio.encode import encode_pcm
from pipeline.config.loader import MMS_ENGINE, MMS_LICENCE
from pipeline.config.schema import MmsConfig, TtsConfig
from pipeline.errors import PipelineError, SpeechError
from pipeline.hub import locate_model, parse_model_ref

NAME = MMS_ENGINE
LICENCE = MMS_LICENCE
PULL_COMMAND = "pipeline models pull CONFIG"
UNSPEAKABLE_SILENCE = 0.3  # seconds in place of a text that has none of the voice's letters

log = logging.getLogger(__name__)


@dataclass
class _Voice:
    model: Any  # transformers.VitsModel
    tokenizer: Any  # transformers.VitsTokenizer
    romanizer: Any  # uroman.Uroman when the tokenizer wants romanised text, else None
    sampling_rate: int


def text_seed(text: str) -> int:
    """A seed from the text alone, so the same text always samples the same noise."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") & (2**63 - 1)


class MmsEngine:
    name = NAME
    licence = LICENCE

    def __init__(self, settings: MmsConfig, bitrate: int):
        self.settings, self.bitrate = settings, bitrate
        self.params: dict[str, object] = {"bitrate": bitrate, "seed": "sha256(text)"}
        self._voices: dict[str, _Voice] = {}
        self._loading = threading.Lock()
        self._synthesis = threading.Lock()
        self._device: str | None = None

    @classmethod
    def from_config(cls, tts: TtsConfig) -> MmsEngine:
        """The engine as ``tts.mms`` and ``tts.bitrate`` configure it; voices load on first use."""
        return cls(tts.mms, bitrate=tts.bitrate)

    @property
    def device(self) -> str:
        if self._device is None:
            import torch

            if self.settings.device == "cuda" and not torch.cuda.is_available():
                raise SpeechError("tts.mms.device is 'cuda' but torch sees no CUDA device; use auto or cpu")
            auto = "cuda" if torch.cuda.is_available() else "cpu"
            self._device = auto if self.settings.device == "auto" else self.settings.device
        return self._device

    def check_voice(self, voice: str) -> None:
        self._voice(voice)

    def _voice(self, voice: str) -> _Voice:
        with self._loading:
            if voice not in self._voices:
                self._voices[voice] = self._load(voice)
            return self._voices[voice]

    def _load(self, voice: str) -> _Voice:
        ref = parse_model_ref(voice)
        files = locate_model(
            ref.model,
            ref.revision,
            local=ref.local,
            key="tts",
            pull_command=PULL_COMMAND,
            label="mms voice",
            kind="VITS (MMS-TTS)",
        )
        try:
            from transformers import AutoTokenizer, VitsModel

            model: Any = VitsModel.from_pretrained(files.directory)
            model = model.to(self.device).eval()
            tokenizer = AutoTokenizer.from_pretrained(files.directory)
        except PipelineError:
            raise
        except Exception as exc:
            raise SpeechError(f"mms voice {voice!r} does not load as a VITS checkpoint: {exc}") from None
        romanizer = _romanizer(voice) if getattr(tokenizer, "is_uroman", False) else None
        return _Voice(model, tokenizer, romanizer, int(model.config.sampling_rate))

    def synthesize(self, text: str, voice: str) -> bytes:
        loaded = self._voice(voice)
        spoken = loaded.romanizer.romanize_string(text) if loaded.romanizer is not None else text
        samples = self._waveform(loaded, spoken, voice)
        if samples.size == 0:
            raise SpeechError(f"mms voice {voice!r} produced no audio for a {len(text)}-character text")
        pcm = (samples.clip(-1.0, 1.0) * 32767).astype("<i2").tobytes()
        return encode_pcm(pcm, loaded.sampling_rate, 1, self.bitrate)

    def _waveform(self, loaded: _Voice, text: str, voice: str) -> Any:
        import numpy
        import torch

        inputs = loaded.tokenizer(text, return_tensors="pt")
        if inputs["input_ids"].shape[-1] == 0:  # no letter the voice knows (Latin in Ukrainian, say)
            log.warning(
                "mms voice %s has none of the letters of %r: a short silence instead", voice, text[:40]
            )
            return numpy.zeros(round(UNSPEAKABLE_SILENCE * loaded.sampling_rate), dtype="float32")
        inputs = {name: tensor.to(self.device) for name, tensor in inputs.items()}
        with self._synthesis, torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(text_seed(text))
            waveform = loaded.model(**inputs).waveform
        return waveform[0].float().cpu().numpy()


def _romanizer(voice: str) -> Any:
    """uroman, for checkpoints whose tokenizer wants romanised text; a ``SpeechError`` without it."""
    try:
        import uroman
    except ImportError:
        raise SpeechError(
            f"mms voice {voice!r} reads romanised text (its tokenizer sets is_uroman): "
            "install the uroman package (pip install uroman)"
        ) from None
    return uroman.Uroman()
