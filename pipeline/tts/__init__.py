"""Speech engines, one module each, looked up by the name used in ``tts.engine``.

An engine turns one piece of text into MP3 bytes in a given voice. Adding one (Piper, MMS-TTS)
is a module with a class like those below (with a ``from_config(tts)`` factory) and a line in
``pipeline.registry.TTS_ENGINES``.
"""

from __future__ import annotations

from typing import Protocol

from pipeline.registry import NO_NARRATION
from pipeline.registry import TTS_ENGINES as ENGINES


class Engine(Protocol):
    name: str
    params: dict[str, object]  # settings that change the audio: part of each segment's cache key

    def check_voice(self, voice: str) -> None:
        """Raise ``SpeechError`` if this engine cannot speak with ``voice``."""

    def synthesize(self, text: str, voice: str) -> bytes:
        """MP3 bytes of ``text`` spoken in ``voice``; thread-safe."""


__all__ = ["ENGINES", "NO_NARRATION", "Engine"]
