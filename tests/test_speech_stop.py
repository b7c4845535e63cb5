"""A stop is a stop: once the run is asked to stop, or the speech service counts as down, no
request starts another try; a stopped run exits within a try's deadline, every reply it had
recorded, and leaves the rest, unfailed, to the next run."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.config.schema import GttsConfig
from pipeline.errors import SpeechUnavailableError, Stopped
from pipeline.tts.gtts_engine import GttsEngine

from .conftest import WriteConfig
from .fakes import FakeEndpoint, Reply, ScriptedServer, audio_reply, http_reply, request_parts
from .test_gtts_engine import (
    finished_within,
    no_proxies,  # noqa: F401 - autouse: the local servers are reached directly
    served,
)

NO_WAITS = {"min_interval": 0.0, "backoff": 0.0}


def stoppable(endpoint: FakeEndpoint, **settings: object) -> tuple[GttsEngine, threading.Event]:
    """An engine on ``endpoint``, one request at a time, and the stop it obeys."""
    tts = GttsEngine(GttsConfig(**{**NO_WAITS, **settings}), concurrency=1, session=endpoint.session())
    stop = threading.Event()
    tts.stop_on(stop)
    return tts, stop


def test_after_a_stop_a_request_sends_nothing() -> None:
    endpoint = FakeEndpoint()
    tts, stop = stoppable(endpoint)
    stop.set()
    with pytest.raises(Stopped):
        tts.synthesize("Mirëdita.", "sq")
    assert endpoint.bodies == []


def test_a_stop_between_tries_ends_the_request_without_another_try() -> None:
    endpoint = FakeEndpoint(statuses=[503] * 10)
    tts, stop = stoppable(endpoint)
    tts.sender.sleep = lambda seconds: stop.set()  # the signal comes during the backoff
    with pytest.raises(Stopped):
        tts.synthesize("Mirëdita.", "sq")
    assert len(endpoint.bodies) == 1


def test_a_request_waiting_for_its_turn_when_the_stop_comes_sends_nothing() -> None:
    endpoint = FakeEndpoint()
    tts, stop = stoppable(endpoint, min_interval=30.0)
    tts.synthesize("Mirëdita.", "sq")  # the first starts at once; the next waits 30 s for its turn
    tts.sender.sleep = lambda seconds: stop.set()  # the signal comes while it waits
    with pytest.raises(Stopped):
        tts.synthesize("Mirupafshim.", "sq")
    assert len(endpoint.bodies) == 1


def test_a_backoff_wait_ends_as_soon_as_the_stop_comes() -> None:
    """The default wait between tries is the stop's: a 15-30 s backoff ends when the signal comes."""
    endpoint = FakeEndpoint(statuses=[503] * 10)
    tts, stop = stoppable(endpoint, backoff=30.0, max_backoff=30.0)
    endpoint.on_request = lambda: threading.Timer(0.2, stop.set).start()
    _, raised = finished_within(10, lambda: tts.synthesize("Mirëdita.", "sq"))
    assert isinstance(raised, Stopped), raised
    assert len(endpoint.bodies) == 1


def test_once_the_service_is_down_requests_between_tries_try_no_more() -> None:
    endpoint = FakeEndpoint(statuses=[503] * 20)
    tts, _ = stoppable(endpoint, max_tries=3, give_up_after=1)
    waits = 0

    def another_request_fails_every_try(seconds: float) -> None:
        """During the first request's first wait, another request fails all three of its tries."""
        nonlocal waits
        waits += 1
        if waits == 1:
            with pytest.raises(SpeechUnavailableError, match=r"^503 Service Unavailable .* after 3 tries$"):
                tts.synthesize("Добрий день.", "uk")

    tts.sender.sleep = another_request_fails_every_try
    with pytest.raises(SpeechUnavailableError) as caught:
        tts.synthesize("Mirëdita.", "sq")
    assert len(endpoint.bodies) == 1 + 3  # its own first try, and the other's three; none after
    assert str(caught.value) == (
        "503 Service Unavailable from the TTS endpoint; no further tries: it is considered down "
        "for this run (1 request in a row failed every try)"
    )


def test_the_down_failure_of_an_item_names_no_other_item_s_voice() -> None:
    no_audio = http_reply(')]}\'\n\n[["wrb.fr","jQ1olc",null]]')
    with ScriptedServer([no_audio]) as server:
        tts = served(server, give_up_after=1)
        with pytest.raises(SpeechUnavailableError, match="'sq'"):
            tts.synthesize("Mirëdita.", "sq")
        with pytest.raises(SpeechUnavailableError) as caught:
            tts.synthesize("Добрий день.", "uk")
    assert str(caught.value) == (
        "the TTS endpoint is considered down for this run: 1 request in a row failed every try"
    )


TIMEOUT = 3.0  # tts.gtts.timeout: the deadline of each try
GOOD = 4  # replies with audio before the endpoint starts to trickle
SENTENCES = (
    "The council met on Monday.", "Schools open in May.", "The bridge is closed.",
    "Farmers sold more grain.", "The mayor spoke to reporters.", "Trains run late today.",
)  # fmt: skip


def short_articles(folder: Path) -> None:
    """Two articles of one-sentence paragraphs: each segment is one request to the endpoint."""
    folder.mkdir()
    for day in (1, 2):
        paragraphs = [f"{sentence[:-1]} on day {day}." for sentence in SENTENCES]
        text = f"date 2024-04-0{day} This audio is created with AI assistance\n\n" + "\n\n".join(paragraphs)
        (folder / f"2024-04-0{day}-notes.txt").write_text(text + "\n", "utf-8")


def gtts_job(write_config: WriteConfig, tmp_path: Path) -> Path:
    short_articles(tmp_path / "articles")
    return write_config(
        translation={"beam_size": 1, "max_length": 6, "batch_size": 8, "device": "cpu"},
        tts={
            "engine": "gtts", "concurrency": 2, "pause": 0.1, "disclosure": "none",
            "gtts": {
                "timeout": TIMEOUT, "min_interval": 0, "backoff": 0.2, "max_backoff": 1.0,
                "max_tries": 5, "give_up_after": 1000,
            },
        },
    )  # fmt: skip


def wait_until(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the run did not get there"
        time.sleep(0.02)


@pytest.mark.slow
def test_sigterm_while_requests_trickle_sends_nothing_more_and_exits_within_the_deadline(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    from .test_crash_recovery import finish, recorded_keys, start

    config = gtts_job(write_config, tmp_path)
    state = config.parent / "out" / "test" / "state.sqlite"
    trickle = Reply(audio_reply(0.2), trickle=1.0, trickle_from=20)  # never whole within the deadline
    with ScriptedServer([*[audio_reply(0.2)] * GOOD, trickle]) as server:
        process = start({}, "run", str(config), "--set", f"tts.gtts.endpoint={server.url}")
        wait_until(lambda: len(server.accepted) >= GOOD + 2)  # both requests in flight trickle
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code, stderr = finish(process, timeout=60)
        took = time.monotonic() - signalled
        late = [round(when - signalled, 1) for when in server.accepted if when >= signalled]
    assert code == 128 + signal.SIGTERM, stderr
    assert late == []  # no try of any request started after the signal
    assert took < TIMEOUT + 8, f"exited {took:.1f} s after SIGTERM"
    assert "Traceback" not in stderr and "TTS endpoint" not in stderr, stderr  # no speech failure
    assert len(recorded_keys(state)[1]) == GOOD  # every reply that came is recorded
    with sqlite3.connect(state) as db:
        failed = db.execute("SELECT count(*) FROM items WHERE stage='narration' AND status='failed'")
        assert failed.fetchone()[0] == 0  # a request cut short by the stop is no failure of its item

    with ScriptedServer([audio_reply(0.2)]) as server:
        code, stderr = finish(start({}, "run", str(config), "--set", f"tts.gtts.endpoint={server.url}"))
        asked = {request_parts(body.decode()) for _, body in server.requests}
    assert code == 0, stderr
    assert len(asked) == len(server.requests)  # each segment asked for once...
    assert len(asked) == len(recorded_keys(state)[1]) - GOOD  # ...and none that the first run had
