"""gTTS at the HTTP boundary: request bodies, retries, a 429 storm, a hung endpoint, broken and
trickling replies, unusable audio, TLS and proxies from the environment, Retry-After."""

import email.utils
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from pipeline.audio import mp3
from pipeline.config.schema import GttsConfig
from pipeline.errors import PipelineError, SpeechError, SpeechUnavailableError
from pipeline.net.retry_after import retry_after_seconds
from pipeline.tts.gtts_engine import GttsEngine
from pipeline.tts.http import Throttle, UnusableReply

from .fakes import (
    FakeEndpoint,
    Reply,
    ScriptedServer,
    audio_reply,
    endpoint_reply,
    endpoint_reply_b64,
    http_reply,
    request_parts,
    tone_mp3,
)
from .requirements import IN_CI

TEXT = (
    "Ukraina dhe Shqipëria nënshkruan një traktat miqësie dhe bashkëpunimi në Tiranë më 28 shkurt, "
    "tha presidenti. Marrëveshja mbulon tregtinë, kulturën, arsimin, mjedisin dhe turizmin."
)
FAST = GttsConfig(backoff=0.0, min_interval=0.0, timeout=5)


def engine(endpoint: FakeEndpoint, settings: GttsConfig = FAST, concurrency: int = 2) -> GttsEngine:
    return GttsEngine(settings, concurrency=concurrency, session=endpoint.session())


def served(server: ScriptedServer, **settings: object) -> GttsEngine:
    """An engine sending real HTTP to ``server``: no spacing, no backoff, two tries unless told."""
    values: dict[str, object] = {"min_interval": 0.0, "backoff": 0.0, "max_tries": 2, "timeout": 5.0}
    values.update(settings)
    return GttsEngine(GttsConfig(endpoint=server.url, **values), concurrency=1)


def finished_within(limit: float, call: Callable[[], object]) -> tuple[float, BaseException | None]:
    """(seconds taken, the exception raised or None) for ``call``; fails the test past ``limit`` s."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), f"still running after {limit} s"
    return elapsed, outcome[0]


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests honour proxy variables: the local test servers must be reached directly."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_request_bodies_carry_the_language_and_the_text_in_pieces() -> None:
    endpoint = FakeEndpoint()
    audio = engine(endpoint).synthesize(TEXT, "sq")
    parts = [request_parts(body) for body in endpoint.bodies]
    assert len(parts) >= 2
    assert {lang for _, lang in parts} == {"sq"}
    assert all(len(text) <= 100 for text, _ in parts)
    # gTTS cuts at punctuation and may drop the mark it cut at; every word arrives, in order
    assert re.findall(r"\w+", " ".join(text for text, _ in parts)) == re.findall(r"\w+", TEXT)
    assert endpoint.timeouts == [5.0] * len(parts)  # every request has a timeout
    frames = mp3.audio_frames(audio)  # the pieces' MP3s, joined in order
    piece = mp3.duration(mp3.audio_frames(tone_mp3(0.4)))
    assert mp3.duration(frames) == pytest.approx(len(parts) * piece)


def test_ukrainian_requests_ask_for_ukrainian() -> None:
    endpoint = FakeEndpoint()
    engine(endpoint).synthesize("Це аудіо створено за допомогою штучного інтелекту.", "uk")
    assert request_parts(endpoint.bodies[0]) == ("Це аудіо створено за допомогою штучного інтелекту.", "uk")


def test_429_then_success_is_retried_after_a_backoff() -> None:
    endpoint = FakeEndpoint(statuses=[429, 503])
    slept: list[float] = []
    tts = engine(endpoint, GttsConfig(backoff=2.0, min_interval=0.0))
    tts.sender.sleep = slept.append
    audio = tts.synthesize("Mirëdita.", "sq")
    assert mp3.audio_frames(audio)
    assert len(endpoint.bodies) == 3  # 429, 503, then 200
    assert len(slept) == 2
    assert 1.0 <= slept[0] <= 2.0 and 2.0 <= slept[1] <= 4.0  # exponential, with jitter


def test_a_429_storm_ends_in_one_clear_error_and_then_fails_fast() -> None:
    endpoint = FakeEndpoint(statuses=[429] * 100)
    tts = engine(endpoint, GttsConfig(backoff=0.0, min_interval=0.0, give_up_after=2))
    for _ in range(2):
        with pytest.raises(SpeechUnavailableError) as caught:
            tts.synthesize("Mirëdita.", "sq")
        assert str(caught.value) == "429 Too Many Requests from the TTS endpoint after 5 tries"
    assert len(endpoint.bodies) == 10
    with pytest.raises(SpeechUnavailableError, match="considered down for this run: 2 requests in a row"):
        tts.synthesize("Mirëdita.", "sq")
    assert len(endpoint.bodies) == 10  # no more requests once the endpoint counts as down


def test_client_errors_are_not_retried() -> None:
    endpoint = FakeEndpoint(statuses=[403])
    with pytest.raises(SpeechError, match=r"^403 Forbidden from the TTS endpoint$"):
        engine(endpoint).synthesize("Mirëdita.", "sq")
    assert len(endpoint.bodies) == 1


def test_a_reply_without_audio_is_an_unusable_reply() -> None:
    endpoint = FakeEndpoint()
    tts = engine(endpoint)
    with pytest.raises(UnusableReply, match="a reply without audio"):
        tts._audio(b')]}\'\n\n[["wrb.fr","jQ1olc",null]]', "xx")


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_a_hung_request_hits_the_timeout(hung_server: str) -> None:
    settings = GttsConfig(endpoint=hung_server, timeout=0.3, max_tries=2, backoff=0.0, min_interval=0.0)
    tts = GttsEngine(settings, concurrency=1)
    started = time.monotonic()
    with pytest.raises(SpeechUnavailableError) as caught:
        tts.synthesize("Mirëdita.", "sq")
    assert str(caught.value) == "no answer within 0.3 s from the TTS endpoint after 2 tries"
    assert time.monotonic() - started < 5


def test_concurrency_is_bounded_and_requests_are_spaced() -> None:
    endpoint = FakeEndpoint(delay=0.05)
    tts = engine(endpoint, GttsConfig(min_interval=0.0), concurrency=2)
    threads = [threading.Thread(target=tts.synthesize, args=("Mirëdita.", "sq")) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(endpoint.bodies) == 6
    assert endpoint.most_in_flight == 2

    throttle = Throttle(concurrency=4, min_interval=0.05)
    started = time.monotonic()
    for _ in range(5):
        with throttle.slot():
            pass
    assert time.monotonic() - started >= 0.2  # four gaps of at least 50 ms


def test_unknown_voice_is_refused() -> None:
    with pytest.raises(SpeechError, match="gTTS has no voice 'xx'"):
        engine(FakeEndpoint()).check_voice("xx")


# --- broken replies: every transport or decoding problem is a failed try --------------------------

SHORT = http_reply(endpoint_reply(tone_mp3(0.4)), length=100_000)  # the connection closes early
BAD_GZIP = http_reply("not gzip at all", headers={"Content-Encoding": "gzip"})
BAD_BASE64 = http_reply(endpoint_reply_b64("abc"))  # binascii.Error: Incorrect padding


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (SHORT, r"a broken reply \(IncompleteRead"),
        (BAD_GZIP, r"a broken reply \(.*(decompress|gzip).*"),
        (BAD_BASE64, r"audio that is not base64 \(Incorrect padding\)"),
    ],
    ids=["shorter-than-content-length", "bad-gzip", "bad-base64"],
)
def test_a_broken_reply_is_retried_then_unavailable(reply: bytes, problem: str) -> None:
    with ScriptedServer([reply]) as server:
        error = finished_within(10.0, lambda: served(server).synthesize("Mirëdita.", "sq"))[1]
    assert isinstance(error, SpeechUnavailableError), repr(error)
    assert re.fullmatch(rf"{problem}.* from the TTS endpoint after 2 tries", str(error)), str(error)
    assert len(server.requests) == 2


def test_a_broken_reply_then_a_good_one_gives_the_audio() -> None:
    with ScriptedServer([SHORT, BAD_BASE64, audio_reply(0.4)]) as server:
        audio = served(server, max_tries=3).synthesize("Mirëdita.", "sq")
    assert mp3.check_audio(audio) == pytest.approx(mp3.check_audio(tone_mp3(0.4)))
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(5 bytes read)"),
        requests.exceptions.ContentDecodingError("Received response with content-encoding: gzip"),
        requests.exceptions.RequestException("something else went wrong"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_transport_errors_from_the_session_never_escape(error: Exception) -> None:
    endpoint = FakeEndpoint(errors=[error, error])
    with pytest.raises(SpeechUnavailableError, match=r"after 2 tries$"):
        engine(endpoint, GttsConfig(backoff=0.0, min_interval=0.0, max_tries=2)).synthesize("Mirëdita.", "sq")
    assert engine(endpoint).synthesize("Mirëdita.", "sq")  # the errors are used up: audio again


def test_nothing_to_speak_is_a_speech_error() -> None:
    with pytest.raises(SpeechError, match="nothing to speak"):
        engine(FakeEndpoint()).synthesize("... —", "sq")


# --- a trickling server cannot hold the run ----------------------------------------------------------


def chunked_reply(body: bytes, extension: str = "") -> bytes:
    """A 200 reply sending ``body`` as one chunk of chunked transfer coding (``extension``: ";name=value")."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    return head + f"{len(body):x}{extension}".encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"


@pytest.mark.parametrize("where", ["headers", "body", "chunk-size"])
def test_a_trickling_server_is_cut_off_at_the_timeout(where: str) -> None:
    body = endpoint_reply(tone_mp3(0.4)).encode()
    reply = audio_reply(0.4) if where != "chunk-size" else chunked_reply(body, ";pad=" + "x" * 100)
    head_length = reply.index(b"\r\n\r\n") + 4
    # One byte every 0.2 s: every socket read gets data well within the 1 s timeout. A trickled
    # chunk-size line (with a long extension) is read with readline(), past any per-read check.
    start = {"headers": 0, "body": head_length + 10, "chunk-size": head_length}[where]
    with ScriptedServer([Reply(reply, trickle=0.2, trickle_from=start)]) as server:
        elapsed, error = finished_within(
            3.0, lambda: served(server, timeout=1.0, max_tries=1).synthesize("Mirë.", "sq")
        )
    assert isinstance(error, SpeechUnavailableError), error
    expected = "no answer" if where == "headers" else "no complete answer"
    assert str(error) == f"{expected} within 1 s from the TTS endpoint after 1 try"
    assert 0.9 < elapsed < 3.0


def test_a_session_without_the_watchdog_still_stops_a_trickling_body() -> None:
    """A session passed in (a plain one here) has no socket watchdog: the body read checks the deadline."""
    reply = audio_reply(0.4)
    trickle = Reply(reply, trickle=0.2, trickle_from=reply.index(b"\r\n\r\n") + 14)
    with ScriptedServer([trickle]) as server:
        settings = GttsConfig(endpoint=server.url, timeout=1.0, max_tries=1, min_interval=0.0)
        tts = GttsEngine(settings, concurrency=1, session=requests.Session())
        elapsed, error = finished_within(3.0, lambda: tts.synthesize("Mirë.", "sq"))
    assert str(error) == "no complete answer within 1 s from the TTS endpoint after 1 try"
    assert 0.9 < elapsed < 3.0


def test_a_chunked_reply_in_time_gives_the_audio() -> None:
    with ScriptedServer([chunked_reply(endpoint_reply(tone_mp3(0.4)).encode())]) as server:
        assert mp3.check_audio(served(server).synthesize("Mirëdita.", "sq")) > 0


# --- unusable audio is a failed try, never returned (the caller would cache it) ----------------------

WAV = b"RIFF\x24\x10\x00\x00WAVEfmt " + bytes(4000)


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (http_reply("<html>Our systems have detected unusual traffic</html>"), "a reply without audio"),
        (http_reply(bytes(range(256)) * 20), "a reply without audio"),
        (http_reply(endpoint_reply(b"")), "unusable audio \\(no MPEG Layer III audio frames found\\)"),
        (http_reply(endpoint_reply(WAV)), "unusable audio \\(no MPEG Layer III audio frames found\\)"),
    ],
    ids=["html", "garbage", "empty-audio", "wav-audio"],
)
def test_unusable_audio_is_retried_then_unavailable(reply: bytes, problem: str) -> None:
    with ScriptedServer([reply]) as server:
        error = finished_within(10.0, lambda: served(server).synthesize("Mirëdita.", "sq"))[1]
    assert isinstance(error, SpeechUnavailableError), repr(error)
    assert re.fullmatch(rf"{problem}.* from the TTS endpoint after 2 tries", str(error)), str(error)
    assert len(server.requests) == 2


def test_an_oversized_reply_is_a_failed_try(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.tts.http.MAX_REPLY_BYTES", 1000)
    with ScriptedServer([audio_reply(0.4)]) as server:
        error = finished_within(10.0, lambda: served(server).synthesize("Mirëdita.", "sq"))[1]
    assert str(error) == "a reply over 1,000 bytes from the TTS endpoint after 2 tries"
    assert len(server.requests) == 2


def test_client_errors_from_a_real_server_stay_permanent() -> None:
    with ScriptedServer([http_reply("no", status="403 Forbidden")]) as server:
        error = finished_within(10.0, lambda: served(server).synthesize("Mirëdita.", "sq"))[1]
    assert isinstance(error, SpeechError) and str(error) == "403 Forbidden from the TTS endpoint"
    assert len(server.requests) == 1


def test_check_audio_refuses_a_few_stray_frames_in_other_bytes() -> None:
    frames = mp3.audio_frames(tone_mp3(0.4))
    assert mp3.check_audio(mp3.join(frames)) == pytest.approx(mp3.duration(frames))
    stray = bytes(5000) + b"".join(frame.data for frame in frames[:3]) + bytes(5000)
    assert len(mp3.audio_frames(stray)) == 2  # two frames chain: the parser alone accepts them
    with pytest.raises(mp3.Mp3Error, match="MPEG audio frames"):
        mp3.check_audio(stray)


# --- TLS and proxies from the environment, as requests.get honours them ------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(certificate, key): a self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    if not shutil.which("openssl") and not IN_CI:  # in CI it must be there (.ci/run installs it)
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def tls_server(tls_files: tuple[Path, Path]) -> Iterator[ScriptedServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    with ScriptedServer([audio_reply(0.4)], tls=context) as server:
        yield server


def test_a_ca_bundle_from_the_environment_is_trusted(
    tls_server: ScriptedServer, tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files[0]))
    audio = served(tls_server).synthesize("Mirëdita.", "sq")
    assert mp3.check_audio(audio) > 0


def test_without_the_ca_bundle_the_certificate_is_refused(
    tls_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(PipelineError, match=r"CERTIFICATE_VERIFY_FAILED.*REQUESTS_CA_BUNDLE") as caught:
        served(tls_server, max_tries=1).synthesize("Mirëdita.", "sq")
    assert isinstance(caught.value, SpeechUnavailableError | SpeechError)


def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer([audio_reply(0.4)]) as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        settings = GttsConfig(endpoint="http://tts.invalid", min_interval=0.0, backoff=0.0, max_tries=1)
        audio = GttsEngine(settings, concurrency=1).synthesize("Mirëdita.", "sq")
    assert mp3.check_audio(audio) > 0
    request_line = proxy.requests[0][0].split("\r\n")[0]
    assert request_line == "POST http://tts.invalid/_/TranslateWebserverUi/data/batchexecute HTTP/1.1"


# --- Retry-After: seconds or an HTTP date ---------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        (lambda: "7", 7.0, 7.0),
        (lambda: email.utils.formatdate(time.time() + 30, usegmt=True), 28.5, 30.0),
        (lambda: email.utils.formatdate(time.time() - 30, usegmt=True), 0.0, 0.0),
    ],
    ids=["seconds", "http-date", "http-date-past"],
)
def test_retry_after_is_respected_in_both_forms(
    retry_after: Callable[[], str], low: float, high: float
) -> None:
    busy = http_reply("busy", status="429 Too Many Requests", headers={"Retry-After": retry_after()})
    with ScriptedServer([busy, audio_reply(0.4)]) as server:
        tts = served(server)
        slept: list[float] = []
        tts.sender.sleep = slept.append
        assert tts.synthesize("Mirëdita.", "sq")
    assert len(slept) == 1 and low <= slept[0] <= high


@pytest.fixture
def five_hours_west(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time 5 h behind UTC, so dates read as local time would be 5 h off."""
    monkeypatch.setenv("TZ", "EST+05")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:40 GMT", 40.0),
        ("Wed, 21 Oct 2015 07:28:40 -0000", 40.0),  # no zone given: UTC
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("nan", None),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_values(value: str | None, seconds: float | None, five_hours_west: None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert retry_after_seconds(value, now=lambda: now) == seconds
