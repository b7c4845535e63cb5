"""Azure AI Speech, the supported cloud voice: its text-to-speech REST API, SSML in, MP3 out.

One ``POST {endpoint}/cognitiveservices/v1`` per piece of text (see ``ssml.pieces``), sent with
``PoliteSender`` like gTTS's requests: one deadline per try, retries with backoff and
``Retry-After`` on 429 and 5xx, a breaker once the service looks down, no new try after a stop.
Each reply's audio is checked as MP3 before it is returned (and so before the caller caches it);
a reply that is not usable audio is a failed try. A 401/403 means the key was refused and a 400
that the service rejected the SSML: both are final. Lexicon entries reach the service as
``<sub>``/``<phoneme>`` markup (the narrate stage does not substitute them for this engine), so the
lexicon is part of ``params``, and so of every segment's cache key.

The key comes from ``tts.azure.key_file`` (its first line) or ``$AZURE_SPEECH_KEY``; it is sent
in the ``Ocp-Apim-Subscription-Key`` header only, and never logged.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import requests

from pipeline.config.schema import AzureConfig, LexiconEntry, TtsConfig
from pipeline.errors import PipelineError, SpeechError
from pipeline.net import deadline
from pipeline.retry import RetryPolicy
from pipeline.tts import ssml
from pipeline.tts.http import PoliteSender, Throttle, checked_mp3
from pipeline.version import __version__

KEY_VARIABLE = "AZURE_SPEECH_KEY"
PATH = "/cognitiveservices/v1"
VOICE_PATTERN = re.compile(r"^[a-z]{2,3}-[A-Z]{2}-\w+Neural$")
KNOWN_VOICES = ("sq-AL-AnilaNeural", "sq-AL-IlirNeural", "uk-UA-PolinaNeural", "uk-UA-OstapNeural")
REFUSALS = {
    400: "the service rejected the SSML (check the lexicon's alias and ipa entries)",
    401: "the key was refused (check AZURE_SPEECH_KEY or tts.azure.key_file, and the region)",
    403: "the key was refused (check AZURE_SPEECH_KEY or tts.azure.key_file, and the region)",
}


def new_session() -> Any:
    """The HTTP session for the service (a seam for tests)."""
    return deadline.new_session()


def read_key(settings: AzureConfig) -> str:
    """The Speech key: ``key_file``'s first line, else ``$AZURE_SPEECH_KEY``; raises ``SpeechError``."""
    if settings.key_file:
        try:
            lines = Path(settings.key_file).read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise SpeechError(f"tts.azure.key_file {settings.key_file}: cannot be read ({exc})") from exc
        key = lines[0].strip() if lines else ""
        if not key:
            raise SpeechError(f"tts.azure.key_file {settings.key_file}: the file holds no key")
        return key
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key:
        raise SpeechError(f"no Azure Speech key: set {KEY_VARIABLE} or tts.azure.key_file")
    return key


def base_url(settings: AzureConfig) -> str:
    """``tts.azure.endpoint``, else the region's text-to-speech host; raises ``SpeechError``."""
    if settings.endpoint:
        return settings.endpoint.rstrip("/")
    if settings.region:
        return f"https://{settings.region}.tts.speech.microsoft.com"
    raise SpeechError("Azure needs tts.azure.region (e.g. westeurope) or tts.azure.endpoint")


class AzureEngine:
    name = "azure"

    def __init__(
        self,
        settings: AzureConfig,
        key: str,
        concurrency: int,
        lexicon: dict[str, dict[str, LexiconEntry]] | None = None,
        session: Any = None,
    ):
        self.settings = settings
        self.url = base_url(settings) + PATH
        self._key = key
        self.lexicon = lexicon or {}
        self.params: dict[str, object] = {
            "output_format": settings.output_format,
            "lexicon": {
                code: {term: e if isinstance(e, str) else e.model_dump() for term, e in entries.items()}
                for code, entries in sorted(self.lexicon.items())
            },
        }
        self.sender = PoliteSender(
            session or new_session(),
            Throttle(concurrency, settings.min_interval),
            RetryPolicy(settings.max_tries, settings.backoff, settings.max_backoff),
            settings.timeout,
            service="Azure Speech",
            give_up_after=settings.give_up_after,
            refusals=REFUSALS,
            endpoint_setting="tts.azure.endpoint",
        )

    def __repr__(self) -> str:  # never the key
        return f"AzureEngine({self.url!r}, {self.settings.output_format})"

    @classmethod
    def from_config(cls, tts: TtsConfig) -> AzureEngine:
        """The engine as ``tts.azure``, ``tts.lexicon`` and ``tts.concurrency`` configure it; raises
        ``SpeechError`` without a key or a region/endpoint."""
        return cls(tts.azure, read_key(tts.azure), concurrency=tts.concurrency, lexicon=tts.lexicon)

    def stop_on(self, stop: threading.Event) -> None:
        """Once ``stop`` is set no request starts a try (it ends with ``Stopped``)."""
        self.sender.stop_on(stop)

    def check_voice(self, voice: str) -> None:
        if not VOICE_PATTERN.match(voice):
            raise SpeechError(
                f"{voice!r} is not an Azure neural voice name like sq-AL-AnilaNeural "
                f"(for these languages: {', '.join(KNOWN_VOICES)})"
            )

    def synthesize(self, text: str, voice: str) -> bytes:
        """MP3 bytes of ``text`` in ``voice``: each piece's checked audio, joined in order.

        Raises ``SpeechUnavailableError`` when a piece failed every try, ``SpeechError`` when it
        cannot be made as asked (a refused key, rejected SSML, nothing to speak) and ``Stopped``
        when the run stops before a piece is sent.
        """
        lexicon = self.lexicon.get(voice.split("-", 1)[0].lower(), {})
        pieces = ssml.pieces(text, self.settings.max_chars)
        if not pieces:
            raise SpeechError("nothing to speak: the text is empty")
        try:
            return b"".join(
                self.sender.send(self.request(ssml.document(piece, voice, lexicon)), checked_mp3)
                for piece in pieces
            )
        except PipelineError:
            raise
        except Exception as exc:  # a bug: one segment fails, not the whole run
            raise SpeechError(f"Azure Speech failed unexpectedly: {type(exc).__name__}: {exc}") from exc

    def request(self, document: str) -> requests.PreparedRequest:
        """The prepared POST of one SSML ``document``."""
        return requests.Request(
            "POST",
            self.url,
            headers={
                "Ocp-Apim-Subscription-Key": self._key,
                "Content-Type": "application/ssml+xml",
                "X-Microsoft-OutputFormat": self.settings.output_format,
                "User-Agent": f"newsroom-pipeline/{__version__}",
            },
            data=document.encode("utf-8"),
        ).prepare()
