"""Speech engines, one module each, looked up by the name used in ``tts.engine``.

An engine turns one piece of text into MP3 bytes in a given voice. Adding one (Piper, MMS-TTS)
is a module with a class like those below (with a ``from_config(tts)`` factory) and a line in
``pipeline.registry.TTS_ENGINES``; one that talks to a service is also ``Stoppable``, so that a
stopped run sends nothing more.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from pipeline.registry import NO_NARRATION
from pipeline.registry import TTS_ENGINES as ENGINES


class Engine(Protocol):
    name: str
    params: dict[str, object]  # settings that change the audio: part of each segment's cache key

    def check_voice(self, voice: str) -> None:
        """Raise ``SpeechError`` if this engine cannot speak with ``voice``."""

    def synthesize(self, text: str, voice: str) -> bytes:
        """MP3 bytes of ``text`` spoken in ``voice``; thread-safe."""


@runtime_checkable
class Stoppable(Protocol):
    """An engine whose requests can outlast a stop (network retries, backoff waits) and end early."""

    def stop_on(self, stop: threading.Event) -> None:
        """Once ``stop`` is set, start nothing new: ``synthesize`` raises ``Stopped`` instead."""


__all__ = ["ENGINES", "NO_NARRATION", "Engine", "Stoppable"]
