"""Test doubles at the edges: real MP3 bytes, and a fake HTTP transport for the gTTS endpoint."""

from __future__ import annotations

import base64
import json
import math
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from requests.adapters import BaseAdapter

from pipeline.audio.encode import encode_pcm


def tone_mp3(seconds: float, rate: int = 24000, bitrate: int = 32, pitch: float = 440.0) -> bytes:
    """Real MP3 bytes (a sine tone), by default in the format Google's endpoint returns."""
    samples = int(seconds * rate)
    pcm = struct.pack(
        f"<{samples}h", *(int(8000 * math.sin(2 * math.pi * pitch * i / rate)) for i in range(samples))
    )
    return encode_pcm(pcm, rate, 1, bitrate)


def endpoint_reply(mp3: bytes) -> str:
    """The batchexecute reply format gTTS parses: a JSON-in-JSON line carrying base64 audio."""
    inner = json.dumps([base64.b64encode(mp3).decode("ascii")])
    line = json.dumps(
        [["wrb.fr", "jQ1olc", inner, None, None, None, "generic"], ["di", 42]], separators=(",", ":")
    )
    return f')]}}\'\n\n{len(line)}\n{line}\n25\n[["e",4,null,null,137]]\n'


def request_parts(body: str) -> tuple[str, str]:
    """(text, language) from a request body, decoded the way the endpoint would."""
    fields = urllib.parse.parse_qs(body)
    rpc = json.loads(fields["f.req"][0])
    text, lang, _speed, _ = json.loads(rpc[0][0][1])
    return text, lang


@dataclass
class FakeEndpoint(BaseAdapter):
    """A requests transport: answers each request with the next planned status (then 200s)."""

    statuses: list[int] = field(default_factory=list)
    audio_seconds: float = 0.4
    delay: float = 0.0
    bodies: list[str] = field(default_factory=list)
    timeouts: list[object] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    on_request: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        with self._lock:
            self.bodies.append(request.body if isinstance(request.body, str) else request.body.decode())
            self.timeouts.append(timeout)
            status = self.statuses.pop(0) if self.statuses else 200
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            response = requests.Response()
            response.status_code = status
            response.reason = {
                200: "OK",
                429: "Too Many Requests",
                503: "Service Unavailable",
                403: "Forbidden",
            }[status]
            response.request = request
            response.url = request.url
            response.encoding = "utf-8"
            response._content = (
                endpoint_reply(tone_mp3(self.audio_seconds)).encode() if status == 200 else b""
            )
            if status == 429:
                response.headers["Retry-After"] = "0"
            return response
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        pass

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount("https://", self)
        session.mount("http://", self)
        return session
