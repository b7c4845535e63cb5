"""Google Translate's text-to-speech, through gTTS for text preparation and our own HTTP.

gTTS splits the text into the ~100-character pieces the endpoint takes and builds each request;
we send them with ``PoliteSender`` (deadline, throttle, retries) rather than gTTS's own loop, which
has none, and read the audio out of the reply as gTTS does. Each piece comes back as MP3
(24 kHz mono), checked before it is used (the caller caches it); the pieces of one text are joined
in order. A reply without usable audio is a failed try, retried like a 5xx.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Any

from pipeline.config.schema import GttsConfig, TtsConfig
from pipeline.errors import PipelineError, SpeechError
from pipeline.net import deadline
from pipeline.retry import RetryPolicy
from pipeline.tts.http import PoliteSender, Throttle, UnusableReply, checked_mp3

ENDPOINT_PATH = "/_/TranslateWebserverUi/data/batchexecute"
_AUDIO = re.compile(r'jQ1olc","\[\\"(.*)\\"]')


def new_session() -> Any:
    """The HTTP session for the endpoint (a seam for tests, which mount a fake transport)."""
    return deadline.new_session()


class GttsEngine:
    name = "gtts"

    def __init__(self, settings: GttsConfig, concurrency: int, session: Any = None):
        self.settings = settings
        self.params: dict[str, object] = {"tld": settings.tld}
        self.sender = PoliteSender(
            session or new_session(),
            Throttle(concurrency, settings.min_interval),
            RetryPolicy(settings.max_tries, settings.backoff, settings.max_backoff),
            settings.timeout,
            give_up_after=settings.give_up_after,
        )

    @classmethod
    def from_config(cls, tts: TtsConfig) -> GttsEngine:
        """The engine as ``tts.gtts`` and ``tts.concurrency`` configure it."""
        return cls(tts.gtts, concurrency=tts.concurrency)

    def stop_on(self, stop: threading.Event) -> None:
        """Once ``stop`` is set no request starts a try (it ends with ``Stopped``); tries in flight
        end by their deadline."""
        self.sender.stop_on(stop)

    def check_voice(self, voice: str) -> None:
        from gtts.lang import tts_langs

        if voice not in tts_langs():
            raise SpeechError(f"gTTS has no voice {voice!r} (it speaks: {', '.join(sorted(tts_langs()))})")

    def synthesize(self, text: str, voice: str) -> bytes:
        """MP3 bytes of ``text`` in ``voice``: every piece's checked audio, joined in order.

        Raises ``SpeechUnavailableError`` when a piece failed every try (transient), ``SpeechError``
        when it cannot be made as asked (a 4xx, nothing to speak) and ``Stopped`` when the run stops
        before a piece is sent; never anything but a PipelineError.
        """
        try:
            return b"".join(
                self.sender.send(request, lambda body: self._audio(body, voice))
                for request in self.requests(text, voice)
            )
        except PipelineError:
            raise
        except Exception as exc:  # a bug or a gTTS change: one segment fails, not the whole run
            raise SpeechError(f"gTTS failed unexpectedly: {type(exc).__name__}: {exc}") from exc

    def requests(self, text: str, voice: str) -> list[Any]:
        """The prepared HTTP requests for ``text``, one per piece, in order.

        Raises ``SpeechError`` when ``text`` has nothing gTTS can speak (only punctuation or spaces).
        """
        from gtts import gTTS
        from gtts.tokenizer import pre_processors

        try:
            tts = gTTS(
                text,
                lang=voice,
                tld=self.settings.tld,
                lang_check=False,
                # gTTS's word_sub pre-processor rewrites English words; these texts are not English.
                pre_processor_funcs=[
                    pre_processors.tone_marks,
                    pre_processors.end_of_line,
                    pre_processors.abbreviations,
                ],
            )
            prepared = tts._prepare_requests()  # gTTS 2.5's request builder; pinned in requirements.lock
        except AssertionError as exc:  # gTTS asserts there is text, and text left after cleaning
            raise SpeechError(f"nothing to speak in {text[:40]!r}: gTTS found no words ({exc})") from exc
        if self.settings.endpoint:
            for request in prepared:
                request.prepare_url(self.settings.endpoint.rstrip("/") + ENDPOINT_PATH, None)
        return prepared

    @staticmethod
    def _audio(body: bytes, voice: str) -> bytes:
        """The checked MP3 audio in a reply body, found as gTTS finds it.

        Raises ``UnusableReply`` (a failed try) when there is none, it is not base64, or it is not
        MP3 audio with a positive duration.
        """
        for line in body.decode("utf-8", errors="replace").splitlines():
            if "jQ1olc" in line:
                match = _AUDIO.search(line)
                if match:
                    return checked_mp3(_base64(match.group(1)))
        raise UnusableReply(f"a reply without audio (is {voice!r} a voice it speaks?)")


def _base64(text: str) -> bytes:
    """The bytes ``text`` encodes; raises ``UnusableReply`` if it is not base64."""
    try:
        return base64.b64decode(text)
    except ValueError as exc:  # binascii.Error, or characters outside ASCII
        raise UnusableReply(f"audio that is not base64 ({exc})") from exc
