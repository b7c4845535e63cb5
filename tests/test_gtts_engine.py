"""gTTS at the HTTP boundary: request bodies, retries, a 429 storm, a hung endpoint."""

import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pipeline.audio import mp3
from pipeline.config.schema import GttsConfig
from pipeline.errors import SpeechError, SpeechUnavailableError
from pipeline.tts.gtts_engine import GttsEngine
from pipeline.tts.http import Throttle

from .fakes import FakeEndpoint, request_parts, tone_mp3

TEXT = (
    "Ukraina dhe Shqipëria nënshkruan një traktat miqësie dhe bashkëpunimi në Tiranë më 28 shkurt, "
    "tha presidenti. Marrëveshja mbulon tregtinë, kulturën, arsimin, mjedisin dhe turizmin."
)
FAST = GttsConfig(backoff=0.0, min_interval=0.0, timeout=5)


def engine(endpoint: FakeEndpoint, settings: GttsConfig = FAST, concurrency: int = 2) -> GttsEngine:
    return GttsEngine(settings, concurrency=concurrency, session=endpoint.session())


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


def test_a_reply_without_audio_is_an_error() -> None:
    endpoint = FakeEndpoint()
    tts = engine(endpoint)
    with pytest.raises(SpeechError, match="answered without audio"):
        tts._audio(')]}\'\n\n[["wrb.fr","jQ1olc",null]]', "xx")


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
