"""Google Translate's text-to-speech, through gTTS for text preparation and our own HTTP.

gTTS splits the text into the ~100-character pieces the endpoint takes and builds each request;
we send them with ``PoliteSender`` (timeout, throttle, retries) rather than gTTS's own loop, which
has none, and read the audio out of the reply as gTTS does. Each piece comes back as MP3
(24 kHz mono); the pieces of one text are joined in order.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from pipeline.config.schema import GttsConfig
from pipeline.errors import SpeechError
from pipeline.retry import RetryPolicy
from pipeline.tts.http import PoliteSender, Throttle

ENDPOINT_PATH = "/_/TranslateWebserverUi/data/batchexecute"
_AUDIO = re.compile(r'jQ1olc","\[\\"(.*)\\"]')


def new_session() -> Any:
    """The HTTP session for the endpoint (a seam for tests, which mount a fake transport)."""
    import requests

    return requests.Session()


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

    def check_voice(self, voice: str) -> None:
        from gtts.lang import tts_langs

        if voice not in tts_langs():
            raise SpeechError(f"gTTS has no voice {voice!r} (it speaks: {', '.join(sorted(tts_langs()))})")

    def synthesize(self, text: str, voice: str) -> bytes:
        return b"".join(
            self._audio(self.sender.send(request).text, voice) for request in self.requests(text, voice)
        )

    def requests(self, text: str, voice: str) -> list[Any]:
        """The prepared HTTP requests for ``text``, one per piece, in order."""
        from gtts import gTTS
        from gtts.tokenizer import pre_processors

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
        if self.settings.endpoint:
            for request in prepared:
                request.prepare_url(self.settings.endpoint.rstrip("/") + ENDPOINT_PATH, None)
        return prepared

    @staticmethod
    def _audio(reply: str, voice: str) -> bytes:
        for line in reply.splitlines():
            if "jQ1olc" in line:
                match = _AUDIO.search(line)
                if match:
                    return base64.b64decode(match.group(1))
        raise SpeechError(f"the TTS endpoint answered without audio (is {voice!r} a voice it speaks?)")
