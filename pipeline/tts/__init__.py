"""Speech engines, one module each, looked up by the name used in ``tts.engine``.

An engine turns one piece of text into MP3 bytes in a given voice. Adding one (Piper, MMS-TTS)
is a module with a class like those below and a line in ``ENGINES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the config validates engine names against ENGINES, so no import at run time
    from pipeline.config import TtsConfig


class Engine(Protocol):
    name: str
    params: dict[str, object]  # settings that change the audio: part of each segment's cache key

    def check_voice(self, voice: str) -> None:
        """Raise ``SpeechError`` if this engine cannot speak with ``voice``."""

    def synthesize(self, text: str, voice: str) -> bytes:
        """MP3 bytes of ``text`` spoken in ``voice``; thread-safe."""


def _gtts(tts: TtsConfig) -> Engine:
    from pipeline.tts.gtts_engine import GttsEngine

    return GttsEngine(tts.gtts, concurrency=tts.concurrency)


def _espeak(tts: TtsConfig) -> Engine:
    from pipeline.tts.espeak import EspeakEngine

    return EspeakEngine(tts.espeak, bitrate=tts.bitrate)


ENGINES: dict[str, Callable[[TtsConfig], Engine]] = {"gtts": _gtts, "espeak-ng": _espeak}
NO_NARRATION = "none"
