"""Test doubles at the edges: real MP3 bytes, a fake HTTP transport for the gTTS endpoint, and a
scripted local HTTP(S) server for what only real sockets show (short replies, trickling servers, TLS).
"""

from __future__ import annotations

import base64
import json
import math
import socket
import ssl
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
    return endpoint_reply_b64(base64.b64encode(mp3).decode("ascii"))


def endpoint_reply_b64(audio: str) -> str:
    """The batchexecute reply carrying ``audio`` as the base64 text (which may be invalid)."""
    inner = json.dumps([audio])
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
    errors: list[Exception] = field(default_factory=list)  # raised by the first sends, in order
    in_flight: int = 0
    most_in_flight: int = 0
    on_request: Callable[[], None] | None = None  # called as each request comes

    def __post_init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        with self._lock:
            self.bodies.append(request.body if isinstance(request.body, str) else request.body.decode())
            self.timeouts.append(timeout)
            if self.on_request is not None:
                self.on_request()
            if self.errors:
                raise self.errors.pop(0)
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
            response._content_consumed = True  # as requests marks a body it has read (no raw to close)
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


def http_reply(
    body: bytes | str,
    status: str = "200 OK",
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> bytes:
    """Raw HTTP/1.1 reply bytes; ``length`` overrides the Content-Length (to announce more than comes)."""
    data = body.encode() if isinstance(body, str) else body
    lines = [
        f"HTTP/1.1 {status}",
        f"Content-Length: {len(data) if length is None else length}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def audio_reply(seconds: float = 0.4) -> bytes:
    """A good endpoint reply: 200 with the batchexecute body carrying real MP3 audio."""
    return http_reply(endpoint_reply(tone_mp3(seconds)), headers={"Content-Type": "application/json"})


@dataclass(frozen=True)
class Reply:
    """What one connection gets: ``data``, from byte ``trickle_from`` on one byte per ``trickle`` s."""

    data: bytes
    trickle: float = 0.0
    trickle_from: int = 0


class ScriptedServer:
    """A local HTTP server on 127.0.0.1 that answers the n-th connection with ``replies[n]`` (the last
    one again once they run out) and closes it. ``requests`` holds each request's head (request line
    and headers) and body, ``accepted`` when each connection came; with ``tls`` (a server SSL
    context) it speaks HTTPS. Use it as a context manager: leaving it stops trickles and closes
    every connection, so no client is left hanging."""

    def __init__(self, replies: list[Reply | bytes], tls: ssl.SSLContext | None = None):
        self.replies = [reply if isinstance(reply, Reply) else Reply(reply) for reply in replies]
        self.tls = tls
        self.requests: list[tuple[str, bytes]] = []
        self.accepted: list[float] = []  # when each connection came (time.monotonic())
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> ScriptedServer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        count = 0
        while not self._stop.is_set():
            try:
                connection = self._listener.accept()[0]
            except TimeoutError:
                continue
            with self._lock:
                self.accepted.append(time.monotonic())
            self._spawn(self._serve, connection, self.replies[min(count, len(self.replies) - 1)])
            count += 1

    def _serve(self, connection: socket.socket, reply: Reply) -> None:
        try:
            connection.settimeout(5)
            if self.tls:
                connection = self.tls.wrap_socket(connection, server_side=True)
            self._read_request(connection)
            connection.sendall(reply.data[: reply.trickle_from])
            for byte in range(reply.trickle_from, len(reply.data)):
                if self._stop.wait(reply.trickle):
                    break
                connection.sendall(reply.data[byte : byte + 1])
        except OSError:  # the client gave up (or refused our certificate): that is what tests look at
            pass
        finally:
            connection.close()

    def _read_request(self, connection: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        text = head.decode("latin-1")
        length = next(
            (
                int(line.split(":", 1)[1])
                for line in text.split("\r\n")
                if line.lower().startswith("content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        with self._lock:
            self.requests.append((text, body))


def tone_engine(
    name: str, spoken: list[tuple[str, str]] | None = None, seconds: Callable[[str], float] = lambda _: 0.05
) -> type:
    """A speech engine class for ``pipeline.tts.ENGINES``: answers each segment with a tone of
    ``seconds(text)`` (no espeak, no network) and, given ``spoken``, appends ``(voice, text)`` to it."""

    class ToneEngine:
        params: dict[str, object] = {}  # noqa: RUF012 - settings that change the audio (cache key)

        def __init__(self, tts: object) -> None:
            pass

        def check_voice(self, voice: str) -> None:
            pass

        def synthesize(self, text: str, voice: str) -> bytes:
            if spoken is not None:
                spoken.append((voice, text))
            return tone_mp3(seconds(text))

    ToneEngine.name = name  # type: ignore[attr-defined]
    return ToneEngine


class FakeClock:
    """A clock the test moves by hand (``clock.now += 5``), for throttles and session expiry."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
