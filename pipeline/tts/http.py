"""Polite HTTP for speech services: bounded concurrency, spacing, deadlines, retries with backoff.

One ``PoliteSender`` is shared by every request to one service, so its limits hold across
articles, languages and threads. Every try has one deadline for the whole exchange (connection,
headers and body): ``requests``' own timeout bounds each socket read only, so a server sending a
byte a second could otherwise hold a night's run. Whatever goes wrong on the wire or in the reply
is a failed try, retried with backoff; only a 4xx other than 429 is final. A stop (``stop_on``)
ends every request at its next try, and a service found down ends those between tries, so a
stopped or hopeless run sends nothing more. Requests honour the environment
(``REQUESTS_CA_BUNDLE``, ``*_proxy``, ``NO_PROXY``) exactly as ``requests.get`` does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from typing import Any, TypeVar

import requests
import urllib3

from pipeline.audio import mp3
from pipeline.errors import PipelineError, SpeechError, SpeechUnavailableError, Stopped
from pipeline.net.deadline import Deadline
from pipeline.net.failures import TRANSPORT_ERRORS, UNSENDABLE, root_cause, status_phrase
from pipeline.net.retry_after import retry_after_seconds
from pipeline.retry import RetryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_REPLY_BYTES = 8 * 2**20  # a reply to ~100 characters of text is tens of kB
_PIECE = 64 * 1024
_CA_HINT = "behind a TLS-inspecting proxy? point REQUESTS_CA_BUNDLE at its CA certificate"


class UnusableReply(Exception):
    """A reply that came but cannot be used (no audio, bad audio): the try failed, like a 5xx."""


class Throttle:
    """At most ``concurrency`` requests in flight; request starts at least ``min_interval`` apart."""

    def __init__(
        self,
        concurrency: int,
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._next_start = 0.0
        self.min_interval, self.clock, self.sleep = min_interval, clock, sleep

    @contextmanager
    def slot(self, sleep: Callable[[float], object] | None = None) -> Iterator[None]:
        """Held while one request is in flight; ``sleep`` (``self.sleep`` if None) waits for its
        start time, and may return early (a stop): the caller checks whether to go on."""
        with self._slots:
            with self._lock:
                now = self.clock()
                start = max(now, self._next_start)
                self._next_start = start + self.min_interval
            if start > now:
                (sleep or self.sleep)(start - now)
            yield


class _FailedTry(Exception):
    """One try failed in a way that may pass: ``problem`` names it; ``retry_after`` in seconds."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.problem, self.retry_after = problem, retry_after


class PoliteSender:
    """Sends with retries; after ``give_up_after`` requests in a row have failed every try, the
    service is considered down for the rest of the run: further requests fail at once and those
    between tries try no more, so a nightly job does not spend hours retrying an endpoint that is
    not there. ``timeout`` bounds each try as a whole: connecting, the headers and the body.

    Once ``stop`` is set (see ``stop_on``) no try starts: a request between tries, or waiting for
    its turn, ends with ``Stopped``, and a backoff wait ends at once. A try in flight ends by its
    deadline. ``sleep`` waits between tries; by default it is ``stop.wait``."""

    def __init__(
        self,
        session: requests.Session,
        throttle: Throttle,
        retry: RetryPolicy,
        timeout: float,
        service: str = "the TTS endpoint",
        sleep: Callable[[float], object] | None = None,
        give_up_after: int = 3,
        stop: threading.Event | None = None,
        refusals: Mapping[int, str] | None = None,
        endpoint_setting: str = "tts.gtts.endpoint",
    ):
        self.session, self.throttle, self.retry, self.timeout = session, throttle, retry, timeout
        self.service, self.give_up_after = service, give_up_after
        self.refusals = dict(refusals or {})  # status → what a final 4xx means, said with it
        self.endpoint_setting = endpoint_setting
        self.sleep = sleep or self._wait
        self.stop = stop or threading.Event()
        self._lock = threading.Lock()
        self._failed_in_a_row = 0

    def stop_on(self, stop: threading.Event) -> None:
        """Send no new try once ``stop`` is set (the run's stop signal)."""
        self.stop = stop

    def _wait(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def send(self, request: requests.PreparedRequest, accept: Callable[[bytes], T]) -> T:
        """``accept(body)`` for the reply to ``request``.

        ``accept`` checks the body and raises ``UnusableReply`` if it cannot be used: that fails the
        try, as a 429, a 5xx, a timeout or a broken reply do. Raises ``SpeechUnavailableError`` once
        every try failed (or the service counts as down), ``SpeechError`` on a 4xx other than 429 or
        a request that cannot be sent as configured, ``Stopped`` when the run stops before a try.
        """
        result = self._send_with_retries(request, accept)
        with self._lock:
            self._failed_in_a_row = 0
        return result

    def _send_with_retries(self, request: requests.PreparedRequest, accept: Callable[[bytes], T]) -> T:
        problem = ""
        for attempt in range(1, self.retry.max_tries + 1):
            try:
                return self._try(request, accept, problem)
            except _FailedTry as failed:
                problem, retry_after = failed.problem, failed.retry_after
            if attempt == self.retry.max_tries:
                break
            delay = self.retry.delay(attempt, retry_after)
            log.debug(  # the run log keeps every retry; stderr gets one line if the request fails
                "%s from %s (try %d of %d); retrying in %.1f s",
                problem,
                self.service,
                attempt,
                self.retry.max_tries,
                delay,
            )
            self.sleep(delay)
        self._failed_every_try(problem)
        tries = self.retry.max_tries
        raise SpeechUnavailableError(
            f"{problem} from {self.service} after {tries} tr{'y' if tries == 1 else 'ies'}"
        )

    def _failed_every_try(self, problem: str) -> None:
        """Count a request that failed every try; the one that makes the service down says so."""
        with self._lock:
            self._failed_in_a_row += 1
            now_down = self._failed_in_a_row == self.give_up_after
        if now_down:
            log.warning(
                "%s is considered down for the rest of this run: %s (the last: %s)",
                self.service, _in_a_row(self.give_up_after), problem,
            )  # fmt: skip

    def _check_may_try(self, problem: str) -> None:
        """Raises the ``_refusal``, if any."""
        refusal = self._refusal(problem)
        if refusal is not None:
            raise refusal

    def _refusal(self, problem: str) -> PipelineError | None:
        """Why no try may start now (the run stops, or the service is down), or None.

        ``problem`` is what this request's last try met ("" before its first), so that its error
        speaks of this request only, never of another's (another voice, another language).
        """
        if self.stop.is_set():
            return Stopped(f"not sent to {self.service}: the run is stopping")
        with self._lock:
            failed = self._failed_in_a_row
        if failed < self.give_up_after:
            return None
        if problem:
            return SpeechUnavailableError(
                f"{problem} from {self.service}; no further tries: it is considered down for this run "
                f"({_in_a_row(failed)})"
            )
        return SpeechUnavailableError(f"{self.service} is considered down for this run: {_in_a_row(failed)}")

    def _try(self, request: requests.PreparedRequest, accept: Callable[[bytes], T], problem: str) -> T:
        """``accept(body)`` for one try; raises ``_FailedTry``, or a ``PipelineError`` when it is
        final or no try may start (see ``_refusal``; ``problem``: the last try's)."""
        self._check_may_try(problem)  # before waiting for a turn...
        with self.throttle.slot(self.sleep):
            self._check_may_try(problem)  # ...and after it: the wait may have been long
            with Deadline(self.timeout) as deadline:
                body = self._exchange(request, deadline)
        try:
            return accept(body)
        except UnusableReply as exc:
            raise _FailedTry(str(exc)) from exc

    def _exchange(self, request: requests.PreparedRequest, deadline: Deadline) -> bytes:
        """The whole body of a 2xx reply to ``request``, read before ``deadline``."""
        response = None
        try:
            response = self.session.send(request, timeout=self.timeout, **self._environment(request))
            with closing(response):
                self._check_status(response)
                return _read_body(response, deadline, self.timeout)
        except UNSENDABLE as exc:
            raise SpeechError(
                f"cannot send to {self.service}: {exc} "
                f"(check {self.endpoint_setting} and the *_proxy variables)"
            ) from exc
        except TRANSPORT_ERRORS as exc:
            raise _FailedTry(self._transport_problem(exc, deadline, answered=response is not None)) from exc

    def _environment(self, request: requests.PreparedRequest) -> Mapping[str, Any]:
        """``verify``, ``cert``, ``proxies`` and ``stream`` as ``requests.get`` would send with: the
        session's settings merged with the environment's (``Session.send`` alone finds the proxies but
        not ``REQUESTS_CA_BUNDLE``, so behind a TLS-inspecting proxy every request would fail)."""
        return self.session.merge_environment_settings(request.url, {}, True, None, None)

    def _check_status(self, response: requests.Response) -> None:
        """Raises ``SpeechError`` on a 4xx other than 429, ``_FailedTry`` on 429 and 5xx."""
        if response.ok:
            return
        status = f"{response.status_code} {response.reason or status_phrase(response.status_code)}"
        if response.status_code != 429 and response.status_code < 500:
            meaning = self.refusals.get(response.status_code)
            raise SpeechError(f"{status} from {self.service}" + (f": {meaning}" if meaning else ""))
        raise _FailedTry(status, retry_after_seconds(response.headers.get("Retry-After")))

    def _transport_problem(self, exc: BaseException, deadline: Deadline, answered: bool) -> str:
        """What went wrong, in a few words: a timeout, a connection error or a broken reply."""
        timeouts = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
        if deadline.expired or isinstance(exc, timeouts):
            return f"{'no complete answer' if answered else 'no answer'} within {self.timeout:g} s"
        cause = root_cause(exc)
        if answered:
            return f"a broken reply ({cause})"
        if "CERTIFICATE_VERIFY_FAILED" in cause:
            return f"connection error ({cause}; {_CA_HINT})"
        return f"connection error ({cause})"


def _read_body(response: requests.Response, deadline: Deadline, timeout: float) -> bytes:
    """The body, decoded (gzip...), read a piece at a time while ``deadline`` has not passed.

    Raises ``_FailedTry`` past the deadline or ``MAX_REPLY_BYTES``, and urllib3's errors when the
    reply is cut short (``IncompleteRead``) or cannot be decoded.
    """
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:  # a transport that has read the body already (the tests' fakes)
        return response.content
    pieces: list[bytes] = []
    size = 0
    while piece := read1(_PIECE, decode_content=True):
        size += len(piece)
        if deadline.passed():
            raise _FailedTry(f"no complete answer within {timeout:g} s")
        if size > MAX_REPLY_BYTES:
            raise _FailedTry(f"a reply over {MAX_REPLY_BYTES:,} bytes")
        pieces.append(piece)
    return b"".join(pieces)


def _in_a_row(failed: int) -> str:
    return f"{failed} request{'' if failed == 1 else 's'} in a row failed every try"


def checked_mp3(audio: bytes) -> bytes:
    """``audio`` if it is usable MP3; raises ``UnusableReply`` (a failed try) if not: a service's
    audio is checked before it is cached."""
    try:
        mp3.check_audio(audio)
    except mp3.Mp3Error as exc:
        raise UnusableReply(f"unusable audio ({exc})") from exc
    return audio
