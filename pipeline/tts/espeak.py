"""eSpeak NG, the offline engine: the Debian ``espeak-ng`` program, WAV encoded to MP3 with LAME."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from functools import cached_property
from pathlib import Path

from pipeline.audio.encode import encode_pcm
from pipeline.config.schema import EspeakConfig, TtsConfig
from pipeline.errors import SpeechError, SpeechUnavailableError

PROGRAM = "espeak-ng"


class EspeakEngine:
    name = "espeak-ng"

    def __init__(self, settings: EspeakConfig, bitrate: int):
        program = shutil.which(PROGRAM)
        if program is None:
            raise SpeechError(f"{PROGRAM} is not installed (Debian/Ubuntu: apt-get install {PROGRAM})")
        self.program, self.settings, self.bitrate = program, settings, bitrate
        self.params: dict[str, object] = {"speed": settings.speed, "bitrate": bitrate}

    @classmethod
    def from_config(cls, tts: TtsConfig) -> EspeakEngine:
        """The engine as ``tts.espeak`` and ``tts.bitrate`` configure it; raises ``SpeechError`` if
        ``espeak-ng`` is not installed."""
        return cls(tts.espeak, bitrate=tts.bitrate)

    @cached_property
    def voices(self) -> set[str]:
        listing = subprocess.run(
            [self.program, "--voices"], capture_output=True, text=True, check=True
        ).stdout
        return {line.split()[1] for line in listing.splitlines()[1:] if len(line.split()) > 1}

    def check_voice(self, voice: str) -> None:
        if voice not in self.voices:
            raise SpeechError(f"{PROGRAM} has no voice {voice!r} (see `{PROGRAM} --voices`)")

    def synthesize(self, text: str, voice: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="espeak-") as folder:
            wav_path = Path(folder) / "speech.wav"
            command = [
                self.program,
                "-v",
                voice,
                "-s",
                str(self.settings.speed),
                "-b",
                "1",
                "-w",
                str(wav_path),
                "--stdin",
            ]
            try:
                done = subprocess.run(
                    command, input=text.encode("utf-8"), capture_output=True, timeout=self.settings.timeout
                )
            except subprocess.TimeoutExpired:  # a loaded machine, not a text it cannot speak: try again
                raise SpeechUnavailableError(
                    f"{PROGRAM} took longer than {self.settings.timeout:g} s"
                ) from None
            if done.returncode != 0 or not wav_path.exists():
                detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
                raise SpeechError(
                    f"{PROGRAM} failed (exit {done.returncode}): {detail[0] if detail else 'no output'}"
                )
            with wave.open(str(wav_path), "rb") as wav:
                if wav.getsampwidth() != 2:
                    raise SpeechError(f"{PROGRAM} wrote {8 * wav.getsampwidth()}-bit audio, expected 16-bit")
                pcm = wav.readframes(wav.getnframes())
                rate, channels = wav.getframerate(), wav.getnchannels()
        if not pcm:
            raise SpeechError(f"{PROGRAM} produced no audio for a {len(text)}-character text")
        return encode_pcm(pcm, rate, channels, self.bitrate)
